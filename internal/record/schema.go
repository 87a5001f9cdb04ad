// Package record is the CloudTrail record schema: which fields of a record
// become which Parquet columns, a streaming scanner that turns the JSON a
// trail delivers into flat rows without building a JSON tree, the columnar
// batch that sorts and encodes those rows as Parquet row groups, and Rebuild,
// which turns a row back into the record it came from.
//
// Column naming follows the seed job: nested struct fields are joined with
// "_" and lowercased; the fields of resources[] become parallel lists; blobs
// (requestParameters, responseElements, ...) are kept as compact JSON text.
//
// The "full" column set is lossless. A value goes into its typed column when
// writing the column back reproduces it exactly; anything else — unknown
// keys, explicit nulls, a "true" string in a boolean field, an eventTime in a
// non-canonical format, a userAgent that is a list, a resources array the
// three lists cannot reproduce, the "eventId" spelling — is also kept, at its
// nested path, in the JSON column "unmapped". Rebuild starts from the typed
// columns and lays "unmapped" over them.
package record

import (
	"fmt"
	"strings"
)

// Kind is the type of a column.
type Kind uint8

// Column kinds.
const (
	String     Kind = iota // optional UTF-8 string
	JSON                   // optional UTF-8 string holding compact JSON text
	Bool                   // optional boolean
	TimeUTC                // required INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true)
	TimeLocal              // required INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=false)
	StringList             // optional LIST of optional strings
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case JSON:
		return "json"
	case Bool:
		return "bool"
	case TimeUTC:
		return "timestamp(ms, utc)"
	case TimeLocal:
		return "timestamp(ms, local)"
	case StringList:
		return "list<string>"
	case Const, TimeText, LocalText:
		return "string"
	case Map:
		return "map<string,string>"
	}
	return "?"
}

// Column sets.
const (
	Full = "full"
	Seed = "seed"
)

// DefaultLocalTimeColumn names the local-time column unless the user picks a
// name (the seed job calls it "eventtime_kst").
const DefaultLocalTimeColumn = "eventtime_local"

// Column is one column of a schema.
type Column struct {
	Name string
	Kind Kind
	// Dict says whether the column is dictionary-encoded: its values repeat
	// (names, regions, accounts, and blobs of repeated calls). Ids and times
	// are not. A column chunk whose dictionary would grow past the writer's
	// bound is written PLAIN instead.
	Dict bool
	// Path is the field's path in a record (nil for the local-time and
	// unmapped columns, which have none). Resources lists have the element
	// key as their last step.
	Path []string

	field field
	konst []byte // the value of a Const column
}

// field identifies what the scanner extracted. Values index Row.val.
type field uint8

const (
	fAdditionalEventData field = iota
	fAPIVersion
	fAWSRegion
	fErrorCode
	fErrorMessage
	fEventID
	fEventName
	fEventSource
	fEventTime
	fEventTimeLocal
	fEventType
	fEventVersion
	fReadOnly
	fRecipientAccountID
	fRequestID
	fRequestParameters
	fResourcesARN
	fResourcesAccountID
	fResourcesType
	fResponseElements
	fSharedEventID
	fSourceIPAddress
	fServiceEventDetails
	fUserAgent
	fUIAccessKeyID
	fUIAccountID
	fUIArn
	fUIInvokedBy
	fUIPrincipalID
	fSCAttrCreationDate
	fSCAttrMFAAuthenticated
	fSIAccountID
	fSIArn
	fSIPrincipalID
	fSIType
	fSIUserName
	fUIType
	fUIUserName
	fUIWebIDFederatedProvider
	fUIWebIDAttributes
	fVPCEndpointID
	// Beyond the seed.
	fEventCategory
	fManagementEvent
	fSessionCredentialFromConsole
	fVPCEndpointAccountID
	fTLSVersion
	fTLSCipherSuite
	fTLSClientProvidedHostHeader
	fAddendumReason
	fAddendumUpdatedFields
	fAddendumOriginalRequestID
	fAddendumOriginalEventID
	fEdgeDeviceDetails
	fInsightDetails
	fEventContext
	fUIIdentityProvider
	fUICredentialID
	fUIOnBehalfOfUserID
	fUIOnBehalfOfIdentityStoreArn
	fUIInScopeOfSourceArn
	fUIInScopeOfSourceAccount
	fUIInScopeOfIssuerType
	fUIInScopeOfCredentialsIssuedTo
	fSCSourceIdentity
	fSCEC2RoleDelivery
	fSCAssumedRoot
	fSCWebIDFederatedProvider
	fSCWebIDAttributes
	fUnmapped
	fProcYMD // proc_ymd in files of the spark types; not a record's field
	numFields
)

type fieldDef struct {
	f    field
	name string
	kind Kind
	dict bool
	path string // dotted JSON path; resources lists end in the element key
}

