package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// leaseTTL is the merge workers' lease in this suite (the manager's
// --lease-ttl): short, so that a killed merge blocks its retry for seconds,
// not the default minute.
const leaseTTL = 20 * time.Second

// hooks steer chosen pods, found by namespace, CloudTrailDay and step: a
// failpoint for the first pod (the worker stops there, holding what it
// holds, until it is killed), and a gate that keeps every pod Pending until
// the test opens it.
var hooks = &podHooks{}

type podHooks struct {
	mu         sync.Mutex
	failpoints map[string]string        // ns/day/step -> failpoint of the first pod
	gates      map[string]chan struct{} // ns/day/step -> closed when pods may start
	started    map[string]bool          // ns/day/step whose first pod has started
}

func hookKey(ns, day, step string) string { return ns + "/" + day + "/" + step }

func podKey(pod *corev1.Pod) string {
	return hookKey(pod.Namespace, pod.Labels[v1alpha1.DayLabel], pod.Labels[v1alpha1.StepLabel])
}

// failFirst stops the first pod of a day's step at a failpoint
// (commit.FailpointEnv).
func (h *podHooks) failFirst(ns, day, step, failpoint string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failpoints == nil {
		h.failpoints = map[string]string{}
	}
	h.failpoints[hookKey(ns, day, step)] = failpoint
}

// hold keeps the pods of a day's step Pending until the returned function
// is called.
func (h *podHooks) hold(ns, day, step string) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gates == nil {
		h.gates = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	h.gates[hookKey(ns, day, step)] = ch
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// gate is the kubelet's Gate.
func (h *podHooks) gate(ctx context.Context, pod *corev1.Pod) error {
	h.mu.Lock()
	ch := h.gates[podKey(pod)]
	h.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// env is the kubelet's PodEnv: the pod's identity, and the failpoint of a
// first pod.
func (h *podHooks) env(ctx context.Context, pod *corev1.Pod) ([]string, error) {
	env, err := podIdentity(ctx, pod)
	if err != nil {
		return nil, err
	}
	key := podKey(pod)
	h.mu.Lock()
	defer h.mu.Unlock()
	if fp := h.failpoints[key]; fp != "" && !h.started[key] {
		if h.started == nil {
			h.started = map[string]bool{}
		}
		h.started[key] = true
		env = append(env, commit.FailpointEnv+"="+fp)
	}
	return env, nil
}

// until polls cond until it holds, failing the test after timeout.
func (w *world) until(what string, timeout time.Duration, cond func() (bool, error)) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.dumpPods()
			w.t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) lake(prefix string) store.Store {
	w.t.Helper()
	dst, err := store.Open(w.ctx, "s3://"+lakeBucket+"/"+prefix, w.opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return dst
}

func (w *world) getDay(name string) *v1alpha1.CloudTrailDay {
	w.t.Helper()
	var d v1alpha1.CloudTrailDay
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, &d); err != nil {
		w.t.Fatal(err)
	}
	return &d
}

// pods are the pods of a day's step, oldest first.
func (w *world) pods(day, step string) []corev1.Pod {
	w.t.Helper()
	var pl corev1.PodList
	if err := k8s.List(w.ctx, &pl, client.InNamespace(w.ns),
		client.MatchingLabels{v1alpha1.DayLabel: day, v1alpha1.StepLabel: step}); err != nil {
		w.t.Fatal(err)
	}
	out := pl.Items
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].CreationTimestamp.Before(&out[i].CreationTimestamp) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// reached says whether a pod's worker stopped at the failpoint.
func reached(pod *corev1.Pod, failpoint string) (bool, error) {
	logs, err := filepath.Glob(filepath.Join(workDir, "logs", fmt.Sprintf("%s_%s_*_%s.log", pod.Namespace, pod.Name, pod.UID[:8])))
	if err != nil || len(logs) == 0 {
		return false, err
	}
	b, err := os.ReadFile(logs[0])
	return bytes.Contains(b, []byte("failpoint "+failpoint+" reached")), err
}

func exitCodeOf(pod *corev1.Pod) (int32, bool) {
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return t.ExitCode, true
		}
	}
	return 0, false
}

