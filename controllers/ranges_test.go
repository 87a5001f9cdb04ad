package controllers

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/window"
)

// rangeRows are a shard's written rows per 5-minute step of a UTC day:
// rows at the given steps.
func rangeRows(at map[int]int64) []int64 {
	r := make([]int64, 288)
	for i, v := range at {
		r[i] = v
	}
	return r
}

// A large day is merged by an Indexed Job, one range of event time per
// index, then published by the publish Job; the status follows the ranges.
func TestReconcileDayInRanges(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").MergeIndexes(8, 1000), nil)
	// Every shard wrote 3000 rows: 1000 at 01:00, 1000 at 09:00, 1000 at 17:00.
	e.flattened(e.toFlattening(), func(int) controllertest.Shard {
		return controllertest.Shard{Read: 3000, Written: 3000, RangeRows: rangeRows(map[int]int64{12: 1000, 108: 1000, 204: 1000})}
	})
	e.reconcile()
	d := e.day()
	// 3000 rows a shard over at most 8 indexes of 1000 rows: the rows sit in
	// three steps, and a step is never cut, so three ranges.
	m := d.Status.Merge
	if m.Indexes != 3 || len(m.Ranges) != 4 || m.Ranges[0] != 0 || m.Ranges[3] != 288 || m.Progress != "0/3" {
		t.Fatalf("merge status %+v", m)
	}
	for i, step := range []int32{12, 108, 204} {
		if step < m.Ranges[i] || step >= m.Ranges[i+1] {
			t.Errorf("step %d is not in range %d %v", step, i, m.Ranges)
		}
	}

	// The Indexed merge Job.
	e.reconcile()
	mj := e.job("2026-11-24-1-merge")
	args := mj.Spec.Template.Spec.Containers[0].Args
	if ptr.Deref(mj.Spec.CompletionMode, "") != batchv1.IndexedCompletion || *mj.Spec.Completions != 3 || *mj.Spec.MaxFailedIndexes != 0 || mj.Spec.BackoffLimitPerIndex == nil {
		t.Errorf("merge Job spec %+v", mj.Spec)
	}
	if i := slices.Index(args, "--ranges"); args[0] != "merge" || i < 0 || args[i+1] != formatRanges(m.Ranges) {
		t.Errorf("merge args %v", args)
	}
	e.updateJob(mj.Name, func(j *batchv1.Job) { controllertest.Running(j, e.clock.Now(), 2, "1", "") })
	e.reconcile()
	d = e.day()
	if d.Status.Merge.Progress != "1/3" || d.Status.Merge.Active != 2 {
		t.Errorf("merge progress %+v", d.Status.Merge)
	}
	wantStage(t, d, v1alpha1.StageMerging, "1 of 3 ranges merged, 2 running")
	if e.jobOrNil("2026-11-24-1-publish") != nil {
		t.Fatal("the publish Job runs before every range is merged")
	}
	e.updateJob(mj.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(mj.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()

	// The publish Job, then the manifest into status.
	pj := e.job("2026-11-24-1-publish")
	args = pj.Spec.Template.Spec.Containers[0].Args
	if i := slices.Index(args, "--ranges"); args[0] != "publish" || i < 0 || args[i+1] != formatRanges(m.Ranges) || *pj.Spec.Completions != 1 {
		t.Errorf("publish Job args %v completions %d", args, *pj.Spec.Completions)
	}
	d = e.day()
	if d.Status.Merge.Progress != "3/3" {
		t.Errorf("merge progress %+v", d.Status.Merge)
	}
	wantStage(t, d, v1alpha1.StageMerging, "Publishing the 3 merged ranges")
	n := int64(d.Status.Shards.Total)
	if err := controllertest.Merge(e.ctx, e.dst(), d.Status.Plan.Key, 0, 1000*n, 1000*n, 1000*n); err != nil {
		t.Fatal(err)
	}
	e.updateJob(pj.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(pj.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StageSucceeded, "Wrote")
	if d.Status.Counts.RecordsWritten != 3000*n {
		t.Errorf("written %d, want %d", d.Status.Counts.RecordsWritten, 3000*n)
	}
}

// One range that fails for good fails the day, naming the range.
func TestReconcileRangeFails(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").MergeIndexes(4, 1000), nil)
	e.flattened(e.toFlattening(), func(int) controllertest.Shard {
		return controllertest.Shard{Read: 2000, Written: 2000, RangeRows: rangeRows(map[int]int64{30: 1000, 200: 1000})}
	})
	e.reconcile()
	e.reconcile()
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
		controllertest.FailureTarget(j, e.clock.Now(), batchv1.JobReasonFailedIndexes, "Job has failed indexes", "1")
	})
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
		controllertest.Failed(j, e.clock.Now(), batchv1.JobReasonFailedIndexes, "Job has failed indexes")
	})
	e.reconcile()
	d := e.day()
	wantStage(t, d, v1alpha1.StageFailed, "The merge Job 2026-11-24-1-merge failed (FailedIndexes")
	if c := readyOf(d); !strings.Contains(c.Message, "failed ranges 1 of 2") {
		t.Errorf("message %q", c.Message)
	}
	if e.jobOrNil("2026-11-24-1-publish") != nil {
		t.Error("a publish Job after a failed range")
	}
}

