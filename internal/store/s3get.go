package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Defaults of the S3 client's timeouts.
const (
	DefaultRequestTimeout = 5 * time.Minute
	DefaultIdleTimeout    = 30 * time.Second
)

// s3Reader streams an object, or a byte range of one, and survives a body
// that breaks off: a reset, an early end (fewer bytes than the response
// promised) or a timeout. It resumes with a ranged GET from the offset
// reached, conditional on the ETag of the first response so that the bytes
// of a replaced object are never stitched onto those of the old one. Every
// GET counts as an attempt of the client's retryer, which also gives the
// backoff between them; when the attempts run out the error is a retryable
// *Error naming the object and the offset.
type s3Reader struct {
	s   *s3Store
	ctx context.Context
	key string

	off  int64 // next byte to read
	end  int64 // one past the last byte wanted; -1 until known
	etag string

	body     io.ReadCloser
	attempts int
	max      int
	retryer  aws.Retryer
	lastErr  error
}

func (s *s3Store) newReader(ctx context.Context, key string, off, end int64, etag string) *s3Reader {
	r := s.client.Options().Retryer
	if r == nil {
		r = retry.NewStandard()
	}
	return &s3Reader{s: s, ctx: ctx, key: key, off: off, end: end, etag: etag, retryer: r, max: max(1, r.MaxAttempts())}
}

// get sends one GET for [off, end) (or from off to the object's end).
func (r *s3Reader) get() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.s.bucket), Key: aws.String(r.s.prefix + r.key)}
	ranged := r.off > 0 || r.end >= 0
	if ranged {
		rng := "bytes=" + strconv.FormatInt(r.off, 10) + "-"
		if r.end >= 0 {
			rng += strconv.FormatInt(r.end-1, 10)
		}
		in.Range = aws.String(rng)
	}
	if r.etag != "" {
		in.IfMatch = aws.String(`"` + r.etag + `"`)
	}
	r.attempts++
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		if isPreconditionFailed(err) {
			return r.fail(fmt.Errorf("the object changed while it was read (no longer ETag %s): %w", r.etag, err), true)
		}
		return r.fail(err, retryableAPIError(err))
	}
	if etag := strings.Trim(aws.ToString(out.ETag), `"`); r.etag == "" {
		r.etag = etag
	}
	n := aws.ToInt64(out.ContentLength)
	if out.ContentLength == nil || n < 0 {
		if r.end < 0 && ranged {
			out.Body.Close()
			return r.fail(errors.New("a ranged response without Content-Length"), true)
		}
		// Unknown length: the end of the body is trusted.
	} else {
		if ranged {
			start, _, ok := parseContentRange(aws.ToString(out.ContentRange))
			if !ok || start != r.off {
				out.Body.Close()
				return r.fail(fmt.Errorf("asked for bytes from %d, got Content-Range %q", r.off, aws.ToString(out.ContentRange)), true)
			}
		}
		if want := r.off + n; r.end < 0 {
			r.end = want
		} else if want != r.end {
			out.Body.Close()
			return r.fail(fmt.Errorf("asked for bytes [%d, %d), got %d bytes", r.off, r.end, n), true)
		}
	}
	r.body = out.Body
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if err := r.resume(); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.end < 0 || r.off == r.end):
			return n, io.EOF
		case err == io.EOF && r.off > r.end:
			return n, r.fail(fmt.Errorf("the body ran past the %d bytes promised", r.end), true)
		case err == io.EOF:
			err = fmt.Errorf("%w: the body ended at byte %d of %d", io.ErrUnexpectedEOF, r.off, r.end)
		}
		r.body.Close()
		r.body = nil
		if cerr := r.ctx.Err(); cerr != nil {
			return n, r.fail(cerr, false)
		}
		r.lastErr = err
		if n > 0 {
			return n, nil
		}
	}
}

// resume waits the retryer's backoff and sends the next GET from the offset
// reached, or gives up when the attempts are spent.
func (r *s3Reader) resume() error {
	if r.attempts >= r.max {
		return r.fail(fmt.Errorf("reading stopped at byte %d of %d after %d attempts: %w", r.off, r.end, r.attempts, r.lastErr), true)
	}
	d, err := r.retryer.RetryDelay(r.attempts, r.lastErr)
	if err != nil {
		d = 0
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return r.fail(r.ctx.Err(), false)
		}
	}
	return r.get()
}

func (r *s3Reader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

func (r *s3Reader) fail(err error, retryable bool) error {
	e := r.s.fail("open", r.key, err)
	if se, ok := e.(*Error); ok {
		se.Retryable = retryable && !IsNotExist(err)
	}
	return e
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed"
}

// retryableAPIError says whether a request's final error may go away on a
// later run: not for a missing object, denied access or a bad request.
func retryableAPIError(err error) bool {
	if isNotFound(err) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "InvalidBucketName", "InvalidRange":
			return false
		}
	}
	return true
}

// idleConn fails a read or write when the connection has carried no byte
// for idle in either direction: a stalled server ends the attempt (which the
// retryer repeats) instead of holding the run forever. Each read and write
// pushes the deadline of both directions forward, so that a request being
// sent keeps its response's wait alive.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Read(p)
	if n > 0 {
		_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// withIdleTimeout makes every connection of tr an idleConn, and closes
// pooled connections before their idle deadline can break a request that
// picks them up.
func withIdleTimeout(tr *http.Transport, idle time.Duration) {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
	if tr.IdleConnTimeout == 0 || tr.IdleConnTimeout > idle/2 {
		tr.IdleConnTimeout = idle / 2
	}
}
