// Package digest verifies a day's CloudTrail log files against the signed
// digest chain that CloudTrail delivers beside them when log file integrity
// validation is on, as the CloudTrail user guide documents it ("CloudTrail
// digest file structure", "Custom implementations of CloudTrail log file
// integrity validation"):
//
//   - every hour CloudTrail writes, per account, region and trail, a digest
//     file under CloudTrail-Digest/ naming each log file delivered in that hour
//     with the SHA-256 of its uncompressed content;
//   - the digest is signed (SHA256withRSA, PKCS #1 v1.5) with the region's
//     private key; the hex signature is the digest object's x-amz-meta-signature;
//   - the signed string carries the previous digest's signature, so the
//     digests form a chain, and each digest also names the previous one with
//     the SHA-256 of its uncompressed content.
//
// Verify reads the digests of a day, checks their signatures with CloudTrail's
// public keys (from ListPublicKeys, or a PEM bundle for offline use) and their
// chain, and gives each selected log file an Outcome.
package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Algorithms CloudTrail uses; any other is refused rather than guessed at.
const (
	SignatureAlgorithm = "SHA256withRSA"
	HashAlgorithm      = "SHA-256"
)

// Folder is the key segment under an account that holds its digests.
const Folder = "CloudTrail-Digest"

// Digest is one digest file as CloudTrail writes it. Fields CloudTrail
// writes as JSON null (the first digest of a chain has no previous digest;
// an hour without events has no event times) are nil.
type Digest struct {
	AWSAccountID          string    `json:"awsAccountId"`
	StartTime             string    `json:"digestStartTime"`
	EndTime               string    `json:"digestEndTime"`
	S3Bucket              string    `json:"digestS3Bucket"`
	S3Object              string    `json:"digestS3Object"`
	PublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	SignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime       *string   `json:"newestEventTime"`
	OldestEventTime       *string   `json:"oldestEventTime"`
	PreviousS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousS3Object      *string   `json:"previousDigestS3Object"`
	PreviousHashValue     *string   `json:"previousDigestHashValue"`
	PreviousHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousSignature     *string   `json:"previousDigestSignature"`
	LogFiles              []LogFile `json:"logFiles"`

	// Start and End are StartTime and EndTime parsed.
	Start time.Time `json:"-"`
	End   time.Time `json:"-"`
}

// LogFile is a digest's entry for one log file. The event times are kept
// as written: they inform, they prove nothing, and real digests have been
// seen with malformed ones.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// HasPrevious reports whether the digest links to a previous one. A digest
// without a link starts a chain (validation or logging was off before it).
func (d *Digest) HasPrevious() bool { return d.PreviousS3Object != nil }

