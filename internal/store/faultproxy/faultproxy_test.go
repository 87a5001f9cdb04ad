package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

const bucket = "faults"

// setup starts the server and the proxy with one object of n bytes.
func setup(t *testing.T, n int) (*Proxy, []byte) {
	t.Helper()
	p, direct := StartS3(t)
	s3test.CreateBucket(t, direct, bucket)
	body := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	s3test.PutObject(t, direct, bucket, "a/obj.json.gz", body)
	return p, body
}

// once is a client that does not retry, so each fault reaches the caller.
func once(p *Proxy) *s3.Client {
	return p.Client(func(o *s3.Options) { o.RetryMaxAttempts = 1 })
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// get reads the object through client and returns what arrived and the error.
func get(ctx context.Context, client *s3.Client, key string) ([]byte, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func TestPassThrough(t *testing.T) {
	p, body := setup(t, 100_000)
	client := p.Client()
	s3test.PutObject(t, client, bucket, "b/put-through-proxy", []byte("hello"))
	got, err := get(ctxT(t, 10*time.Second), client, "a/obj.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("body through the proxy: %d bytes, want the %d put", len(got), len(body))
	}
	if diff := cmp.Diff([]string{"a/obj.json.gz", "b/put-through-proxy"}, s3test.Keys(t, client, bucket, "")); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if got, want := p.Count("GET", "^a/obj"), 1; got != want {
		t.Errorf("GETs of the object counted: %d, want %d", got, want)
	}
	if got := p.InjectedAll(); len(got) != 0 {
		t.Errorf("injected without rules: %v", got)
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		status   int
		code     string
		wantCode string
	}{
		{503, "", "SlowDown"},
		{500, "", "InternalError"},
		{403, "InvalidAccessKeyId", "InvalidAccessKeyId"},
	} {
		t.Run(tc.wantCode, func(t *testing.T) {
			p, _ := setup(t, 10)
			if err := p.SetRules(Rule{Name: "err", Method: "GET", Key: `^a/`, Kind: Status, Status: tc.status, Code: tc.code}); err != nil {
				t.Fatal(err)
			}
			_, err := get(ctxT(t, 10*time.Second), once(p), "a/obj.json.gz")
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
				t.Fatalf("error %v, want API error %s", err, tc.wantCode)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("error %v, want HTTP status %d", err, tc.status)
			}
			if got := p.Injected("err"); got != 1 {
				t.Errorf("injected %d, want 1", got)
			}
		})
	}
}

// The SDK's retryer gets past throttling the proxy gives up on after Count.
func TestStatusRetriedBySDK(t *testing.T) {
	p, body := setup(t, 1000)
	if err := p.SetRules(Rule{Method: "GET", Kind: Status, Status: 503, Count: 2}); err != nil {
		t.Fatal(err)
	}
	got, err := get(ctxT(t, 20*time.Second), p.Client(func(o *s3.Options) { o.RetryMaxAttempts = 3 }), "a/obj.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("got %d bytes, want %d", len(got), len(body))
	}
	if diff := cmp.Diff(map[string]int{"status": 2}, p.InjectedAll()); diff != "" {
		t.Errorf("injected (-want +got):\n%s", diff)
	}
	if got := p.Count("GET", ""); got != 3 {
		t.Errorf("GETs seen %d, want 3", got)
	}
}

func TestCutBody(t *testing.T) {
	for _, tc := range []struct {
		kind    Kind
		errWant func(error) bool
	}{
		{Reset, func(err error) bool {
			return err != nil && (strings.Contains(err.Error(), "reset") || errors.Is(err, io.ErrUnexpectedEOF))
		}},
		{ShortBody, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			p, body := setup(t, 200_000)
			if err := p.SetRules(Rule{Method: "GET", Kind: tc.kind, AfterBytes: 1000}); err != nil {
				t.Fatal(err)
			}
			out, err := once(p).GetObject(ctxT(t, 10*time.Second), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/obj.json.gz")})
			if err != nil {
				t.Fatalf("headers should arrive: %v", err)
			}
			if got := aws.ToInt64(out.ContentLength); got != int64(len(body)) {
				t.Errorf("Content-Length %d, want the whole object's %d", got, len(body))
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if !tc.errWant(err) {
				t.Errorf("read error %v", err)
			}
			if !bytes.Equal(got, body[:1000]) {
				t.Errorf("read %d bytes before the cut, want the first 1000", len(got))
			}
			if got := p.Injected(tc.kind.String()); got != 1 {
				t.Errorf("injected %d, want 1", got)
			}
		})
	}
}

// A stall with no end holds the response until the client gives up, and
// Close does not wait for it.
func TestStallUntilClientGivesUp(t *testing.T) {
	p, _ := setup(t, 10)
	if err := p.SetRules(Rule{Method: "GET", Kind: Stall}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := get(ctxT(t, 300*time.Millisecond), once(p), "a/obj.json.gz")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the client's deadline", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 5*time.Second {
		t.Errorf("returned after %v, want about the 300 ms deadline", el)
	}
	// A second stalled request is still open when the proxy closes.
	done := make(chan error, 1)
	go func() {
		_, err := get(ctxT(t, time.Minute), once(p), "a/obj.json.gz")
		done <- err
	}()
	for p.Count("GET", "") < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a stalled response")
	}
	if err := <-done; err == nil {
		t.Error("stalled request succeeded after Close")
	}
}

func TestStallAndSlowDelay(t *testing.T) {
	for _, tc := range []Rule{
		{Kind: Stall, Duration: 300 * time.Millisecond},
		{Kind: StallBody, AfterBytes: 5000, Duration: 300 * time.Millisecond},
		{Kind: Slow, Duration: 300 * time.Millisecond},
	} {
		t.Run(tc.Kind.String(), func(t *testing.T) {
			p, body := setup(t, 50_000)
			tc.Method = "GET"
			if err := p.SetRules(tc); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := get(ctxT(t, 10*time.Second), once(p), "a/obj.json.gz")
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("got %d bytes, want %d", len(got), len(body))
			}
			if el < 300*time.Millisecond {
				t.Errorf("took %v, want at least the 300 ms delay", el)
			}
			if got := p.Injected(tc.Kind.String()); got != 1 {
				t.Errorf("injected %d, want 1", got)
			}
		})
	}
}

