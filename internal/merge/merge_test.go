package merge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/window"
)

var day = window.MustNew("2024-05-01", "Asia/Seoul")

// fixture flattens shards of generated objects into parts. Every shard
// shares one object with the next (a duplicate delivery), and one object
// of records without eventID is in two shards.
type fixture struct {
	st      *flattentest.MemStore
	parts   []string
	written int64 // rows in the parts
	unique  int   // distinct (eventtime, eventid) among written rows, plus rows without id
}

func newFixture(t testing.TB, shards, perObject int, runID string, columns string) *fixture {
	t.Helper()
	root := flattentest.TestData()
	g, err := flattentest.NewGen(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	st := flattentest.NewMemStore()
	var objs []string
	for i := 0; i < shards+1; i++ {
		key := fmt.Sprintf("logs/obj-%02d.json.gz", i)
		st.Put(key, flattentest.Gzip(g.Doc(perObject, day.Start.Add(-time.Hour), day.Length()+2*time.Hour)))
		objs = append(objs, key)
	}
	noID := `{"Records":[{"eventTime":"` + day.Start.Add(time.Hour).Format(time.RFC3339) + `","eventName":"NoID"},{"eventTime":"` + day.Start.Add(time.Hour).Format(time.RFC3339) + `","eventName":"NoID"}]}`
	st.Put("logs/noid.json", []byte(noID))
	f := &fixture{st: st}
	ymd := day.YMD()
	for s := 0; s < shards; s++ {
		sh := plan.Shard{Index: s}
		for _, k := range []string{objs[s], objs[s+1]} {
			sh.Objects = append(sh.Objects, st.Object(k))
		}
		if s < 2 {
			sh.Objects = append(sh.Objects, st.Object("logs/noid.json"))
		}
		key := plan.PartKey(ymd, runID, s)
		res, err := flatten.Shard(context.Background(), st, sh, st, key, flatten.Options{Day: day, Columns: columns, LocalTimeColumn: "eventtime_kst", RowGroupRows: perObject / 2})
		if err != nil {
			t.Fatal(err)
		}
		f.parts = append(f.parts, key)
		f.written += res.Written
	}
	// Distinct events: every object once (2 records without id per copy of noid.json).
	keys := map[string]bool{}
	for i := 0; i <= shards; i++ {
		raw, _ := st.Get(objs[i])
		plain, _ := flattentest.Gunzip(raw)
		var doc struct{ Records []map[string]any }
		json.Unmarshal(plain, &doc)
		for _, r := range doc.Records {
			et, _ := time.Parse(time.RFC3339, r["eventTime"].(string))
			if day.Contains(et) {
				keys[r["eventTime"].(string)+"|"+r["eventID"].(string)] = true
			}
		}
	}
	f.unique = len(keys) + 4
	return f
}

func testPlan(runID, columns string) *plan.Plan {
	return &plan.Plan{Version: 1, RunID: runID, Date: day.Date, TimeZone: "Asia/Seoul",
		Columns: columns, LocalTimeColumn: "eventtime_kst", Deduplicate: true, Compression: "zstd"}
}

func readDay(t testing.TB, f *fixture, m *plan.Manifest) []record.Values {
	t.Helper()
	var rows []record.Values
	for _, file := range m.Files {
		b, ok := f.st.Get(staged(m, file))
		if !ok {
			t.Fatalf("manifest lists %s, which is missing", file.Key)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != file.SHA256 || int64(len(b)) != file.Bytes {
			t.Errorf("%s: checksum or size does not match the manifest", file.Key)
		}
		pf, err := arrowcheck.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(pf.Rows)) != file.Rows || pf.Meta.NumRowGroups() != file.RowGroups {
			t.Errorf("%s: %d rows in %d row groups, manifest says %d in %d", file.Key, len(pf.Rows), pf.Meta.NumRowGroups(), file.Rows, file.RowGroups)
		}
		if len(pf.Rows) > 0 {
			lo, hi := pf.Rows[0]["eventtime"].(time.Time), pf.Rows[len(pf.Rows)-1]["eventtime"].(time.Time)
			if !lo.Equal(file.MinEventTime) || !hi.Equal(file.MaxEventTime) {
				t.Errorf("%s: times [%v, %v], manifest [%v, %v]", file.Key, lo, hi, file.MinEventTime, file.MaxEventTime)
			}
		}
		rows = append(rows, pf.Rows...)
	}
	return rows
}

func TestMergeDay(t *testing.T) {
	f := newFixture(t, 4, 600, "run1", record.Full)
	p := testPlan("run1", record.Full)
	m, err := merge.Day(context.Background(), f.st, p, f.parts, merge.Options{TargetFileBytes: 200 << 10, RowGroupRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if m.RowsIn != f.written || m.Rows+m.Duplicates != m.RowsIn {
		t.Errorf("rows in %d (parts hold %d), out %d, duplicates %d", m.RowsIn, f.written, m.Rows, m.Duplicates)
	}
	if int(m.Rows) != f.unique {
		t.Errorf("published %d rows, want %d distinct events", m.Rows, f.unique)
	}
	if m.Duplicates == 0 {
		t.Error("no duplicates dropped")
	}
	if len(m.Files) < 2 {
		t.Errorf("%d files; want the target size to split the day", len(m.Files))
	}
	for i, file := range m.Files {
		if want := plan.PartitionPrefix(day.YMD()) + merge.FileName("run1", i); file.Key != want {
			t.Errorf("file %d is %s, want %s", i, file.Key, want)
		}
	}
	rows := readDay(t, f, m)
	// The published files: the plan's codec, dictionaries where values repeat.
	first, _ := f.st.Get(staged(m, m.Files[0]))
	pf, err := arrowcheck.Read(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pf.Columns(0) {
		if c.Codec != "ZSTD" {
			t.Errorf("%s: codec %s, want ZSTD", c.Name, c.Codec)
		}
		switch c.Name {
		case "eventname", "awsregion", "useridentity_arn", "resources_type.list.element":
			if !c.Dict {
				t.Errorf("%s: no dictionary", c.Name)
			}
		case "eventid", "requestid", "eventtime":
			if c.Dict {
				t.Errorf("%s: dictionary-encoded", c.Name)
			}
		}
	}
	if int64(len(rows)) != m.Rows {
		t.Fatalf("read %d rows, manifest says %d", len(rows), m.Rows)
	}
	noID := 0
	for i := 1; i < len(rows); i++ {
		ta, tb := rows[i-1]["eventtime"].(time.Time), rows[i]["eventtime"].(time.Time)
		ia, _ := rows[i-1]["eventid"].(string)
		ib, hasID := rows[i]["eventid"].(string)
		if !hasID {
			noID++
		}
		if tb.Before(ta) || ta.Equal(tb) && hasID && ia >= ib {
			t.Fatalf("rows %d and %d out of order or duplicate: %v %s, %v %s", i-1, i, ta, ia, tb, ib)
		}
		if !day.Contains(tb) {
			t.Fatalf("row %d at %v is outside the day", i, tb)
		}
	}
	if noID != 4 {
		t.Errorf("%d rows without eventid; want all 4 kept", noID)
	}
	// Nothing enters the partition before the commit: the files wait in
	// staging, and the manifest is the caller's to publish.
	if got := f.st.Keys(plan.PartitionPrefix(day.YMD())); len(got) != 0 {
		t.Errorf("the merge wrote into the partition: %v", got)
	}
	var mf plan.Manifest
	b, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	if mf.Rows != m.Rows || len(mf.Files) != len(m.Files) || mf.ColumnNames[9] != "eventtime_kst" {
		t.Errorf("manifest JSON differs: %+v", mf)
	}
	if err := merge.CleanStaging(context.Background(), f.st, day.YMD(), "run1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range f.st.Keys("_parquetrail/") {
		if strings.Contains(k, "/run1/") {
			t.Errorf("staging of run1 left: %s", k)
		}
	}
}

func TestMergeSeedNoDedup(t *testing.T) {
	f := newFixture(t, 3, 300, "r", record.Seed)
	p := testPlan("r", record.Seed)
	p.Deduplicate = false
	m, err := merge.Day(context.Background(), f.st, p, f.parts, merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Duplicates != 0 || m.Rows != f.written {
		t.Errorf("without deduplication: %d rows of %d, %d duplicates", m.Rows, f.written, m.Duplicates)
	}
	rows := readDay(t, f, m)
	for i := 1; i < len(rows); i++ {
		if rows[i]["eventtime"].(time.Time).Before(rows[i-1]["eventtime"].(time.Time)) {
			t.Fatalf("row %d out of order", i)
		}
	}
}

func TestMergeRejectsForeignPart(t *testing.T) {
	f := newFixture(t, 1, 50, "r", record.Seed)
	_, err := merge.Day(context.Background(), f.st, testPlan("r", record.Full), f.parts, merge.Options{})
	if err == nil || !strings.Contains(err.Error(), "columns") {
		t.Errorf("merging seed parts as full: %v", err)
	}
}

// TestMergeCascade merges more runs than MaxRuns: the result must be what
// a single merge gives.
func TestMergeCascade(t *testing.T) {
	f := newFixture(t, 5, 400, "c", record.Full)
	var ref *plan.Manifest
	var refRows []record.Values
	for _, opts := range []merge.Options{
		{MaxRuns: 1000},
		{MaxRuns: 3},
		// Row groups of many small batches (pages and dictionaries carried
		// from batch to batch).
		{MaxRuns: 1000, RowGroupBytes: 100 << 10, RowGroupRows: 1500},
	} {
		m, err := merge.Day(context.Background(), f.st, testPlan("c", record.Full), f.parts, opts)
		if err != nil {
			t.Fatal(err)
		}
		rows := readDay(t, f, m)
		if ref == nil {
			ref, refRows = m, rows
			if m.Runs <= 3 {
				t.Fatalf("only %d runs; the fixture should make more", m.Runs)
			}
			continue
		}
		if m.Rows != ref.Rows || m.Duplicates != ref.Duplicates || m.RowsIn != ref.RowsIn {
			t.Errorf("cascade: rows %d dups %d in %d; single merge: %d %d %d", m.Rows, m.Duplicates, m.RowsIn, ref.Rows, ref.Duplicates, ref.RowsIn)
		}
		for i := range rows {
			if rows[i]["eventid"] != refRows[i]["eventid"] || !rows[i]["eventtime"].(time.Time).Equal(refRows[i]["eventtime"].(time.Time)) {
				t.Fatalf("row %d differs from the single merge's", i)
			}
		}
		if opts.MaxRuns == 3 && len(f.st.Keys(plan.StagingPrefix(day.YMD(), "c")+"merge/")) == 0 {
			t.Error("no intermediate files in staging")
		}
		if opts.RowGroupRows == 1500 {
			for _, file := range m.Files {
				if want := int((file.Rows + 1499) / 1500); file.RowGroups != want {
					t.Errorf("%s: %d row groups of %d rows, want %d", file.Key, file.RowGroups, file.Rows, want)
				}
			}
			// The rebuilt records must match the single merge's too.
			s, _ := record.NewSchema(record.Full, "eventtime_kst")
			for i := range rows {
				a, err1 := s.RebuildJSON(rows[i])
				b, err2 := s.RebuildJSON(refRows[i])
				if err1 != nil || err2 != nil || string(a) != string(b) {
					t.Fatalf("row %d: %s (%v) vs %s (%v)", i, a, err1, b, err2)
				}
			}
		}
	}
	if err := merge.CleanStaging(context.Background(), f.st, day.YMD(), "c"); err != nil {
		t.Fatal(err)
	}
	if left := f.st.Keys(plan.StagingPrefix(day.YMD(), "c")); len(left) != 0 {
		t.Errorf("staging left: %v", left)
	}
}

// TestMergeMemory merges many runs and bounds the heap the merge takes
// beyond the stored parts and the files it writes (the test's store is in
// memory).
func TestMergeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("big merge")
	}
	f := newFixture(t, 12, 3000, "mem", record.Full) // 12 parts, ~6 row groups each
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(128 << 20))
	heapGrowth := flattentest.HeapPeak()
	m, err := merge.Day(context.Background(), f.st, testPlan("mem", record.Full), f.parts, merge.Options{})
	grown := heapGrowth()
	if err != nil {
		t.Fatal(err)
	}
	var out int64
	for _, file := range m.Files {
		out += file.Bytes
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t.Logf("%d runs, %d rows, %d KB written; heap grew by at most %d MiB; peak RSS of the test process %d MiB", m.Runs, m.Rows, out>>10, grown>>20, ru.Maxrss>>10)
	// The runs' readers (their 64 MiB budget), two row-group batches (the
	// one being filled, the one being encoded) of at most about twice
	// RowGroupBytes each, the open row group, and garbage the collector
	// has not reached yet.
	if limit := int64(64<<20+4*merge.DefaultRowGroupBytes+32<<20) + 4*out; grown > limit {
		t.Errorf("heap grew by %d MiB, limit %d MiB", grown>>20, limit>>20)
	}
}

// TestMergeEmptyDay: a shard without objects writes an empty part, and a
// day without events has a manifest without files.
func TestMergeEmptyDay(t *testing.T) {
	st := flattentest.NewMemStore()
	old := plan.PartitionPrefix(day.YMD()) + "part-old-00000.parquet"
	st.Put(old, []byte("stale"))
	key := plan.PartKey(day.YMD(), "e", 0)
	res, err := flatten.Shard(context.Background(), st, plan.Shard{}, st, key, flatten.Options{Day: day, LocalTimeColumn: "eventtime_kst"})
	if err != nil || res.Written != 0 {
		t.Fatalf("empty shard: %+v, %v", res, err)
	}
	m, err := merge.Day(context.Background(), st, testPlan("e", record.Full), []string{key}, merge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 0 || m.Rows != 0 {
		t.Errorf("empty day: %d files, %d rows", len(m.Files), m.Rows)
	}
	if _, ok := st.Get(old); !ok {
		t.Error("the merge touched the partition; only the commit may")
	}
}

// staged is where the merge wrote a file that the manifest names.
func staged(m *plan.Manifest, f plan.File) string {
	return commit.StagedKey(day.YMD(), m.RunID, path.Base(f.Key))
}
