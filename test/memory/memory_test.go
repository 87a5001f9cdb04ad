// Package memory runs the real shard-worker binary, each stage as a
// process of its own, on inputs large enough to matter (a generated day,
// one object of many records, records of megabytes) and asserts each
// process's peak RSS, as the kernel counts it, stays under a worker's
// 256 MiB; and that input beyond the documented caps fails as bad input
// naming the object and the cap.
package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/sample"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// limit is a worker pod's memory: every stage must stay under it.
const limit = 256 << 20

// Sizes of the generated inputs, chosen to fit the test suite's time on
// two cores (about a minute for this package); docs/limits.md has the
// figures of larger runs (a 2M-record day, a 5M-record object). The
// object's flatten writes more sorted runs than the merge reads at once,
// so its merge goes through intermediate runs.
const (
	dayRecords    = 500_000
	objectRecords = 800_000
)

var worker string // the built shard-worker

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parquetrail-memory-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	worker = filepath.Join(dir, "shard-worker")
	build := exec.Command("go", "build", "-o", worker, "../../shard-worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building shard-worker:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one process's outcome.
type result struct {
	code   int
	peak   int64 // peak RSS in bytes
	stdout string
	stderr string
}

// runWorker runs shard-worker with args and reads its peak RSS from the
// kernel's accounting of the child (getrusage's maxrss, in KiB on Linux).
// GOMEMLIMIT is left unset, so that the binary's own default applies, as
// in a pod without one.
func runWorker(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, worker, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("shard-worker %s: %v", args[0], err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peak = ru.Maxrss << 10
	}
	t.Logf("shard-worker %s: exit %d in %s (%.1f CPU-s), peak RSS %d MiB", args[0], r.code,
		time.Since(began).Round(time.Millisecond), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), r.peak>>20)
	if r.peak == 0 {
		t.Fatalf("shard-worker %s: no peak RSS from the kernel", args[0])
	}
	return r
}

// must runs shard-worker, wants exit 0 and a peak RSS under the limit.
func must(t *testing.T, args ...string) result {
	t.Helper()
	r := runWorker(t, args...)
	if r.code != 0 {
		t.Fatalf("shard-worker %s: exit %d\n%s", args[0], r.code, r.stderr)
	}
	if r.peak >= limit {
		t.Errorf("shard-worker %s: peak RSS %d MiB, want < %d MiB", args[0], r.peak>>20, limit>>20)
	}
	return r
}

// summary is the part of shard-worker's JSON summary the tests read.
type summary struct {
	Objects struct {
		Read       int64 `json:"read"`
		Unreadable int64 `json:"unreadable"`
	} `json:"objects"`
	Records struct {
		Read    int64 `json:"read"`
		Written int64 `json:"written"`
	} `json:"records"`
}

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	var s summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	return s
}

// stages runs plan, every flatten index and merge as processes of their
// own, each under the limit, and returns the merge's summary.
func stages(t *testing.T, src, dst string, dayArgs ...string) summary {
	t.Helper()
	args := append([]string{"plan", "--source", src, "--destination", dst}, dayArgs...)
	r := must(t, args...)
	var key string
	var shards int
	for _, line := range strings.Split(r.stdout, "\n") {
		fmt.Sscanf(line, "plan %s", &key)
		fmt.Sscanf(line, "shards %d", &shards)
	}
	if key == "" || shards == 0 {
		t.Fatalf("plan printed no key or shards:\n%s", r.stdout)
	}
	for i := 0; i < shards; i++ {
		must(t, "flatten", "--destination", dst, "--plan", key, "--index", fmt.Sprint(i))
	}
	return parseSummary(t, must(t, "merge", "--destination", dst, "--plan", key, "--json").stdout)
}

