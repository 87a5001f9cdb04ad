package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/sample"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/faultproxy"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// mapSink collects a generated day.
type mapSink struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *mapSink) Put(key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = append([]byte(nil), data...)
	return nil
}

// s3Day generates the demo day (2,000 records in 30 files, a few broken)
// into bucket "trail" of a loopback S3 server behind a fault proxy.
func s3Day(t *testing.T) (*faultproxy.Proxy, []string) {
	t.Helper()
	o := sample.Demo()
	o.Records = 2000
	o.Files = 30
	sink := &mapSink{objs: map[string][]byte{}}
	if _, err := sample.Generate(context.Background(), o, sink); err != nil {
		t.Fatal(err)
	}
	p, direct := faultproxy.StartS3(t)
	s3test.CreateBucket(t, direct, "trail")
	s3test.PutAll(t, direct, "trail", sink.objs)
	var keys []string
	for k := range sink.objs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return p, keys
}

func dayConfig(p *faultproxy.Proxy, dst string, opts store.Options) pipeline.Config {
	po := p.Options()
	opts.Endpoint, opts.Region, opts.PathStyle = po.Endpoint, po.Region, po.PathStyle
	opts.AccessKeyID, opts.SecretAccessKey = po.AccessKeyID, po.SecretAccessKey
	return pipeline.Config{
		Source: "s3://trail", Destination: dst, Date: "2026-11-24", TimeZone: "Asia/Seoul",
		Columns: "seed", LocalTimeColumn: "eventtime_kst", Deduplicate: true, OnMalformed: "report",
		LateArrival: 12 * time.Hour, TargetShardBytes: 64 << 10, Workers: 2,
		Stores: pipeline.Stores{Source: opts},
	}
}

// eventIDs reads the published day's event IDs, sorted.
func eventIDs(t *testing.T, dir string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m plan.Manifest
	rc, err := st.Open(ctx, plan.ManifestKey("20261124"))
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(rc).Decode(&m)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Key)))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := arrowcheck.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Key, err)
		}
		for _, r := range pf.Rows {
			ids = append(ids, fmt.Sprint(r["eventid"]))
		}
	}
	slices.Sort(ids)
	return ids
}