// fields lists every column in the order of the full set. The seed set is
// the prefix up to fVPCEndpointID.
var fields = []fieldDef{
	{fAdditionalEventData, "additionaleventdata", JSON, true, "additionalEventData"},
	{fAPIVersion, "apiversion", String, true, "apiVersion"},
	{fAWSRegion, "awsregion", String, true, "awsRegion"},
	{fErrorCode, "errorcode", String, true, "errorCode"},
	{fErrorMessage, "errormessage", String, true, "errorMessage"},
	{fEventID, "eventid", String, false, "eventID"},
	{fEventName, "eventname", String, true, "eventName"},
	{fEventSource, "eventsource", String, true, "eventSource"},
	{fEventTime, "eventtime", TimeUTC, false, "eventTime"},
	{fEventTimeLocal, "", TimeLocal, false, ""},
	{fEventType, "eventtype", String, true, "eventType"},
	{fEventVersion, "eventversion", String, true, "eventVersion"},
	{fReadOnly, "readonly", Bool, false, "readOnly"},
	{fRecipientAccountID, "recipientaccountid", String, true, "recipientAccountId"},
	{fRequestID, "requestid", String, false, "requestID"},
	{fRequestParameters, "requestparameters", JSON, true, "requestParameters"},
	{fResourcesARN, "resources_arn", StringList, true, "resources.ARN"},
	{fResourcesAccountID, "resources_accountid", StringList, true, "resources.accountId"},
	{fResourcesType, "resources_type", StringList, true, "resources.type"},
	{fResponseElements, "responseelements", JSON, true, "responseElements"},
	{fSharedEventID, "sharedeventid", String, false, "sharedEventID"},
	{fSourceIPAddress, "sourceipaddress", String, true, "sourceIPAddress"},
	{fServiceEventDetails, "serviceeventdetails", JSON, true, "serviceEventDetails"},
	{fUserAgent, "useragent", String, true, "userAgent"},
	{fUIAccessKeyID, "useridentity_accesskeyid", String, true, "userIdentity.accessKeyId"},
	{fUIAccountID, "useridentity_accountid", String, true, "userIdentity.accountId"},
	{fUIArn, "useridentity_arn", String, true, "userIdentity.arn"},
	{fUIInvokedBy, "useridentity_invokedby", String, true, "userIdentity.invokedBy"},
	{fUIPrincipalID, "useridentity_principalid", String, true, "userIdentity.principalId"},
	{fSCAttrCreationDate, "useridentity_sessioncontext_attributes_creationdate", String, true, "userIdentity.sessionContext.attributes.creationDate"},
	{fSCAttrMFAAuthenticated, "useridentity_sessioncontext_attributes_mfaauthenticated", String, true, "userIdentity.sessionContext.attributes.mfaAuthenticated"},
	{fSIAccountID, "useridentity_sessioncontext_sessionissuer_accountid", String, true, "userIdentity.sessionContext.sessionIssuer.accountId"},
	{fSIArn, "useridentity_sessioncontext_sessionissuer_arn", String, true, "userIdentity.sessionContext.sessionIssuer.arn"},
	{fSIPrincipalID, "useridentity_sessioncontext_sessionissuer_principalid", String, true, "userIdentity.sessionContext.sessionIssuer.principalId"},
	{fSIType, "useridentity_sessioncontext_sessionissuer_type", String, true, "userIdentity.sessionContext.sessionIssuer.type"},
	{fSIUserName, "useridentity_sessioncontext_sessionissuer_username", String, true, "userIdentity.sessionContext.sessionIssuer.userName"},
	{fUIType, "useridentity_type", String, true, "userIdentity.type"},
	{fUIUserName, "useridentity_username", String, true, "userIdentity.userName"},
	{fUIWebIDFederatedProvider, "useridentity_webidfederationdata_federatedprovider", String, true, "userIdentity.webIdFederationData.federatedProvider"},
	{fUIWebIDAttributes, "useridentity_webidfederationdata_attributes", JSON, true, "userIdentity.webIdFederationData.attributes"},
	{fVPCEndpointID, "vpcendpointid", String, true, "vpcEndpointId"},

	{fEventCategory, "eventcategory", String, true, "eventCategory"},
	{fManagementEvent, "managementevent", Bool, false, "managementEvent"},
	{fSessionCredentialFromConsole, "sessioncredentialfromconsole", String, true, "sessionCredentialFromConsole"},
	{fVPCEndpointAccountID, "vpcendpointaccountid", String, true, "vpcEndpointAccountId"},
	{fTLSVersion, "tlsdetails_tlsversion", String, true, "tlsDetails.tlsVersion"},
	{fTLSCipherSuite, "tlsdetails_ciphersuite", String, true, "tlsDetails.cipherSuite"},
	{fTLSClientProvidedHostHeader, "tlsdetails_clientprovidedhostheader", String, true, "tlsDetails.clientProvidedHostHeader"},
	{fAddendumReason, "addendum_reason", String, true, "addendum.reason"},
	{fAddendumUpdatedFields, "addendum_updatedfields", String, true, "addendum.updatedFields"},
	{fAddendumOriginalRequestID, "addendum_originalrequestid", String, false, "addendum.originalRequestID"},
	{fAddendumOriginalEventID, "addendum_originaleventid", String, false, "addendum.originalEventID"},
	{fEdgeDeviceDetails, "edgedevicedetails", JSON, true, "edgeDeviceDetails"},
	{fInsightDetails, "insightdetails", JSON, true, "insightDetails"},
	{fEventContext, "eventcontext", JSON, true, "eventContext"},
	{fUIIdentityProvider, "useridentity_identityprovider", String, true, "userIdentity.identityProvider"},
	{fUICredentialID, "useridentity_credentialid", String, false, "userIdentity.credentialId"},
	{fUIOnBehalfOfUserID, "useridentity_onbehalfof_userid", String, true, "userIdentity.onBehalfOf.userId"},
	{fUIOnBehalfOfIdentityStoreArn, "useridentity_onbehalfof_identitystorearn", String, true, "userIdentity.onBehalfOf.identityStoreArn"},
	{fUIInScopeOfSourceArn, "useridentity_inscopeof_sourcearn", String, true, "userIdentity.inScopeOf.sourceArn"},
	{fUIInScopeOfSourceAccount, "useridentity_inscopeof_sourceaccount", String, true, "userIdentity.inScopeOf.sourceAccount"},
	{fUIInScopeOfIssuerType, "useridentity_inscopeof_issuertype", String, true, "userIdentity.inScopeOf.issuerType"},
	{fUIInScopeOfCredentialsIssuedTo, "useridentity_inscopeof_credentialsissuedto", String, true, "userIdentity.inScopeOf.credentialsIssuedTo"},
	{fSCSourceIdentity, "useridentity_sessioncontext_sourceidentity", String, true, "userIdentity.sessionContext.sourceIdentity"},
	{fSCEC2RoleDelivery, "useridentity_sessioncontext_ec2roledelivery", String, true, "userIdentity.sessionContext.ec2RoleDelivery"},
	{fSCAssumedRoot, "useridentity_sessioncontext_assumedroot", String, true, "userIdentity.sessionContext.assumedRoot"},
	{fSCWebIDFederatedProvider, "useridentity_sessioncontext_webidfederationdata_federatedprovider", String, true, "userIdentity.sessionContext.webIdFederationData.federatedProvider"},
	{fSCWebIDAttributes, "useridentity_sessioncontext_webidfederationdata_attributes", JSON, true, "userIdentity.sessionContext.webIdFederationData.attributes"},
	{fUnmapped, "unmapped", JSON, true, ""},
}