// Parse reads an uncompressed digest file. It checks what verification
// relies on: the fields of the signed string, the algorithms, and that the
// previous-digest fields are all present or all null.
func Parse(b []byte) (*Digest, error) {
	var d Digest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not a digest: %w", err)
	}
	var missing []string
	for name, v := range map[string]string{
		"digestStartTime": d.StartTime, "digestEndTime": d.EndTime,
		"digestS3Bucket": d.S3Bucket, "digestS3Object": d.S3Object,
		"digestPublicKeyFingerprint": d.PublicKeyFingerprint,
		"digestSignatureAlgorithm":   d.SignatureAlgorithm,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("digest lacks %s", strings.Join(missing, ", "))
	}
	var err error
	if d.Start, err = time.Parse(time.RFC3339, d.StartTime); err != nil {
		return nil, fmt.Errorf("digestStartTime: %w", err)
	}
	if d.End, err = time.Parse(time.RFC3339, d.EndTime); err != nil {
		return nil, fmt.Errorf("digestEndTime: %w", err)
	}
	if d.SignatureAlgorithm != SignatureAlgorithm {
		return nil, fmt.Errorf("digestSignatureAlgorithm %q is not %s", d.SignatureAlgorithm, SignatureAlgorithm)
	}
	prev := []*string{d.PreviousS3Bucket, d.PreviousS3Object, d.PreviousHashValue, d.PreviousHashAlgorithm, d.PreviousSignature}
	nulls := 0
	for _, p := range prev {
		if p == nil {
			nulls++
		}
	}
	switch {
	case nulls == 0:
		if *d.PreviousHashAlgorithm != HashAlgorithm {
			return nil, fmt.Errorf("previousDigestHashAlgorithm %q is not %s", *d.PreviousHashAlgorithm, HashAlgorithm)
		}
	case nulls != len(prev):
		return nil, errors.New("previous-digest fields are partly null")
	}
	for i, f := range d.LogFiles {
		switch {
		case f.S3Object == "":
			return nil, fmt.Errorf("logFiles[%d] has no s3Object", i)
		case f.HashAlgorithm != HashAlgorithm:
			return nil, fmt.Errorf("logFiles[%d] %s: hashAlgorithm %q is not %s", i, f.S3Object, f.HashAlgorithm, HashAlgorithm)
		case !isHex(f.HashValue, sha256.Size):
			return nil, fmt.Errorf("logFiles[%d] %s: hashValue %q is not a hex SHA-256", i, f.S3Object, f.HashValue)
		}
	}
	return &d, nil
}

// SigningString is the string CloudTrail signs for a digest: its end time
// as written, its bucket/key, the hex SHA-256 of the uncompressed digest
// file, and the previous digest's hex signature ("null" for the first of a
// chain, as AWS's Java implementation writes it).
func SigningString(d *Digest, digestSHA256Hex string) string {
	prev := "null"
	if d.PreviousSignature != nil {
		prev = *d.PreviousSignature
	}
	return d.EndTime + "\n" + d.S3Bucket + "/" + d.S3Object + "\n" + digestSHA256Hex + "\n" + prev
}

// Key is the parsed key of a digest file:
//
//	[prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHmmssZ.json.gz
type Key struct {
	// Account is the folder above CloudTrail-Digest/, including everything
	// before it: "[prefix/]AWSLogs/[o-org/]ACCOUNT/".
	AccountPrefix string
	Account       string
	Region        string
	Trail         string
	HomeRegion    string
	End           time.Time // from the name, to the second
}

// Chain names the chain a digest belongs to: one per account, region and trail.
func (k Key) Chain() string {
	return k.AccountPrefix + Folder + "/" + k.Region + "/" + k.Trail + "_" + k.HomeRegion
}

var digestNameRE = regexp.MustCompile(`^([0-9]{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_([0-9]{8}T[0-9]{6}Z)\.json\.gz$`)

// ParseKey parses a digest file's key; ok is false for anything else.
func ParseKey(key string) (k Key, ok bool) {
	segs := strings.Split(key, "/")
	n := len(segs)
	if n < 8 || segs[n-6] != Folder {
		return Key{}, false
	}
	m := digestNameRE.FindStringSubmatch(segs[n-1])
	if m == nil || m[1] != segs[n-7] || m[2] != segs[n-5] {
		return Key{}, false
	}
	end, err := time.Parse("20060102T150405Z", m[5])
	if err != nil || end.Format("2006/01/02") != strings.Join(segs[n-4:n-1], "/") {
		return Key{}, false
	}
	return Key{
		AccountPrefix: strings.Join(segs[:n-6], "/") + "/",
		Account:       m[1], Region: m[2], Trail: m[3], HomeRegion: m[4], End: end,
	}, true
}

// RegionsPrefix is the folder of an account's digest regions.
func RegionsPrefix(accountPrefix string) string { return accountPrefix + Folder + "/" }

// DatePrefix is the folder of one UTC day of a region's digests (day is
// "YYYY/MM/DD").
func DatePrefix(accountPrefix, region, day string) string {
	return RegionsPrefix(accountPrefix) + region + "/" + day + "/"
}

func isHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
