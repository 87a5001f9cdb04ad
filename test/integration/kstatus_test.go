package integration

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
)

// kstatusOf computes, with kstatus itself (what Flux's health checks and
// cli-utils run), the status of a day as the API server returned it.
func kstatusOf(t *testing.T, o *v1alpha1.CloudTrailDay) kstatus.Status {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("CloudTrailDay"))
	res, err := kstatus.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

// liveKstatus reads the day from the API server (as unstructured, so that
// nothing of the Go type's encoding stands between) and computes kstatus.
func liveKstatus(d *day) (kstatus.Status, string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("CloudTrailDay"))
	if err := k8s.Get(d.ctx, d.key, u); err != nil {
		return "", "", err
	}
	res, err := kstatus.Compute(u)
	if err != nil {
		return "", "", err
	}
	return res.Status, res.Message, nil
}

// wantKstatus waits for the day's stage, then checks what kstatus makes of
// the day.
func (d *day) wantKstatus(stage v1alpha1.Stage, contains string, want kstatus.Status) {
	d.t.Helper()
	d.waitStage(stage, contains)
	eventually(d.t, fmt.Sprintf("kstatus %s in stage %s", want, stage), func() error {
		got, msg, err := liveKstatus(d)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("kstatus = %s (%s), want %s", got, msg, want)
		}
		return nil
	})
}