// Schema is a column set with the local-time column named.
type Schema struct {
	Set     string
	Columns []Column
	// Types is Spark for the schema of a published file in the Spark job's
	// types (see FileSchema), empty otherwise.
	Types string

	want [numFields]bool // fields the scanner extracts
	col  [numFields]int  // field → column index, -1 when not stored
}

// NewSchema returns the columns of set ("full" or "seed"; empty means full)
// with the local-time column called localTimeColumn (empty means
// DefaultLocalTimeColumn).
func NewSchema(set, localTimeColumn string) (*Schema, error) {
	if set == "" {
		set = Full
	}
	if localTimeColumn == "" {
		localTimeColumn = DefaultLocalTimeColumn
	}
	var n int
	switch set {
	case Full:
		n = len(fields)
	case Seed:
		n = int(fVPCEndpointID) + 1
	default:
		return nil, fmt.Errorf("unknown column set %q (want %q or %q)", set, Full, Seed)
	}
	s := &Schema{Set: set}
	for i := range s.col {
		s.col[i] = -1
	}
	seen := map[string]bool{}
	for _, d := range fields[:n] {
		c := Column{Name: d.name, Kind: d.kind, Dict: d.dict, field: d.f}
		if d.f == fEventTimeLocal {
			c.Name = localTimeColumn
		}
		if d.path != "" {
			c.Path = strings.Split(d.path, ".")
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("local-time column name %q is already a column", localTimeColumn)
		}
		seen[c.Name] = true
		s.col[d.f] = len(s.Columns)
		s.want[d.f] = true
		s.Columns = append(s.Columns, c)
	}
	if !validColumnName(localTimeColumn) {
		return nil, fmt.Errorf("local-time column name %q: use lowercase letters, digits and _", localTimeColumn)
	}
	return s, nil
}

func validColumnName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Lossless says whether rows of this schema can be rebuilt into records.
func (s *Schema) Lossless() bool { return s.col[fUnmapped] >= 0 }

// Names returns the column names in order.
func (s *Schema) Names() []string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return names
}

// Index returns the position of the named column, or -1.
func (s *Schema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// LocalTimeColumn returns the name of the local-time column.
func (s *Schema) LocalTimeColumn() string { return s.Columns[s.col[fEventTimeLocal]].Name }