// A day read through 503s, resets, short bodies and stalls publishes every
// row a clean run publishes, and the faults did happen.
func TestRunThroughS3Faults(t *testing.T) {
	p, _ := s3Day(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Every GET of an object counts as an attempt, resumes included; the
	// faults below are spread so that no object meets eight in a row.
	opts := store.Options{MaxAttempts: 8, MaxBackoff: 20 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}

	cleanDir := t.TempDir()
	clean, err := pipeline.Run(ctx, dayConfig(p, cleanDir, opts))
	if err != nil {
		t.Fatal(err)
	}
	cleanIDs := eventIDs(t, cleanDir)
	if len(cleanIDs) == 0 {
		t.Fatal("the clean run published no rows")
	}

	p.ResetCounters()
	logs := `\.json\.gz$`
	if err := p.SetRules(
		faultproxy.Rule{Name: "slowdown", Kind: faultproxy.Status, Status: 503, Share: 0.2},
		faultproxy.Rule{Name: "reset", Method: "GET", Key: logs, Kind: faultproxy.Reset, AfterBytes: 2000, Share: 0.15, Count: 4},
		faultproxy.Rule{Name: "short", Method: "GET", Key: logs, Kind: faultproxy.ShortBody, AfterBytes: 1000, Share: 0.15, Count: 4},
		faultproxy.Rule{Name: "stall", Method: "GET", Key: logs, Kind: faultproxy.StallBody, AfterBytes: 500, Count: 2},
	); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	got, err := pipeline.Run(ctx, dayConfig(p, dir, opts))
	if err != nil {
		t.Fatalf("run through faults: %v", err)
	}
	if diff := cmp.Diff(clean.Records, got.Records); diff != "" {
		t.Errorf("record counts (-clean +faulted):\n%s", diff)
	}
	if diff := cmp.Diff(cleanIDs, eventIDs(t, dir)); diff != "" {
		t.Errorf("published event IDs (-clean +faulted):\n%s", diff)
	}
	injected := p.InjectedAll()
	for _, name := range []string{"slowdown", "reset", "short", "stall"} {
		if injected[name] == 0 {
			t.Errorf("no %s fault injected: %v", name, injected)
		}
	}
	t.Logf("faults injected: %v over %d requests", injected, len(p.Requests()))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds shard-worker once for the subprocess tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shard-worker-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "shard-worker")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// worker runs the built binary with an environment that reaches only the
// loopback server: static test credentials, no profile, no metadata service.
func worker(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	none := filepath.Join(t.TempDir(), "none")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + s3test.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretAccessKey,
		"AWS_REGION=" + s3test.Region, "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true",
	}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("shard-worker %v did not finish: %s", args, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// The exit codes of the built binary against the loopback S3 server, with
// the faults injected by the proxy.
func TestWorkerExitCodes(t *testing.T) {
	p, keys := s3Day(t)
	var victim string
	for _, k := range keys {
		if strings.Contains(k, "/CloudTrail/") && strings.HasSuffix(k, ".json.gz") {
			victim = k
			break
		}
	}
	day := func(extra ...string) []string {
		return append([]string{"run", "--source", "s3://trail", "--source-endpoint", p.URL, "--path-style",
			"--destination", t.TempDir(), "--date", "2026-11-24", "--time-zone", "Asia/Seoul", "--late-arrival", "12h",
			"--columns", "seed", "--quiet"}, extra...)
	}
	cases := []struct {
		name   string
		rules  []faultproxy.Rule
		env    []string
		args   []string
		code   int
		says   []string
		never  string
		getsOf int // GETs of the victim the proxy must have seen; 0 = unchecked
	}{
		{name: "clean", args: day(), code: 0, says: []string{"records"}},
		{name: "bad flag", args: day("--no-such-flag"), code: 2, says: []string{"no-such-flag"}},
		{name: "unknown compression", args: day("--compression", "lz4"), code: 2, says: []string{`"lz4"`}},
		{name: "unknown bucket", args: append(day(), "--source", "s3://no-such-bucket"), code: 2, says: []string{"NoSuchBucket", "no-such-bucket"}},
		{name: "wrong credentials", args: day(), code: 2, says: []string{"InvalidAccessKeyId"},
			rules: []faultproxy.Rule{{Kind: faultproxy.Status, Status: 403, Code: "InvalidAccessKeyId"}}},
		{name: "signature does not match", args: day(), code: 2, says: []string{"SignatureDoesNotMatch"},
			rules: []faultproxy.Rule{{Kind: faultproxy.Status, Status: 403, Code: "SignatureDoesNotMatch"}}},
		{name: "every GET of one object reset, --max-attempts", args: day("--max-attempts", "2"), code: 1,
			says: []string{victim, "attempts"}, never: "unreadable", getsOf: 2,
			rules: []faultproxy.Rule{{Method: "GET", Key: "^" + strings.ReplaceAll(victim, ".", `\.`) + "$", Kind: faultproxy.Reset, AfterBytes: 300}}},
		{name: "every GET of one object reset, --on-malformed fail", args: day("--max-attempts", "2", "--on-malformed", "fail"), code: 1,
			says: []string{victim}, never: "unreadable", getsOf: 2,
			rules: []faultproxy.Rule{{Method: "GET", Key: "^" + strings.ReplaceAll(victim, ".", `\.`) + "$", Kind: faultproxy.ShortBody, AfterBytes: 300}}},
		{name: "AWS_MAX_ATTEMPTS", args: day(), env: []string{"AWS_MAX_ATTEMPTS=4"}, code: 1,
			says: []string{victim, "4 attempts"}, getsOf: 4,
			rules: []faultproxy.Rule{{Method: "GET", Key: "^" + strings.ReplaceAll(victim, ".", `\.`) + "$", Kind: faultproxy.Reset}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := p.SetRules(c.rules...); err != nil {
				t.Fatal(err)
			}
			p.ResetCounters()
			code, out := worker(t, c.env, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, out)
			}
			for _, s := range c.says {
				if !strings.Contains(out, s) {
					t.Errorf("output does not say %q:\n%s", s, out)
				}
			}
			if c.never != "" && strings.Contains(out, c.never) {
				t.Errorf("output says %q:\n%s", c.never, out)
			}
			if c.getsOf > 0 {
				if got := p.Count("GET", "^"+strings.ReplaceAll(victim, ".", `\.`)+"$"); got != c.getsOf {
					t.Errorf("GETs of %s: %d, want %d", victim, got, c.getsOf)
				}
			}
		})
	}
}
