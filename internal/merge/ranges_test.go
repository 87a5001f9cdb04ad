package merge_test

import (
	"bytes"
	"context"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// countingStore counts the bytes read from the files it opens.
type countingStore struct {
	*flattentest.MemStore
	read atomic.Int64
}

func (s *countingStore) OpenFile(ctx context.Context, key string) (store.File, error) {
	f, err := s.MemStore.OpenFile(ctx, key)
	if err != nil {
		return nil, err
	}
	return countingFile{f, &s.read}, nil
}

type countingFile struct {
	store.File
	n *atomic.Int64
}

func (f countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

// pagedParts flattens parts whose row groups each cover the whole day in
// pages of at most 128 rows.
func pagedParts(t *testing.T, runID string) *fixture {
	t.Helper()
	defer func(p pqfile.PageOptions) { flatten.PartPages = p }(flatten.PartPages)
	pages := pqfile.StagingPages
	pages.PageRows = 128
	flatten.PartPages = pages
	return newFixture(t, 3, 2400, runID, record.Full)
}

// TestRangeReadsItsPages merges a day whole and as ranges of event time over
// parts whose row groups each cover the whole day in many pages. Each range
// holds the rows of the whole merge in it, in order; it decodes only its
// own rows (and at most one read-ahead past its end per run), so the ranges
// together decode the parts about once; and a narrow range reads a small
// share of the parts' bytes.
func TestRangeReadsItsPages(t *testing.T) {
	f := pagedParts(t, "rg")
	st := &countingStore{MemStore: f.st}
	p := testPlan("rg", record.Full)

	var decoded int64
	o := merge.Options{}
	merge.CountDecoded(&o, &decoded)
	whole, err := merge.Day(context.Background(), st, p, f.parts, o)
	if err != nil {
		t.Fatal(err)
	}
	wholeRead := st.read.Load()
	if decoded != f.written || whole.RowsIn != f.written {
		t.Fatalf("whole merge: %d rows decoded, %d in; the parts hold %d", decoded, whole.RowsIn, f.written)
	}
	if whole.Runs < 6 {
		t.Fatalf("%d runs; the fixture should make more", whole.Runs)
	}
	want := readDay(t, f, whole)

	// Bounds at rows' own times: a row at a bound is the later range's.
	const ranges = 6
	bounds := []time.Time{day.Start}
	for k := 1; k < ranges; k++ {
		bounds = append(bounds, want[k*len(want)/ranges]["eventtime"].(time.Time))
	}
	bounds = append(bounds, day.End)
	var got []record.Values
	var rowsIn, sumDecoded int64
	for k := range ranges {
		from, to := bounds[k], bounds[k+1]
		var n int64
		o := merge.Options{From: from, To: to, Index: k}
		merge.CountDecoded(&o, &n)
		st.read.Store(0)
		m, err := merge.Day(context.Background(), st, p, f.parts, o)
		if err != nil {
			t.Fatal(err)
		}
		rows := readDay(t, f, m)
		var in []record.Values
		for _, r := range want {
			if et := r["eventtime"].(time.Time); !et.Before(from) && et.Before(to) {
				in = append(in, r)
			}
		}
		if diff := cmp.Diff(in, rows); diff != "" {
			t.Errorf("range %d [%v, %v) differs from the whole merge's rows in it (-whole +range):\n%s", k, from, to, diff)
		}
		if n < m.RowsIn || n > m.RowsIn+int64(m.Runs) {
			t.Errorf("range %d: %d rows decoded for %d rows in it over %d runs", k, n, m.RowsIn, m.Runs)
		}
		t.Logf("range %d: %d of %d rows decoded, %d of %d bytes read", k, n, f.written, st.read.Load(), wholeRead)
		got = append(got, rows...)
		rowsIn += m.RowsIn
		sumDecoded += n
	}
	if rowsIn != whole.RowsIn || len(got) != len(want) {
		t.Errorf("the ranges read %d rows and wrote %d; the whole merge %d and %d", rowsIn, len(got), whole.RowsIn, len(want))
	}
	if sumDecoded > f.written+int64(ranges*whole.Runs) {
		t.Errorf("the ranges decoded %d rows together; the parts hold %d", sumDecoded, f.written)
	}
}

// tracingStore records the byte ranges read from each file.
type tracingStore struct {
	*flattentest.MemStore
	mu    sync.Mutex
	reads map[string][][2]int64 // offset, length
}

func (s *tracingStore) OpenFile(ctx context.Context, key string) (store.File, error) {
	f, err := s.MemStore.OpenFile(ctx, key)
	if err != nil {
		return nil, err
	}
	return tracingFile{f, s, key}, nil
}

type tracingFile struct {
	store.File
	s   *tracingStore
	key string
}

func (f tracingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.s.mu.Lock()
	f.s.reads[f.key] = append(f.s.reads[f.key], [2]int64{off, int64(n)})
	f.s.mu.Unlock()
	return n, err
}

// TestRangeSkipsPages: a range's merge reads no byte of the pages, in any
// column, that end before the first row of a row group in the range (the
// pages are found with the offset index). A read of the dictionary, from
// the chunk's start through a buffer, may reach into the first pages.
func TestRangeSkipsPages(t *testing.T) {
	f := pagedParts(t, "sk")
	st := &tracingStore{MemStore: f.st, reads: map[string][][2]int64{}}
	from, to := day.Start.Add(10*time.Hour), day.Start.Add(14*time.Hour)
	if _, err := merge.Day(context.Background(), st, testPlan("sk", record.Full), f.parts, merge.Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	var skipped, total int64
	for _, key := range f.parts {
		b, _ := f.st.Get(key)
		pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		timeCol := -1
		for i, c := range pf.Schema().Columns() {
			if len(c) == 1 && c[0] == "eventtime" {
				timeCol = i
			}
		}
		for g, rg := range pf.RowGroups() {
			// The first row in the range, from the data.
			times := make([]parquet.Value, rg.NumRows())
			r := parquet.NewColumnChunkValueReader(rg.ColumnChunks()[timeCol])
			if n, err := r.ReadValues(times); int64(n) != rg.NumRows() || err != nil && err != io.EOF {
				t.Fatalf("reading eventtime: %d values, %v", n, err)
			}
			r.Close()
			start := int64(sort.Search(len(times), func(i int) bool { return times[i].Int64() >= from.UnixMilli() }))
			for c, cc := range rg.ColumnChunks() {
				meta := pf.Metadata().RowGroups[g].Columns[c].MetaData
				total += meta.TotalCompressedSize
				oi, err := cc.OffsetIndex()
				if err != nil {
					t.Fatal(err)
				}
				for p := 0; p+1 < oi.NumPages() && oi.FirstRowIndex(p+1) <= start; p++ {
					lo, hi := oi.Offset(p), oi.Offset(p)+oi.CompressedPageSize(p)
					skipped += hi - lo
					for _, rd := range st.reads[key] {
						dict := meta.DictionaryPageOffset > 0 && rd[0] >= meta.DictionaryPageOffset && rd[0] < meta.DataPageOffset
						if rd[0] < hi && rd[0]+rd[1] > lo && !dict {
							t.Fatalf("%s row group %d column %d: read [%d, %d) overlaps page %d [%d, %d), before row %d", key, g, c, rd[0], rd[0]+rd[1], p, lo, hi, start)
						}
					}
				}
			}
		}
	}
	t.Logf("%d of the row groups' %d bytes are in pages before the range, not read", skipped, total)
	if skipped < total/10 {
		t.Errorf("only %d of %d bytes in pages before the range; the fixture should have more", skipped, total)
	}
}
