package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

var errNotYet = errors.New("not yet")

// day is one CloudTrailDay under test, with its S3 server.
type day struct {
	t   *testing.T
	ctx context.Context
	key client.ObjectKey
	s3  *s3.Client
	src store.Store // the trail, as the plan Job's worker reads it
	dst store.Store
}

// newDay starts an S3 server with a trail of 2 accounts x 2 regions (a
// file an hour around 2026-11-24 UTC), and creates the day with a Secret
// for the server's credentials.
func newDay(t *testing.T, w *controllertest.DayWrapper) *day {
	t.Helper()
	ctx, ns := setup(t)
	endpoint, s3c := s3test.Start(t)
	s3test.CreateBucket(t, s3c, "trail")
	s3test.CreateBucket(t, s3c, "lake")
	var hours []time.Time
	for h := -2; h < 30; h++ {
		hours = append(hours, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour))
	}
	s3test.PutAll(t, s3c, "trail", controllertest.TrailFiles("", []string{"111122223333", "444455556666"}, []string{"us-east-1", "eu-west-1"}, hours...))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: ns, Labels: map[string]string{v1alpha1.CredentialsLabel: "true"}},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": s3test.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s3test.SecretAccessKey},
	}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	obj := w.Clone().Endpoint(endpoint, s3test.Region).CredentialsSecret("s3").Obj()
	obj.Namespace = ns
	if err := k8s.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	// A day left running would hold one of the manager's slots
	// (--max-concurrent-days) for the tests after this one.
	t.Cleanup(func() { deleteDays(t, ns) })
	o := store.Options{
		Endpoint: endpoint, Region: s3test.Region, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey,
	}
	dst, err := store.Open(ctx, "s3://lake/cloudtrail", o)
	if err != nil {
		t.Fatal(err)
	}
	src, err := store.Open(ctx, "s3://trail", o)
	if err != nil {
		t.Fatal(err)
	}
	return &day{t: t, ctx: ctx, key: client.ObjectKeyFromObject(obj), s3: s3c, src: src, dst: dst}
}

func (d *day) get() *v1alpha1.CloudTrailDay {
	d.t.Helper()
	o := &v1alpha1.CloudTrailDay{}
	if err := k8s.Get(d.ctx, d.key, o); err != nil {
		d.t.Fatal(err)
	}
	return o
}

// poke changes an annotation, which makes the controller reconcile (after
// the test moved the clock, say).
func (d *day) poke() {
	d.t.Helper()
	d.annotate("test.parquetrail.io/poke", time.Now().String())
}

func (d *day) annotate(k, v string) {
	d.t.Helper()
	o := d.get()
	patch := client.MergeFrom(o.DeepCopy())
	if o.Annotations == nil {
		o.Annotations = map[string]string{}
	}
	o.Annotations[k] = v
	if err := k8s.Patch(d.ctx, o, patch); err != nil {
		d.t.Fatal(err)
	}
}

// waitStage waits for the Ready condition's reason, and returns the day.
func (d *day) waitStage(stage v1alpha1.Stage, contains string) *v1alpha1.CloudTrailDay {
	d.t.Helper()
	var o *v1alpha1.CloudTrailDay
	eventually(d.t, fmt.Sprintf("stage %s with %q", stage, contains), func() error {
		o = &v1alpha1.CloudTrailDay{}
		if err := k8s.Get(d.ctx, d.key, o); err != nil {
			return err
		}
		c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
		if c == nil || c.Reason != string(stage) || !strings.Contains(c.Message, contains) || c.ObservedGeneration != o.Generation {
			return fmt.Errorf("Ready = %+v", c)
		}
		return nil
	})
	return o
}

func (d *day) job(name string) *batchv1.Job {
	d.t.Helper()
	j := &batchv1.Job{}
	eventually(d.t, "Job "+name, func() error {
		return k8s.Get(d.ctx, client.ObjectKey{Namespace: d.key.Namespace, Name: name}, j)
	})
	return j
}

