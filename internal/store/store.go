// Package store is the object store parquetrail reads CloudTrail logs from and
// writes Parquet to: a local folder or an S3 bucket (AWS or S3-compatible),
// addressed by a URL ("/path/to/dir", "file:///path", "s3://bucket/prefix").
//
// Keys are always slash-separated and relative to the store's root (the
// folder, or the bucket plus prefix given in the URL).
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"
)

// Object is one listed object.
type Object struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	ETag     string    `json:"etag,omitempty"`
	Modified time.Time `json:"modified,omitempty"`
}

// File is a random-access handle on an object (Parquet needs it to read the
// footer). Close releases it, including any local copy the store made.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Store is an object store rooted at a folder or bucket prefix.
type Store interface {
	// List calls fn for every object whose key starts with prefix, in key
	// order per listing page, following pagination to the end.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// ListDirs returns the immediate "sub-folders" of prefix (which ends in
	// "/" or is empty), as full keys ending in "/" (S3 common prefixes).
	ListDirs(ctx context.Context, prefix string) ([]string, error)
	// Open streams an object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// OpenFile opens an object for random access.
	OpenFile(ctx context.Context, key string) (File, error)
	// Create returns a writer whose Close makes the object visible under key
	// atomically (all or nothing); Abort discards it.
	Create(ctx context.Context, key string) (Writer, error)
	// Delete removes objects; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// URL is the store's root as a URL, for messages and manifests.
	URL() string
}

// Writer is an object being written.
type Writer interface {
	io.Writer
	// Close commits the object.
	Close() error
	// Abort discards what was written; Close after Abort is a no-op.
	Abort() error
}

// Options configure the S3 store; a local store ignores them. Zero values
// defer to the AWS SDK's standard chain: environment (AWS_REGION,
// AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, ...), shared config and profile,
// IRSA / EKS Pod Identity web identity, instance metadata.
type Options struct {
	// Endpoint is the URL of an S3-compatible store ("https://minio.example:9000").
	Endpoint string
	// Region of the bucket; "" = SDK chain, then "us-east-1".
	Region string
	// PathStyle addresses buckets as endpoint/bucket instead of bucket.endpoint;
	// most S3-compatible stores need it.
	PathStyle bool
	// Static credentials (for example from a Kubernetes Secret); all empty =
	// SDK chain. Never logged: String and LogValue redact them.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// MaxAttempts per request, and per object read (a body that breaks off
	// is resumed from where it stopped, each GET an attempt); 0 = the SDK's
	// configuration: AWS_MAX_ATTEMPTS, the profile's max_attempts, else 3.
	// The retry mode (standard or adaptive: AWS_RETRY_MODE, retry_mode)
	// always comes from the SDK's configuration.
	MaxAttempts int
	// RequestTimeout bounds one attempt of a request, body included (a read
	// cut short by it resumes from where it stopped); 0 = 5 minutes,
	// negative = none.
	RequestTimeout time.Duration
	// IdleTimeout fails an attempt whose connection has carried no byte for
	// that long, in either direction (a stalled server); 0 = 30 seconds,
	// negative = none.
	IdleTimeout time.Duration
	// PartSize of multipart uploads and ranged downloads; 0 = 8 MiB, at least 5 MiB.
	PartSize int64
	// Concurrency of one upload's or download's parts; 0 = 2. An upload
	// buffers PartSize*(Concurrency+1) bytes at most.
	Concurrency int
	// TempDir holds the local copies OpenFile makes; "" = os.TempDir().
	TempDir string
}

// String describes the options without secrets.
func (o Options) String() string {
	c := o
	if c.AccessKeyID != "" {
		c.AccessKeyID = redacted
	}
	if c.SecretAccessKey != "" {
		c.SecretAccessKey = redacted
	}
	if c.SessionToken != "" {
		c.SessionToken = redacted
	}
	type plain Options // no String method: no recursion
	return fmt.Sprintf("%+v", plain(c))
}

// GoString is String, so that %#v does not print secrets either.
func (o Options) GoString() string { return o.String() }

// LogValue keeps secrets out of slog output.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

const redacted = "REDACTED"

// Open returns the store addressed by url: a local folder ("/data/trails",
// "./out", "file:///data/trails") or an S3 bucket with an optional key
// prefix ("s3://bucket", "s3://bucket/some/prefix").
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(url, "s3://"):
		return openS3(ctx, url, opts)
	case strings.HasPrefix(url, "file://"):
		u, err := neturl.Parse(url)
		if err != nil {
			return nil, fmt.Errorf("store: %q: %w", url, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("store: %q: a file URL names no host (file:///path)", url)
		}
		return openLocal(u.Path)
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("store: %q: unsupported scheme (want a path, file:// or s3://)", url)
	case url == "":
		return nil, errors.New("store: empty URL")
	default:
		return openLocal(url)
	}
}

// Error is a failed store operation on one object or prefix.
type Error struct {
	Op  string // "list", "open", "create", "delete", ...
	URL string // of the object or prefix
	Err error
	// Retryable is set when the store gave up on a fault that a later run
	// may not meet (a body broken off after every attempt, an object
	// replaced while it was read).
	Retryable bool
}

func (e *Error) Error() string { return "store: " + e.Op + " " + e.URL + ": " + e.Err.Error() }

// Unwrap returns the cause; errors.Is(err, fs.ErrNotExist) holds for a
// missing object in every store.
func (e *Error) Unwrap() error { return e.Err }

// IsNotExist reports whether err says an object does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
