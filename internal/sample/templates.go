package sample

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// The real records the generator draws its shapes from (see records/NOTICE).
//
//go:embed records/*.json records/awsdocs/*.json
var recordFiles embed.FS

// library is what the embedded records yield, parsed once per process.
type library struct {
	// templates are the shapes generated records are made from: every real
	// record with an eventTime, an event source and name, a region and an
	// account, except Insights events.
	templates []*template
	// regional and global index templates; global ones are events of global
	// services (IAM, sign-in, Organizations, ...), which CloudTrail records
	// in us-east-1.
	regional, global []int
	// insights are the Insights events, written to CloudTrail-Insight/.
	insights []*template
	// verbatim are the real records written unchanged but for eventTime.
	verbatim []verbatimRecord
}

// verbatimRecord is a real record split around its eventTime value.
type verbatimRecord struct {
	src       string // "file#index"
	pre, post []byte // the compact record before and after the eventTime string's content
	eventID   string // "" when the record has none
	insight   bool
}

type holeKind uint8

const (
	hEventTime holeKind = iota + 1 // the record's eventTime
	hEventID                       // a fresh UUID, unique per record
	hUUID                          // a fresh UUID per distinct original value in the record
	hReshape                       // random characters of the same classes as the original
	hAccessKey                     // an access key ID from the account's pool
	hIP                            // an IPv4 address from the account's pool
	hTime                          // an RFC 3339 time, moved by as much as eventTime
	hAccount                       // the account of the file's key
	hRegion                        // the region of the file's key
)

type hole struct {
	kind  holeKind
	orig  string    // original text (the key of per-record mappings)
	frac  int       // hTime: digits of the fraction of a second
	at    time.Time // hTime: the original time
	upper bool      // hUUID: upper-case hex
}

// template is one real record cut into literal text and holes.
type template struct {
	src       string
	lits      [][]byte // len(holes)+1
	holes     []hole
	eventTime time.Time // the original eventTime; zero when it does not parse
	size      int       // length of the compact original
	weight    float64
}

var (
	libOnce sync.Once
	lib     *library
	libErr  error
)

func loadLibrary() (*library, error) {
	libOnce.Do(func() { lib, libErr = buildLibrary() })
	return lib, libErr
}

// globalSources are recorded in us-east-1 whatever region the caller used.
var globalSources = map[string]bool{
	"iam.amazonaws.com":            true,
	"signin.amazonaws.com":         true,
	"organizations.amazonaws.com":  true,
	"cloudfront.amazonaws.com":     true,
	"route53.amazonaws.com":        true,
	"billingconsole.amazonaws.com": true,
}

func buildLibrary() (*library, error) {
	var names []string
	err := fs.WalkDir(recordFiles, "records", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	l := &library{}
	for _, name := range names {
		data, err := recordFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("sample: embedded %s: %w", name, err)
		}
		short := strings.TrimPrefix(name, "records/")
		for i, raw := range doc.Records {
			src := fmt.Sprintf("%s#%d", short, i)
			if err := l.add(src, raw); err != nil {
				return nil, fmt.Errorf("sample: embedded %s: %w", src, err)
			}
		}
	}
	if len(l.regional) == 0 {
		return nil, fmt.Errorf("sample: no usable embedded record")
	}
	return l, nil
}

// field is one top-level member of a record.
type field struct {
	key string
	raw []byte
}

func topFields(raw []byte) ([]field, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, false
		}
		out = append(out, field{key, c.Bytes()})
	}
	return out, true
}

func joinFields(fields []field, skip func(string) bool) []byte {
	b := []byte{'{'}
	first := true
	for _, f := range fields {
		if skip != nil && skip(f.key) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		k, _ := json.Marshal(f.key)
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, f.raw...)
	}
	return append(b, '}')
}

func str(fields []field, key string) (string, bool) {
	for _, f := range fields {
		if f.key == key {
			var s string
			if json.Unmarshal(f.raw, &s) == nil {
				return s, true
			}
			return "", false
		}
	}
	return "", false
}

