package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/faultproxy"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

const faultBucket = "faults"

// fastRetries keeps the tests short: the SDK's backoff reaches 20 s.
var fastRetries = store.Options{MaxBackoff: 20 * time.Millisecond, IdleTimeout: 400 * time.Millisecond}

// faultSetup starts S3 and the proxy with one object of n random bytes and
// a store through the proxy.
func faultSetup(t *testing.T, n int, opts store.Options) (*faultproxy.Proxy, store.Store, []byte) {
	t.Helper()
	p, direct := faultproxy.StartS3(t)
	s3test.CreateBucket(t, direct, faultBucket)
	body := make([]byte, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range body {
		body[i] = byte(rnd.Uint32())
	}
	s3test.PutObject(t, direct, faultBucket, "logs/a.json.gz", body)
	return p, p.Store(t, "s3://"+faultBucket+"/logs", opts), body
}

func readAll(t *testing.T, st store.Store, key string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func readFile(t *testing.T, st store.Store, key string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := st.OpenFile(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, f.Size())
	_, err = f.ReadAt(b, 0)
	return b, err
}

// Each fault happens on the first GET(s) of the object; the read resumes
// and returns every byte.
func TestS3ReadSurvivesFaults(t *testing.T) {
	const size = 300_000
	for _, tc := range []struct {
		name string
		rule faultproxy.Rule
		// wantRanges are the Range headers of the GETs, in order.
		wantRanges []string
	}{
		{"reset mid-body", faultproxy.Rule{Kind: faultproxy.Reset, AfterBytes: 100_000, Count: 1},
			[]string{"", "bytes=100000-299999"}},
		{"reset before the body", faultproxy.Rule{Kind: faultproxy.Reset, Count: 1},
			[]string{"", "bytes=0-299999"}},
		{"short body twice", faultproxy.Rule{Kind: faultproxy.ShortBody, AfterBytes: 70_000, Count: 2},
			[]string{"", "bytes=70000-299999", "bytes=140000-299999"}},
		{"stall mid-body past the idle timeout", faultproxy.Rule{Kind: faultproxy.StallBody, AfterBytes: 50_000, Count: 1},
			[]string{"", "bytes=50000-299999"}},
		{"stall before the headers", faultproxy.Rule{Kind: faultproxy.Stall, Count: 1},
			nil}, // the SDK retries the GET itself
		{"503 SlowDown", faultproxy.Rule{Kind: faultproxy.Status, Status: 503, Count: 2},
			[]string{"", "", ""}},
		{"500 InternalError", faultproxy.Rule{Kind: faultproxy.Status, Status: 500, Count: 1},
			[]string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, st, body := faultSetup(t, size, fastRetries)
			tc.rule.Name, tc.rule.Method = "fault", "GET"
			if err := p.SetRules(tc.rule); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, st, "a.json.gz")
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("read %d bytes, not the %d put", len(got), len(body))
			}
			want := max(tc.rule.Count, 1)
			if got := p.Injected("fault"); got != want {
				t.Errorf("faults injected %d, want %d", got, want)
			}
			var ranges []string
			for _, r := range p.Requests() {
				ranges = append(ranges, r.Range)
				if r.Range != "" && r.IfMatch == "" {
					t.Errorf("resumed GET %q without If-Match", r.Range)
				}
			}
			if tc.wantRanges != nil {
				if diff := cmp.Diff(tc.wantRanges, ranges); diff != "" {
					t.Errorf("GETs (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// OpenFile's parts resume each on its own.
func TestS3OpenFileSurvivesFaults(t *testing.T) {
	opts := fastRetries
	opts.PartSize = 5 << 20
	p, st, body := faultSetup(t, 11<<20, opts)
	if err := p.SetRules(
		faultproxy.Rule{Name: "reset", Method: "GET", Kind: faultproxy.Reset, AfterBytes: 1 << 20, Count: 2},
		faultproxy.Rule{Name: "short", Method: "GET", Kind: faultproxy.ShortBody, AfterBytes: 300_000, Count: 1},
	); err != nil {
		t.Fatal(err)
	}
	got, err := readFile(t, st, "a.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("OpenFile: %d bytes differ from the %d put", len(got), len(body))
	}
	if diff := cmp.Diff(map[string]int{"reset": 2, "short": 1}, p.InjectedAll()); diff != "" {
		t.Errorf("injected (-want +got):\n%s", diff)
	}
}

// When every GET breaks off, the error names the object, says where the
// reading stopped and is retryable; the attempts are the client's.
func TestS3ReadGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      string // AWS_MAX_ATTEMPTS
		opts     int    // Options.MaxAttempts
		wantGETs int
	}{
		{"SDK default", "", 0, 3},
		{"AWS_MAX_ATTEMPTS", "10", 0, 10},
		{"option overrides the environment", "10", 2, 2},
	} {
		for _, file := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/openfile=%v", tc.name, file), func(t *testing.T) {
				t.Setenv("AWS_MAX_ATTEMPTS", tc.env)
				t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
				opts := fastRetries
				opts.MaxAttempts = tc.opts
				p, st, _ := faultSetup(t, 100_000, opts)
				if err := p.SetRules(faultproxy.Rule{Method: "GET", Kind: faultproxy.Reset, AfterBytes: 10}); err != nil {
					t.Fatal(err)
				}
				var err error
				if file {
					_, err = readFile(t, st, "a.json.gz")
				} else {
					_, err = readAll(t, st, "a.json.gz")
				}
				var se *store.Error
				if !errors.As(err, &se) || !se.Retryable {
					t.Fatalf("error %v, want a retryable *store.Error", err)
				}
				if !strings.Contains(err.Error(), "s3://faults/logs/a.json.gz") || !strings.Contains(err.Error(), "attempts") {
					t.Errorf("error %q does not name the object and the attempts", err)
				}
				if got := p.Count("GET", `^logs/a\.json\.gz$`); got != tc.wantGETs {
					t.Errorf("GETs %d, want %d", got, tc.wantGETs)
				}
			})
		}
	}
}

// The SDK's own retries of a status follow AWS_MAX_ATTEMPTS too.
func TestS3StatusRetriesFollowEnvironment(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "7")
	p, st, _ := faultSetup(t, 1000, fastRetries)
	if err := p.SetRules(faultproxy.Rule{Method: "GET", Kind: faultproxy.Status, Status: 503}); err != nil {
		t.Fatal(err)
	}
	_, err := readAll(t, st, "a.json.gz")
	if err == nil || !strings.Contains(err.Error(), "SlowDown") {
		t.Fatalf("error %v, want SlowDown", err)
	}
	if got := p.Count("GET", ""); got != 7 {
		t.Errorf("GETs %d, want 7", got)
	}
}

