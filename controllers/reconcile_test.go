package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// These tests drive the reconciler against the controller-runtime fake
// client and a real S3-protocol server on loopback; the envtest suite in
// test/integration repeats the main path against a real API server.

const testUID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

type env struct {
	t       *testing.T
	ctx     context.Context
	client  client.WithWatch
	clock   *clocktesting.FakeClock
	events  *events.FakeRecorder
	metrics *Metrics
	r       *Reconciler
	s3      *s3.Client
	key     client.ObjectKey
}

// newEnv starts an S3 server holding a trail of 2 accounts x 2 regions
// with a file per hour around 2026-11-24 UTC, and a day for that date.
func newEnv(t *testing.T, day *controllertest.DayWrapper, funcs *interceptor.Funcs, objs ...client.Object) *env {
	t.Helper()
	endpoint, s3c := s3test.Start(t)
	s3test.CreateBucket(t, s3c, "trail")
	s3test.CreateBucket(t, s3c, "lake")
	var hours []time.Time
	for h := -2; h < 30; h++ {
		hours = append(hours, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour))
	}
	s3test.PutAll(t, s3c, "trail", controllertest.TrailFiles("", []string{"111122223333", "444455556666"}, []string{"us-east-1", "eu-west-1"}, hours...))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	obj := day.Clone().UID(testUID).Endpoint(endpoint, s3test.Region).CredentialsSecret("s3").Obj()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: obj.Namespace, Labels: map[string]string{v1alpha1.CredentialsLabel: "true"}},
		Data: map[string][]byte{
			"AWS_ACCESS_KEY_ID":     []byte(s3test.AccessKeyID),
			"AWS_SECRET_ACCESS_KEY": []byte(s3test.SecretAccessKey),
		},
	}
	b := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&v1alpha1.CloudTrailDay{}, &batchv1.Job{}).
		WithIndex(&batchv1.Job{}, ownerUIDIndex, jobOwnerUID).
		WithObjects(append([]client.Object{obj, secret}, objs...)...)
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	c := b.Build()
	e := &env{
		t:      t,
		ctx:    ctrl.LoggerInto(context.Background(), ctrl.Log),
		client: c,
		clock:  clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)),
		events: events.NewFakeRecorder(100),
		s3:     s3c,
		key:    client.ObjectKeyFromObject(obj),
	}
	e.metrics = NewMetrics(prometheus.NewRegistry())
	e.r = &Reconciler{
		Client: c, APIReader: c, Recorder: e.events, Clock: e.clock, Metrics: e.metrics,
		OpenStore: store.Open, Config: DefaultConfig(),
	}
	e.r.Config.WorkerImage = "example/shard-worker:test"
	e.r.Config.SecretNamespaces = []string{obj.Namespace}
	return e
}

func (e *env) reconcile() ctrl.Result {
	e.t.Helper()
	res, err := e.r.Reconcile(e.ctx, ctrl.Request{NamespacedName: e.key})
	if err != nil {
		e.t.Fatalf("Reconcile: %v", err)
	}
	return res
}

