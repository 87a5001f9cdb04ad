package digest

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/parquetrail/parquetrail/internal/store"
)

// PublicKey is one of CloudTrail's digest-signing keys.
type PublicKey struct {
	// Fingerprint is the hex MD5 of the DER PKCS #1 RSAPublicKey, the value
	// digests name in digestPublicKeyFingerprint.
	Fingerprint string
	Key         *rsa.PublicKey
	// Validity as ListPublicKeys reports it; zero when unknown (PEM bundle).
	ValidFrom, ValidTo time.Time
}

// Fingerprint computes a key's fingerprint as CloudTrail does.
func Fingerprint(k *rsa.PublicKey) string {
	sum := md5.Sum(x509.MarshalPKCS1PublicKey(k))
	return hex.EncodeToString(sum[:])
}

// ParsePublicKey reads a DER PKCS #1 RSAPublicKey (the Value ListPublicKeys
// returns) or, failing that, a DER SubjectPublicKeyInfo holding an RSA key.
func ParsePublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("neither a PKCS #1 RSA public key nor a PKIX public key")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA public key", k)
	}
	return rk, nil
}

// KeyProvider supplies the public keys that may have signed a region's
// digests in a time range. CloudTrail signs with a key per region.
type KeyProvider interface {
	PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error)
}

// Bundle is a fixed set of keys, whatever the region and time: the offline
// source, read from a PEM file.
type Bundle []PublicKey

// PublicKeys returns the whole bundle.
func (b Bundle) PublicKeys(context.Context, string, time.Time, time.Time) ([]PublicKey, error) {
	return b, nil
}

// ParsePEM reads a bundle of "RSA PUBLIC KEY" (PKCS #1, as ListPublicKeys
// returns them, base64-wrapped) or "PUBLIC KEY" (PKIX) blocks. Other blocks
// and text between blocks are ignored; a bundle without keys is an error.
func ParsePEM(b []byte) (Bundle, error) {
	var out Bundle
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "RSA PUBLIC KEY" && blk.Type != "PUBLIC KEY" {
			continue
		}
		k, err := ParsePublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, blk.Type, err)
		}
		out = append(out, PublicKey{Fingerprint: Fingerprint(k), Key: k})
	}
	if len(out) == 0 {
		return nil, errors.New(`no "RSA PUBLIC KEY" or "PUBLIC KEY" PEM block`)
	}
	return out, nil
}

// ReadPEM reads a PEM bundle file.
func ReadPEM(path string) (Bundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	keys, err := ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("public keys %s: %w", path, err)
	}
	return keys, nil
}

// EncodePEM writes keys as a bundle ParsePEM reads back (PKCS #1 blocks).
func EncodePEM(keys []PublicKey) []byte {
	var sb strings.Builder
	for _, k := range keys {
		pem.Encode(&sb, &pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k.Key)})
	}
	return []byte(sb.String())
}

// CloudTrailKeys asks the CloudTrail ListPublicKeys API of each region.
type CloudTrailKeys struct {
	// Client returns the CloudTrail client of a region.
	Client func(region string) *cloudtrail.Client
}

// NewCloudTrailKeys returns a provider whose per-region clients derive from
// cfg (credentials, retryer, endpoint resolution: AWS_ENDPOINT_URL_CLOUDTRAIL
// is honoured by the SDK).
func NewCloudTrailKeys(cfg aws.Config, optFns ...func(*cloudtrail.Options)) *CloudTrailKeys {
	var mu sync.Mutex
	clients := map[string]*cloudtrail.Client{}
	return &CloudTrailKeys{Client: func(region string) *cloudtrail.Client {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[region]; ok {
			return c
		}
		c := cloudtrail.NewFromConfig(cfg, append([]func(*cloudtrail.Options){func(o *cloudtrail.Options) { o.Region = region }}, optFns...)...)
		clients[region] = c
		return c
	}}
}

// PublicKeys lists the keys valid in [start, end] in region, following
// pagination. A key whose Value does not hash to its Fingerprint is an
// error: the fingerprint is what a digest names.
func (c *CloudTrailKeys) PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	p := cloudtrail.NewListPublicKeysPaginator(c.Client(region), &cloudtrail.ListPublicKeysInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
	})
	var out []PublicKey
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("CloudTrail ListPublicKeys in %s: %w", region, err)
		}
		for _, pk := range page.PublicKeyList {
			fp := strings.ToLower(aws.ToString(pk.Fingerprint))
			k, err := ParsePublicKey(pk.Value)
			if err != nil {
				return nil, fmt.Errorf("CloudTrail ListPublicKeys in %s: key %s: %w", region, fp, err)
			}
			if got := Fingerprint(k); got != fp {
				return nil, fmt.Errorf("CloudTrail ListPublicKeys in %s: key %s hashes to fingerprint %s", region, fp, got)
			}
			out = append(out, PublicKey{Fingerprint: fp, Key: k,
				ValidFrom: aws.ToTime(pk.ValidityStartTime), ValidTo: aws.ToTime(pk.ValidityEndTime)})
		}
	}
	return out, nil
}

// NewKeyProvider returns the PEM bundle at pemFile when one is named, and
// otherwise the CloudTrail ListPublicKeys API reached with the SDK's
// standard chain (static credentials when opts carries them, as for the
// source store).
func NewKeyProvider(ctx context.Context, pemFile string, opts store.Options) (KeyProvider, error) {
	if pemFile != "" {
		return ReadPEM(pemFile)
	}
	var load []func(*config.LoadOptions) error
	if opts.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("public keys: loading AWS configuration: %w", err)
	}
	return NewCloudTrailKeys(cfg), nil
}
