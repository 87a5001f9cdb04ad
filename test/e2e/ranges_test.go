package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// TestDayMergedInRanges runs a day whose merge is split into ranges of
// event time (at least three merge indexes), kills one merge index's pod
// mid-run, and checks that the retried range and the publish Job publish
// the day shard-worker run writes, row for row.
func TestDayMergedInRanges(t *testing.T) {
	w := newWorld(t, dayOptions())
	faults.killFirst(w.ns, v1alpha1.StepMerge, 1, 20*time.Millisecond)
	d := w.newDay("ranges", func(d *v1alpha1.CloudTrailDay) {
		d.Spec.Workers.MaxMergeIndexes = ptr.To[int32](4)
		d.Spec.Workers.TargetMergeRows = ptr.To[int64](1000)
	})
	got := w.waitStage("ranges", v1alpha1.StageSucceeded, 4*time.Minute)

	m := got.Status.Merge
	if m.Indexes < 3 || len(m.Ranges) != int(m.Indexes)+1 || m.Succeeded != m.Indexes || m.Progress != fmt.Sprintf("%d/%d", m.Indexes, m.Indexes) {
		t.Fatalf("merge status %+v, want at least 3 ranges, all merged", m)
	}
	// The merge index killed was retried: its Job completed all indexes.
	var pods corev1.PodList
	if err := k8s.List(w.ctx, &pods, client.InNamespace(w.ns), client.MatchingLabels{v1alpha1.StepLabel: v1alpha1.StepMerge}); err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 137 {
				killed++
				if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "1" {
					t.Errorf("pod %s of merge index %s was killed, want index 1", p.Name, p.Annotations[batchv1.JobCompletionIndexAnnotation])
				}
			}
		}
	}
	if killed == 0 {
		t.Error("no merge pod was killed (exit code 137); the fault did not happen")
	}
	steps := map[string]bool{}
	for _, j := range w.jobs("ranges") {
		steps[j.Labels[v1alpha1.StepLabel]] = true
		if !jobDone(&j, batchv1.JobComplete) {
			t.Errorf("job %s is not complete: %+v", j.Name, j.Status.Conditions)
		}
	}
	if !steps[v1alpha1.StepPublish] {
		t.Errorf("no publish Job among %v", steps)
	}

	man, rows := w.published("cloudtrail")
	_, want := w.localRun(d)
	if len(rows) == 0 {
		t.Fatal("no rows published")
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("the day merged in ranges differs from shard-worker run's (-run +operator):\n%s", diff)
	}
	// Every range wrote files of its own, in the day's order.
	ranges := map[string]bool{}
	for _, f := range man.Files {
		name := f.Key[strings.LastIndex(f.Key, "/")+1:]
		if parts := strings.Split(strings.TrimSuffix(name, ".parquet"), "-"); len(parts) >= 2 {
			ranges[parts[len(parts)-2]] = true
		}
	}
	if len(ranges) != int(m.Indexes) {
		t.Errorf("files of %d ranges in the manifest, want %d", len(ranges), m.Indexes)
	}
	if got.Status.Counts.RecordsWritten != w.stats.Rows || man.Rows != w.stats.Rows {
		t.Errorf("written %d (manifest %d), the generated day has %d rows", got.Status.Counts.RecordsWritten, man.Rows, w.stats.Rows)
	}
}