func (e *env) day() *v1alpha1.CloudTrailDay {
	e.t.Helper()
	d := &v1alpha1.CloudTrailDay{}
	if err := e.client.Get(e.ctx, e.key, d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) jobs() []batchv1.Job {
	e.t.Helper()
	var l batchv1.JobList
	if err := e.client.List(e.ctx, &l, client.InNamespace(e.key.Namespace)); err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func (e *env) job(name string) *batchv1.Job {
	e.t.Helper()
	j := &batchv1.Job{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Namespace: e.key.Namespace, Name: name}, j); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// jobOrNil is the Job of that name, or nil when there is none.
func (e *env) jobOrNil(name string) *batchv1.Job {
	e.t.Helper()
	j := &batchv1.Job{}
	if err := e.client.Get(e.ctx, client.ObjectKey{Namespace: e.key.Namespace, Name: name}, j); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		e.t.Fatal(err)
	}
	return j
}

// flattened has the flatten Job's workers report shard(i) for each shard,
// and the Job complete.
func (e *env) flattened(job *batchv1.Job, shard func(int) controllertest.Shard) {
	e.t.Helper()
	if _, err := controllertest.Flatten(e.ctx, e.dst(), e.day().Status.Plan.Key, shard); err != nil {
		e.t.Fatal(err)
	}
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
}

func (e *env) updateJob(name string, change func(*batchv1.Job)) {
	e.t.Helper()
	if err := controllertest.UpdateStatus(e.ctx, e.client, client.ObjectKey{Namespace: e.key.Namespace, Name: name}, change); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) dst() store.Store {
	e.t.Helper()
	dst, err := e.r.openDestination(e.ctx, e.day())
	if err != nil {
		e.t.Fatal(err)
	}
	return dst
}

// src opens the trail as the plan Job's worker does (the manager never
// does).
func (e *env) src() store.Store {
	e.t.Helper()
	d := e.day()
	o, err := e.r.storeOptions(e.ctx, d.Namespace, &d.Spec.Source.ObjectStore)
	if err != nil {
		e.t.Fatal(err)
	}
	src, err := store.Open(e.ctx, sourceURL(&d.Spec), o)
	if err != nil {
		e.t.Fatal(err)
	}
	return src
}

// planJob is the current attempt's plan Job.
func (e *env) planJob() *batchv1.Job {
	e.t.Helper()
	d := e.day()
	return e.job(jobName(d.Name, d.Status.Attempt, v1alpha1.StepPlan))
}

// runPlan does the plan Job's work with the real planner and completes the
// Job as the Job controller would.
func (e *env) runPlan() {
	e.t.Helper()
	job := e.planJob()
	if _, err := controllertest.Plan(e.ctx, e.src(), e.dst(), job, nil); err != nil {
		e.t.Fatalf("planning as Job %s: %v", job.Name, err)
	}
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
}

// plan takes a started attempt through planning: the reconcile that
// creates the plan Job, the Job's work, and the reconcile that reads the
// plan.
func (e *env) plan() {
	e.t.Helper()
	e.reconcile()
	e.runPlan()
	e.reconcile()
}

// drain returns the events emitted so far, as "Type Reason".
func (e *env) drain() []string {
	var out []string
	for {
		select {
		case ev := <-e.events.Events:
			f := strings.Fields(ev)
			out = append(out, f[0]+" "+f[1])
		default:
			return out
		}
	}
}

func wantStage(t *testing.T, d *v1alpha1.CloudTrailDay, stage v1alpha1.Stage, contains string) {
	t.Helper()
	c := readyOf(d)
	if c == nil || c.Reason != string(stage) || !strings.Contains(c.Message, contains) {
		t.Fatalf("Ready = %+v, want reason %s with %q in the message", c, stage, contains)
	}
}

func readyOf(d *v1alpha1.CloudTrailDay) *metav1.Condition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == v1alpha1.ConditionReady {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// toFlattening runs a day up to its flatten Job.
func (e *env) toFlattening() *batchv1.Job {
	e.t.Helper()
	e.clock.SetTime(time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC))
	e.reconcile() // start
	e.plan()
	e.reconcile() // create the Job
	d := e.day()
	return e.job(jobName(d.Name, d.Status.Attempt, v1alpha1.StepFlatten))
}

func TestReconcileDay(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").Parallelism(3).TargetShardSize("1Mi"), nil)
	// Three files large enough for shards of their own.
	s3test.PutAll(t, e.s3, "trail", controllertest.LargeTrailFiles(700<<10, "", []string{"777788889999"}, []string{"us-east-1"},
		time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)))

	// Before the window has closed (plus the late-arrival margin), the day waits.
	res := e.reconcile()
	d := e.day()
	wantStage(t, d, v1alpha1.StageWaiting, "closes at 2026-11-25T01:00:00Z")
	if want := 13*time.Hour + time.Second; res.RequeueAfter != want {
		t.Errorf("RequeueAfter = %v, want %v", res.RequeueAfter, want)
	}
	if !slices.Contains(d.Finalizers, v1alpha1.Finalizer) {
		t.Error("no finalizer")
	}
	if d.Status.Attempt != 0 || d.Status.StartTime != nil || d.Status.ObservedGeneration != d.Generation {
		t.Errorf("waiting status = %+v", d.Status)
	}
	wantWindow := &v1alpha1.Window{
		Start:    metav1.NewTime(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)),
		End:      metav1.NewTime(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)),
		ClosesAt: metav1.NewTime(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)),
	}
	if diff := cmp.Diff(wantWindow, d.Status.Window); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}

	// Once closed, the first attempt starts; that alone is written first.
	e.clock.SetTime(time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC))
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StagePlanning, "Attempt 1")
	if d.Status.Attempt != 1 || d.Status.RunID != "20261125T020000Z-0a1b2c3d4e5f-1" || d.Status.StartTime == nil || len(e.jobs()) != 0 {
		t.Fatalf("started status = %+v", d.Status)
	}

	// Planning runs in a Job, which lists and writes the plan to staging.
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StagePlanning, "listing the day's log files (Job 2026-11-24-1-plan)")
	planJob := e.planJob()
	if got := planJob.Spec.Template.Spec.Containers[0].Args; got[0] != "plan" || !slices.Contains(got, "--run-id") {
		t.Errorf("plan args = %v", got)
	}
	e.reconcile() // the Job runs: nothing new
	if got := names(e.jobs()); !slices.Equal(got, []string{"2026-11-24-1-plan"}) {
		t.Fatalf("jobs = %v, want the plan Job alone", got)
	}
	e.runPlan()
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StageFlattening, "Planned")
	// 2 accounts x 2 regions x files delivered from 00:05 to 00:05 next day
	// (before the window's end plus one hour), one an hour: 25 each; and
	// the three large files.
	if d.Status.Counts.Objects != 4*25+3 || d.Status.Shards.Total < 3 || d.Status.Shards.Progress != "0/"+itoa(d.Status.Shards.Total) {
		t.Errorf("planned counts %+v shards %+v", d.Status.Counts, d.Status.Shards)
	}
	p, sum, err := plan.Read(e.ctx, e.dst(), d.Status.Plan.Key)
	if err != nil || sum != d.Status.Plan.SHA256 || p.RunID != d.Status.RunID || p.Columns != "full" || !p.Deduplicate || p.OnMalformed != "fail" {
		t.Fatalf("plan %s: %v, sha %s (status %s), %+v", d.Status.Plan.Key, err, sum, d.Status.Plan.SHA256, p)
	}
	if len(e.jobs()) != 1 {
		t.Fatal("a Job was created in the reconcile that read the plan")
	}
	if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionVerified); c != nil || d.Status.Integrity != nil {
		t.Errorf("Verified %+v, integrity %+v without verification", c, d.Status.Integrity)
	}

	// The flatten Job.
	e.reconcile()
	d = e.day()
	if got := names(e.jobs()); !slices.Equal(got, []string{"2026-11-24-1-flatten", "2026-11-24-1-plan"}) {
		t.Fatalf("jobs = %v", got)
	}
	job := e.job("2026-11-24-1-flatten")
	if *job.Spec.Completions != d.Status.Shards.Total || *job.Spec.Parallelism != min(3, d.Status.Shards.Total) {
		t.Errorf("completions %d parallelism %d", *job.Spec.Completions, *job.Spec.Parallelism)
	}
	if !metav1.IsControlledBy(job, d) {
		t.Error("the Job is not controlled by the day")
	}
	e.reconcile() // nothing new: no second Job
	if n := len(e.jobs()); n != 2 {
		t.Fatalf("%d Jobs after a second reconcile", n)
	}

	// Progress is read from completedIndexes.
	total := d.Status.Shards.Total
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Running(j, e.clock.Now(), 2, "0", "") })
	e.reconcile()
	d = e.day()
	if d.Status.Shards.Succeeded != 1 || d.Status.Shards.Active != min(2, total-1) || d.Status.Shards.Progress != "1/"+itoa(total) {
		t.Errorf("shards = %+v", d.Status.Shards)
	}

	// The workers' results are summed when every shard is done.
	if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(i int) controllertest.Shard {
		return controllertest.Shard{Read: 100, Written: 90, Outside: 9, Malformed: 1}
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Step(time.Minute)
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFlattening, "") // not complete before Complete
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StageMerging, "All")
	n := int64(total)
	if c := d.Status.Counts; c.RecordsRead != 100*n || c.RecordsOutsideWindow != 9*n || c.Malformed != n {
		t.Errorf("counts = %+v", c)
	}
	if len(e.jobs()) != 2 {
		t.Fatal("the merge Job was created in the reconcile that saw the flatten end")
	}

	// The merge Job, then the manifest into status.
	e.reconcile()
	merge := e.job("2026-11-24-1-merge")
	if merge.Spec.Template.Spec.Containers[0].Args[0] != "merge" {
		t.Errorf("merge args = %v", merge.Spec.Template.Spec.Containers[0].Args)
	}
	if err := controllertest.Merge(e.ctx, e.dst(), d.Status.Plan.Key, 2*n, 80*n, 8*n); err != nil {
		t.Fatal(err)
	}
	e.clock.Step(time.Minute)
	e.updateJob(merge.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(merge.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StageSucceeded, "Wrote")
	if c := readyOf(d); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s", c.Status)
	}
	wantCounts := v1alpha1.Counts{
		Objects: 4*25 + 3, Bytes: d.Status.Counts.Bytes, RecordsRead: 100 * n, RecordsWritten: 88 * n,
		RecordsOutsideWindow: 9 * n, Duplicates: 2 * n, Malformed: n,
	}
	if diff := cmp.Diff(wantCounts, d.Status.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	wantOut := &v1alpha1.Output{
		Location: "s3://lake/cloudtrail/proc_ymd=20261124/",
		Manifest: "s3://lake/cloudtrail/proc_ymd=20261124/_manifest.json",
		Errors:   "s3://lake/cloudtrail/_parquetrail/errors/proc_ymd=20261124/20261125T020000Z-0a1b2c3d4e5f-1.jsonl",
		Files:    2, Bytes: 88 * n * 100,
	}
	if diff := cmp.Diff(wantOut, d.Status.Output); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if d.Status.CompletionTime == nil || len(d.Status.Stages) != 3 {
		t.Errorf("completion %v, stages %+v", d.Status.CompletionTime, d.Status.Stages)
	}
	for _, s := range d.Status.Stages {
		if s.Duration == nil {
			t.Errorf("stage %s has no duration", s.Name)
		}
	}
	wantEvents := []string{
		"Normal Waiting", "Normal Started", "Normal JobCreated", "Normal Planned", "Normal JobCreated", "Normal Flattened", "Normal JobCreated", "Normal Succeeded",
	}
	if diff := cmp.Diff(wantEvents, e.drain()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(e.metrics.DayRuns.WithLabelValues("succeeded")); got != 1 {
		t.Errorf("days succeeded = %v", got)
	}
	if got := testutil.ToFloat64(e.metrics.RecordsWritten); got != float64(88*n) {
		t.Errorf("records written = %v", got)
	}
	if got := testutil.CollectAndCount(e.metrics.StageDuration); got != 3 {
		t.Errorf("%d stage duration series", got)
	}

	// A finished day stays as it is.
	before := e.day()
	e.reconcile()
	if diff := cmp.Diff(before.Status, e.day().Status); diff != "" {
		t.Errorf("a finished day changed (-before +after):\n%s", diff)
	}
}

// A day that selects no log file fails while planning, naming the cause,
// unless it allows an empty day; it runs no Job.
func TestReconcileEmptyDayRefused(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2025-01-01", "ns").Date("2025-01-01"), nil)
	e.clock.SetTime(time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC))
	e.reconcile()
	e.plan()
	d := e.day()
	wantStage(t, d, v1alpha1.StageFailed, "No log file selected for 2025-01-01 (UTC) under s3://")
	wantStage(t, d, v1alpha1.StageFailed, "spec.allowEmpty")
	e.reconcile()
	if got := names(e.jobs()); !slices.Equal(got, []string{"2025-01-01-1-plan"}) {
		t.Errorf("jobs = %v, want the plan Job alone", got)
	}
}

