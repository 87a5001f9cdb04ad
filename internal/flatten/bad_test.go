package flatten_test

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/window"
)

var badDay = window.MustNew("2024-05-01", "UTC")

func gen(t testing.TB) *flattentest.Gen {
	t.Helper()
	root := flattentest.TestData()
	g, err := flattentest.NewGen(root, 1)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// badStore holds a good file, a truncated gzip, a file that is not JSON and
// one whose second record has no eventTime.
func badStore(t *testing.T) (*flattentest.MemStore, []string) {
	g := gen(t)
	st := flattentest.NewMemStore()
	good := g.Doc(100, badDay.Start, 24*time.Hour)
	st.Put("a/good.json.gz", flattentest.Gzip(good))
	trunc := flattentest.Gzip(g.Doc(400, badDay.Start, 24*time.Hour))
	st.Put("b/truncated.json.gz", trunc[:len(trunc)/2])
	st.Put("c/notjson.json.gz", flattentest.Gzip([]byte("<html>Access Denied</html>")))
	noTime := `{"Records":[` + string(g.Record(nil, badDay.Start.Add(time.Hour), "id-1")) +
		`,{"eventID":"id-2","eventName":"X"},` + string(g.Record(nil, badDay.Start.Add(2*time.Hour), "id-3")) + `]}`
	st.Put("d/notime.json", []byte(noTime))
	return st, []string{"a/good.json.gz", "b/truncated.json.gz", "c/notjson.json.gz", "d/notime.json"}
}

func TestBadInputReport(t *testing.T) {
	st, keys := badStore(t)
	res, dst, err := run(t, st, shardOf(st, keys...), flatten.Options{Day: badDay, OnMalformed: flatten.Report})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Error(err)
	}
	if res.Unreadable != 2 || res.Malformed != 1 || res.Objects != 4 {
		t.Errorf("unreadable %d, malformed %d, objects %d; want 2, 1, 4", res.Unreadable, res.Malformed, res.Objects)
	}
	// The truncated object's records before the cut are kept.
	if res.Read <= 100+3 || res.Read >= 100+3+400 {
		t.Errorf("read %d records; want the good file's 100, notime's 3 and part of the truncated one's 400", res.Read)
	}
	kinds := map[string]problem.Problem{}
	for _, p := range res.Problems {
		kinds[p.Object] = p
	}
	if p := kinds["b/truncated.json.gz"]; p.Kind != problem.KindUnreadable || !strings.Contains(p.Detail, "unexpected") {
		t.Errorf("truncated gzip reported as %+v", p)
	}
	if p := kinds["c/notjson.json.gz"]; p.Kind != problem.KindInvalidJSON || p.Offset != 0 {
		t.Errorf("non-JSON reported as %+v", p)
	}
	if p := kinds["d/notime.json"]; p.Kind != problem.KindNoEventTime || p.Record != 1 || p.Offset <= 0 {
		t.Errorf("record without eventTime reported as %+v", p)
	}
	if _, ok := dst.Get("part.parquet"); !ok {
		t.Error("no part written")
	}
}

func TestBadInputFail(t *testing.T) {
	st, keys := badStore(t)
	for _, k := range keys[1:] {
		t.Run(k, func(t *testing.T) {
			res, dst, err := run(t, st, shardOf(st, keys[0], k), flatten.Options{Day: badDay, OnMalformed: flatten.Fail})
			if !errors.Is(err, problem.ErrBadInput) {
				t.Fatalf("got %v, want an error wrapping ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), k) {
				t.Errorf("error %q does not name the object", err)
			}
			if _, ok := dst.Get("part.parquet"); ok {
				t.Error("a failed shard committed its part")
			}
			if len(res.Problems) != 1 {
				t.Errorf("problems %v", res.Problems)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	g := gen(t)
	st := flattentest.NewMemStore()
	st.Generate("big.json", 0, func() io.Reader { return g.StreamDoc(200000, badDay.Start, 24*time.Hour, false) })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	dst := flattentest.NewMemStore()
	_, err := flatten.Shard(ctx, st, shardOf(st, "big.json"), dst, "part.parquet", flatten.Options{Day: badDay})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestBigFileMemory streams one object of about 60 MB of JSON (generated
// on the fly, gzipped) through a shard and bounds the heap it takes.
func TestBigFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("big file")
	}
	g := gen(t)
	const n = 45000 // ~1.4 KB each
	st := flattentest.NewMemStore()
	st.Generate("big.json.gz", 0, func() io.Reader { return g.StreamDoc(n, badDay.Start, 24*time.Hour, true) })
	// A worker runs with a soft memory limit (GOMEMLIMIT), so that garbage
	// does not pile up to twice the live heap; do the same here.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(96 << 20))
	heapGrowth := flattentest.HeapPeak()
	dst := flattentest.NewMemStore()
	res, err := flatten.Shard(context.Background(), st, shardOf(st, "big.json.gz"), dst, "part.parquet", flatten.Options{Day: badDay})
	grown := heapGrowth()
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != n || res.JSONBytes < 50<<20 {
		t.Fatalf("wrote %d of %d records from %d bytes of JSON", res.Written, n, res.JSONBytes)
	}
	part, _ := dst.Get("part.parquet")
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t.Logf("%d MB of JSON, %d row groups, part %d KB, heap in use grew by at most %d MiB; peak RSS of the test process %d MiB",
		res.JSONBytes>>20, res.RowGroups, len(part)>>10, grown>>20, ru.Maxrss>>10)
	// The part itself sits in the in-memory store; the rest is the
	// pipeline's own.
	if limit := int64(128<<20) + 3*int64(len(part)); grown > limit {
		t.Errorf("heap grew by %d MiB, limit %d MiB", grown>>20, limit>>20)
	}
}
