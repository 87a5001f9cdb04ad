package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

const (
	defaultPartSize    = 8 << 20
	defaultConcurrency = 2
	deleteBatch        = 1000 // the most DeleteObjects takes
	abortTimeout       = 30 * time.Second
)

// s3Store is a bucket, or a key prefix in one.
type s3Store struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
	opts   Options
}

// parseS3URL splits "s3://bucket/some/prefix" into the bucket and the key
// prefix ("some/prefix/"). Keys are taken verbatim, as the AWS CLI does.
func parseS3URL(url string) (bucket, prefix string, err error) {
	rest := strings.TrimPrefix(url, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("store: %q: no bucket (want s3://bucket[/prefix])", url)
	}
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

func openS3(ctx context.Context, url string, opts Options) (Store, error) {
	bucket, prefix, err := parseS3URL(url)
	if err != nil {
		return nil, err
	}
	client, err := NewS3Client(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", url, err)
	}
	return NewS3(client, bucket, prefix, opts), nil
}

// NewS3Client builds an SDK client from opts and the SDK's standard chain.
func NewS3Client(ctx context.Context, opts Options) (*s3.Client, error) {
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" || opts.SecretAccessKey != "" {
		if opts.AccessKeyID == "" || opts.SecretAccessKey == "" {
			return nil, errors.New("static credentials need both an access key ID and a secret access key")
		}
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	// Retries follow the SDK's configuration (AWS_MAX_ATTEMPTS,
	// AWS_RETRY_MODE, the profile's max_attempts and retry_mode) unless
	// opts.MaxAttempts overrides the attempts below.
	reqTimeout, idle := opts.RequestTimeout, opts.IdleTimeout
	if reqTimeout == 0 {
		reqTimeout = DefaultRequestTimeout
	}
	if idle == 0 {
		idle = DefaultIdleTimeout
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if idle > 0 {
			withIdleTimeout(tr, idle)
		}
	})
	if reqTimeout > 0 {
		httpClient = httpClient.WithTimeout(reqTimeout)
	}
	load = append(load, config.WithHTTPClient(httpClient))
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// S3-compatible stores accept any region; AWS redirects a
		// wrongly-regioned request with an error naming the right one.
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.MaxAttempts > 0 {
			o.RetryMaxAttempts = opts.MaxAttempts
		}
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if opts.PathStyle {
			o.UsePathStyle = true
		}
		// Ranged GETs (OpenFile, resumed reads) and many S3-compatible servers return no
		// checksum; the SDK would log that on every response.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// NewS3 returns a store on bucket/prefix through client (prefix "" or
// ending in "/"). Tests and callers with a client of their own use it.
func NewS3(client *s3.Client, bucket, prefix string, opts Options) Store {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if opts.PartSize < manager.MinUploadPartSize {
		if opts.PartSize == 0 {
			opts.PartSize = defaultPartSize
		} else {
			opts.PartSize = manager.MinUploadPartSize
		}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaultConcurrency
	}
	return &s3Store{client: client, bucket: bucket, prefix: prefix, opts: opts}
}

func (s *s3Store) URL() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *s3Store) url(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

func (s *s3Store) fail(op, key string, err error) error {
	if isNotFound(err) {
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return &Error{Op: op, URL: s.url(key), Err: err}
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

func validS3Key(key string) error {
	if key == "" || strings.HasSuffix(key, "/") {
		return fmt.Errorf("invalid key %q", key)
	}
	return nil
}

func (s *s3Store) List(ctx context.Context, prefix string, fn func(Object) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.fail("list", prefix, err)
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix)
			if !ok {
				continue
			}
			err := fn(Object{
				Key:      key,
				Size:     aws.ToInt64(o.Size),
				ETag:     strings.Trim(aws.ToString(o.ETag), `"`),
				Modified: aws.ToTime(o.LastModified).UTC(),
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *s3Store) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:    aws.String(s.bucket),
		Prefix:    aws.String(s.prefix + prefix),
		Delimiter: aws.String("/"),
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			if d, ok := strings.CutPrefix(aws.ToString(cp.Prefix), s.prefix); ok {
				out = append(out, d)
			}
		}
	}
	// Some S3-compatible servers repeat a common prefix on the next page
	// when a page ends inside it.
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (s *s3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validS3Key(key); err != nil {
		return nil, s.fail("open", key, err)
	}
	r := s.newReader(ctx, key, 0, -1, "")
	if err := r.get(); err != nil {
		return nil, err
	}
	return r, nil
}

// OpenFile downloads the object to a temporary file, in ranged parts
// fetched concurrently, each resumed on its own when its body breaks off
// and all conditional on the ETag the HEAD saw. The file is unlinked at once
// where the system allows it, so no copy outlives the process, whatever
// happens to it.
func (s *s3Store) OpenFile(ctx context.Context, key string) (File, error) {
	if err := validS3Key(key); err != nil {
		return nil, s.fail("open", key, err)
	}
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if err != nil {
		e := s.fail("open", key, err)
		e.(*Error).Retryable = retryableAPIError(err)
		return nil, e
	}
	size := aws.ToInt64(head.ContentLength)
	etag := strings.Trim(aws.ToString(head.ETag), `"`)
	f, err := os.CreateTemp(s.opts.TempDir, "parquetrail-download-*")
	if err != nil {
		return nil, s.fail("open", key, err)
	}
	tf := &tempFile{File: f, size: size}
	if os.Remove(f.Name()) != nil {
		tf.remove = true
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for off := int64(0); off < size; off += s.opts.PartSize {
		end := min(off+s.opts.PartSize, size)
		g.Go(func() error {
			r := s.newReader(gctx, key, off, end, etag)
			defer r.Close()
			n, err := io.Copy(io.NewOffsetWriter(f, off), r)
			if err != nil {
				var se *Error
				if errors.As(err, &se) {
					return err
				}
				return s.fail("open", key, err)
			}
			if n != end-off {
				return &Error{Op: "open", URL: s.url(key), Retryable: true,
					Err: fmt.Errorf("bytes [%d, %d): read %d", off, end, n)}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tf.Close()
		return nil, err
	}
	return tf, nil
}

// tempFile is a local copy that goes away on Close.
type tempFile struct {
	*os.File
	size   int64
	remove bool // not unlinked yet
}

func (f *tempFile) Size() int64 { return f.size }

func (f *tempFile) Close() error {
	err := f.File.Close()
	if f.remove {
		f.remove = false
		if rerr := os.Remove(f.Name()); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}
	return err
}

// Create streams what is written through a pipe into the SDK's upload
// manager: a single PutObject for a small object, a multipart upload
// otherwise, with at most PartSize*(Concurrency+1) bytes buffered. The
// object appears only when the upload completes. ctx governs the whole
// upload, not only this call.
func (s *s3Store) Create(ctx context.Context, key string) (Writer, error) {
	if err := validS3Key(key); err != nil {
		return nil, s.fail("create", key, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &s3Writer{s: s, key: key, pw: pw, cancel: cancel, done: make(chan struct{})}
	up := manager.NewUploader(s.client, func(u *manager.Uploader) {
		u.PartSize = s.opts.PartSize
		u.Concurrency = s.opts.Concurrency
		// On failure the manager aborts the multipart upload, so that no
		// parts are left to bill.
		u.LeavePartsOnError = false
	})
	go func() {
		defer close(w.done)
		_, err := up.Upload(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.bucket),
			Key:    aws.String(s.prefix + key),
			Body:   pr,
		})
		// Unblock a writer still in Write when the upload fails.
		pr.CloseWithError(errUploadEnded(err))
		if err != nil {
			s.abortUpload(ctx, key, err)
		}
		w.err = err
	}()
	return w, nil
}

// abortUpload makes sure a failed multipart upload leaves no parts behind.
// The manager aborts it itself, but with the upload's context, which is
// cancelled when the caller gave up; so try again with a context of its own.
func (s *s3Store) abortUpload(ctx context.Context, key string, err error) {
	var mf manager.MultiUploadFailure
	if !errors.As(err, &mf) || mf.UploadID() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, _ = s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(s.prefix + key),
		UploadId: aws.String(mf.UploadID()),
	})
}

func errUploadEnded(err error) error {
	if err == nil {
		return errors.New("upload ended")
	}
	return err
}

var errAborted = errors.New("upload aborted")

type s3Writer struct {
	s      *s3Store
	key    string
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	err    error // of the upload, set before done is closed

	once   sync.Once
	result error
}

func (w *s3Writer) Write(b []byte) (int, error) {
	n, err := w.pw.Write(b)
	if err != nil {
		if errors.Is(err, io.ErrClosedPipe) {
			return n, w.s.fail("write", w.key, os.ErrClosed)
		}
		return n, w.s.fail("write", w.key, err)
	}
	return n, nil
}

func (w *s3Writer) Close() error {
	w.once.Do(func() {
		w.pw.Close()
		<-w.done
		w.cancel()
		if w.err != nil {
			w.result = w.s.fail("create", w.key, w.err)
		}
	})
	return w.result
}

func (w *s3Writer) Abort() error {
	w.once.Do(func() {
		// Failing the body makes the manager stop and abort the multipart
		// upload (with the upload's context, so cancel only after).
		w.pw.CloseWithError(errAborted)
		<-w.done
		w.cancel()
	})
	return nil
}

func (s *s3Store) Delete(ctx context.Context, keys ...string) error {
	for batch := range slices.Chunk(keys, deleteBatch) {
		ids := make([]types.ObjectIdentifier, 0, len(batch))
		for _, k := range batch {
			if err := validS3Key(k); err != nil {
				return s.fail("delete", k, err)
			}
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(s.prefix + k)})
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return s.fail("delete", batch[0], fmt.Errorf("batch of %d objects: %w", len(batch), err))
		}
		var errs []error
		for _, e := range out.Errors {
			if aws.ToString(e.Code) == "NoSuchKey" {
				continue
			}
			key := strings.TrimPrefix(aws.ToString(e.Key), s.prefix)
			errs = append(errs, s.fail("delete", key, fmt.Errorf("%s: %s", aws.ToString(e.Code), aws.ToString(e.Message))))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}