func TestReconcileEmptyDay(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2025-01-01", "ns").Date("2025-01-01").AllowEmpty(), nil)
	e.clock.SetTime(time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC))
	e.reconcile()
	e.plan()
	d := e.day()
	wantStage(t, d, v1alpha1.StageMerging, "empty day")
	if d.Status.Shards.Total != 0 || d.Status.Shards.Progress != "0/0" {
		t.Errorf("shards = %+v", d.Status.Shards)
	}
	e.reconcile()
	if got := names(e.jobs()); !slices.Equal(got, []string{"2025-01-01-1-merge", "2025-01-01-1-plan"}) {
		t.Fatalf("jobs = %v, want the merge Job after the plan Job", got)
	}
	if err := controllertest.Merge(e.ctx, e.dst(), d.Status.Plan.Key, 0); err != nil {
		t.Fatal(err)
	}
	e.updateJob("2025-01-01-1-merge", func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob("2025-01-01-1-merge", func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageSucceeded, "Wrote 0 records in 0 files")
}

func TestReconcileFlattenFails(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").TargetShardSize("1Mi"), nil)
	job := e.toFlattening()
	e.drain()
	e.updateJob(job.Name, func(j *batchv1.Job) {
		controllertest.FailureTarget(j, e.clock.Now(), batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded maxFailedIndexes", "0")
	})
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFlattening, "1 failed")
	e.updateJob(job.Name, func(j *batchv1.Job) {
		controllertest.Failed(j, e.clock.Now(), batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded maxFailedIndexes")
	})
	e.reconcile()
	d := e.day()
	wantStage(t, d, v1alpha1.StageFailed, "MaxFailedIndexesExceeded")
	msg := readyOf(d).Message
	for _, want := range []string{"failed shards 0 of", "shard 0 reads s3://trail/AWSLogs/", ".json.gz", v1alpha1.RerunAnnotation} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if d.Status.Shards.Failed != 1 || d.Status.Shards.FailedIndexes != "0" || d.Status.CompletionTime == nil {
		t.Errorf("status = %+v", d.Status)
	}
	if got := e.drain(); !slices.Equal(got, []string{"Warning Failed"}) {
		t.Errorf("events = %v", got)
	}
	if got := testutil.ToFloat64(e.metrics.DayRuns.WithLabelValues("failed")); got != 1 {
		t.Errorf("days failed = %v", got)
	}
	e.reconcile()
	if len(e.jobs()) != 2 {
		t.Error("a failed day created more Jobs")
	}
}

func TestReconcileMergeFails(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	e.flattened(e.toFlattening(), func(int) controllertest.Shard { return controllertest.Shard{} })
	e.reconcile()
	e.reconcile()
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
		controllertest.FailureTarget(j, e.clock.Now(), batchv1.JobReasonPodFailurePolicy, "Container worker for pod ns/x exited with code 3", "")
	})
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
		controllertest.Failed(j, e.clock.Now(), batchv1.JobReasonPodFailurePolicy, "Container worker for pod ns/x exited with code 3")
	})
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFailed, "The merge Job 2026-11-24-1-merge failed (PodFailurePolicy: Container worker")
}