func (d *day) jobs() []string {
	d.t.Helper()
	var l batchv1.JobList
	if err := k8s.List(d.ctx, &l, client.InNamespace(d.key.Namespace)); err != nil {
		d.t.Fatal(err)
	}
	var names []string
	for _, j := range l.Items {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names
}

func (d *day) updateJob(name string, change func(*batchv1.Job)) {
	d.t.Helper()
	if err := controllertest.UpdateStatus(d.ctx, k8s, client.ObjectKey{Namespace: d.key.Namespace, Name: name}, change); err != nil {
		d.t.Fatal(err)
	}
}

// runPlan does the work of the attempt's plan Job with the real planner,
// then completes the Job as the Job controller would.
func (d *day) runPlan(attempt int) {
	d.t.Helper()
	name := fmt.Sprintf("%s-%d-plan", d.key.Name, attempt)
	if _, err := controllertest.Plan(d.ctx, d.src, d.dst, d.job(name), nil); err != nil {
		d.t.Fatalf("planning as Job %s: %v", name, err)
	}
	d.succeedJob(name)
}

func (d *day) succeedJob(name string) {
	d.t.Helper()
	if err := controllertest.Succeed(d.ctx, k8s, client.ObjectKey{Namespace: d.key.Namespace, Name: name}, clock.Now()); err != nil {
		d.t.Fatal(err)
	}
}

// events returns the reasons of the events about the day, oldest first.
func (d *day) events() []string {
	d.t.Helper()
	var l eventsv1.EventList
	if err := k8s.List(d.ctx, &l, client.InNamespace(d.key.Namespace)); err != nil {
		d.t.Fatal(err)
	}
	slices.SortFunc(l.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range l.Items {
		if e.Regarding.Name == d.key.Name {
			out = append(out, e.Type+" "+e.Reason)
		}
	}
	return out
}

// TestReconcile takes a day through every step, with the test playing the
// Job controller and the workers.
func TestReconcile(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", "").Parallelism(2).TargetShardSize("1Mi"))

	// Waiting for the window (plus the margin) to close.
	o := d.waitStage(v1alpha1.StageWaiting, "closes at 2026-11-25T01:00:00Z")
	if !slices.Contains(o.Finalizers, v1alpha1.Finalizer) || o.Status.Attempt != 0 || o.Status.Window == nil {
		t.Fatalf("waiting day = %+v", o)
	}

	// Three files large enough for shards of their own.
	s3test.PutAll(t, d.s3, "trail", controllertest.LargeTrailFiles(700<<10, "", []string{"777788889999"}, []string{"us-east-1"},
		time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)))

	// It closes: plan, then the flatten Job.
	clock.SetTime(time.Date(2026, 11, 25, 1, 30, 0, 0, time.UTC))
	d.poke()
	d.waitStage(v1alpha1.StagePlanning, "listing the day's log files (Job 2026-11-24-1-plan)")
	d.runPlan(1)
	o = d.waitStage(v1alpha1.StageFlattening, "shards flattened")
	st := o.Status
	if st.Attempt != 1 || st.RunID == "" || st.StartTime == nil || st.Plan == nil || st.Counts.Objects != 103 || st.Shards.Total < 3 {
		t.Fatalf("status after planning = %+v", st)
	}
	if _, sum, err := plan.Read(d.ctx, d.dst, st.Plan.Key); err != nil || sum != st.Plan.SHA256 {
		t.Fatalf("plan in staging: %v, sha %s, status %s", err, sum, st.Plan.SHA256)
	}
	flatten := d.job("2026-11-24-1-flatten")
	checkFlattenJob(t, d, o, flatten)

	// Progress.
	total := st.Shards.Total
	d.updateJob(flatten.Name, func(j *batchv1.Job) { controllertest.Running(j, clock.Now(), 1, "0", "") })
	o = d.waitStage(v1alpha1.StageFlattening, "1 of")
	if o.Status.Shards.Progress != fmt.Sprintf("1/%d", total) {
		t.Errorf("progress = %q", o.Status.Shards.Progress)
	}
	checkPrinterColumns(t, d, map[string]string{
		"Date": "2026-11-24", "Zone": "UTC", "Stage": "Flattening", "Shards": fmt.Sprintf("1/%d", total),
	})

	// Every shard done: results into the status, then the merge Job.
	if _, err := controllertest.Flatten(d.ctx, d.dst, st.Plan.Key, func(int) controllertest.Shard {
		return controllertest.Shard{Read: 50, Written: 48, Outside: 2}
	}); err != nil {
		t.Fatal(err)
	}
	clock.Step(time.Minute)
	d.succeedJob(flatten.Name)
	o = d.waitStage(v1alpha1.StageMerging, "Merging")
	n := int64(total)
	if o.Status.Counts.RecordsRead != 50*n || o.Status.Counts.RecordsOutsideWindow != 2*n {
		t.Errorf("counts after flattening = %+v", o.Status.Counts)
	}
	merge := d.job("2026-11-24-1-merge")
	if got := merge.Spec.Template.Spec.Containers[0].Args[:3]; !slices.Equal(got, []string{"merge", "--destination", "s3://lake/cloudtrail"}) {
		t.Errorf("merge args = %v", got)
	}

	// Published.
	if err := controllertest.Merge(d.ctx, d.dst, st.Plan.Key, n, 47*n); err != nil {
		t.Fatal(err)
	}
	clock.Step(time.Minute)
	d.succeedJob(merge.Name)
	o = d.waitStage(v1alpha1.StageSucceeded, fmt.Sprintf("Wrote %d records in 1 files", 47*n))
	if c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s", c.Status)
	}
	want := v1alpha1.Counts{Objects: 103, Bytes: st.Counts.Bytes, RecordsRead: 50 * n, RecordsWritten: 47 * n, RecordsOutsideWindow: 2 * n, Duplicates: n}
	if o.Status.Counts != want {
		t.Errorf("counts = %+v, want %+v", o.Status.Counts, want)
	}
	if out := o.Status.Output; out == nil || out.Location != "s3://lake/cloudtrail/proc_ymd=20261124/" || out.Files != 1 || out.Errors != "" {
		t.Errorf("output = %+v", out)
	}
	if o.Status.CompletionTime == nil || len(o.Status.Stages) != 3 || o.Status.ObservedGeneration != o.Generation {
		t.Errorf("status = %+v", o.Status)
	}
	checkPrinterColumns(t, d, map[string]string{
		"Stage": "Succeeded", "Shards": fmt.Sprintf("%d/%d", total, total), "Records": fmt.Sprint(47 * n),
	})
	eventually(t, "events", func() error {
		want := []string{"Normal Waiting", "Normal Started", "Normal JobCreated", "Normal Planned", "Normal JobCreated", "Normal Flattened", "Normal JobCreated", "Normal Succeeded"}
		if got := d.events(); !slices.Equal(got, want) {
			return fmt.Errorf("events = %v, want %v", got, want)
		}
		return nil
	})
	if got := d.jobs(); !slices.Equal(got, []string{"2026-11-24-1-flatten", "2026-11-24-1-merge", "2026-11-24-1-plan"}) {
		t.Errorf("jobs = %v", got)
	}
}