func TestMergeRangesOfDay(t *testing.T) {
	utc := window.MustNew("2026-11-24", "UTC")
	shards := func(rows ...map[int]int64) []plan.ShardResult {
		var out []plan.ShardResult
		for i, r := range rows {
			res := plan.ShardResult{Shard: i, RangeRows: rangeRows(r)}
			for _, v := range r {
				res.Written += v
			}
			out = append(out, res)
		}
		return out
	}
	one := v1alpha1.MergeProgress{Indexes: 1, Progress: "0/1"}
	tests := []struct {
		name    string
		workers v1alpha1.Workers
		results []plan.ShardResult
		want    v1alpha1.MergeProgress
	}{
		{"small day", v1alpha1.Workers{}, shards(map[int]int64{1: 500, 200: 500}), one},
		{"one index allowed", v1alpha1.Workers{MaxMergeIndexes: ptr.To[int32](1), TargetMergeRows: ptr.To[int64](1000)},
			shards(map[int]int64{1: 5000, 200: 5000}), one},
		{"two shards, two ranges", v1alpha1.Workers{TargetMergeRows: ptr.To[int64](1000)},
			shards(map[int]int64{1: 1000}, map[int]int64{200: 1000}),
			v1alpha1.MergeProgress{Indexes: 2, Progress: "0/2", Ranges: []int32{0, 2, 288}}},
		{"bounded by maxMergeIndexes", v1alpha1.Workers{MaxMergeIndexes: ptr.To[int32](2), TargetMergeRows: ptr.To[int64](1000)},
			shards(map[int]int64{0: 1000, 100: 1000, 200: 1000, 280: 1000}),
			v1alpha1.MergeProgress{Indexes: 2, Progress: "0/2", Ranges: []int32{0, 101, 288}}},
		{"all in one step", v1alpha1.Workers{TargetMergeRows: ptr.To[int64](1000)}, shards(map[int]int64{77: 9000}), one},
		{"an older worker's results", v1alpha1.Workers{TargetMergeRows: ptr.To[int64](1000)},
			[]plan.ShardResult{{Written: 5000}}, one},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows int64
			for _, r := range tt.results {
				rows += r.Written
			}
			got := planMergeRanges(utc, &tt.workers, tt.results, rows)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := mergeIndexes(&v1alpha1.Workers{}, 2_000_001); got != 2 {
		t.Errorf("default target: %d indexes for 2,000,001 rows", got)
	}
	if got := mergeIndexes(&v1alpha1.Workers{}, 1<<40); got != 16 {
		t.Errorf("default bound: %d indexes", got)
	}
}