func TestReconcileInvalidDay(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").TimeZone("Mars/Olympus_Mons"), nil)
	e.clock.SetTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFailed, "Invalid day")

	// Not started, so the zone can still be fixed.
	d := e.day()
	d.Spec.TimeZone = "Asia/Seoul"
	d.Spec.LocalTimeColumn = "eventname" // a column of the full set
	if err := e.client.Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFailed, `"eventname" is already a column`)

	d = e.day()
	d.Spec.LocalTimeColumn = "eventtime_kst"
	if err := e.client.Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StagePlanning, "Attempt 1")
}

func TestReconcileRetriesWhatMayPass(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	if err := e.client.Delete(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	e.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	e.reconcile()
	_, err := e.r.Reconcile(e.ctx, ctrl.Request{NamespacedName: e.key})
	if !apierrors.IsNotFound(errors.Unwrap(err)) && !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Reconcile = %v, want a not-found error to retry", err)
	}
	d := e.day()
	wantStage(t, d, v1alpha1.StagePlanning, "Cannot reach the destination, retrying: reading the credentials Secret ns/s3")
	if d.Status.ObservedGeneration != d.Generation {
		// Written by the reconcile that started the attempt, not moved since.
		t.Logf("observedGeneration %d, generation %d", d.Status.ObservedGeneration, d.Generation)
	}
}