// TestDay converts a generated day with run, and again stage by stage.
func TestDay(t *testing.T) {
	if testing.Short() {
		t.Skip("converts a day of hundreds of thousands of records")
	}
	src := t.TempDir()
	opts := sample.Reference()
	opts.Files = max(1, opts.Files*dayRecords/opts.Records)
	opts.Records = dayRecords
	st, err := sample.Generate(context.Background(), opts, sample.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("day: %d records, %d MB of JSON in %d log files", st.Records, st.JSONBytes>>20, st.LogFiles)
	margin := fmt.Sprintf("%dh", int(st.LastDelivery.Sub(st.WindowEnd).Hours())+1)
	day := []string{"--date", opts.Date, "--time-zone", opts.TimeZone, "--late-arrival", margin}

	whole := parseSummary(t, must(t, append([]string{"run", "--source", src, "--destination", t.TempDir(), "--json", "--quiet"}, day...)...).stdout)
	staged := stages(t, src, t.TempDir(), day...)
	if whole.Records.Written != st.Rows || staged.Records.Written != st.Rows {
		t.Errorf("rows written: run %d, stages %d; the generator's distinct in-window events %d", whole.Records.Written, staged.Records.Written, st.Rows)
	}
}

// putObject writes one gzipped log object in the trail's key layout.
func putObject(t *testing.T, root, name string, w func(io.Writer) error) string {
	t.Helper()
	key := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/24/111122223333_CloudTrail_us-east-1_20261124T1200Z_" + name + ".json.gz"
	path := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err := w(zw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return key
}

var utcDay = []string{"--date", "2026-11-24", "--time-zone", "UTC"}

func newGen(t *testing.T) *flattentest.Gen {
	t.Helper()
	g, err := flattentest.NewGen(flattentest.TestData(), 5)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestOneBigObject: one object of many records is one shard; its
// flatten writes many sorted runs, and the merge reads them all.
func TestOneBigObject(t *testing.T) {
	if testing.Short() {
		t.Skip("an object of hundreds of thousands of records")
	}
	src := t.TempDir()
	g := newGen(t)
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	putObject(t, src, "big", func(w io.Writer) error { return g.WriteDoc(w, objectRecords, start, 24*time.Hour) })
	s := stages(t, src, t.TempDir(), utcDay...)
	type counts struct{ Objects, Read, Written int64 }
	if diff := cmp.Diff(counts{1, objectRecords, objectRecords}, counts{s.Objects.Read, s.Records.Read, s.Records.Written}); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// bigRecord returns a record that carries about n bytes more than its
// template, in a key no column maps (so the full set keeps it in unmapped).
func bigRecord(g *flattentest.Gen, at time.Time, id string, n int) []byte {
	r := g.Record(nil, at, id)
	return append(r[:len(r)-1], `,"bigBlob":"`+strings.Repeat("A", n)+`"}`...)
}

// TestBigRecords: records of megabytes are read within the limit; a record
// beyond the cap (16 MiB) fails its object as bad input naming the object
// and the cap; an object gzipped twice is inflated once and reported.
func TestBigRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("records of megabytes")
	}
	g := newGen(t)
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	doc := func(name string, sizes ...int) func(io.Writer) error {
		return func(w io.Writer) error {
			var b bytes.Buffer
			b.WriteString(`{"Records":[`)
			for i, n := range sizes {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(bigRecord(g, at.Add(time.Duration(i)*time.Minute), fmt.Sprintf("%s-%d", name, i), n))
				if _, err := w.Write(b.Bytes()); err != nil {
					return err
				}
				b.Reset()
			}
			b.WriteString(`]}`)
			_, err := w.Write(b.Bytes())
			return err
		}
	}

	t.Run("under the cap", func(t *testing.T) {
		src := t.TempDir()
		putObject(t, src, "a", doc("a", 12<<20, 14<<20, 1<<10, 15<<20))
		putObject(t, src, "b", doc("b", 15<<20, 15<<20))
		// An object gzipped twice: inflated once it is not JSON.
		putObject(t, src, "twice", func(w io.Writer) error {
			zw := gzip.NewWriter(w)
			if err := doc("twice", 1<<10, 1<<10)(zw); err != nil {
				return err
			}
			return zw.Close()
		})
		s := parseSummary(t, must(t, append([]string{"run", "--source", src, "--destination", t.TempDir(), "--json", "--quiet"}, utcDay...)...).stdout)
		type counts struct{ Objects, Unreadable, Read, Written int64 }
		if diff := cmp.Diff(counts{3, 1, 6, 6}, counts{s.Objects.Read, s.Objects.Unreadable, s.Records.Read, s.Records.Written}); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	t.Run("over the cap", func(t *testing.T) {
		src := t.TempDir()
		key := putObject(t, src, "huge", doc("huge", 1<<10, scan.MaxRecordBytes+1<<20))
		r := runWorker(t, append([]string{"run", "--source", src, "--destination", t.TempDir(), "--on-malformed", "fail", "--quiet"}, utcDay...)...)
		if r.code != 3 {
			t.Errorf("exit %d, want 3 (bad input)\n%s", r.code, r.stderr)
		}
		for _, want := range []string{key, "too-large", "cap of 16 MiB per record"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("message does not say %q:\n%s", want, r.stderr)
			}
		}
		if r.peak >= limit {
			t.Errorf("peak RSS %d MiB, want < %d MiB", r.peak>>20, limit>>20)
		}
	})
}
