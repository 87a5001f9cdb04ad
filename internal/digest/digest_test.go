package digest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/corpus"
)

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(corpus.Path("digest", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The user guide's two documented digests and a third-party sample parse,
// keeping what the signed string and the chain need.
func TestParseRealDigests(t *testing.T) {
	var guide []struct {
		File   string          `json:"file"`
		Digest json.RawMessage `json:"digest"`
	}
	if err := json.Unmarshal(readCorpus(t, "aws-cloudtrail-user-guide-digests.json"), &guide); err != nil {
		t.Fatal(err)
	}
	if len(guide) != 2 {
		t.Fatalf("the user guide corpus has %d digests, want 2", len(guide))
	}
	type summary struct {
		End, Bucket, Object, Fingerprint string
		HasPrevious                      bool
		PreviousSignaturePrefix          string
		NewestEventTime                  *string
		LogFiles                         []string
		FirstLogNewest                   string
	}
	sum := func(d *Digest) summary {
		s := summary{End: d.End.Format(time.RFC3339), Bucket: d.S3Bucket, Object: d.S3Object, Fingerprint: d.PublicKeyFingerprint,
			HasPrevious: d.HasPrevious(), NewestEventTime: d.NewestEventTime}
		if d.PreviousSignature != nil {
			s.PreviousSignaturePrefix = (*d.PreviousSignature)[:16]
		}
		for _, f := range d.LogFiles {
			s.LogFiles = append(s.LogFiles, f.S3Object)
		}
		if len(d.LogFiles) > 0 {
			s.FirstLogNewest = d.LogFiles[0].NewestEventTime
		}
		return s
	}
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		raw  []byte
		want summary
	}{
		{
			name: "user guide, one log file",
			raw:  guide[0].Digest,
			want: summary{
				End: "2015-08-17T15:01:31Z", Bucket: "S3-bucket-name",
				Object:      "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
				Fingerprint: "31e8b5433410dfb61a9dc45cc65b22ff", HasPrevious: true, PreviousSignaturePrefix: "50887ccffad4c002",
				NewestEventTime: str("2015-08-17T14:52:27Z"),
				LogFiles:        []string{"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz"},
				FirstLogNewest:  "2015-08-17T14:52:27Z",
			},
		},
		{
			name: "user guide, an hour without log files",
			raw:  guide[1].Digest,
			want: summary{
				End: "2015-08-20T18:01:31Z", Bucket: "example-bucket-name",
				Object:      "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/20/111122223333_CloudTrail-Digest_us-east-2_example-trail-name_us-east-2_20150820T180131Z.json.gz",
				Fingerprint: "31e8b5433410dfb61a9dc45cc65b22ff", HasPrevious: true, PreviousSignaturePrefix: guidePrevSig(t, guide[1].Digest),
			},
		},
		{
			name: "third-party sample with a malformed log event time",
			raw:  readCorpus(t, "otel-collector-contrib-digest.json"),
			want: summary{
				End: "2025-10-21T01:00:00Z", Bucket: "amzn-s3-demo-bucket",
				Object:      "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/10/21/digest.json.gz",
				Fingerprint: "31e8b5433410dfb61a9dc45cc65b22ff", HasPrevious: true, PreviousSignaturePrefix: "hash-of-previous",
				NewestEventTime: str("2025-10-21T00:59:58Z"),
				LogFiles:        []string{"AWSLogs/123456789012/CloudTrail/us-east-1/2025/10/21/obj1.json.gz"},
				FirstLogNewest:  "2025-10-21TT00:52:27Z",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, sum(d)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func guidePrevSig(t *testing.T, raw []byte) string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m["previousDigestSignature"].(string)
	if len(s) < 16 {
		t.Fatalf("the second user guide digest has no previous signature")
	}
	return s[:16]
}

func TestParseRejects(t *testing.T) {
	base := func(edit func(m map[string]any)) []byte {
		m := map[string]any{
			"digestStartTime": "2026-11-24T00:01:31Z", "digestEndTime": "2026-11-24T01:01:31Z",
			"digestS3Bucket": "b", "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/24/x.json.gz",
			"digestPublicKeyFingerprint": "00", "digestSignatureAlgorithm": "SHA256withRSA",
			"previousDigestS3Bucket": nil, "previousDigestS3Object": nil, "previousDigestHashValue": nil,
			"previousDigestHashAlgorithm": nil, "previousDigestSignature": nil,
			"logFiles": []any{map[string]any{"s3Bucket": "b", "s3Object": "k", "hashAlgorithm": "SHA-256", "hashValue": strings.Repeat("ab", 32)}},
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name    string
		raw     []byte
		wantErr string // "" = accepted
	}{
		{"valid first digest", base(func(map[string]any) {}), ""},
		{"not JSON", []byte(`{"Records":`), "not a digest"},
		{"no end time", base(func(m map[string]any) { delete(m, "digestEndTime") }), "digest lacks digestEndTime"},
		{"no bucket nor fingerprint", base(func(m map[string]any) { m["digestS3Bucket"] = ""; delete(m, "digestPublicKeyFingerprint") }),
			"digest lacks digestPublicKeyFingerprint, digestS3Bucket"},
		{"bad end time", base(func(m map[string]any) { m["digestEndTime"] = "2026-11-24 01:01:31" }), "digestEndTime"},
		{"other signature algorithm", base(func(m map[string]any) { m["digestSignatureAlgorithm"] = "SHA1withRSA" }), `"SHA1withRSA" is not SHA256withRSA`},
		{"previous fields partly null", base(func(m map[string]any) { m["previousDigestSignature"] = "ab" }), "partly null"},
		{"other previous hash algorithm", base(func(m map[string]any) {
			for _, k := range []string{"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestSignature"} {
				m[k] = "x"
			}
			m["previousDigestHashAlgorithm"] = "MD5"
		}), `previousDigestHashAlgorithm "MD5"`},
		{"log hash not hex", base(func(m map[string]any) {
			m["logFiles"] = []any{map[string]any{"s3Object": "k", "hashAlgorithm": "SHA-256", "hashValue": "zz"}}
		}), `logFiles[0] k: hashValue "zz"`},
		{"log without object", base(func(m map[string]any) {
			m["logFiles"] = []any{map[string]any{"hashAlgorithm": "SHA-256", "hashValue": strings.Repeat("ab", 32)}}
		}), "logFiles[0] has no s3Object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.raw)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("Parse error = %q, want one containing %q", got, tt.wantErr)
			}
		})
	}
}

// The signed string is AWS's documented one, byte for byte; the first
// digest of a chain signs "null" for the previous signature.
func TestSigningString(t *testing.T) {
	var guide []struct {
		Digest json.RawMessage `json:"digest"`
	}
	if err := json.Unmarshal(readCorpus(t, "aws-cloudtrail-user-guide-digests.json"), &guide); err != nil {
		t.Fatal(err)
	}
	d, err := Parse(guide[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	const sum = "4ad1a1c04bdd0d7e4e5e7e0c7e4a1ebc1c4d4c0e0e6f4d4b2a6c2f1e0d9c8b7a"
	want := "2015-08-17T15:01:31Z\n" +
		"S3-bucket-name/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz\n" +
		sum + "\n" + *d.PreviousSignature
	if diff := cmp.Diff(want, SigningString(d, sum)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	d.PreviousS3Bucket, d.PreviousS3Object, d.PreviousHashValue, d.PreviousHashAlgorithm, d.PreviousSignature = nil, nil, nil, nil, nil
	if got := SigningString(d, sum); !strings.HasSuffix(got, "\n"+sum+"\nnull") {
		t.Errorf("first digest of a chain signs %q, want it to end in \\nnull", got)
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		key    string
		want   Key
		wantOK bool
	}{
		{
			key:    "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
			wantOK: true,
			want: Key{AccountPrefix: "AWSLogs/111122223333/", Account: "111122223333", Region: "us-east-2", Trail: "your-trail-name",
				HomeRegion: "us-east-2", End: time.Date(2015, 8, 17, 15, 1, 31, 0, time.UTC)},
		},
		{
			key:    "logs/AWSLogs/o-abc123/210987654321/CloudTrail-Digest/ap-northeast-2/2024/12/31/210987654321_CloudTrail-Digest_ap-northeast-2_org_trail_us-east-1_20241231T235959Z.json.gz",
			wantOK: true,
			want: Key{AccountPrefix: "logs/AWSLogs/o-abc123/210987654321/", Account: "210987654321", Region: "ap-northeast-2", Trail: "org_trail",
				HomeRegion: "us-east-1", End: time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)},
		},
		// An event log, a folder date that is not the name's, another account's name.
		{key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_x.json.gz"},
		{key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/18/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"},
		{key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/999999999999_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"},
		{key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz.signature"},
	}
	for _, tt := range tests {
		got, ok := ParseKey(tt.key)
		if ok != tt.wantOK {
			t.Errorf("ParseKey(%q) ok = %v, want %v", tt.key, ok, tt.wantOK)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseKey(%q) (-want +got):\n%s", tt.key, diff)
		}
	}
}

func TestParseSidecar(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "hex", in: "ABcd01\n", want: "abcd01"},
		{name: "head-object output", in: `{"ContentLength": 3, "Metadata": {"signature": "abcd", "signature-algorithm": "SHA256withRSA"}}`, want: "abcd"},
		{name: "other algorithm", in: `{"Metadata": {"signature": "abcd", "signature-algorithm": "SHA1withRSA"}}`, wantErr: "SHA1withRSA"},
		{name: "empty", in: "  \n", wantErr: "no signature"},
		{name: "no signature in head-object", in: `{"Metadata": {}}`, wantErr: "no signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSidecar([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