// A resumed read of an object replaced meanwhile fails; it never returns
// the new object's bytes after the old one's.
func TestS3ReadRefusesReplacedObject(t *testing.T) {
	p, direct := faultproxy.StartS3(t)
	s3test.CreateBucket(t, direct, faultBucket)
	old := bytes.Repeat([]byte("old!"), 50_000)
	s3test.PutObject(t, direct, faultBucket, "a", old)
	st := p.Store(t, "s3://"+faultBucket, fastRetries)
	if err := p.SetRules(faultproxy.Rule{Method: "GET", Kind: faultproxy.Reset, AfterBytes: 1000, Count: 1}); err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	first := make([]byte, 500)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}
	s3test.PutObject(t, direct, faultBucket, "a", bytes.Repeat([]byte("new!"), 50_000))
	rest, err := io.ReadAll(rc)
	var se *store.Error
	if !errors.As(err, &se) || !se.Retryable || !strings.Contains(err.Error(), "changed") {
		t.Errorf("error %v, want a retryable store error saying the object changed", err)
	}
	if bytes.Contains(rest, []byte("new!")) {
		t.Error("bytes of the new object were returned after the old one's")
	}
}

// A request stalled past the idle timeout before any byte is retried by
// the SDK, and the whole read takes about the idle timeout, not forever.
func TestS3IdleTimeoutBoundsAStall(t *testing.T) {
	p, st, body := faultSetup(t, 10_000, fastRetries)
	if err := p.SetRules(faultproxy.Rule{Method: "GET", Kind: faultproxy.Stall, Count: 2}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := readAll(t, st, "a.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Error("body differs")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("two stalls took %v, want about 2 x 400 ms", el)
	}
	if got := p.Count("GET", ""); got != 3 {
		t.Errorf("GETs %d, want 3", got)
	}
}