func has(fields []field, key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}

func (l *library) add(src string, raw []byte) error {
	fields, ok := topFields(raw)
	if !ok {
		return nil // not an object: neither a shape nor a verbatim record
	}
	et, ok := str(fields, "eventTime")
	if !ok {
		return nil
	}
	eventType, _ := str(fields, "eventType")
	insight := eventType == "AwsCloudTrailInsight"

	// Verbatim: the record exactly as published, eventTime aside.
	full := joinFields(fields, nil)
	if pre, post, ok := splitTopString(full, "eventTime"); ok {
		id, _ := str(fields, "eventID")
		if id == "" {
			id, _ = str(fields, "eventId")
		}
		l.verbatim = append(l.verbatim, verbatimRecord{src: src, pre: pre, post: post, eventID: id, insight: insight})
	}

	// Template: needs what makes a record belong to a file of the layout.
	source, _ := str(fields, "eventSource")
	name, _ := str(fields, "eventName")
	region, _ := str(fields, "awsRegion")
	account, _ := str(fields, "recipientAccountId")
	if !isAccountID(account) {
		account = ""
		for _, f := range fields {
			if f.key == "userIdentity" {
				var ui struct {
					AccountID string `json:"accountId"`
				}
				if json.Unmarshal(f.raw, &ui) == nil && isAccountID(ui.AccountID) {
					account = ui.AccountID
				}
			}
		}
	}
	if region == "" || account == "" || ((source == "" || name == "") && !insight) {
		return nil
	}
	if !wellTyped(raw) {
		return nil // e.g. a sample whose sessionIssuer is a Python dict's text
	}
	switch eventType {
	case "", "AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn", "AwsConsoleAction",
		"AwsVpceEvent", "AwsCloudTrailInsight":
	default:
		return nil // test fixtures with made-up event types
	}
	// Some shapes spell readOnly and managementEvent as strings, as some
	// real logs do.
	asString := stringBools(src)
	for i, f := range fields {
		if (f.key == "readOnly" || f.key == "managementEvent") && asString {
			switch string(f.raw) {
			case "true":
				fields[i].raw = []byte(`"true"`)
			case "false":
				fields[i].raw = []byte(`"false"`)
			}
		}
	}
	// Every real record has an eventID and a recipientAccountId; some
	// samples were trimmed of them.
	if !has(fields, "eventID") {
		if !has(fields, "eventId") {
			at := len(fields)
			for i, f := range fields {
				if f.key == "requestID" {
					at = i + 1
				}
			}
			fields = append(fields[:at], append([]field{{"eventID", []byte(`"00000000-0000-4000-8000-000000000000"`)}}, fields[at:]...)...)
		}
	}
	if !has(fields, "recipientAccountId") {
		fields = append(fields, field{"recipientAccountId", []byte(`"` + account + `"`)})
	}
	compact := joinFields(fields, func(k string) bool { return strings.HasPrefix(k, "p_") })
	t := &template{src: src, size: len(compact), eventTime: parseAnyTime(et)}
	t.lits, t.holes = cut(compact, account, region, !t.eventTime.IsZero())
	if insight {
		l.insights = append(l.insights, t)
		return nil
	}
	t.weight = shapeWeight(src, len(compact))
	l.templates = append(l.templates, t)
	idx := len(l.templates) - 1
	if globalSources[source] {
		l.global = append(l.global, idx)
	} else {
		l.regional = append(l.regional, idx)
	}
	return nil
}