func TestReconcileKeepsAWrittenPlan(t *testing.T) {
	// A status write that fails after the plan was read: the next reconcile
	// reads the same plan, and a retried plan pod keeps it rather than list
	// again (shard-worker plan --run-id).
	failStatus := true
	funcs := &interceptor.Funcs{SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
		if d, ok := obj.(*v1alpha1.CloudTrailDay); ok && failStatus && d.Status.Plan != nil {
			return apierrors.NewConflict(v1alpha1.GroupVersion.WithResource("cloudtraildays").GroupResource(), d.Name, errors.New("injected"))
		}
		return c.SubResource(sub).Update(ctx, obj, opts...)
	}}
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), funcs)
	e.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	e.reconcile()
	e.reconcile()
	e.runPlan()
	if _, err := e.r.Reconcile(e.ctx, ctrl.Request{NamespacedName: e.key}); !apierrors.IsConflict(err) {
		t.Fatalf("Reconcile = %v, want the injected conflict", err)
	}
	if got := e.drain(); !slices.Equal(got, []string{"Normal Started", "Normal JobCreated"}) {
		t.Errorf("events = %v: an event was emitted for a status that was not written", got)
	}
	d := e.day()
	_, first, err := plan.Read(e.ctx, e.dst(), plan.PlanKey("20261124", d.Status.RunID))
	if err != nil {
		t.Fatal(err)
	}
	// A late file arrives: a new listing would give another plan.
	s3test.PutAll(t, e.s3, "trail", controllertest.TrailFiles("", []string{"777788889999"}, []string{"us-east-1"}, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)))
	failStatus = false
	e.reconcile()
	d = e.day()
	if d.Status.Plan == nil || d.Status.Plan.SHA256 != first || d.Status.Counts.Objects != 4*25 {
		t.Errorf("plan %+v counts %+v, want the first plan (%s)", d.Status.Plan, d.Status.Counts, first)
	}
}

