package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// TestQueue creates 30 days at once, in shuffled order, under a manager
// that runs at most 3 (--max-concurrent-days 3, set by the suite). The test
// plays the Job controller and the workers for whatever Jobs exist; at no
// moment do more than 3 days plan, flatten or merge, the queued days start
// oldest date first (days admitted together may show in either order), and
// every day succeeds.
func TestQueue(t *testing.T) {
	const days, limit = 30, 3
	if reconciler.Config.MaxConcurrentDays != limit {
		t.Fatalf("the suite's manager runs %d days at once, want %d", reconciler.Config.MaxConcurrentDays, limit)
	}
	_, ns := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))

	endpoint, s3c := s3test.Start(t)
	s3test.CreateBucket(t, s3c, "trail")
	s3test.CreateBucket(t, s3c, "lake")
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var noons []time.Time
	for i := range days {
		noons = append(noons, first.AddDate(0, 0, i).Add(12*time.Hour))
	}
	s3test.PutAll(t, s3c, "trail", controllertest.TrailFiles("", []string{"111122223333"}, []string{"us-east-1"}, noons...))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: ns, Labels: map[string]string{v1alpha1.CredentialsLabel: "true"}},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": s3test.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s3test.SecretAccessKey},
	}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	so := store.Options{
		Endpoint: endpoint, Region: s3test.Region, PathStyle: true,
		AccessKeyID: s3test.AccessKeyID, SecretAccessKey: s3test.SecretAccessKey,
	}
	dst, err := store.Open(ctx, "s3://lake/cloudtrail", so)
	if err != nil {
		t.Fatal(err)
	}
	src, err := store.Open(ctx, "s3://trail", so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteDays(t, ns) })

	order := rand.New(rand.NewPCG(1, 2)).Perm(days)
	for _, i := range order {
		date := first.AddDate(0, 0, i).Format(time.DateOnly)
		o := controllertest.MakeDay("q-"+date, ns).Date(date).Endpoint(endpoint, s3test.Region).CredentialsSecret("s3").Obj()
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	// snapshot lists the days (one consistent read) by stage.
	snapshot := func() (map[v1alpha1.Stage][]string, []v1alpha1.CloudTrailDay) {
		var l v1alpha1.CloudTrailDayList
		if err := k8s.List(ctx, &l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		by := map[v1alpha1.Stage][]string{}
		for _, d := range l.Items {
			stage := v1alpha1.Stage("")
			if c := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady); c != nil {
				stage = v1alpha1.Stage(c.Reason)
			}
			by[stage] = append(by[stage], d.Spec.Date)
		}
		for _, dates := range by {
			slices.Sort(dates)
		}
		return by, l.Items
	}
	runningOf := func(by map[v1alpha1.Stage][]string) []string {
		var r []string
		for _, s := range []v1alpha1.Stage{v1alpha1.StagePlanning, v1alpha1.StageFlattening, v1alpha1.StageMerging} {
			r = append(r, by[s]...)
		}
		slices.Sort(r)
		return r
	}

	// Every day is reconciled once before any Job finishes: 3 run, 27 queue.
	deadline := time.Now().Add(time.Minute)
	for {
		by, _ := snapshot()
		if r := runningOf(by); len(r) > limit {
			t.Fatalf("%d days running at once: %v", len(r), r)
		}
		if len(runningOf(by)) == limit && len(by[v1alpha1.StageQueued]) == days-limit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("days by stage: %v", by)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Play the Job controller and the workers until every day succeeded.
	seen := map[string]bool{}
	var started []string // dates in the order they were first seen running, after the first wave
	done := map[string]bool{}
	maxRunning := 0
	deadline = time.Now().Add(3 * time.Minute)
	for {
		by, items := snapshot()
		running := runningOf(by)
		maxRunning = max(maxRunning, len(running))
		if len(running) > limit {
			t.Fatalf("%d days running at once: %v", len(running), running)
		}
		if len(seen) == 0 {
			for _, date := range running {
				seen[date] = true
			}
		}
		for _, date := range running {
			if seen[date] {
				continue
			}
			seen[date] = true
			started = append(started, date)
			// Days admitted together may write their status in any order,
			// but a day starts only while fewer older days are queued than
			// there are slots.
			older := 0
			for _, q := range by[v1alpha1.StageQueued] {
				if q < date {
					older++
				}
			}
			if older >= limit {
				t.Errorf("%s started while %d older days were queued: %v", date, older, by[v1alpha1.StageQueued])
			}
		}
		if len(by[v1alpha1.StageSucceeded]) == days {
			break
		}
		if f := by[v1alpha1.StageFailed]; len(f) > 0 {
			t.Fatalf("failed days: %v", f)
		}
		if time.Now().After(deadline) {
			t.Fatalf("days by stage: %v", by)
		}
		var jobs batchv1.JobList
		if err := k8s.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs.Items {
			if !done[j.Name] {
				done[j.Name] = finishJob(t, ctx, src, dst, &j, items)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if maxRunning != limit {
		t.Errorf("at most %d days ran at once, want the limit, %d", maxRunning, limit)
	}
	if len(started) != days-limit {
		t.Errorf("%d queued days started, want %d: %v", len(started), days-limit, started)
	}
	t.Logf("queued days started in the order %v", started)
}

// finishJob does what the workers and the Job controller would: the plan,
// the shards' results or the day's manifest, then a Job that succeeded. It does nothing
// for a Job newer than the days read (false).
func finishJob(t *testing.T, ctx context.Context, src, dst store.Store, j *batchv1.Job, days []v1alpha1.CloudTrailDay) bool {
	t.Helper()
	if j.Labels[v1alpha1.StepLabel] == v1alpha1.StepPlan {
		if _, err := controllertest.Plan(ctx, src, dst, j, nil); err != nil {
			t.Fatal(err)
		}
		if err := controllertest.Succeed(ctx, k8s, client.ObjectKeyFromObject(j), clock.Now()); err != nil {
			t.Fatal(fmt.Errorf("Job %s: %w", j.Name, err))
		}
		return true
	}
	var planKey string
	for _, d := range days {
		if metav1.IsControlledBy(j, &d) && d.Status.Plan != nil {
			planKey = d.Status.Plan.Key
		}
	}
	if planKey == "" {
		return false
	}
	switch j.Labels[v1alpha1.StepLabel] {
	case v1alpha1.StepFlatten:
		if _, err := controllertest.Flatten(ctx, dst, planKey, func(int) controllertest.Shard {
			return controllertest.Shard{Read: 10, Written: 10}
		}); err != nil {
			t.Fatal(err)
		}
	case v1alpha1.StepMerge:
		p, _, err := plan.Read(ctx, dst, planKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := controllertest.Merge(ctx, dst, planKey, 0, 10*int64(len(p.Shards))); err != nil {
			t.Fatal(err)
		}
	}
	if err := controllertest.Succeed(ctx, k8s, client.ObjectKeyFromObject(j), clock.Now()); err != nil {
		t.Fatal(fmt.Errorf("Job %s: %w", j.Name, err))
	}
	return true
}