// wellTyped reports whether a record has the types CloudTrail's record
// schema gives its members (strings are strings, structures are objects,
// either may be null). Some published samples do not; they stay out of the
// shapes, so that a generated day is valid CloudTrail.
func wellTyped(raw []byte) bool {
	var rec map[string]any
	if json.Unmarshal(raw, &rec) != nil {
		return false
	}
	strs := func(m map[string]any, keys ...string) bool {
		for _, k := range keys {
			switch m[k].(type) {
			case nil, string:
			default:
				return false
			}
		}
		return true
	}
	obj := func(m map[string]any, key string) (map[string]any, bool) {
		switch v := m[key].(type) {
		case nil:
			return nil, true
		case map[string]any:
			return v, true
		}
		return nil, false
	}
	if !strs(rec, "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
		"userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion",
		"recipientAccountId", "sharedEventID", "vpcEndpointId", "eventCategory", "sessionCredentialFromConsole") {
		return false
	}
	for _, k := range []string{"readOnly", "managementEvent"} {
		switch v := rec[k].(type) {
		case nil, bool:
		case string:
			if v != "true" && v != "false" {
				return false
			}
		default:
			return false
		}
	}
	switch res := rec["resources"].(type) {
	case nil:
	case []any:
		for _, r := range res {
			m, ok := r.(map[string]any)
			if !ok || !strs(m, "ARN", "accountId", "type") {
				return false
			}
		}
	default:
		return false
	}
	ui, ok := obj(rec, "userIdentity")
	if !ok {
		return false
	}
	if ui == nil {
		return true
	}
	if !strs(ui, "type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy", "identityProvider") {
		return false
	}
	if wf, ok := obj(ui, "webIdFederationData"); !ok || (wf != nil && !strs(wf, "federatedProvider")) {
		return false
	}
	sc, ok := obj(ui, "sessionContext")
	if !ok {
		return false
	}
	if sc == nil {
		return true
	}
	if wf, ok := obj(sc, "webIdFederationData"); !ok || (wf != nil && !strs(wf, "federatedProvider")) {
		return false
	}
	at, ok := obj(sc, "attributes")
	if !ok || (at != nil && !strs(at, "creationDate", "mfaAuthenticated")) {
		return false
	}
	si, ok := obj(sc, "sessionIssuer")
	return ok && (si == nil || strs(si, "type", "principalId", "arn", "accountId", "userName"))
}

// shapeWeight is how often a shape is drawn relative to the others. The
// detonation logs are complete real records and weigh more than rule-test
// and documentation samples, which are often trimmed; larger shapes weigh
// more (a real trail's mean record is about 1.4 KB, the samples' about
// 1.2 KB), except the few very large ones, which would dominate the volume.
func shapeWeight(src string, size int) float64 {
	w := math.Pow(float64(size)/1000, 0.6)
	if strings.HasPrefix(src, "stratus-red-team") {
		w *= 2
	}
	if size > 6000 {
		w /= 4
	}
	return w
}

// stringBools picks about one shape in twelve, the same in every run.
func stringBools(src string) bool {
	h := fnv.New32a()
	h.Write([]byte(src))
	return h.Sum32()%12 == 0
}

// splitTopString finds the content of the top-level string member key of the
// compact object b and returns what precedes and follows it.
func splitTopString(b []byte, key string) (pre, post []byte, ok bool) {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j := stringEnd(b, i)
			if depth == 1 && j+2 < len(b) && b[j+1] == ':' && string(b[i+1:j]) == key {
				if b[j+2] != '"' {
					return nil, nil, false
				}
				k := stringEnd(b, j+2)
				return b[:j+3], b[k:], true
			}
			i = j
		}
	}
	return nil, nil, false
}

// stringEnd returns the index of the quote closing the string opened at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(b) - 1
}