func TestReconcileFindsItsJobs(t *testing.T) {
	// A manager that restarts with a cache that has not seen the Job yet
	// creates nothing twice: the name is deterministic and the existing Job
	// is checked to be the day's.
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	job := e.toFlattening()
	stale := &interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if _, ok := list.(*batchv1.JobList); ok {
			return nil // a cache that has not caught up
		}
		return c.List(ctx, list, opts...)
	}}
	restarted := *e.r
	restarted.Client = interceptor.NewClient(e.client, *stale)
	if _, err := restarted.Reconcile(e.ctx, ctrl.Request{NamespacedName: e.key}); err != nil {
		t.Fatal(err)
	}
	if got := names(e.jobs()); !slices.Equal(got, []string{job.Name, "2026-11-24-1-plan"}) {
		t.Errorf("jobs = %v", got)
	}
	wantStage(t, e.day(), v1alpha1.StageFlattening, job.Name)

	// A Job of that name that is not the day's fails the day.
	e2 := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "2026-11-24-1-flatten", Namespace: "ns"},
	})
	e2.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	e2.reconcile()
	e2.plan()
	e2.reconcile()
	wantStage(t, e2.day(), v1alpha1.StageFailed, "does not belong to this day")
}

func TestReconcileRerun(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	first := e.toFlattening()
	d := e.day()
	firstRun := d.Status.RunID

	// A rerun while flattening replaces the running attempt.
	d.Annotations = map[string]string{v1alpha1.RerunAnnotation: "1"}
	if err := e.client.Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.reconcile()
	d = e.day()
	wantStage(t, d, v1alpha1.StagePlanning, "Attempt 2")
	if d.Status.Attempt != 2 || d.Status.Rerun != "1" || d.Status.RunID == firstRun || d.Status.Plan != nil || d.Status.Shards.Total != 0 {
		t.Errorf("status after rerun = %+v", d.Status)
	}
	if got := names(e.jobs()); slices.Contains(got, first.Name) {
		t.Errorf("the first attempt's Job survived: %v", got)
	}
	if got := e.drain(); !slices.Equal(got, []string{"Normal Rerun"}) {
		t.Errorf("events = %v", got)
	}
	e.reconcile() // the plan Job; the first attempt's staging goes
	if keys := s3test.Keys(t, e.s3, "lake", "cloudtrail/"+plan.StagingPrefix("20261124", firstRun)); len(keys) != 0 {
		t.Errorf("the first attempt's staging is still there: %v", keys)
	}
	e.runPlan()
	e.reconcile()
	e.reconcile()
	if got := names(e.jobs()); !slices.Equal(got, []string{"2026-11-24-2-flatten", "2026-11-24-2-plan"}) {
		t.Errorf("jobs = %v", got)
	}
	// The same value again asks for nothing.
	e.reconcile()
	if e.day().Status.Attempt != 2 {
		t.Error("an unchanged rerun annotation started an attempt")
	}
}