// distinctEvents counts the distinct eventid values of rows.
func distinctEvents(rows []record.Values) int {
	seen := map[any]bool{}
	for _, r := range rows {
		seen[r["eventid"]] = true
	}
	return len(seen)
}

// Two CloudTrailDays for one date and destination, started together: the
// first day's merge takes the day's lease and its worker is stopped there,
// after merging and before its commit; the second day's merge, let run only
// then, finds the day held and the second day fails naming the first's run.
// Then the holder is killed (SIGKILL): the Job controller retries the merge,
// the retried pod waits out its predecessor's lease (same run), publishes,
// and the first day succeeds with exactly what `shard-worker run` writes.
func TestTwoDaysOneDestination(t *testing.T) {
	w := newWorld(t, dayOptions())
	hooks.failFirst(w.ns, "first", v1alpha1.StepMerge, "run.merged")
	release := hooks.hold(w.ns, "second", v1alpha1.StepMerge)
	defer release()
	first := w.newDay("first", nil)
	w.newDay("second", func(d *v1alpha1.CloudTrailDay) {
		// Its merge fails for as long as the first holds the day: its
		// retries would only take time.
		d.Spec.Workers.BackoffLimitPerIndex = ptr.To[int32](0)
	})
	dst := w.lake("cloudtrail")
	w.waitStage("first", v1alpha1.StageMerging, 2*time.Minute)
	firstRun := w.getDay("first").Status.RunID

	// The first day's merge holds the day, stopped before its commit.
	var holder corev1.Pod
	w.until("the first day's merge to stop at run.merged", time.Minute, func() (bool, error) {
		pods := w.pods("first", v1alpha1.StepMerge)
		if len(pods) == 0 {
			return false, nil
		}
		holder = pods[0]
		return reached(&holder, "run.merged")
	})
	lease, err := commit.ReadLease(w.ctx, dst, ymd, time.Now())
	if err != nil || lease == nil || lease.Run != firstRun {
		t.Fatalf("lease %+v (%v), want run %s holding the day", lease, err, firstRun)
	}
	if !strings.Contains(lease.Holder, holder.Name) {
		t.Errorf("lease holder %q does not name the pod %s", lease.Holder, holder.Name)
	}

	// The second day's merge finds the day held and the day fails naming
	// the holder's run.
	release()
	second := w.waitStage("second", v1alpha1.StageFailed, 2*time.Minute)
	msg := meta.FindStatusCondition(second.Status.Conditions, v1alpha1.ConditionReady).Message
	if !strings.Contains(msg, "being published by run "+firstRun) {
		t.Errorf("the second day's Failed message does not name run %s holding the day:\n%s", firstRun, msg)
	}
	if _, err := dst.Open(w.ctx, plan.ManifestKey(ymd)); !store.IsNotExist(err) {
		t.Errorf("a manifest exists before the holder's commit (%v): the second day published", err)
	}

	// Kill the holder; its retry waits for the dead holder's lease.
	lease, err = commit.ReadLease(w.ctx, dst, ymd, time.Now())
	if err != nil || lease == nil || lease.Run != firstRun {
		t.Fatalf("lease %+v (%v) before the kill, want run %s", lease, err, firstRun)
	}
	if !kube.Kill(holder.UID) {
		t.Fatalf("pod %s was not running", holder.Name)
	}
	killed := time.Now()
	t.Logf("second day failed: %s", msg)
	t.Logf("killed %s holding the day; its lease expires in %s", lease.Holder, lease.Expires.Sub(killed).Round(time.Millisecond))
	got := w.waitStage("first", v1alpha1.StageSucceeded, 2*time.Minute)

	pods := w.pods("first", v1alpha1.StepMerge)
	var codes []int32
	for _, p := range pods {
		code, _ := exitCodeOf(&p)
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int32{137, 0}, codes); diff != "" {
		t.Errorf("exit codes of the first day's merge pods (-want +got):\n%s", diff)
	}
	if len(pods) == 2 {
		retry := pods[1].Status.ContainerStatuses[0].State.Terminated
		t.Logf("the retried merge started %s and finished %s after the kill", retry.StartedAt.Sub(killed).Round(time.Second), retry.FinishedAt.Sub(killed).Round(time.Second))
		if retry.FinishedAt.Time.Before(lease.Expires.Truncate(time.Second)) {
			t.Errorf("the retried merge finished at %s, before its predecessor's lease expired at %s", retry.FinishedAt.UTC(), lease.Expires.UTC())
		}
	}
	for _, j := range w.jobs("first") {
		if j.Labels[v1alpha1.StepLabel] == v1alpha1.StepMerge && (j.Status.Failed != 1 || j.Status.Succeeded != 1 || !jobDone(&j, batchv1.JobComplete)) {
			t.Errorf("merge Job %s: %d failed, %d succeeded, conditions %+v; want the killed pod retried", j.Name, j.Status.Failed, j.Status.Succeeded, j.Status.Conditions)
		}
	}

	// Exactly one day published, complete, and the same as shard-worker
	// run's, row for row.
	m, rows := w.published("cloudtrail")
	if m.RunID != firstRun {
		t.Errorf("manifest of run %s, want %s", m.RunID, firstRun)
	}
	for _, f := range m.Files {
		if !strings.Contains(f.Key, firstRun) {
			t.Errorf("file %s is not of run %s", f.Key, firstRun)
		}
	}
	_, want := w.localRun(first)
	if len(rows) == 0 {
		t.Fatal("no rows published")
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("the published day differs from shard-worker run's (-run +operator):\n%s", diff)
	}
	if d, wd := distinctEvents(rows), distinctEvents(want); d != wd || d < len(want)*9/10 {
		t.Errorf("%d distinct eventids published, shard-worker run has %d in %d rows", d, wd, len(want))
	}
	if got.Status.Counts.RecordsWritten != int64(len(want)) {
		t.Errorf("status says %d records written, shard-worker run wrote %d", got.Status.Counts.RecordsWritten, len(want))
	}
	if diff := cmp.Diff(map[string]string{"first": string(v1alpha1.StageSucceeded), "second": string(v1alpha1.StageFailed)}, w.stages("first", "second")); diff != "" {
		t.Errorf("stages of the two days (-want +got):\n%s", diff)
	}
	for _, k := range []string{commit.LeaseKey(ymd), commit.JournalKey(ymd)} {
		if _, err := dst.Open(w.ctx, k); !store.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", k, err)
		}
	}
}

