package e2e

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/sample"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

const (
	logsBucket = "trail-logs"
	lakeBucket = "lake"
	secretName = "s3-credentials"
	ymd        = "20261124"
)

// world is one test's namespace and S3 server, seeded with a day.
type world struct {
	t        *testing.T
	ctx      context.Context
	ns       string
	endpoint string
	opts     store.Options
	day      sample.Options
	stats    sample.Stats
}

// dayOptions is a day of real records and generated volume over several
// accounts and regions of an Organization trail, with duplicates and late
// files, in a zone whose day spans two UTC dates.
func dayOptions() sample.Options {
	o := sample.Demo()
	o.Records = 6000
	o.Files = 90
	o.Prefix = "cloudtrail"
	o.EdgeCases = false
	return o
}

func newWorld(t *testing.T, o sample.Options) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	endpoint, s3c := s3test.Start(t)
	s3test.CreateBucket(t, s3c, logsBucket)
	s3test.CreateBucket(t, s3c, lakeBucket)
	var mem sample.Memory
	st, err := sample.Generate(ctx, o, &mem)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	for _, k := range mem.Keys() {
		objs[k], _ = mem.Get(k)
	}
	s3test.PutAll(t, s3c, logsBucket, objs)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns.Name,
		Labels: map[string]string{v1alpha1.CredentialsLabel: "true"}},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": s3test.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s3test.SecretAccessKey}}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: ctx, ns: ns.Name, endpoint: endpoint, day: o, stats: st,
		opts: store.Options{Endpoint: endpoint, Region: s3test.Region, PathStyle: true,
			AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey}}
}

func (w *world) objectStore(bucket, prefix string) v1alpha1.ObjectStore {
	return v1alpha1.ObjectStore{Bucket: bucket, Prefix: prefix, Endpoint: w.endpoint, Region: s3test.Region,
		PathStyle: ptr.To(true), CredentialsSecret: &v1alpha1.CredentialsSecretReference{Name: secretName}}
}