// Share, Skip and Count pick the same requests every time.
func TestSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		want []bool // fault per request, of 8
	}{
		{"share quarter", Rule{Share: 0.25}, []bool{false, false, false, true, false, false, false, true}},
		{"share half", Rule{Share: 0.5}, []bool{false, true, false, true, false, true, false, true}},
		{"all", Rule{}, []bool{true, true, true, true, true, true, true, true}},
		{"skip 2 count 3", Rule{Skip: 2, Count: 3}, []bool{false, false, true, true, true, false, false, false}},
		{"other key", Rule{Key: `^b/`}, []bool{false, false, false, false, false, false, false, false}},
		{"other method", Rule{Method: "PUT"}, []bool{false, false, false, false, false, false, false, false}},
		{"other bucket", Rule{Bucket: "elsewhere"}, []bool{false, false, false, false, false, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := setup(t, 10)
			r := tc.rule
			r.Kind, r.Status = Status, 500
			if err := p.SetRules(r); err != nil {
				t.Fatal(err)
			}
			client := once(p)
			var got []bool
			for range 8 {
				_, err := get(ctxT(t, 10*time.Second), client, "a/obj.json.gz")
				got = append(got, err != nil)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("faulted requests (-want +got):\n%s", diff)
			}
			var logged []bool
			for _, r := range p.Requests() {
				logged = append(logged, r.Fault != "")
			}
			if diff := cmp.Diff(tc.want, logged); diff != "" {
				t.Errorf("request log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRulesChangeWhileRunning(t *testing.T) {
	p, _ := setup(t, 10)
	client := once(p)
	ctx := ctxT(t, 10*time.Second)
	if err := p.SetRules(Rule{Name: "down", Kind: Status, Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctx, client, "a/obj.json.gz"); err == nil {
		t.Fatal("GET succeeded under a 503 rule")
	}
	p.Clear()
	if _, err := get(ctx, client, "a/obj.json.gz"); err != nil {
		t.Fatalf("GET failed after the rules were cleared: %v", err)
	}
	if got := p.Injected("down"); got != 1 {
		t.Errorf("injected %d, want 1", got)
	}
	var withRange []string
	_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/obj.json.gz"), Range: aws.String("bytes=2-"), IfMatch: aws.String(`"x"`)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" {
		t.Errorf("GET with If-Match on a wrong ETag: %v, want PreconditionFailed", err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/obj.json.gz")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/obj.json.gz"), Range: aws.String("bytes=2-"), IfMatch: head.ETag})
	if err != nil {
		t.Fatalf("GET with If-Match on the right ETag: %v", err)
	}
	got.Body.Close()
	for _, r := range p.Requests() {
		withRange = append(withRange, r.Range+" "+r.IfMatch)
	}
	if diff := cmp.Diff([]string{" ", " ", `bytes=2- "x"`, " ", `bytes=2- ` + aws.ToString(head.ETag)}, withRange); diff != "" {
		t.Errorf("range and If-Match logged (-want +got):\n%s", diff)
	}
}

func TestBadRules(t *testing.T) {
	p, _ := setup(t, 10)
	for _, r := range []Rule{
		{Kind: Status},
		{Kind: Reset, Key: "("},
		{Kind: Kind(99)},
		{Kind: Slow, Share: 2},
	} {
		if err := p.SetRules(r); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}