// A day whose source holds no log file of the day fails without publishing
// and says why, unless spec.allowEmpty.
func TestEmptyDayFails(t *testing.T) {
	o := dayOptions()
	o.Records, o.Files = 200, 6
	w := newWorld(t, o)
	w.newDay("empty", func(d *v1alpha1.CloudTrailDay) {
		// An account that delivered nothing.
		d.Spec.Source.Accounts = []string{"999999999999"}
	})
	got := w.waitStage("empty", v1alpha1.StageFailed, time.Minute)
	msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady).Message
	for _, want := range []string{"No log file selected for " + w.getDay("empty").Spec.Date, "spec.allowEmpty"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Failed message lacks %q:\n%s", want, msg)
		}
	}
	if jobs := w.jobs("empty"); len(jobs) != 1 || jobs[0].Labels[v1alpha1.StepLabel] != v1alpha1.StepPlan {
		t.Errorf("%d Jobs for a day with nothing to read, want the plan Job alone", len(jobs))
	}
	dst := w.lake("cloudtrail")
	var left []string
	_ = dst.List(w.ctx, "", func(o store.Object) error { left = append(left, o.Key); return nil })
	if len(left) != 0 {
		t.Errorf("the destination is not empty: %v", left)
	}
}

// stages are the Ready reasons of days.
func (w *world) stages(names ...string) map[string]string {
	w.t.Helper()
	out := map[string]string{}
	for _, n := range names {
		if c := meta.FindStatusCondition(w.getDay(n).Status.Conditions, v1alpha1.ConditionReady); c != nil {
			out[n] = c.Reason
		}
	}
	return out
}