func TestFinalizer(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	e.toFlattening()
	d := e.day()
	dst := e.dst()
	// Published output of an earlier run, and another day's staging.
	for _, key := range []string{"proc_ymd=20261124/part-x.parquet", plan.StagingPrefix("20261124", "ffffffffffff-1") + "plan.json"} {
		w, _ := dst.Create(e.ctx, key)
		w.Write([]byte("x"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.client.Delete(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	if err := e.client.Get(e.ctx, e.key, &v1alpha1.CloudTrailDay{}); !apierrors.IsNotFound(err) {
		t.Errorf("the day is still there: %v", err)
	}
	if got := e.jobs(); len(got) != 0 {
		t.Errorf("jobs = %v", names(got))
	}
	want := []string{
		"cloudtrail/_parquetrail/staging/proc_ymd=20261124/ffffffffffff-1/plan.json",
		"cloudtrail/proc_ymd=20261124/part-x.parquet",
	}
	if diff := cmp.Diff(want, s3test.Keys(t, e.s3, "lake", "")); diff != "" {
		t.Errorf("objects left (-want +got):\n%s", diff)
	}
}

func TestFinalizerWithoutSecret(t *testing.T) {
	// A namespace being deleted takes the Secret first; the day must not
	// hold the namespace.
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	e.toFlattening()
	if err := e.client.Delete(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Delete(e.ctx, e.day()); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.reconcile()
	if err := e.client.Get(e.ctx, e.key, &v1alpha1.CloudTrailDay{}); !apierrors.IsNotFound(err) {
		t.Errorf("the day is still there: %v", err)
	}
	if got := e.drain(); !slices.Equal(got, []string{"Warning StagingKept"}) {
		t.Errorf("events = %v", got)
	}
}

func names(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	slices.Sort(out)
	return out
}

func itoa(n int32) string { return strings.TrimSpace(strings.Replace(progress(n, 0), "/0", "", 1)) }

func TestReconcileMergeJobRemovedByTTL(t *testing.T) {
	// The merge Job finished and its TTL removed it before the manager saw
	// it: the day is published, and must not be merged again.
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	job := e.toFlattening()
	d := e.day()
	if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{Read: 3, Written: 3} }); err != nil {
		t.Fatal(err)
	}
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	e.reconcile()
	merge := e.job("2026-11-24-1-merge")
	n := int64(d.Status.Shards.Total)
	if err := controllertest.Merge(e.ctx, e.dst(), d.Status.Plan.Key, 0, 3*n); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Delete(e.ctx, merge); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageSucceeded, "Wrote")
	if got := names(e.jobs()); slices.Contains(got, merge.Name) {
		t.Errorf("the merge Job was created again: %v", got)
	}
}

func TestReconcileMergeOfAnEarlierRun(t *testing.T) {
	// A rerun's merge must run even though the day has a manifest (the
	// first attempt's).
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	e.toFlattening()
	d := e.day()
	if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{} }); err != nil {
		t.Fatal(err)
	}
	if err := controllertest.Merge(e.ctx, e.dst(), d.Status.Plan.Key, 0); err != nil {
		t.Fatal(err)
	}
	d.Annotations = map[string]string{v1alpha1.RerunAnnotation: "again"}
	if err := e.client.Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.reconcile() // attempt 2
	e.plan()
	e.reconcile() // flatten Job
	job := e.job("2026-11-24-2-flatten")
	d = e.day()
	if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{} }); err != nil {
		t.Fatal(err)
	}
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageMerging, "2026-11-24-2-merge")
}

func TestReconcileParallelismChange(t *testing.T) {
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").TargetShardSize("1Mi").Parallelism(1), nil)
	s3test.PutAll(t, e.s3, "trail", controllertest.LargeTrailFiles(700<<10, "", []string{"777788889999"}, []string{"us-east-1"},
		time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)))
	job := e.toFlattening()
	d := e.day()
	if *job.Spec.Parallelism != 1 || d.Status.Shards.Total < 3 {
		t.Fatalf("parallelism = %d, shards %d", *job.Spec.Parallelism, d.Status.Shards.Total)
	}
	d.Spec.Workers.Parallelism = ptr.To[int32](50)
	if err := e.client.Update(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	if got := *e.job(job.Name).Spec.Parallelism; got != d.Status.Shards.Total {
		t.Errorf("parallelism = %d, want %d (the shards)", got, d.Status.Shards.Total)
	}
}

