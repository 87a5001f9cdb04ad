package scan

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/record"
)

// TestLosslessRules walks the cases of the lossless rule one by one: what
// lands in the typed columns, what in unmapped, and that the record comes
// back equal.
func TestLosslessRules(t *testing.T) {
	const et = `"eventTime":"2024-05-01T10:00:00Z"`
	for _, tc := range []struct {
		name     string
		rec      string
		cols     record.Values // expected typed values (subset)
		unmapped string        // expected unmapped JSON, "" for none
	}{
		{"plain", `{` + et + `,"eventName":"X","readOnly":true}`, record.Values{"eventname": "X", "readonly": true}, ""},
		{"readOnly as a string", `{` + et + `,"readOnly":"true"}`, record.Values{"readonly": true}, `{"readOnly":"true"}`},
		{"readOnly neither", `{` + et + `,"readOnly":"yes"}`, record.Values{"readonly": nil}, `{"readOnly":"yes"}`},
		{"userAgent as a list", `{` + et + `,"userAgent":["a","b"]}`, record.Values{"useragent": `["a","b"]`}, `{"userAgent":["a","b"]}`},
		{"object in a string field", `{` + et + `,"errorMessage":{ "code" : 5, "x": [true] }}`,
			record.Values{"errormessage": `{"code":5,"x":[true]}`}, `{"errorMessage":{"code":5,"x":[true]}}`},
		{"object in a nested string field", `{` + et + `,"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":{"v":false}}}}}`,
			record.Values{"useridentity_sessioncontext_attributes_mfaauthenticated": `{"v":false}`},
			`{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":{"v":false}}}}}`},
		{"explicit null", `{` + et + `,"errorCode":null}`, record.Values{"errorcode": nil}, `{"errorCode":null}`},
		{"number in a string field", `{` + et + `,"apiVersion":2}`, record.Values{"apiversion": "2"}, `{"apiVersion":2}`},
		{"lenient eventTime", `{"eventTime":"2025-03-26 16:43:57.000000000"}`, record.Values{}, `{"eventTime":"2025-03-26 16:43:57.000000000"}`},
		{"fractional eventTime", `{"eventTime":"2024-05-01T10:00:00.123Z"}`, record.Values{}, ""},
		{"resources", `{` + et + `,"resources":[{"ARN":"a","type":"t"},{"accountId":"1"}]}`,
			record.Values{"resources_arn": []any{"a", nil}, "resources_accountid": []any{nil, "1"}, "resources_type": []any{"t", nil}}, ""},
		{"resources with another key", `{` + et + `,"resources":[{"ARN":"a","x":1}]}`,
			record.Values{"resources_arn": []any{"a"}}, `{"resources":[{"ARN":"a","x":1}]}`},
		{"resources with a null", `{` + et + `,"resources":[{"ARN":null}]}`,
			record.Values{"resources_arn": []any{nil}}, `{"resources":[{"ARN":null}]}`},
		{"empty resources", `{` + et + `,"resources":[]}`, record.Values{"resources_arn": []any{}}, ""},
		{"eventId spelling", `{` + et + `,"eventId":"e1"}`, record.Values{"eventid": "e1"}, `{"eventId":"e1"}`},
		{"both spellings", `{` + et + `,"eventID":"e1","eventId":"e2"}`, record.Values{"eventid": "e1"}, `{"eventId":"e2","eventID":"e1"}`},
		{"unknown keys at depth", `{` + et + `,"userIdentity":{"type":"T","x":1,"sessionContext":{"sessionIssuer":{"y":2}}},"p_any":[1]}`,
			record.Values{"useridentity_type": "T"}, `{"userIdentity":{"x":1,"sessionContext":{"sessionIssuer":{"y":2}}},"p_any":[1]}`},
		{"empty structs", `{` + et + `,"userIdentity":{"sessionContext":{}},"tlsDetails":{}}`, record.Values{},
			`{"userIdentity":{"sessionContext":{}},"tlsDetails":{}}`},
		{"struct that is not an object", `{` + et + `,"userIdentity":null}`, record.Values{}, `{"userIdentity":null}`},
		{"blobs stay JSON text", `{` + et + `,"requestParameters":{ "a" : [1, 2] },"serviceEventDetails":"s"}`,
			record.Values{"requestparameters": `{"a":[1,2]}`, "serviceeventdetails": `"s"`}, ""},
		{"escapes", `{` + et + `,"eventName":"a\"b\u00e9\ud83d\ude00"}`, record.Values{"eventname": "a\"b\u00e9\U0001F600"}, ""},
		{"web identity in both places", `{` + et + `,"userIdentity":{"webIdFederationData":{"federatedProvider":"p","attributes":{"k":"v"}},"sessionContext":{"webIdFederationData":{"federatedProvider":"q"}}}}`,
			record.Values{"useridentity_webidfederationdata_federatedprovider": "p", "useridentity_webidfederationdata_attributes": `{"k":"v"}`,
				"useridentity_sessioncontext_webidfederationdata_federatedprovider": "q"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := record.NewSchema(record.Full, "")
			r := NewReader(strings.NewReader(`{"Records":[`+tc.rec+`]}`), s, ReaderOptions{})
			var row record.Row
			if err := r.Next(&row); err != nil {
				t.Fatal(err)
			}
			if row.Kind != "" {
				t.Fatalf("malformed: %s %s", row.Kind, row.Detail)
			}
			got := s.RowValues(&row)
			for k, want := range tc.cols {
				if d := cmp.Diff(want, got[k]); d != "" {
					t.Errorf("%s (-want +got):\n%s", k, d)
				}
			}
			gotU, _ := got["unmapped"].(string)
			if tc.unmapped == "" && gotU != "" || tc.unmapped != "" && canon(t, gotU) != canon(t, tc.unmapped) {
				t.Errorf("unmapped %s, want %s", gotU, tc.unmapped)
			}
			back, err := s.RebuildJSON(got)
			if err != nil {
				t.Fatal(err)
			}
			if canon(t, string(back)) != canon(t, tc.rec) {
				t.Errorf("rebuilt %s, want %s", back, tc.rec)
			}
			if err := r.Next(&row); err != io.EOF {
				t.Errorf("after the record: %v", err)
			}
		})
	}
}