// TestKstatus takes days through every stage and checks what kstatus
// computes at each: Failed → Failed, Succeeded → Current, a new, edited,
// waiting, queued or running day → InProgress.
func TestKstatus(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", ""))

	// New: the object as created, before the operator has seen it. The
	// CRD defaults status.observedGeneration to 0.
	// The API server's answer is read as unstructured: the Go type drops a
	// zero observedGeneration, the API server does not.
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(controllertest.MakeDay("fresh", d.key.Namespace).Date("2099-01-01").Obj())
	if err != nil {
		t.Fatal(err)
	}
	fresh := &unstructured.Unstructured{Object: m}
	if err := k8s.Create(d.ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if res, err := kstatus.Compute(fresh); err != nil || res.Status != kstatus.InProgressStatus {
		t.Errorf("a new day: kstatus = %+v, %v, want InProgress (status %v)", res, err, fresh.Object["status"])
	}

	// Waiting for the window: InProgress.
	d.wantKstatus(v1alpha1.StageWaiting, "closes at", kstatus.InProgressStatus)

	// Planning, then flattening: InProgress.
	clock.SetTime(time.Date(2026, 11, 25, 1, 30, 0, 0, time.UTC))
	d.poke()
	d.wantKstatus(v1alpha1.StagePlanning, "listing", kstatus.InProgressStatus)
	d.runPlan(1)
	d.wantKstatus(v1alpha1.StageFlattening, "shards flattened", kstatus.InProgressStatus)
	o := d.get()
	flatten := "2026-11-24-1-flatten"
	d.job(flatten)
	if _, err := controllertest.Flatten(d.ctx, d.dst, o.Status.Plan.Key, func(int) controllertest.Shard {
		return controllertest.Shard{Read: 5, Written: 5}
	}); err != nil {
		t.Fatal(err)
	}
	d.succeedJob(flatten)

	// Merging: InProgress.
	d.wantKstatus(v1alpha1.StageMerging, "Merging", kstatus.InProgressStatus)
	n := int64(o.Status.Shards.Total)
	if err := controllertest.Merge(d.ctx, d.dst, o.Status.Plan.Key, 0, 5*n); err != nil {
		t.Fatal(err)
	}
	d.succeedJob("2026-11-24-1-merge")

	// Succeeded: Current.
	d.wantKstatus(v1alpha1.StageSucceeded, "Wrote", kstatus.CurrentStatus)

	// Edited: InProgress as the API server returns the update (the operator
	// has not seen the generation), Current once it has.
	o = d.get()
	o.Spec.Workers.Parallelism = ptr32(7)
	if err := k8s.Update(d.ctx, o); err != nil {
		t.Fatal(err)
	}
	if got := kstatusOf(t, o); got != kstatus.InProgressStatus || o.Status.ObservedGeneration == o.Generation {
		t.Errorf("an edited day: kstatus = %s, observedGeneration %d of %d, want InProgress", got, o.Status.ObservedGeneration, o.Generation)
	}
	d.wantKstatus(v1alpha1.StageSucceeded, "Wrote", kstatus.CurrentStatus)

	// A rerun whose flatten Job fails: InProgress while it runs, Failed
	// after, with the cause in the Stalled reason.
	d.annotate(v1alpha1.RerunAnnotation, "again")
	d.runPlan(2)
	d.wantKstatus(v1alpha1.StageFlattening, "shards flattened", kstatus.InProgressStatus)
	second := "2026-11-24-2-flatten"
	d.job(second)
	if err := controllertest.Fail(d.ctx, k8s, client.ObjectKey{Namespace: d.key.Namespace, Name: second}, clock.Now(),
		batchv1.JobReasonFailedIndexes, "Job has failed indexes", "0"); err != nil {
		t.Fatal(err)
	}
	d.wantKstatus(v1alpha1.StageFailed, "failed", kstatus.FailedStatus)
	stalled := findCondition(d.get(), v1alpha1.ConditionStalled)
	if stalled == nil || stalled.Reason != v1alpha1.StalledFlattenFailed {
		t.Errorf("Stalled = %+v, want reason %s", stalled, v1alpha1.StalledFlattenFailed)
	}
}

// TestKstatusInvalid: a day the operator cannot run is Failed, and an
// unlabelled credentials Secret is one.
func TestKstatusInvalid(t *testing.T) {
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	d := newDay(t, controllertest.MakeDay("2026-11-24", ""))
	d.runPlan(1)
	d.wantKstatus(v1alpha1.StageFlattening, "shards flattened", kstatus.InProgressStatus)

	// A second day whose Secret does not opt in.
	secret := unlabelledSecret(t, d)
	o := controllertest.MakeDay("unlabelled", d.key.Namespace).Date("2026-11-23").Obj()
	src := d.get().Spec
	o.Spec.Source.ObjectStore = src.Source.ObjectStore
	o.Spec.Destination = src.Destination
	o.Spec.Source.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: secret}
	o.Spec.Destination.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: secret}
	if err := k8s.Create(d.ctx, o); err != nil {
		t.Fatal(err)
	}
	u := &day{t: t, ctx: d.ctx, key: client.ObjectKeyFromObject(o), s3: d.s3, dst: d.dst}
	u.wantKstatus(v1alpha1.StageFailed, `is not labelled parquetrail.io/credentials="true"`, kstatus.FailedStatus)
	if c := findCondition(u.get(), v1alpha1.ConditionStalled); c == nil || c.Reason != v1alpha1.StalledCredentialsRefused {
		t.Errorf("Stalled = %+v", c)
	}
	if got := u.jobs(); len(got) != 2 { // only the first day's plan and flatten Jobs
		t.Errorf("jobs = %v", got)
	}
}

func ptr32(v int32) *int32 { return &v }

func findCondition(o *v1alpha1.CloudTrailDay, t string) *metav1.Condition {
	return meta.FindStatusCondition(o.Status.Conditions, t)
}

// unlabelledSecret makes a Secret with the S3 server's credentials but not
// the opt-in label, and returns its name.
func unlabelledSecret(t *testing.T, d *day) string {
	t.Helper()
	s := &corev1.Secret{}
	if err := k8s.Get(d.ctx, client.ObjectKey{Namespace: d.key.Namespace, Name: "s3"}, s); err != nil {
		t.Fatal(err)
	}
	u := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled", Namespace: d.key.Namespace}, Data: s.Data}
	if err := k8s.Create(d.ctx, u); err != nil {
		t.Fatal(err)
	}
	return u.Name
}