func TestReconcilePublishedByAnotherRun(t *testing.T) {
	// Two days for one date and destination: the merge of this one
	// completed, but the other one's run has replaced the day since.
	e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
	job := e.toFlattening()
	d := e.day()
	if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{} }); err != nil {
		t.Fatal(err)
	}
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	e.reconcile()
	w, _ := e.dst().Create(e.ctx, plan.ManifestKey("20261124"))
	w.Write([]byte(`{"version":1,"runID":"ffffffffffff-3","rows":0,"files":[]}`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
	e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
	e.reconcile()
	wantStage(t, e.day(), v1alpha1.StageFailed, "run ffffffffffff-3 has replaced it since")
}

// TestReconcileRefusesCredentials: a day fails, Stalled with reason
// CredentialsRefused, when its Secret is outside the manager's namespaces
// or does not opt in with the label; no Job is created.
func TestReconcileRefusesCredentials(t *testing.T) {
	cases := []struct {
		name       string
		namespaces []string
		label      string
		want       string
	}{
		{"namespace not given", []string{"other"}, "true", "the manager reads credentials Secrets only in the namespaces it is given (--secret-namespaces other), not in ns, so it cannot use the Secret ns/s3"},
		{"no namespaces", nil, "true", `(--secret-namespaces ""), not in ns`},
		{"not labelled", []string{"ns"}, "", `the Secret ns/s3 is not labelled parquetrail.io/credentials="true"`},
		{"labelled false", []string{"*"}, "false", `the Secret ns/s3 is not labelled parquetrail.io/credentials="true"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
			e.r.Config.SecretNamespaces = c.namespaces
			secret := &corev1.Secret{}
			if err := e.client.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: "s3"}, secret); err != nil {
				t.Fatal(err)
			}
			secret.Labels = map[string]string{v1alpha1.CredentialsLabel: c.label}
			if err := e.client.Update(e.ctx, secret); err != nil {
				t.Fatal(err)
			}
			e.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
			e.reconcile()
			e.reconcile()
			d := e.day()
			wantStage(t, d, v1alpha1.StageFailed, c.want)
			stalled := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionStalled)
			if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != v1alpha1.StalledCredentialsRefused {
				t.Errorf("Stalled = %+v", stalled)
			}
			if got := e.jobs(); len(got) != 0 {
				t.Errorf("%d Jobs created", len(got))
			}
		})
	}
}

// A merge that failed because another run holds the day (another
// CloudTrailDay for the same date and destination, or a shard-worker run)
// fails the day naming that run, from the day's lease; an expired lease or
// this run's own names nobody.
func TestReconcileMergeFailsOnAHeldDay(t *testing.T) {
	tests := []struct {
		name    string
		run     string        // the lease's run; "" = this attempt's
		expires time.Duration // from now
		want    string
		notWant string
	}{
		{name: "held by another day", run: "ffffffffffff-2", expires: 40 * time.Second,
			want: "The day is being published by run ffffffffffff-2 (pod/other-1-merge-x/7) until 2026-11-25T02:00:40Z. The merge Job 2026-11-24-1-merge failed"},
		{name: "held by shard-worker run", run: "20261124T115900Z-0a0b0c", expires: time.Minute,
			want: "being published by run 20261124T115900Z-0a0b0c"},
		{name: "expired", run: "ffffffffffff-2", expires: -time.Second,
			want: "The merge Job 2026-11-24-1-merge failed", notWant: "ffffffffffff-2"},
		{name: "own run", expires: time.Minute,
			want: "The merge Job 2026-11-24-1-merge failed", notWant: "being published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
			job := e.toFlattening()
			d := e.day()
			if _, err := controllertest.Flatten(e.ctx, e.dst(), d.Status.Plan.Key, func(int) controllertest.Shard { return controllertest.Shard{} }); err != nil {
				t.Fatal(err)
			}
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
			e.reconcile()
			e.reconcile()
			run := tt.run
			if run == "" {
				run = e.day().Status.RunID
			}
			now := e.clock.Now()
			lease, _ := json.Marshal(commit.Lease{Run: run, Holder: "pod/other-1-merge-x/7", Acquired: now.Add(-time.Minute), Renewed: now, Expires: now.Add(tt.expires)})
			w, err := e.dst().Create(e.ctx, commit.LeaseKey("20261124"))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(lease)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
				controllertest.FailureTarget(j, now, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", "")
			})
			e.updateJob("2026-11-24-1-merge", func(j *batchv1.Job) {
				controllertest.Failed(j, now, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
			})
			e.reconcile()
			got := e.day()
			wantStage(t, got, v1alpha1.StageFailed, tt.want)
			if msg := readyOf(got).Message; tt.notWant != "" && strings.Contains(msg, tt.notWant) {
				t.Errorf("message names %q:\n%s", tt.notWant, msg)
			}
		})
	}
}