// TestScalarColumnsKeepJSON checks the seed set, which has no unmapped
// column: a value of another JSON type in a string column is kept as its
// compact JSON text, never null.
func TestScalarColumnsKeepJSON(t *testing.T) {
	const et = `"eventTime":"2024-05-01T10:00:00Z"`
	for _, tc := range []struct {
		name string
		rec  string
		want record.Values
	}{
		{"number", `{` + et + `,"apiVersion":2.5}`, record.Values{"apiversion": "2.5"}},
		{"boolean", `{` + et + `,"sharedEventID":false}`, record.Values{"sharedeventid": "false"}},
		{"object", `{` + et + `,"errorCode":{"a": "b"}}`, record.Values{"errorcode": `{"a":"b"}`}},
		{"array", `{` + et + `,"userAgent":[ "a", 1 ]}`, record.Values{"useragent": `["a",1]`}},
		{"nested object", `{` + et + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":{"n":[]}}}}}`,
			record.Values{"useridentity_sessioncontext_sessionissuer_username": `{"n":[]}`}},
		{"null stays null", `{` + et + `,"errorCode":null}`, record.Values{"errorcode": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := record.NewSchema(record.Seed, "")
			r := NewReader(strings.NewReader(`{"Records":[`+tc.rec+`]}`), s, ReaderOptions{})
			var row record.Row
			if err := r.Next(&row); err != nil {
				t.Fatal(err)
			}
			got := s.RowValues(&row)
			for k, want := range tc.want {
				if d := cmp.Diff(want, got[k]); d != "" {
					t.Errorf("%s (-want +got):\n%s", k, d)
				}
			}
		})
	}
}

func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestInvalidUTF8 keeps every column valid UTF-8 (query engines refuse
// anything else) while the record stays equal as encoding/json reads it.
func TestInvalidUTF8(t *testing.T) {
	s, _ := record.NewSchema(record.Full, "")
	rec := "{\"eventTime\":\"2024-05-01T10:00:00Z\",\"eventName\":\"a\xffb\",\"requestParameters\":{\"k\":\"c\xfe\xc3\"},\"x\":[\"\xe2\x82\"],\"k\xff\":1,\"readOnly\":\"t\xffrue\"}"
	r := NewReader(strings.NewReader(`{"Records":[`+rec+`]}`), s, ReaderOptions{})
	var row record.Row
	if err := r.Next(&row); err != nil {
		t.Fatal(err)
	}
	vals := s.RowValues(&row)
	for k, v := range vals {
		if str, ok := v.(string); ok && !utf8.ValidString(str) {
			t.Errorf("%s is not valid UTF-8: %q", k, str)
		}
	}
	back, err := s.RebuildJSON(vals)
	if err != nil {
		t.Fatal(err)
	}
	if canon(t, string(back)) != canon(t, rec) {
		t.Errorf("rebuilt %s, want %s", back, rec)
	}
}
