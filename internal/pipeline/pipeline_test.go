package pipeline_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/sample"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// smallDay is the demo day, smaller: every kind of edge case, duplicates,
// late files, real records, in a zone whose day spans two UTC dates.
func smallDay() sample.Options {
	o := sample.Demo()
	o.Records = 4000
	o.Files = 60
	return o
}

func generate(t *testing.T, o sample.Options) (string, sample.Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// margin reaches the last late delivery, so that the run reads every file
// that holds events of the day.
func margin(st sample.Stats) time.Duration {
	return st.LastDelivery.Sub(st.WindowEnd) + time.Minute
}

func config(src, dst string, o sample.Options, st sample.Stats) pipeline.Config {
	return pipeline.Config{
		Source: src, Destination: dst, Date: o.Date, TimeZone: o.TimeZone,
		Columns: record.Full, Deduplicate: true, OnMalformed: "report",
		LateArrival: margin(st), TargetShardBytes: 256 << 10, Workers: 2,
	}
}

// readDay reads the day's published files, in manifest order, with the
// Arrow reader, and checks the manifest against the folder.
func readDay(t *testing.T, dst store.Store, ymd string) (*plan.Manifest, []record.Values) {
	t.Helper()
	ctx := context.Background()
	var m plan.Manifest
	readJSON(t, dst, plan.ManifestKey(ymd), &m)
	var listed []string
	if err := dst.List(ctx, plan.PartitionPrefix(ymd), func(o store.Object) error {
		listed = append(listed, strings.TrimPrefix(o.Key, plan.PartitionPrefix(ymd)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"_manifest.json"}
	for _, f := range m.Files {
		want = append(want, path.Base(f.Key))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Fatalf("partition holds other files than the manifest lists (-manifest +listed):\n%s", diff)
	}
	var rows []record.Values
	for _, f := range m.Files {
		r, err := dst.Open(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		pf, err := arrowcheck.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Key, err)
		}
		if int64(len(pf.Rows)) != f.Rows {
			t.Errorf("%s: manifest says %d rows, file has %d", f.Key, f.Rows, len(pf.Rows))
		}
		rows = append(rows, pf.Rows...)
	}
	return &m, rows
}

func readJSON(t *testing.T, st store.Store, key string, v any) {
	t.Helper()
	r, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := jsonDecode(r, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

func TestRunAccountsForEveryRecord(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	out := t.TempDir()
	s, err := pipeline.Run(context.Background(), config(src, out, o, st))
	if err != nil {
		t.Fatal(err)
	}
	// Files delivered before the window starts are skipped unread, so only
	// part of the generated out-of-window records are read; everything in
	// the window is.
	r := s.Records
	if r.Written != st.Rows || r.Duplicates != st.InWindowDuplicates || r.Malformed != st.Malformed {
		t.Errorf("written %d, duplicates %d, malformed %d; generated %d rows, %d duplicates, %d malformed",
			r.Written, r.Duplicates, r.Malformed, st.Rows, st.InWindowDuplicates, st.Malformed)
	}
	if r.Outside == 0 || r.Outside > st.OutOfWindow || s.Objects.SkippedEarly == 0 {
		t.Errorf("outside %d (generated %d), skipped early %d", r.Outside, st.OutOfWindow, s.Objects.SkippedEarly)
	}
	if r.Read != r.Written+r.Outside+r.Duplicates+r.Malformed {
		t.Errorf("accounting does not add up: %+v", r)
	}
	if s.Objects.Unreadable == 0 {
		t.Errorf("the day's unreadable objects were not counted")
	}

	dst, _ := store.Open(context.Background(), out, store.Options{})
	m, rows := readDay(t, dst, "20261124")
	if int64(len(rows)) != st.Rows || m.Rows != st.Rows {
		t.Fatalf("published %d rows (manifest %d), want %d", len(rows), m.Rows, st.Rows)
	}
	seen := map[string]bool{}
	var prev time.Time
	for i, r := range rows {
		et := r["eventtime"].(time.Time)
		if et.Before(st.WindowStart) || !et.Before(st.WindowEnd) {
			t.Fatalf("row %d: eventtime %s outside the day", i, et)
		}
		if et.Before(prev) {
			t.Fatalf("row %d: eventtime %s before the previous row's %s", i, et, prev)
		}
		prev = et
		if id, ok := r["eventid"].(string); ok {
			if seen[id] {
				t.Fatalf("row %d: eventid %s written twice", i, id)
			}
			seen[id] = true
		}
	}

	// Every documented bad input is named, by object, in the error manifest.
	var named []string
	errs, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(plan.ErrorsKey("20261124", s.RunID))))
	if err != nil {
		t.Fatalf("no error manifest: %v", err)
	}
	for _, p := range st.Problems {
		if !strings.Contains(string(errs), p.Object) {
			named = append(named, p.Object)
		}
	}
	if len(named) > 0 {
		t.Errorf("error manifest does not name %v", named)
	}
	if s.Errors == "" {
		t.Errorf("summary does not point at the error manifest")
	}
	// Staging is gone once the day is published.
	if _, err := os.Stat(filepath.Join(out, "_parquetrail", "staging")); err == nil {
		entries, _ := filepath.Glob(filepath.Join(out, "_parquetrail", "staging", "*", "*"))
		if len(entries) > 0 {
			t.Errorf("staging left behind: %v", entries)
		}
	}
}

func TestLateFilesNeedTheMargin(t *testing.T) {
	o := smallDay()
	o.EdgeCases = false
	o.LateRate = 0.2
	src, st := generate(t, o)
	if st.InWindowDeliveredLate == 0 {
		t.Fatal("the generated day has no late deliveries; the test would prove nothing")
	}
	c := config(src, t.TempDir(), o, st)
	full, err := pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if full.Records.Written != st.Rows {
		t.Errorf("with a margin reaching the last delivery: written %d, want %d", full.Records.Written, st.Rows)
	}
	c.Destination = t.TempDir()
	c.LateArrival = time.Minute
	short, err := pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if short.Records.Written >= full.Records.Written || short.Objects.SkippedLate == 0 {
		t.Errorf("a 1-minute margin should miss late files: written %d vs %d, skipped late %d",
			short.Records.Written, full.Records.Written, short.Objects.SkippedLate)
	}
}

func TestS3AndFolderGiveTheSameRows(t *testing.T) {
	o := smallDay()
	o.Prefix = "trails/org"
	src, st := generate(t, o)
	ctx := context.Background()

	endpoint, client := s3test.Start(t)
	s3test.CreateBucket(t, client, "logs")
	s3test.CreateBucket(t, client, "lake")
	objs := map[string][]byte{}
	if err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(src, path)
		objs[filepath.ToSlash(rel)] = b
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s3test.PutAll(t, client, "logs", objs)
	opts := store.Options{Endpoint: endpoint, Region: s3test.Region, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey}

	local := config(filepath.Join(src, "trails", "org"), t.TempDir(), o, st)
	ls, err := pipeline.Run(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	remote := config("s3://logs/trails/org", "s3://lake/cloudtrail", o, st)
	remote.Stores = pipeline.Stores{Source: opts, Destination: opts}
	rs, err := pipeline.Run(ctx, remote)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ls.Records, rs.Records); diff != "" {
		t.Errorf("counts differ (-folder +s3):\n%s", diff)
	}
	lst, _ := store.Open(ctx, local.Destination, store.Options{})
	rst, _ := store.Open(ctx, "s3://lake/cloudtrail", opts)
	_, lrows := readDay(t, lst, "20261124")
	_, rrows := readDay(t, rst, "20261124")
	if len(lrows) == 0 {
		t.Fatal("no rows")
	}
	if diff := cmp.Diff(lrows, rrows); diff != "" {
		t.Errorf("rows differ (-folder +s3):\n%s", diff)
	}
}

func TestRerunReplacesTheDay(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	out := t.TempDir()
	c := config(src, out, o, st)
	// A first run with a different shard size leaves files of other names.
	c.TargetShardBytes = 64 << 10
	first, err := pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	c.TargetShardBytes = 1 << 20
	c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	second, err := pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if first.RunID == second.RunID {
		t.Fatal("both runs have one run ID")
	}
	dst, _ := store.Open(context.Background(), out, store.Options{})
	m, rows := readDay(t, dst, "20261124")
	for _, f := range m.Files {
		if !strings.Contains(f.Key, second.RunID) {
			t.Errorf("file %s is not of the second run %s", f.Key, second.RunID)
		}
	}
	if int64(len(rows)) != st.Rows {
		t.Errorf("after the re-run: %d rows, want %d", len(rows), st.Rows)
	}
}

func TestFailPolicyNamesTheObject(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	out := t.TempDir()
	c := config(src, out, o, st)
	c.OnMalformed = "fail"
	_, err := pipeline.Run(context.Background(), c)
	if !errors.Is(err, problem.ErrBadInput) {
		t.Fatalf("error %v does not wrap ErrBadInput", err)
	}
	found := false
	for _, p := range st.Problems {
		if strings.Contains(err.Error(), p.Object) {
			found = true
		}
	}
	if !found {
		t.Errorf("error %q names none of the bad objects", err)
	}
	if _, err := os.Stat(filepath.Join(out, "proc_ymd=20261124")); err == nil {
		t.Errorf("a failed day published a partition")
	}
	if left, _ := filepath.Glob(filepath.Join(out, "_parquetrail", "staging", "*", "*", "*")); len(left) > 0 {
		t.Errorf("a failed run left staging: %v", left)
	}

	// In the operator each shard runs in its own pod: the one that fails
	// leaves the problem in staging for the controller to name.
	ctx := context.Background()
	c.Defaults()
	srcStore, _ := store.Open(ctx, src, store.Options{})
	dstStore, _ := store.Open(ctx, out, store.Options{})
	p, _, _, err := pipeline.PlanDay(ctx, c, srcStore, dstStore, plan.NewRunID(time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := range p.Shards {
		_, err := pipeline.FlattenShard(ctx, p, i, srcStore, dstStore)
		if err == nil {
			if _, err := pipeline.ReadFailure(ctx, dstStore, p.YMD(), p.RunID, i); err == nil {
				t.Errorf("shard %d succeeded but left a failure", i)
			}
			continue
		}
		failed++
		f, rerr := pipeline.ReadFailure(ctx, dstStore, p.YMD(), p.RunID, i)
		if rerr != nil {
			t.Fatalf("shard %d failed (%v) but left no failure: %v", i, err, rerr)
		}
		if f.Error != err.Error() || len(f.Result.Problems) == 0 || !strings.Contains(f.Error, f.Result.Problems[0].Object) {
			t.Errorf("shard %d's failure does not name its problem: %+v", i, f)
		}
	}
	if failed == 0 {
		t.Errorf("no shard failed on the bad input")
	}
}

// The operator runs the stages in separate processes: plan in the
// controller, each shard in a pod, merge in another. Their composition must
// publish what Run publishes.
func TestStagesComposeToRun(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	ctx := context.Background()
	c := config(src, t.TempDir(), o, st)
	c.Defaults()
	if _, err := pipeline.Run(ctx, c); err != nil {
		t.Fatal(err)
	}

	staged := c
	staged.Destination = t.TempDir()
	srcStore, _ := store.Open(ctx, staged.Source, store.Options{})
	dstStore, _ := store.Open(ctx, staged.Destination, store.Options{})
	_, key, sum, err := pipeline.PlanDay(ctx, staged, srcStore, dstStore, plan.NewRunID(time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, sum2, err := plan.Read(ctx, dstStore, key)
	if err != nil || sum != sum2 {
		t.Fatalf("plan read back: %v, checksum %s vs %s", err, sum, sum2)
	}
	if len(p.Shards) < 2 {
		t.Fatalf("want several shards, got %d", len(p.Shards))
	}
	for i := len(p.Shards) - 1; i >= 0; i-- { // any order
		if _, err := pipeline.FlattenShard(ctx, p, i, srcStore, dstStore); err != nil {
			t.Fatal(err)
		}
	}
	// A retried shard (a pod killed after writing) overwrites its own part.
	if _, err := pipeline.FlattenShard(ctx, p, 0, srcStore, dstStore); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.MergeDay(ctx, p, dstStore); err != nil {
		t.Fatal(err)
	}
	runStore, _ := store.Open(ctx, c.Destination, store.Options{})
	_, want := readDay(t, runStore, "20261124")
	_, got := readDay(t, dstStore, "20261124")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("staged output differs from Run's (-run +staged):\n%s", diff)
	}
}

// A merge that fails after taking the day (here: a shard's result cannot be
// read, as on a store fault) leaves the plan, parts and results in staging,
// so that its retry (the merge Job's next pod, the same run) can merge and
// publish; the retry's success removes staging.
func TestFailedMergeKeepsStagingForItsRetry(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	ctx := context.Background()
	c := config(src, t.TempDir(), o, st)
	c.Defaults()
	srcStore, _ := store.Open(ctx, c.Source, store.Options{})
	dstStore, _ := store.Open(ctx, c.Destination, store.Options{})
	p, key, _, err := pipeline.PlanDay(ctx, c, srcStore, dstStore, plan.NewRunID(time.Now()), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Shards {
		if _, err := pipeline.FlattenShard(ctx, p, i, srcStore, dstStore); err != nil {
			t.Fatal(err)
		}
	}
	staging := func() []string {
		var keys []string
		if err := dstStore.List(ctx, plan.StagingPrefix(p.YMD(), p.RunID), func(o store.Object) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	before := staging()
	last := plan.ResultKey(p.YMD(), p.RunID, len(p.Shards)-1)
	r, err := dstStore.Open(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	result, _ := io.ReadAll(r)
	r.Close()
	if err := dstStore.Delete(ctx, last); err != nil {
		t.Fatal(err)
	}

	if _, err := pipeline.MergeDay(ctx, p, dstStore); err == nil || !strings.Contains(err.Error(), "has no result") {
		t.Fatalf("merge without a shard's result: %v, want it to fail naming the shard", err)
	}
	var want []string
	for _, k := range before {
		if k != last {
			want = append(want, k)
		}
	}
	if diff := cmp.Diff(want, staging()); diff != "" {
		t.Errorf("staging after the failed merge (-before +after):\n%s", diff)
	}
	if _, _, err := plan.Read(ctx, dstStore, key); err != nil {
		t.Fatalf("the plan after the failed merge: %v", err)
	}
	if _, err := dstStore.Open(ctx, plan.ManifestKey(p.YMD())); !store.IsNotExist(err) {
		t.Errorf("a manifest after the failed merge (%v)", err)
	}

	// The store recovers; the retry publishes the day and cleans up.
	w, err := dstStore.Create(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(result)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.MergeDay(ctx, p, dstStore)
	if err != nil {
		t.Fatalf("the retried merge: %v", err)
	}
	if s.RunID != p.RunID {
		t.Errorf("summary of run %s, want %s", s.RunID, p.RunID)
	}
	if left := staging(); len(left) != 0 {
		t.Errorf("staging left after the retry published: %v", left)
	}
	if m, rows := readDay(t, dstStore, p.YMD()); m.RunID != p.RunID || len(rows) == 0 {
		t.Errorf("published run %s with %d rows, want run %s", m.RunID, len(rows), p.RunID)
	}
}

// TestRangeMerge runs a day with its merge in one range and in three at
// once: the same rows are published, in the day's order across the files,
// with the same accounting, and the manifest names exactly the files.
func TestRangeMerge(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	type outcome struct {
		Records       plan.Records
		Rows          []record.Values
		RangesInNames int
	}
	got := map[int]outcome{}
	for _, r := range []int{1, 3} {
		out := t.TempDir()
		c := config(src, out, o, st)
		c.MergeWorkers = r
		s, err := pipeline.Run(context.Background(), c)
		if err != nil {
			t.Fatalf("merge workers %d: %v", r, err)
		}
		dst, err := store.Open(context.Background(), out, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m, rows := readDay(t, dst, strings.ReplaceAll(s.Date, "-", ""))
		ranges := map[string]bool{}
		for i, f := range m.Files {
			if i > 0 && f.MinEventTime.Before(m.Files[i-1].MaxEventTime) {
				t.Errorf("merge workers %d: %s starts at %s, before %s ends at %s", r, f.Key, f.MinEventTime, m.Files[i-1].Key, m.Files[i-1].MaxEventTime)
			}
			if i > 0 && path.Base(f.Key) <= path.Base(m.Files[i-1].Key) {
				t.Errorf("merge workers %d: file names out of the day's order: %s after %s", r, f.Key, m.Files[i-1].Key)
			}
			// part-<run>-<range>-<n>.parquet names its range (a run ID
			// of shard-worker run has one dash).
			if parts := strings.Split(strings.TrimSuffix(path.Base(f.Key), ".parquet"), "-"); len(parts) == 5 {
				ranges[parts[3]] = true
			}
		}
		for i := 1; i < len(rows); i++ {
			a, b := rows[i-1]["eventtime"].(time.Time), rows[i]["eventtime"].(time.Time)
			if b.Before(a) {
				t.Fatalf("merge workers %d: row %d (%s) before row %d (%s)", r, i, b, i-1, a)
			}
		}
		got[r] = outcome{s.Records, rows, len(ranges)}
	}
	if diff := cmp.Diff(got[1].Records, got[3].Records); diff != "" {
		t.Errorf("accounting (-one range +three):\n%s", diff)
	}
	if got[1].RangesInNames != 0 || got[3].RangesInNames != 3 {
		t.Errorf("ranges in the file names: %d with one merge worker, %d with three; want 0 and 3", got[1].RangesInNames, got[3].RangesInNames)
	}
	if len(got[1].Rows) == 0 || int64(len(got[1].Rows)) != got[1].Records.Written {
		t.Fatalf("%d rows read back, %d written", len(got[1].Rows), got[1].Records.Written)
	}
	// Rows of equal eventtime may come in another order between runs only
	// if they have no eventid; compare them as sorted sets to be exact.
	if diff := cmp.Diff(canonicalRows(t, got[1].Rows), canonicalRows(t, got[3].Rows)); diff != "" {
		t.Errorf("rows (-one range +three):\n%s", diff)
	}
}

func canonicalRows(t *testing.T, rows []record.Values) []string {
	t.Helper()
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		b, err := s.RebuildJSON(r)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}
