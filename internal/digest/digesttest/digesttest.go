// Package digesttest generates CloudTrail trails with digest files for
// tests: log files, and hourly digests in AWS's documented format and key
// layout, chained and signed (SHA256withRSA) with a test RSA key, the
// signature kept as the object's x-amz-meta-signature would be. Tests then
// tamper with the objects and check what verification says.
package digesttest

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parquetrail/parquetrail/internal/digest"
)

// NewKey makes a test signing key (2048 bits, as CloudTrail's).
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Public is the digest.PublicKey of a test key.
func Public(k *rsa.PrivateKey) digest.PublicKey {
	return digest.PublicKey{Fingerprint: digest.Fingerprint(&k.PublicKey), Key: &k.PublicKey}
}

// Bucket is the objects of a generated bucket: keys to bodies, and keys to
// user metadata (names without "x-amz-meta-").
type Bucket struct {
	Name     string
	Objects  map[string][]byte
	Metadata map[string]map[string]string
}

// NewBucket returns an empty bucket.
func NewBucket(name string) *Bucket {
	return &Bucket{Name: name, Objects: map[string][]byte{}, Metadata: map[string]map[string]string{}}
}

// Delete removes an object.
func (b *Bucket) Delete(key string) {
	delete(b.Objects, key)
	delete(b.Metadata, key)
}

// Upload puts every object with its metadata into the S3 bucket (which
// must exist) through client.
func (b *Bucket) Upload(t testing.TB, client *s3.Client) {
	t.Helper()
	keys := make([]string, 0, len(b.Objects))
	for k := range b.Objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		body := b.Objects[k]
		_, err := client.PutObject(t.Context(), &s3.PutObjectInput{
			Bucket: aws.String(b.Name), Key: aws.String(k),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			Metadata: b.Metadata[k],
		})
		if err != nil {
			t.Fatalf("digesttest: put s3://%s/%s: %v", b.Name, k, err)
		}
	}
}

// WriteDir writes every object below dir, and for each object with a
// signature a sidecar <key>.signature holding it (a local folder keeps no
// metadata).
func (b *Bucket) WriteDir(t testing.TB, dir string, sidecars bool) {
	t.Helper()
	for k, body := range b.Objects {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if sig, ok := b.Metadata[k]["signature"]; ok && sidecars {
			if err := os.WriteFile(p+digest.SignatureSuffix, []byte(sig+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Trail delivers one account's, region's and trail's log files and digests
// into a bucket.
type Trail struct {
	Bucket  *Bucket
	Root    string // key prefix above AWSLogs/: "" or ending in "/"
	Org     string // "o-..." for an Organization trail, or ""
	Account string
	Region  string
	Name    string
	Key     *rsa.PrivateKey

	pending  []digest.LogFile
	lastEnd  time.Time
	prevKey  string
	prevSig  string
	prevHash string
	seq      int
}

func (t *Trail) accountPrefix() string {
	p := t.Root + "AWSLogs/"
	if t.Org != "" {
		p += t.Org + "/"
	}
	return p + t.Account + "/"
}

// Log delivers a log file at delivered holding records (a JSON array's
// elements) and returns its key. It is listed by the next Seal.
func (t *Trail) Log(tb testing.TB, delivered time.Time, records ...string) string {
	tb.Helper()
	t.seq++
	key := fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%sZ_%016d.json.gz", t.accountPrefix(), t.Region,
		delivered.UTC().Format("2006/01/02"), t.Account, t.Region, delivered.UTC().Format("20060102T1504"), t.seq)
	raw := []byte(`{"Records":[`)
	for i, r := range records {
		if i > 0 {
			raw = append(raw, ',')
		}
		raw = append(raw, r...)
	}
	raw = append(raw, "]}"...)
	t.Bucket.Objects[key] = Gzip(tb, raw)
	sum := sha256.Sum256(raw)
	t.pending = append(t.pending, digest.LogFile{
		S3Bucket: t.Bucket.Name, S3Object: key, HashValue: hex.EncodeToString(sum[:]), HashAlgorithm: digest.HashAlgorithm,
		NewestEventTime: delivered.UTC().Format(time.RFC3339), OldestEventTime: delivered.UTC().Format(time.RFC3339),
	})
	return key
}

// Inject puts a log file into the trail's folders that CloudTrail did not
// deliver: no digest will list it.
func (t *Trail) Inject(tb testing.TB, delivered time.Time, records ...string) string {
	tb.Helper()
	n := len(t.pending)
	key := t.Log(tb, delivered, records...)
	t.pending = t.pending[:n]
	return key
}

// Seal delivers the digest ending at end, listing the log files delivered
// since the previous Seal, chained to the previous digest, and returns its
// key. The first digest of a trail starts its chain.
func (t *Trail) Seal(tb testing.TB, end time.Time) string {
	tb.Helper()
	end = end.UTC().Truncate(time.Second)
	start := t.lastEnd
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	key := fmt.Sprintf("%sCloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", t.accountPrefix(), t.Region,
		end.Format("2006/01/02"), t.Account, t.Region, t.Name, t.Region, end.Format("20060102T150405Z"))
	d := map[string]any{
		"awsAccountId":                t.Account,
		"digestStartTime":             start.Format(time.RFC3339),
		"digestEndTime":               end.Format(time.RFC3339),
		"digestS3Bucket":              t.Bucket.Name,
		"digestS3Object":              key,
		"digestPublicKeyFingerprint":  digest.Fingerprint(&t.Key.PublicKey),
		"digestSignatureAlgorithm":    digest.SignatureAlgorithm,
		"newestEventTime":             nil,
		"oldestEventTime":             nil,
		"previousDigestS3Bucket":      nil,
		"previousDigestS3Object":      nil,
		"previousDigestHashValue":     nil,
		"previousDigestHashAlgorithm": nil,
		"previousDigestSignature":     nil,
		"logFiles":                    append([]digest.LogFile{}, t.pending...),
	}
	if len(t.pending) > 0 {
		d["newestEventTime"] = t.pending[len(t.pending)-1].NewestEventTime
		d["oldestEventTime"] = t.pending[0].OldestEventTime
	}
	if t.prevKey != "" {
		d["previousDigestS3Bucket"] = t.Bucket.Name
		d["previousDigestS3Object"] = t.prevKey
		d["previousDigestHashValue"] = t.prevHash
		d["previousDigestHashAlgorithm"] = digest.HashAlgorithm
		d["previousDigestSignature"] = t.prevSig
	}
	raw, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	parsed, err := digest.Parse(raw)
	if err != nil {
		tb.Fatalf("digesttest: the generated digest does not parse: %v", err)
	}
	sum := sha256.Sum256(raw)
	hexSum := hex.EncodeToString(sum[:])
	h := sha256.Sum256([]byte(digest.SigningString(parsed, hexSum)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, t.Key, crypto.SHA256, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	t.Bucket.Objects[key] = Gzip(tb, raw)
	t.Bucket.Metadata[key] = map[string]string{"signature": hex.EncodeToString(sig), "signature-algorithm": digest.SignatureAlgorithm}
	t.pending, t.lastEnd = nil, end
	t.prevKey, t.prevSig, t.prevHash = key, hex.EncodeToString(sig), hexSum
	return key
}

// Gzip compresses b.
func Gzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Record is a minimal CloudTrail record at t.
func Record(t time.Time, id string) string {
	return fmt.Sprintf(`{"eventVersion":"1.11","eventTime":%q,"eventID":%q,"eventName":"GetObject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"}`,
		t.UTC().Format(time.RFC3339), id)
}