// mergeExitCodes are the exit codes of a day's merge pods, oldest first.
func (w *world) mergeExitCodes(day string) []int32 {
	w.t.Helper()
	var codes []int32
	for _, p := range w.pods(day, v1alpha1.StepMerge) {
		code, _ := exitCodeOf(&p)
		codes = append(codes, code)
	}
	return codes
}

// noStagingOf fails the test when a run's staging is left.
func (w *world) noStagingOf(dst store.Store, run string) {
	w.t.Helper()
	var left []string
	if err := dst.List(w.ctx, plan.StagingPrefix(ymd, run), func(o store.Object) error {
		left = append(left, o.Key)
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	if len(left) != 0 {
		w.t.Errorf("%d staging objects of run %s left, e.g. %s", len(left), run, left[0])
	}
}

// Two CloudTrailDays for one date and destination whose merges do not
// overlap: whichever publishes first keeps the day, and the other fails
// naming its run and day, at once (exit 3: no retry can help). The
// earlier-started day publishing first is not replaced by the later one
// (the later day's plan lists it as a rival); the later-started day
// publishing first is not replaced by the earlier one (an older run never
// replaces a newer run's output).
func TestTwoDaysOneAfterTheOther(t *testing.T) {
	for _, earlierFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("earlier publishes first=%v", earlierFirst), func(t *testing.T) {
			w := newWorld(t, dayOptions())
			dst := w.lake("cloudtrail")
			var winner, loser string
			if earlierFirst {
				winner, loser = "a", "b"
				w.newDay("a", nil)
				w.waitStage("a", v1alpha1.StageSucceeded, 2*time.Minute)
				w.newDay("b", nil)
			} else {
				winner, loser = "b", "a"
				release := hooks.hold(w.ns, "a", v1alpha1.StepMerge)
				defer release()
				w.newDay("a", nil)
				w.waitStage("a", v1alpha1.StageMerging, 2*time.Minute)
				for time.Since(w.getDay("a").Status.StartTime.Time) < time.Second {
					time.Sleep(100 * time.Millisecond) // b's run must start a second later
				}
				w.newDay("b", nil)
				w.waitStage("b", v1alpha1.StageSucceeded, 2*time.Minute)
				release()
			}
			lost := w.waitStage(loser, v1alpha1.StageFailed, 2*time.Minute)
			won := w.getDay(winner)
			wantMsg := "The day was published first by run " + won.Status.RunID + " of CloudTrailDay " + w.ns + "/" + winner + ", which this day does not replace"
			if !earlierFirst {
				wantMsg = "The day was published by run " + won.Status.RunID + " of CloudTrailDay " + w.ns + "/" + winner + ", which started after this attempt's run " + lost.Status.RunID
			}
			msg := meta.FindStatusCondition(lost.Status.Conditions, v1alpha1.ConditionReady).Message
			if !strings.Contains(msg, wantMsg) {
				t.Errorf("the Failed message of day %s lacks %q:\n%s", loser, wantMsg, msg)
			}
			t.Logf("day %s failed: %s", loser, msg)
			want := map[string]string{winner: string(v1alpha1.StageSucceeded), loser: string(v1alpha1.StageFailed)}
			if diff := cmp.Diff(want, w.stages("a", "b")); diff != "" {
				t.Errorf("stages of the two days (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int32{3}, w.mergeExitCodes(loser)); diff != "" {
				t.Errorf("exit codes of day %s's merge pods (-want +got):\n%s", loser, diff)
			}
			m, rows := w.published("cloudtrail")
			if m.RunID != won.Status.RunID || int64(len(rows)) != w.stats.Rows {
				t.Errorf("published run %s with %d rows, want run %s with %d", m.RunID, len(rows), won.Status.RunID, w.stats.Rows)
			}
			w.noStagingOf(dst, lost.Status.RunID)
			w.noStagingOf(dst, won.Status.RunID)
		})
	}
}

// A rerun while the merge holds the day: the stopped attempt's merge pod is
// deleted (killed) with its Job and leaves its lease behind; the new
// attempt's merge waits for that lease to expire instead of failing, so it
// publishes with its first pod even with no retries allowed.
func TestRerunDuringMerge(t *testing.T) {
	w := newWorld(t, dayOptions())
	hooks.failFirst(w.ns, "rerun", v1alpha1.StepMerge, "run.merged")
	w.newDay("rerun", func(d *v1alpha1.CloudTrailDay) {
		d.Spec.Workers.BackoffLimitPerIndex = ptr.To[int32](0)
	})
	dst := w.lake("cloudtrail")
	w.waitStage("rerun", v1alpha1.StageMerging, 2*time.Minute)
	first := w.getDay("rerun")
	w.until("the first attempt's merge to stop at run.merged", time.Minute, func() (bool, error) {
		pods := w.pods("rerun", v1alpha1.StepMerge)
		if len(pods) == 0 {
			return false, nil
		}
		return reached(&pods[0], "run.merged")
	})
	lease, err := commit.ReadLease(w.ctx, dst, ymd, time.Now())
	if err != nil || lease == nil || lease.Run != first.Status.RunID {
		t.Fatalf("lease %+v (%v), want the first attempt's run %s holding the day", lease, err, first.Status.RunID)
	}

	patch := client.MergeFrom(first.DeepCopy())
	first.Annotations = map[string]string{v1alpha1.RerunAnnotation: "during-merge"}
	if err := k8s.Patch(w.ctx, first, patch); err != nil {
		t.Fatal(err)
	}
	var got *v1alpha1.CloudTrailDay
	w.until("the second attempt to succeed", 2*time.Minute, func() (bool, error) {
		got = w.getDay("rerun")
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		if c != nil && c.Reason == string(v1alpha1.StageFailed) {
			return false, fmt.Errorf("attempt %d failed: %s", got.Status.Attempt, c.Message)
		}
		return got.Status.Attempt == 2 && c != nil && c.Reason == string(v1alpha1.StageSucceeded), nil
	})
	var second []corev1.Pod
	for _, p := range w.pods("rerun", v1alpha1.StepMerge) {
		if p.Labels[v1alpha1.AttemptLabel] == "2" {
			second = append(second, p)
		}
	}
	if len(second) != 1 {
		t.Fatalf("%d merge pods of the second attempt, want 1", len(second))
	}
	if code, ok := exitCodeOf(&second[0]); !ok || code != 0 {
		t.Errorf("the second attempt's merge pod exited %d (%v), want 0", code, ok)
	}
	done := second[0].Status.ContainerStatuses[0].State.Terminated
	if done == nil || done.FinishedAt.Time.Before(lease.Expires.Truncate(time.Second)) {
		t.Errorf("the second attempt's merge finished %v, before the first attempt's lease expired at %s", done, lease.Expires.UTC())
	} else {
		t.Logf("the second attempt's merge finished %s after the first attempt's lease expired", done.FinishedAt.Sub(lease.Expires).Round(time.Second))
	}
	m, rows := w.published("cloudtrail")
	if m.RunID != got.Status.RunID || int64(len(rows)) != w.stats.Rows {
		t.Errorf("published run %s with %d rows, want run %s with %d", m.RunID, len(rows), got.Status.RunID, w.stats.Rows)
	}
	w.noStagingOf(dst, first.Status.RunID)
	w.noStagingOf(dst, got.Status.RunID)
	for _, k := range []string{commit.LeaseKey(ymd), commit.JournalKey(ymd)} {
		if _, err := dst.Open(w.ctx, k); !store.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", k, err)
		}
	}
}
