package digest_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/digest/digesttest"
)

// cloudTrailServer speaks the CloudTrail JSON protocol (awsJson1_1) for
// ListPublicKeys: pages of keys, one page per NextToken.
type cloudTrailServer struct {
	t     *testing.T
	pages [][]map[string]any

	mu       sync.Mutex
	requests []listRequest
}

type listRequest struct {
	Target, Region     string
	StartTime, EndTime float64
	NextToken          string
}

func (s *cloudTrailServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		StartTime, EndTime float64
		NextToken          string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The SigV4 scope names the region: .../<date>/<region>/cloudtrail/aws4_request.
	auth := r.Header.Get("Authorization")
	region := ""
	if i := strings.Index(auth, "Credential="); i >= 0 {
		if parts := strings.Split(strings.SplitN(auth[i:], ",", 2)[0], "/"); len(parts) >= 3 {
			region = parts[2]
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, listRequest{Target: r.Header.Get("X-Amz-Target"), Region: region,
		StartTime: in.StartTime, EndTime: in.EndTime, NextToken: in.NextToken})
	s.mu.Unlock()
	if r.Header.Get("X-Amz-Target") != "CloudTrail_20131101.ListPublicKeys" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"UnknownOperationException","message":"not ListPublicKeys"}`)
		return
	}
	page := 0
	if in.NextToken != "" {
		page = int(in.NextToken[len(in.NextToken)-1] - '0')
	}
	out := map[string]any{"PublicKeyList": s.pages[page]}
	if page+1 < len(s.pages) {
		out["NextToken"] = "page-" + string(rune('0'+page+1))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func wireKey(k digest.PublicKey, fp string, from, to time.Time) map[string]any {
	if fp == "" {
		fp = k.Fingerprint
	}
	return map[string]any{
		"Value":             base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(k.Key)),
		"Fingerprint":       fp,
		"ValidityStartTime": float64(from.Unix()),
		"ValidityEndTime":   float64(to.Unix()),
	}
}

func cloudTrailKeys(endpoint string) *digest.CloudTrailKeys {
	return digest.NewCloudTrailKeys(aws.Config{
		Credentials: credentials.NewStaticCredentialsProvider("AKIATESTEXAMPLE", "not-a-secret", ""),
	}, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func TestCloudTrailListPublicKeys(t *testing.T) {
	k1, k2 := digesttest.Public(digesttest.NewKey(t)), digesttest.Public(digesttest.NewKey(t))
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	srv := &cloudTrailServer{t: t, pages: [][]map[string]any{{wireKey(k1, "", from, to)}, {wireKey(k2, "", from, to)}}}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	start, end := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)
	got, err := cloudTrailKeys(hs.URL).PublicKeys(t.Context(), "eu-west-1", start, end)
	if err != nil {
		t.Fatalf("PublicKeys: %v", err)
	}
	type key struct {
		Fingerprint   string
		N             string
		ValidFrom, To time.Time
	}
	var gotKeys []key
	for _, k := range got {
		gotKeys = append(gotKeys, key{k.Fingerprint, k.Key.N.String(), k.ValidFrom.UTC(), k.ValidTo.UTC()})
	}
	want := []key{{k1.Fingerprint, k1.Key.N.String(), from, to}, {k2.Fingerprint, k2.Key.N.String(), from, to}}
	if diff := cmp.Diff(want, gotKeys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	wantReqs := []listRequest{
		{Target: "CloudTrail_20131101.ListPublicKeys", Region: "eu-west-1", StartTime: float64(start.Unix()), EndTime: float64(end.Unix())},
		{Target: "CloudTrail_20131101.ListPublicKeys", Region: "eu-west-1", StartTime: float64(start.Unix()), EndTime: float64(end.Unix()), NextToken: "page-1"},
	}
	if diff := cmp.Diff(wantReqs, srv.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// A key whose value does not hash to its fingerprint is refused: digests
// name keys by fingerprint.
func TestCloudTrailKeyFingerprintMismatch(t *testing.T) {
	k := digesttest.Public(digesttest.NewKey(t))
	now := time.Now()
	srv := &cloudTrailServer{t: t, pages: [][]map[string]any{{wireKey(k, "0123456789abcdef0123456789abcdef", now, now)}}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	_, err := cloudTrailKeys(hs.URL).PublicKeys(t.Context(), "us-east-1", now, now)
	if err == nil || !strings.Contains(err.Error(), "hashes to fingerprint "+k.Fingerprint) {
		t.Fatalf("error = %v, want a fingerprint mismatch", err)
	}
}

func TestPEMBundle(t *testing.T) {
	k1, k2 := digesttest.Public(digesttest.NewKey(t)), digesttest.Public(digesttest.NewKey(t))
	pkix, err := x509.MarshalPKIXPublicKey(k2.Key)
	if err != nil {
		t.Fatal(err)
	}
	// A PKCS #1 block as ListPublicKeys gives, a PKIX one, and a block of
	// another kind that is skipped.
	bundle := string(digest.EncodePEM([]digest.PublicKey{k1})) + "comment\n" +
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}))
	got, err := digest.ParsePEM([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	var fps []string
	for _, k := range got {
		fps = append(fps, k.Fingerprint)
	}
	if diff := cmp.Diff([]string{k1.Fingerprint, k2.Fingerprint}, fps); diff != "" {
		t.Errorf("fingerprints (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "no pem here", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: []byte("junk")}))} {
		if _, err := digest.ParsePEM([]byte(bad)); err == nil {
			t.Errorf("ParsePEM(%q) accepted it", bad)
		}
	}
}
