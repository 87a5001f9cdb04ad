// Package record is the CloudTrail record schema: which fields of a record
// become which Parquet columns (the one table of fields, from which the
// Field constants and the scanner's key lookup are generated), the flat Row
// that the scanner fills and the encoder reads, the column sets and the
// Spark job's types, and Rebuild, which turns a row back into the record it
// came from. The scanner (package scan) and the Parquet encoder (package
// pqfile) build on it.
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

	// Field is the value the column holds.
	Field Field
	// ConstValue is the value of a Const column in every row.
	ConstValue []byte
}

//go:generate go run ./gen

// Field identifies a value the scanner extracts: a column of the full set
// (and FieldProcYMD of the spark types).
type Field uint8

type fieldDef struct {
	f    Field
	name string
	kind Kind
	dict bool
	path string // dotted JSON path; resources lists end in the element key
}

// fields lists every column in the order of the full set. The seed set is
// the prefix up to FieldVPCEndpointID.
//
// This table is the one place a field is declared: go generate (make
// generate) derives the Field constants (zz_generated_fields.go) and the
// scanner's key lookup (../scan/zz_generated_lookup.go) from it. A new
// CloudTrail field is one row here: its constant, column name, kind,
// whether it is dictionary-encoded, and its dotted path in a record
// (resources lists end in the element's key).
var fields = []fieldDef{
	{FieldAdditionalEventData, "additionaleventdata", JSON, true, "additionalEventData"},
	{FieldAPIVersion, "apiversion", String, true, "apiVersion"},
	{FieldAWSRegion, "awsregion", String, true, "awsRegion"},
	{FieldErrorCode, "errorcode", String, true, "errorCode"},
	{FieldErrorMessage, "errormessage", String, true, "errorMessage"},
	{FieldEventID, "eventid", String, false, "eventID"},
	{FieldEventName, "eventname", String, true, "eventName"},
	{FieldEventSource, "eventsource", String, true, "eventSource"},
	{FieldEventTime, "eventtime", TimeUTC, false, "eventTime"},
	{FieldEventTimeLocal, "", TimeLocal, false, ""},
	{FieldEventType, "eventtype", String, true, "eventType"},
	{FieldEventVersion, "eventversion", String, true, "eventVersion"},
	{FieldReadOnly, "readonly", Bool, false, "readOnly"},
	{FieldRecipientAccountID, "recipientaccountid", String, true, "recipientAccountId"},
	{FieldRequestID, "requestid", String, false, "requestID"},
	{FieldRequestParameters, "requestparameters", JSON, true, "requestParameters"},
	{FieldResourcesARN, "resources_arn", StringList, true, "resources.ARN"},
	{FieldResourcesAccountID, "resources_accountid", StringList, true, "resources.accountId"},
	{FieldResourcesType, "resources_type", StringList, true, "resources.type"},
	{FieldResponseElements, "responseelements", JSON, true, "responseElements"},
	{FieldSharedEventID, "sharedeventid", String, false, "sharedEventID"},
	{FieldSourceIPAddress, "sourceipaddress", String, true, "sourceIPAddress"},
	{FieldServiceEventDetails, "serviceeventdetails", JSON, true, "serviceEventDetails"},
	{FieldUserAgent, "useragent", String, true, "userAgent"},
	{FieldUIAccessKeyID, "useridentity_accesskeyid", String, true, "userIdentity.accessKeyId"},
	{FieldUIAccountID, "useridentity_accountid", String, true, "userIdentity.accountId"},
	{FieldUIArn, "useridentity_arn", String, true, "userIdentity.arn"},
	{FieldUIInvokedBy, "useridentity_invokedby", String, true, "userIdentity.invokedBy"},
	{FieldUIPrincipalID, "useridentity_principalid", String, true, "userIdentity.principalId"},
	{FieldSCAttrCreationDate, "useridentity_sessioncontext_attributes_creationdate", String, true, "userIdentity.sessionContext.attributes.creationDate"},
	{FieldSCAttrMFAAuthenticated, "useridentity_sessioncontext_attributes_mfaauthenticated", String, true, "userIdentity.sessionContext.attributes.mfaAuthenticated"},
	{FieldSIAccountID, "useridentity_sessioncontext_sessionissuer_accountid", String, true, "userIdentity.sessionContext.sessionIssuer.accountId"},
	{FieldSIArn, "useridentity_sessioncontext_sessionissuer_arn", String, true, "userIdentity.sessionContext.sessionIssuer.arn"},
	{FieldSIPrincipalID, "useridentity_sessioncontext_sessionissuer_principalid", String, true, "userIdentity.sessionContext.sessionIssuer.principalId"},
	{FieldSIType, "useridentity_sessioncontext_sessionissuer_type", String, true, "userIdentity.sessionContext.sessionIssuer.type"},
	{FieldSIUserName, "useridentity_sessioncontext_sessionissuer_username", String, true, "userIdentity.sessionContext.sessionIssuer.userName"},
	{FieldUIType, "useridentity_type", String, true, "userIdentity.type"},
	{FieldUIUserName, "useridentity_username", String, true, "userIdentity.userName"},
	{FieldUIWebIDFederatedProvider, "useridentity_webidfederationdata_federatedprovider", String, true, "userIdentity.webIdFederationData.federatedProvider"},
	{FieldUIWebIDAttributes, "useridentity_webidfederationdata_attributes", JSON, true, "userIdentity.webIdFederationData.attributes"},
	{FieldVPCEndpointID, "vpcendpointid", String, true, "vpcEndpointId"},

	{FieldEventCategory, "eventcategory", String, true, "eventCategory"},
	{FieldManagementEvent, "managementevent", Bool, false, "managementEvent"},
	{FieldSessionCredentialFromConsole, "sessioncredentialfromconsole", String, true, "sessionCredentialFromConsole"},
	{FieldVPCEndpointAccountID, "vpcendpointaccountid", String, true, "vpcEndpointAccountId"},
	{FieldTLSVersion, "tlsdetails_tlsversion", String, true, "tlsDetails.tlsVersion"},
	{FieldTLSCipherSuite, "tlsdetails_ciphersuite", String, true, "tlsDetails.cipherSuite"},
	{FieldTLSClientProvidedHostHeader, "tlsdetails_clientprovidedhostheader", String, true, "tlsDetails.clientProvidedHostHeader"},
	{FieldAddendumReason, "addendum_reason", String, true, "addendum.reason"},
	{FieldAddendumUpdatedFields, "addendum_updatedfields", String, true, "addendum.updatedFields"},
	{FieldAddendumOriginalRequestID, "addendum_originalrequestid", String, false, "addendum.originalRequestID"},
	{FieldAddendumOriginalEventID, "addendum_originaleventid", String, false, "addendum.originalEventID"},
	{FieldEdgeDeviceDetails, "edgedevicedetails", JSON, true, "edgeDeviceDetails"},
	{FieldInsightDetails, "insightdetails", JSON, true, "insightDetails"},
	{FieldEventContext, "eventcontext", JSON, true, "eventContext"},
	{FieldUIIdentityProvider, "useridentity_identityprovider", String, true, "userIdentity.identityProvider"},
	{FieldUICredentialID, "useridentity_credentialid", String, false, "userIdentity.credentialId"},
	{FieldUIOnBehalfOfUserID, "useridentity_onbehalfof_userid", String, true, "userIdentity.onBehalfOf.userId"},
	{FieldUIOnBehalfOfIdentityStoreArn, "useridentity_onbehalfof_identitystorearn", String, true, "userIdentity.onBehalfOf.identityStoreArn"},
	{FieldUIInScopeOfSourceArn, "useridentity_inscopeof_sourcearn", String, true, "userIdentity.inScopeOf.sourceArn"},
	{FieldUIInScopeOfSourceAccount, "useridentity_inscopeof_sourceaccount", String, true, "userIdentity.inScopeOf.sourceAccount"},
	{FieldUIInScopeOfIssuerType, "useridentity_inscopeof_issuertype", String, true, "userIdentity.inScopeOf.issuerType"},
	{FieldUIInScopeOfCredentialsIssuedTo, "useridentity_inscopeof_credentialsissuedto", String, true, "userIdentity.inScopeOf.credentialsIssuedTo"},
	{FieldSCSourceIdentity, "useridentity_sessioncontext_sourceidentity", String, true, "userIdentity.sessionContext.sourceIdentity"},
	{FieldSCEC2RoleDelivery, "useridentity_sessioncontext_ec2roledelivery", String, true, "userIdentity.sessionContext.ec2RoleDelivery"},
	{FieldSCAssumedRoot, "useridentity_sessioncontext_assumedroot", String, true, "userIdentity.sessionContext.assumedRoot"},
	{FieldSCWebIDFederatedProvider, "useridentity_sessioncontext_webidfederationdata_federatedprovider", String, true, "userIdentity.sessionContext.webIdFederationData.federatedProvider"},
	{FieldSCWebIDAttributes, "useridentity_sessioncontext_webidfederationdata_attributes", JSON, true, "userIdentity.sessionContext.webIdFederationData.attributes"},
	{FieldUnmapped, "unmapped", JSON, true, ""},
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
		n = int(FieldVPCEndpointID) + 1
	default:
		return nil, fmt.Errorf("unknown column set %q (want %q or %q)", set, Full, Seed)
	}
	s := &Schema{Set: set}
	for i := range s.col {
		s.col[i] = -1
	}
	seen := map[string]bool{}
	for _, d := range fields[:n] {
		c := Column{Name: d.name, Kind: d.kind, Dict: d.dict, Field: d.f}
		if d.f == FieldEventTimeLocal {
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
func (s *Schema) Lossless() bool { return s.col[FieldUnmapped] >= 0 }

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
func (s *Schema) LocalTimeColumn() string { return s.Columns[s.col[FieldEventTimeLocal]].Name }

// Wants says whether the scanner extracts field f for this schema.
func (s *Schema) Wants(f Field) bool { return s.want[f] }

// ColumnOf returns the index of the column holding field f, or -1.
func (s *Schema) ColumnOf(f Field) int { return s.col[f] }