// cut splits a compact record into literals and holes: the values that vary
// from one generated record to the next, and the account and region of the
// original wherever they occur inside strings (ARNs, host names, ...).
func cut(b []byte, account, region string, timed bool) (lits [][]byte, holes []hole) {
	var lit []byte
	flush := func(h hole) {
		lits = append(lits, lit)
		holes = append(holes, h)
		lit = nil
	}
	depth := 0
	topKey := ""
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j := stringEnd(b, i)
			content := string(b[i+1 : j])
			if j+1 < len(b) && b[j+1] == ':' { // a key
				if depth == 1 {
					topKey = content
				}
				lit = append(lit, b[i:j+1]...)
				i = j
				continue
			}
			lit = append(lit, '"')
			top := ""
			if depth == 1 {
				top = topKey
			}
			if h, ok := classify(content, top, timed); ok {
				flush(h)
			} else {
				// The original account and region inside strings become
				// the file's.
				rest := content
				for len(rest) > 0 {
					ia := indexAccount(rest, account)
					ir := strings.Index(rest, region)
					if ia < 0 && ir < 0 {
						lit = append(lit, rest...)
						break
					}
					if ir < 0 || (ia >= 0 && ia < ir) {
						lit = append(lit, rest[:ia]...)
						flush(hole{kind: hAccount})
						rest = rest[ia+len(account):]
					} else {
						lit = append(lit, rest[:ir]...)
						flush(hole{kind: hRegion})
						rest = rest[ir+len(region):]
					}
				}
			}
			lit = append(lit, '"')
			i = j
			continue
		}
		lit = append(lit, c)
	}
	lits = append(lits, lit)
	return lits, holes
}

// indexAccount finds account in s where it is not part of a longer number.
func indexAccount(s, account string) int {
	off := 0
	for {
		i := strings.Index(s[off:], account)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(account)
		if (i == 0 || !isDigit(s[i-1])) && (end == len(s) || !isDigit(s[end])) {
			return i
		}
		off = i + 1
	}
}

func classify(s, topKey string, timed bool) (hole, bool) {
	if strings.IndexByte(s, '\\') >= 0 {
		return hole{}, false
	}
	switch topKey {
	case "eventTime":
		return hole{kind: hEventTime}, true
	case "eventID", "eventId":
		return hole{kind: hEventID}, true
	}
	if isUUIDShaped(s) {
		return hole{kind: hUUID, orig: s, upper: strings.ToUpper(s) == s && strings.ToLower(s) != s}, true
	}
	if topKey == "requestID" && len(s) >= 6 && isAlnumDash(s) {
		return hole{kind: hReshape, orig: s}, true
	}
	if isAccessKey(s) {
		return hole{kind: hAccessKey, orig: s}, true
	}
	if isIPv4(s) {
		return hole{kind: hIP, orig: s}, true
	}
	if timed {
		if n, ok := rfc3339Frac(s); ok {
			return hole{kind: hTime, orig: s, frac: n, at: parseAnyTime(s)}, true
		}
	}
	return hole{}, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isAlnumDash(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isUUIDShaped: 8-4-4-4-12 letters and digits (real UUIDs, and the
// documentation's "EXAMPLE8-90ab-..." placeholders).
func isUUIDShaped(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isAlnum(s[i]) {
				return false
			}
		}
	}
	return true
}

func isAccessKey(s string) bool {
	if len(s) != 20 || !(strings.HasPrefix(s, "AKIA") || strings.HasPrefix(s, "ASIA")) {
		return false
	}
	for i := 4; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

// rfc3339Frac recognises "2006-01-02T15:04:05[.f...]Z" and returns the
// number of fraction digits.
func rfc3339Frac(s string) (int, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return 0, false
	}
	const shape = "dddd-dd-ddTdd:dd:dd"
	for i := 0; i < len(shape); i++ {
		if shape[i] == 'd' {
			if !isDigit(s[i]) {
				return 0, false
			}
		} else if s[i] != shape[i] {
			return 0, false
		}
	}
	rest := s[len(shape) : len(s)-1]
	if rest == "" {
		return 0, true
	}
	if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
		return 0, false
	}
	for i := 1; i < len(rest); i++ {
		if !isDigit(rest[i]) {
			return 0, false
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return 0, false
	}
	return len(rest) - 1, true
}

// parseAnyTime reads the eventTime spellings found in published records.
func parseAnyTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
