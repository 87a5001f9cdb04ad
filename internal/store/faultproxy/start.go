package faultproxy

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// Start starts a proxy to upstream for the duration of the test.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// StartS3 starts an empty loopback S3 server (s3test) and a proxy in front
// of it. The direct client bypasses the proxy, for setting up and checking
// objects without faults.
func StartS3(t testing.TB) (p *Proxy, direct *s3.Client) {
	t.Helper()
	endpoint, direct := s3test.Start(t)
	return Start(t, endpoint), direct
}

// Client returns an SDK client that goes through the proxy, with s3test's
// static credentials and the SDK's default retryer; opts adjust it (for
// example o.RetryMaxAttempts).
func (p *Proxy) Client(opts ...func(*s3.Options)) *s3.Client {
	return s3.New(s3test.Client(p.URL).Options(), opts...)
}

// Options returns store options that reach the loopback server through the
// proxy with the production client (store.NewS3Client): the SDK's standard
// chain for everything not set here, so AWS_MAX_ATTEMPTS and friends apply.
func (p *Proxy) Options() store.Options {
	return store.Options{
		Endpoint:        p.URL,
		Region:          s3test.Region,
		PathStyle:       true,
		AccessKeyID:     s3test.AccessKeyID,
		SecretAccessKey: s3test.SecretAccessKey,
	}
}

// Store opens s3://bucket[/prefix] through the proxy with the production
// client and opts (whose endpoint, region, path style and credentials are
// replaced by the proxy's).
func (p *Proxy) Store(t testing.TB, url string, opts store.Options) store.Store {
	t.Helper()
	po := p.Options()
	opts.Endpoint, opts.Region, opts.PathStyle = po.Endpoint, po.Region, po.PathStyle
	opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken = po.AccessKeyID, po.SecretAccessKey, ""
	st, err := store.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("faultproxy: open %s: %v", url, err)
	}
	return st
}