// checkFlattenJob checks the Job the API server accepted, and that its pod
// passes the restricted Pod Security Standard.
func checkFlattenJob(t *testing.T, d *day, o *v1alpha1.CloudTrailDay, j *batchv1.Job) {
	t.Helper()
	if !metav1.IsControlledBy(j, o) {
		t.Errorf("Job %s is not controlled by the day", j.Name)
	}
	s := j.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != o.Status.Shards.Total || *s.Parallelism != min(2, o.Status.Shards.Total) ||
		*s.BackoffLimitPerIndex != 3 || *s.MaxFailedIndexes != 0 || s.PodFailurePolicy == nil || *s.TTLSecondsAfterFinished != 86400 {
		t.Errorf("Job spec = %+v", s)
	}
	if j.Annotations[v1alpha1.PlanSHA256Annotation] != o.Status.Plan.SHA256 {
		t.Errorf("Job annotations = %v", j.Annotations)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "restricted-check", Namespace: d.key.Namespace},
		Spec:       *j.Spec.Template.Spec.DeepCopy(),
	}
	// The namespace enforces the restricted level: the dry run fails if
	// the template does not meet it.
	if err := k8s.Create(d.ctx, pod, client.DryRunAll); err != nil {
		t.Errorf("the worker pod is not admitted under the restricted Pod Security Standard: %v", err)
	}
}