// newDay is the day as a user would write it: small shards so that the
// flatten Job has several indexes, two at a time.
func (w *world) newDay(name string, edit func(*v1alpha1.CloudTrailDay)) *v1alpha1.CloudTrailDay {
	margin := w.stats.LastDelivery.Sub(w.stats.WindowEnd) + time.Minute
	d := &v1alpha1.CloudTrailDay{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: v1alpha1.CloudTrailDaySpec{
			Date:            w.day.Date,
			TimeZone:        w.day.TimeZone,
			Source:          v1alpha1.TrailSource{ObjectStore: w.objectStore(logsBucket, w.day.Prefix)},
			Destination:     w.objectStore(lakeBucket, "cloudtrail"),
			Columns:         v1alpha1.ColumnsFull,
			OnMalformed:     v1alpha1.MalformedReport,
			LateArrival:     &metav1.Duration{Duration: margin.Round(time.Minute) + time.Minute},
			LocalTimeColumn: "eventtime_kst",
			Workers: v1alpha1.Workers{
				Parallelism:          ptr.To[int32](2),
				TargetShardSize:      ptr.To(resource.MustParse("1Mi")),
				BackoffLimitPerIndex: ptr.To[int32](2),
			},
		},
	}
	if edit != nil {
		edit(d)
	}
	if err := k8s.Create(w.ctx, d); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// waitStage waits until the day's Ready condition has the given reason for
// the current generation, and returns the day.
func (w *world) waitStage(name string, stage v1alpha1.Stage, timeout time.Duration) *v1alpha1.CloudTrailDay {
	w.t.Helper()
	var d v1alpha1.CloudTrailDay
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, &d); err != nil {
			w.t.Fatal(err)
		}
		if c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil {
			last = fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
			if c.Reason == string(stage) && c.ObservedGeneration == d.Generation {
				return &d
			}
			if c.Reason == string(v1alpha1.StageFailed) && stage != v1alpha1.StageFailed {
				w.dumpPods()
				w.t.Fatalf("day %s failed: %s", name, c.Message)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.dumpPods()
	w.t.Fatalf("day %s did not reach %s in %s; last Ready: %s", name, stage, timeout, last)
	return nil
}

// published reads the day's output with the Arrow reader, checking that
// the partition holds exactly the files its manifest lists.
func (w *world) published(prefix string) (*plan.Manifest, []record.Values) {
	w.t.Helper()
	dst, err := store.Open(w.ctx, "s3://"+lakeBucket+"/"+prefix, w.opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.readDay(dst)
}

// readDay reads a day's published output from a store with the Arrow
// reader, checking that the partition holds exactly the files its
// manifest lists.
func (w *world) readDay(dst store.Store) (*plan.Manifest, []record.Values) {
	w.t.Helper()
	var m plan.Manifest
	r, err := dst.Open(w.ctx, plan.ManifestKey(ymd))
	if err != nil {
		w.t.Fatalf("no manifest: %v", err)
	}
	if err := jsonDecode(r, &m); err != nil {
		w.t.Fatal(err)
	}
	r.Close()
	var listed, want []string
	_ = dst.List(w.ctx, plan.PartitionPrefix(ymd), func(o store.Object) error { listed = append(listed, o.Key); return nil })
	want = append(want, plan.ManifestKey(ymd))
	var rows []record.Values
	for _, f := range m.Files {
		want = append(want, f.Key)
		rc, err := dst.Open(w.ctx, f.Key)
		if err != nil {
			w.t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		pf, err := arrowcheck.Read(b)
		if err != nil {
			w.t.Fatalf("%s: %v", f.Key, err)
		}
		rows = append(rows, pf.Rows...)
	}
	if diff := cmp.Diff(sorted(want), sorted(listed)); diff != "" {
		w.t.Errorf("partition holds other files than its manifest lists (-manifest +listed):\n%s", diff)
	}
	return &m, rows
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// localRun converts the same day with shard-worker's in-process pipeline.
func (w *world) localRun(d *v1alpha1.CloudTrailDay) (*plan.Report, []record.Values) {
	w.t.Helper()
	out := w.t.TempDir()
	s, err := pipeline.Run(w.ctx, pipeline.Config{
		Source: "s3://" + logsBucket + "/" + w.day.Prefix, Destination: out,
		Stores: pipeline.Stores{Source: w.opts}, Date: d.Spec.Date, TimeZone: d.Spec.TimeZone,
		Columns: string(d.Spec.Columns), LocalTimeColumn: d.Spec.LocalTimeColumn, OnMalformed: "report",
		Deduplicate: true, LateArrival: d.Spec.LateArrival.Duration, Workers: 2,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	dst, err := store.Open(w.ctx, out, store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	_, rows := w.readDay(dst)
	return s, rows
}

// dumpPods logs what the pods of the namespace did, for a failing test.
func (w *world) dumpPods() {
	var pods corev1.PodList
	if err := k8s.List(context.Background(), &pods, client.InNamespace(w.ns)); err != nil {
		return
	}
	for _, p := range pods.Items {
		line := fmt.Sprintf("pod %s: %s", p.Name, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				line += fmt.Sprintf(" exit %d (%s) %s", t.ExitCode, t.Reason, t.Message)
			}
		}
		w.t.Log(line)
	}
}

func (w *world) jobs(name string) []batchv1.Job {
	var jl batchv1.JobList
	if err := k8s.List(w.ctx, &jl, client.InNamespace(w.ns)); err != nil {
		w.t.Fatal(err)
	}
	var out []batchv1.Job
	for _, j := range jl.Items {
		if j.Labels[v1alpha1.DayLabel] == name {
			out = append(out, j)
		}
	}
	return out
}

func TestDaySucceedsAndMatchesLocalRun(t *testing.T) {
	w := newWorld(t, dayOptions())
	d := w.newDay("kst", nil)
	got := w.waitStage("kst", v1alpha1.StageSucceeded, 3*time.Minute)

	if got.Status.Shards.Total < 2 {
		t.Errorf("want several shards, got %d", got.Status.Shards.Total)
	}
	if got.Status.Shards.Succeeded != got.Status.Shards.Total {
		t.Errorf("shards %+v", got.Status.Shards)
	}
	m, rows := w.published("cloudtrail")
	s, want := w.localRun(d)
	if len(rows) == 0 {
		t.Fatal("no rows published")
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("the operator's output differs from shard-worker run's (-run +operator):\n%s", diff)
	}
	c := got.Status.Counts
	// The status splits the records outside the window only into late ones
	// and the rest (read by their own day's run).
	gotCounts := plan.Records{Read: c.RecordsRead, Written: c.RecordsWritten, Outside: c.RecordsOutsideWindow, Duplicates: c.Duplicates, Malformed: c.Malformed,
		OwnDay: c.RecordsOutsideWindow - c.LateEvents, Late: c.LateEvents}
	if diff := cmp.Diff(s.Records, gotCounts); diff != "" {
		t.Errorf("status counts differ from the local run's (-run +status):\n%s", diff)
	}
	if c.RecordsWritten != w.stats.Rows || m.Rows != w.stats.Rows {
		t.Errorf("written %d (manifest %d), generated day has %d rows", c.RecordsWritten, m.Rows, w.stats.Rows)
	}
	if got.Status.Output == nil || !strings.HasSuffix(got.Status.Output.Location, "proc_ymd="+ymd+"/") {
		t.Errorf("output %+v", got.Status.Output)
	}
	// Each Job ran to completion under the real Job controller.
	for _, j := range w.jobs("kst") {
		if !jobDone(&j, batchv1.JobComplete) {
			t.Errorf("job %s is not complete: %+v", j.Name, j.Status.Conditions)
		}
	}
}

func jobDone(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func TestKilledWorkerIsRetried(t *testing.T) {
	w := newWorld(t, dayOptions())
	faults.killFirst(w.ns, v1alpha1.StepFlatten, 1, 20*time.Millisecond)
	w.newDay("killed", nil)
	got := w.waitStage("killed", v1alpha1.StageSucceeded, 3*time.Minute)
	var pods corev1.PodList
	if err := k8s.List(w.ctx, &pods, client.InNamespace(w.ns)); err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 137 {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Errorf("no pod was killed (exit code 137); the fault did not happen")
	}
	_, rows := w.published("cloudtrail")
	if int64(len(rows)) != w.stats.Rows || got.Status.Counts.RecordsWritten != w.stats.Rows {
		t.Errorf("after a retried shard: %d rows published, %d in status, want %d", len(rows), got.Status.Counts.RecordsWritten, w.stats.Rows)
	}
}

func TestCorruptObject(t *testing.T) {
	o := dayOptions()
	o.EdgeCases = true
	w := newWorld(t, o)
	var bad []string
	for _, p := range w.stats.Problems {
		// Keys are named relative to the source, which is the trail's prefix.
		bad = append(bad, strings.TrimPrefix(p.Object, o.Prefix+"/"))
	}
	if len(bad) == 0 {
		t.Fatal("the generated day has no bad input")
	}

	t.Run("Fail", func(t *testing.T) {
		w.t = t
		w.newDay("fail", func(d *v1alpha1.CloudTrailDay) { d.Spec.OnMalformed = v1alpha1.MalformedFail })
		got := w.waitStage("fail", v1alpha1.StageFailed, 3*time.Minute)
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		named := false
		for _, b := range bad {
			if strings.Contains(c.Message, b) {
				named = true
			}
		}
		if !named {
			t.Errorf("Failed message names none of the bad objects %v:\n%s", bad, c.Message)
		}
		if got.Status.Shards.Failed == 0 {
			t.Errorf("no failed shard in status: %+v", got.Status.Shards)
		}
	})
	t.Run("Report", func(t *testing.T) {
		w.t = t
		w.newDay("report", func(d *v1alpha1.CloudTrailDay) { d.Spec.Destination.Prefix = "reported" })
		got := w.waitStage("report", v1alpha1.StageSucceeded, 3*time.Minute)
		if got.Status.Counts.Malformed != w.stats.Malformed || got.Status.Counts.UnreadableObjects == 0 {
			t.Errorf("counts %+v; generated %d malformed records", got.Status.Counts, w.stats.Malformed)
		}
		if got.Status.Output == nil || got.Status.Output.Errors == "" {
			t.Fatalf("no error manifest in status: %+v", got.Status.Output)
		}
		dst, _ := store.Open(w.ctx, "s3://"+lakeBucket, w.opts)
		key := strings.TrimPrefix(got.Status.Output.Errors, "s3://"+lakeBucket+"/")
		r, err := dst.Open(w.ctx, key)
		if err != nil {
			t.Fatalf("error manifest %s: %v", key, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		for _, o := range bad {
			if !strings.Contains(string(b), o) {
				t.Errorf("error manifest does not name %s", o)
			}
		}
		_, rows := w.published("reported")
		if int64(len(rows)) != w.stats.Rows {
			t.Errorf("published %d rows, want %d", len(rows), w.stats.Rows)
		}
	})
}

func TestManagerRestartMidRun(t *testing.T) {
	w := newWorld(t, dayOptions())
	// The flatten pods are held Pending until the manager has restarted, so
	// the restart lands while the shards run, every time.
	release := hooks.hold(w.ns, "restart", v1alpha1.StepFlatten)
	defer release()
	w.newDay("restart", nil)
	w.waitStage("restart", v1alpha1.StageFlattening, time.Minute)
	stopManager()
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	if d := w.waitStage("restart", v1alpha1.StageFlattening, time.Minute); d.Status.Shards.Succeeded != 0 {
		t.Fatalf("%d shards done before the workers were let go", d.Status.Shards.Succeeded)
	}
	release()
	got := w.waitStage("restart", v1alpha1.StageSucceeded, 3*time.Minute)
	steps := map[string]int{}
	for _, j := range w.jobs("restart") {
		steps[j.Labels[v1alpha1.StepLabel]]++
	}
	if diff := cmp.Diff(map[string]int{v1alpha1.StepPlan: 1, v1alpha1.StepFlatten: 1, v1alpha1.StepMerge: 1}, steps); diff != "" {
		t.Errorf("Jobs by step after a restart (-want +got):\n%s", diff)
	}
	if got.Status.Counts.RecordsWritten != w.stats.Rows {
		t.Errorf("written %d, want %d", got.Status.Counts.RecordsWritten, w.stats.Rows)
	}
}

func TestRerunReplacesOutput(t *testing.T) {
	w := newWorld(t, dayOptions())
	w.newDay("rerun", nil)
	first := w.waitStage("rerun", v1alpha1.StageSucceeded, 3*time.Minute)
	m1, _ := w.published("cloudtrail")

	var d v1alpha1.CloudTrailDay
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: "rerun"}, &d); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[v1alpha1.RerunAnnotation] = "again"
	if err := k8s.Patch(w.ctx, &d, patch); err != nil {
		t.Fatal(err)
	}
	var second *v1alpha1.CloudTrailDay
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		second = w.waitStage("rerun", v1alpha1.StageSucceeded, 3*time.Minute)
		if second.Status.Attempt > first.Status.Attempt {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if second.Status.Attempt <= first.Status.Attempt || second.Status.RunID == first.Status.RunID {
		t.Fatalf("no new attempt: attempt %d -> %d, run %s -> %s", first.Status.Attempt, second.Status.Attempt, first.Status.RunID, second.Status.RunID)
	}
	m2, rows := w.published("cloudtrail")
	if m2.RunID == m1.RunID {
		t.Errorf("manifest still of run %s", m1.RunID)
	}
	for _, f := range m2.Files {
		if !strings.Contains(f.Key, second.Status.RunID) {
			t.Errorf("file %s is not of the re-run %s", f.Key, second.Status.RunID)
		}
	}
	if int64(len(rows)) != w.stats.Rows {
		t.Errorf("after the re-run: %d rows, want %d", len(rows), w.stats.Rows)
	}
}

func TestDeletionKeepsOutput(t *testing.T) {
	w := newWorld(t, dayOptions())
	d := w.newDay("deleted", nil)
	w.waitStage("deleted", v1alpha1.StageSucceeded, 3*time.Minute)
	if err := k8s.Delete(w.ctx, d); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := k8s.Get(w.ctx, client.ObjectKeyFromObject(d), &v1alpha1.CloudTrailDay{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("day not gone after deletion: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, rows := w.published("cloudtrail")
	if int64(len(rows)) != w.stats.Rows {
		t.Errorf("the published output did not survive deletion: %d rows, want %d", len(rows), w.stats.Rows)
	}
	dst, _ := store.Open(w.ctx, "s3://"+lakeBucket+"/cloudtrail", w.opts)
	var staged []string
	_ = dst.List(w.ctx, plan.DayStagingPrefix(ymd), func(o store.Object) error { staged = append(staged, o.Key); return nil })
	if len(staged) > 0 {
		t.Errorf("staging left after deletion: %v", staged)
	}
}
