package pipeline_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// TestReportsAndRetention runs a day several times: each report says what
// its run's summary said, timings included, and only the last KeepRuns
// runs keep their report and error files.
func TestReportsAndRetention(t *testing.T) {
	o := smallDay()
	o.Records, o.Files = 1500, 20
	src, st := generate(t, o)
	out := t.TempDir()
	ctx := context.Background()
	dst, _ := store.Open(ctx, out, store.Options{})
	list := func(prefix string) []string {
		var ids []string
		dst.List(ctx, prefix, func(ob store.Object) error {
			base := filepath.Base(ob.Key)
			ids = append(ids, strings.TrimSuffix(strings.TrimSuffix(base, ".jsonl"), ".json"))
			return nil
		})
		sort.Strings(ids)
		return ids
	}
	var runs []string
	for i, keep := range []int{2, 2, 2, 2, -1} {
		c := config(src, out, o, st)
		c.Columns = record.Seed
		c.KeepRuns = keep
		s, err := pipeline.Run(ctx, c)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		runs = append(runs, s.RunID)
		rep, err := pipeline.ReadReport(ctx, dst, "20261124", s.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(s.Stages, rep.Stages); d != "" {
			t.Errorf("run %d: report timings differ from the summary's (-summary +report):\n%s", i, d)
		}
		if s.Stages.Plan <= 0 || s.Stages.Flatten <= 0 || s.Stages.Merge <= 0 || s.Stages.Total < s.Stages.Merge {
			t.Errorf("run %d: timings %+v", i, s.Stages)
		}
		if s.Errors == "" {
			t.Fatalf("run %d wrote no error file; the test needs the sample's broken objects", i)
		}
	}
	// After the fourth run, runs 3 and 4 were left; the fifth keeps all.
	want := append([]string(nil), runs[2:]...)
	sort.Strings(want)
	for _, prefix := range []string{"_parquetrail/reports/proc_ymd=20261124/", "_parquetrail/errors/proc_ymd=20261124/"} {
		if d := cmp.Diff(want, list(prefix)); d != "" {
			t.Errorf("%s (-want +got):\n%s", prefix, d)
		}
	}
}