// checkPrinterColumns reads the day as kubectl get does (a Table) and
// compares the named cells.
func checkPrinterColumns(t *testing.T, d *day, want map[string]string) {
	t.Helper()
	c := *cfg
	c.GroupVersion = &v1alpha1.GroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(&c)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rc.Get().Namespace(d.key.Namespace).Resource("cloudtraildays").Name(d.key.Name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(d.ctx).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, col := range table.ColumnDefinitions {
		if col.Priority == 0 {
			names = append(names, col.Name)
		}
	}
	if want := []string{"Name", "Date", "Zone", "Stage", "Shards", "Records", "Age"}; !slices.Equal(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("%d rows", len(table.Rows))
	}
	for i, col := range table.ColumnDefinitions {
		w, ok := want[col.Name]
		if !ok {
			continue
		}
		if got := fmt.Sprint(table.Rows[0].Cells[i]); got != w {
			t.Errorf("column %s = %q, want %q", col.Name, got, w)
		}
	}
}

// TestFlattenFailure: a failed shard fails the day, naming the shard and
// its objects, with a warning event.
func TestFlattenFailure(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", "").TargetShardSize("1Mi"))
	d.runPlan(1)
	d.waitStage(v1alpha1.StageFlattening, "shards flattened")
	name := "2026-11-24-1-flatten"
	d.job(name)
	if err := controllertest.Fail(d.ctx, k8s, client.ObjectKey{Namespace: d.key.Namespace, Name: name}, clock.Now(),
		batchv1.JobReasonFailedIndexes, "Job has failed indexes", "0"); err != nil {
		t.Fatal(err)
	}
	o := d.waitStage(v1alpha1.StageFailed, "The flatten Job 2026-11-24-1-flatten failed (FailedIndexes: Job has failed indexes); failed shards 0 of")
	msg := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady).Message
	if !strings.Contains(msg, "shard 0 reads s3://trail/AWSLogs/") {
		t.Errorf("message does not name the objects: %s", msg)
	}
	if o.Status.Shards.Failed != 1 || o.Status.CompletionTime == nil {
		t.Errorf("status = %+v", o.Status)
	}
	eventually(t, "a warning", func() error {
		if ev := d.events(); !slices.Contains(ev, "Warning Failed") {
			return fmt.Errorf("events = %v", ev)
		}
		return nil
	})
}

// TestRerun: the annotation starts a new attempt whose Jobs replace the
// first's.
func TestRerun(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", ""))
	d.runPlan(1)
	o := d.waitStage(v1alpha1.StageFlattening, "shards flattened")
	first := o.Status.RunID
	d.job("2026-11-24-1-flatten")

	d.annotate(v1alpha1.RerunAnnotation, "2026-11-26T09:00")
	d.runPlan(2)
	eventually(t, "attempt 2 flattening", func() error {
		o = d.get()
		c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
		if o.Status.Attempt != 2 || c == nil || c.Reason != string(v1alpha1.StageFlattening) {
			return fmt.Errorf("attempt %d, Ready %+v", o.Status.Attempt, c)
		}
		return nil
	})
	if o.Status.RunID == first || o.Status.Rerun != "2026-11-26T09:00" {
		t.Errorf("status = %+v", o.Status)
	}
	d.job("2026-11-24-2-flatten")
	eventually(t, "the first attempt's Job goes", func() error {
		if got := d.jobs(); !slices.Equal(got, []string{"2026-11-24-2-flatten", "2026-11-24-2-plan"}) {
			return fmt.Errorf("jobs = %v", got)
		}
		return nil
	})
	if keys := s3test.Keys(t, d.s3, "lake", "cloudtrail/"+plan.StagingPrefix("20261124", first)); len(keys) != 0 {
		t.Errorf("the first attempt's staging is left: %v", keys)
	}
}

// TestDeletion: deleting a day removes its Jobs and staging, never the
// published output.
func TestDeletion(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", ""))
	d.runPlan(1)
	o := d.waitStage(v1alpha1.StageFlattening, "shards flattened")
	d.job("2026-11-24-1-flatten")
	s3test.PutObject(t, d.s3, "lake", "cloudtrail/proc_ymd=20261124/part-earlier-00000.parquet", []byte("PAR1"))
	if err := k8s.Delete(d.ctx, o); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the day goes", func() error {
		err := k8s.Get(d.ctx, d.key, &v1alpha1.CloudTrailDay{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get: %v", err)
	})
	if got := d.jobs(); len(got) != 0 {
		t.Errorf("jobs left: %v", got)
	}
	if got := s3test.Keys(t, d.s3, "lake", ""); !slices.Equal(got, []string{"cloudtrail/proc_ymd=20261124/part-earlier-00000.parquet"}) {
		t.Errorf("objects left = %v, want only the published output", got)
	}
}

// deleteDays deletes the namespace's days and waits until the manager has
// let them go (no namespace controller runs to do it).
func deleteDays(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := k8s.DeleteAllOf(ctx, &v1alpha1.CloudTrailDay{}, client.InNamespace(ns)); err != nil {
		t.Errorf("deleting the days of %s: %v", ns, err)
		return
	}
	eventually(t, "the days of "+ns+" go", func() error {
		var l v1alpha1.CloudTrailDayList
		if err := k8s.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(l.Items) > 0 {
			return fmt.Errorf("%d days left", len(l.Items))
		}
		return nil
	})
}
