package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

var fixedNow = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

// TestUpdateStatus: the conditions updateStatus computes from each outcome
// a step can observe, and what kstatus (the library Flux's health checks
// use) computes from them.
func TestUpdateStatus(t *testing.T) {
	const F, T = metav1.ConditionFalse, metav1.ConditionTrue
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: 7, LastTransitionTime: metav1.NewTime(fixedNow)}
	}
	running := func(stage string) []metav1.Condition {
		return []metav1.Condition{cond("Ready", F, stage, "msg"), cond("Reconciling", T, stage, "msg"), cond("Stalled", F, stage, "")}
	}
	cases := []struct {
		stage   v1alpha1.Stage
		why     string
		want    []metav1.Condition
		kstatus kstatus.Status
	}{
		{v1alpha1.StageWaiting, "", running("Waiting"), kstatus.InProgressStatus},
		{v1alpha1.StageQueued, "", running("Queued"), kstatus.InProgressStatus},
		{v1alpha1.StagePlanning, "", running("Planning"), kstatus.InProgressStatus},
		{v1alpha1.StageFlattening, "", running("Flattening"), kstatus.InProgressStatus},
		{v1alpha1.StageMerging, "", running("Merging"), kstatus.InProgressStatus},
		{v1alpha1.StageSucceeded, "", []metav1.Condition{
			cond("Ready", T, "Succeeded", "msg"), cond("Reconciling", F, "Succeeded", "The attempt is over"), cond("Stalled", F, "Succeeded", "")},
			kstatus.CurrentStatus},
		{v1alpha1.StageFailed, v1alpha1.StalledFlattenFailed, []metav1.Condition{
			cond("Ready", F, "Failed", "msg"), cond("Reconciling", F, "Failed", "The attempt is over"), cond("Stalled", T, "FlattenFailed", "msg")},
			kstatus.FailedStatus},
		{v1alpha1.StageFailed, "", []metav1.Condition{
			cond("Ready", F, "Failed", "msg"), cond("Reconciling", F, "Failed", "The attempt is over"), cond("Stalled", T, "Failed", "msg")},
			kstatus.FailedStatus},
	}
	for _, c := range cases {
		t.Run(string(c.stage)+c.why, func(t *testing.T) {
			st := v1alpha1.CloudTrailDayStatus{ObservedGeneration: 7}
			updateStatus(&st, 7, &outcome{stage: c.stage, why: c.why, message: "msg"}, false, fixedNow)
			if diff := cmp.Diff(c.want, st.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if stageOf(&st) != c.stage {
				t.Errorf("stageOf = %q, want %q", stageOf(&st), c.stage)
			}
			if got := computeKstatus(t, 7, &st); got != c.kstatus {
				t.Errorf("kstatus = %s, want %s", got, c.kstatus)
			}
			// A spec the operator has not seen yet is in progress, whatever
			// the stage.
			if got := computeKstatus(t, 8, &st); got != kstatus.InProgressStatus {
				t.Errorf("kstatus of an unobserved generation = %s, want InProgress", got)
			}
		})
	}
}

// computeKstatus runs kstatus on a day with this status.
func computeKstatus(t *testing.T, generation int64, st *v1alpha1.CloudTrailDayStatus) kstatus.Status {
	t.Helper()
	day := &v1alpha1.CloudTrailDay{Status: *st}
	day.APIVersion, day.Kind = v1alpha1.GroupVersion.String(), "CloudTrailDay"
	day.Generation = generation
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(day)
	if err != nil {
		t.Fatal(err)
	}
	res, err := kstatus.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestUpdateStatusTransitions(t *testing.T) {
	// The transition time moves only when the status does.
	var st v1alpha1.CloudTrailDayStatus
	updateStatus(&st, 1, &outcome{stage: v1alpha1.StagePlanning}, false, fixedNow)
	updateStatus(&st, 1, &outcome{stage: v1alpha1.StageFlattening}, false, fixedNow.Add(time.Minute))
	if got := st.Conditions[0].LastTransitionTime.Time; !got.Equal(fixedNow) {
		t.Errorf("transition time moved on a reason change: %v", got)
	}
	// A step that observed nothing leaves the conditions as they are.
	before := st.DeepCopy()
	updateStatus(&st, 2, nil, false, fixedNow.Add(2*time.Minute))
	if diff := cmp.Diff(before, &st); diff != "" {
		t.Errorf("no outcome changed the conditions (-before +after):\n%s", diff)
	}
	updateStatus(&st, 1, &outcome{stage: v1alpha1.StageSucceeded}, false, fixedNow.Add(time.Hour))
	if got := st.Conditions[0].LastTransitionTime.Time; !got.Equal(fixedNow.Add(time.Hour)) {
		t.Errorf("transition time did not move on True: %v", got)
	}
	updateStatus(&st, 1, &outcome{stage: v1alpha1.StageFailed, why: v1alpha1.StalledMergeFailed, message: strings.Repeat("x", 5000)}, false, fixedNow)
	if n := len(st.Conditions[0].Message); n > maxMessageLength {
		t.Errorf("message of %d bytes", n)
	}
}

func TestStartAttempt(t *testing.T) {
	st := v1alpha1.CloudTrailDayStatus{
		Attempt: 1, RunID: "abc-1", Rerun: "", ObservedGeneration: 3,
		Window:         &v1alpha1.Window{Start: metav1.NewTime(fixedNow)},
		CompletionTime: &metav1.Time{Time: fixedNow},
		Plan:           &v1alpha1.PlanRef{Key: "k"},
		Counts:         v1alpha1.Counts{Objects: 3, RecordsWritten: 10},
		Shards:         v1alpha1.Shards{Total: 3, Succeeded: 3, Progress: "3/3"},
		Output:         &v1alpha1.Output{Files: 1},
		Stages:         []v1alpha1.StageTiming{{Name: v1alpha1.StageMerging}},
	}
	updateStatus(&st, 3, &outcome{stage: v1alpha1.StageSucceeded, message: "done"}, false, fixedNow)
	later := fixedNow.Add(time.Hour)
	startAttempt(&st, "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "again", later)
	updateStatus(&st, 4, &outcome{stage: v1alpha1.StagePlanning, message: startedMessage(st.Attempt)}, false, later)
	want := v1alpha1.CloudTrailDayStatus{
		Attempt: 2, RunID: later.UTC().Format("20060102T150405Z") + "-0a1b2c3d4e5f-2", Rerun: "again", ObservedGeneration: 3,
		Window:    &v1alpha1.Window{Start: metav1.NewTime(fixedNow)},
		StartTime: &metav1.Time{Time: later},
		Stages:    []v1alpha1.StageTiming{{Name: v1alpha1.StagePlanning, StartTime: metav1.NewTime(later)}},
		Conditions: []metav1.Condition{{
			Type: "Ready", Status: metav1.ConditionFalse, Reason: "Planning", Message: "Attempt 2: listing the day's log files",
			ObservedGeneration: 4, LastTransitionTime: metav1.NewTime(later),
		}, {
			Type: "Reconciling", Status: metav1.ConditionTrue, Reason: "Planning", Message: "Attempt 2: listing the day's log files",
			ObservedGeneration: 4, LastTransitionTime: metav1.NewTime(later),
		}, {
			Type: "Stalled", Status: metav1.ConditionFalse, Reason: "Planning",
			ObservedGeneration: 4, LastTransitionTime: metav1.NewTime(fixedNow),
		}},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestStages(t *testing.T) {
	var st v1alpha1.CloudTrailDayStatus
	beginStage(&st, v1alpha1.StagePlanning, fixedNow)
	beginStage(&st, v1alpha1.StagePlanning, fixedNow.Add(time.Hour)) // already begun
	if d, ok := endStage(&st, v1alpha1.StagePlanning, fixedNow.Add(1500*time.Millisecond)); !ok || d != 1500*time.Millisecond {
		t.Errorf("endStage = %v, %v", d, ok)
	}
	if _, ok := endStage(&st, v1alpha1.StagePlanning, fixedNow.Add(time.Hour)); ok {
		t.Error("a stage ended twice")
	}
	beginStage(&st, v1alpha1.StageFlattening, fixedNow.Add(2*time.Second))
	finish(&st, fixedNow.Add(time.Minute))
	want := []v1alpha1.StageTiming{
		{Name: "Planning", StartTime: metav1.NewTime(fixedNow), CompletionTime: &metav1.Time{Time: fixedNow.Add(1500 * time.Millisecond)},
			Duration: &metav1.Duration{Duration: 1500 * time.Millisecond}},
		{Name: "Flattening", StartTime: metav1.NewTime(fixedNow.Add(2 * time.Second)), CompletionTime: &metav1.Time{Time: fixedNow.Add(time.Minute)},
			Duration: &metav1.Duration{Duration: 58 * time.Second}},
	}
	if diff := cmp.Diff(want, st.Stages); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	// finish records when the attempt ended; the stage is the outcome's,
	// which updateStatus writes.
	if st.CompletionTime == nil || !st.CompletionTime.Time.Equal(fixedNow.Add(time.Minute)) || len(st.Conditions) != 0 {
		t.Errorf("finish left completion %v, conditions %+v", st.CompletionTime, st.Conditions)
	}
}

func TestApplyShards(t *testing.T) {
	cases := []struct {
		name string
		p    jobProgress
		want v1alpha1.Shards
	}{
		{"none yet", jobProgress{}, v1alpha1.Shards{Total: 40, Progress: "0/40"}},
		{"running", jobProgress{Succeeded: 17, Active: 4}, v1alpha1.Shards{Total: 40, Succeeded: 17, Active: 4, Progress: "17/40"}},
		{"failed", jobProgress{Succeeded: 17, Failed: 3, FailedIndexes: []int{3, 4, 9}},
			v1alpha1.Shards{Total: 40, Succeeded: 17, Failed: 3, FailedIndexes: "3-4,9", Progress: "17/40"}},
		{"done", jobProgress{Succeeded: 40, Complete: true}, v1alpha1.Shards{Total: 40, Succeeded: 40, Progress: "40/40"}},
	}
	for _, c := range cases {
		s := v1alpha1.Shards{Total: 40}
		applyShards(&s, c.p)
		if diff := cmp.Diff(c.want, s); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestFailureMessage(t *testing.T) {
	p := jobProgress{JobFailed: true, Reason: "MaxFailedIndexesExceeded", Message: "Job has exceeded maxFailedIndexes", FailedIndexes: []int{3, 7}}
	shards := []failedShard{
		{Index: 3, Objects: []string{"s3://trail/a.json.gz", "s3://trail/b.json.gz"}},
		{Index: 7, Objects: []string{"s3://trail/c.json.gz"}, More: 4},
		{Index: 9, Problem: "AWSLogs/x.json.gz: record 3 (byte 120): missing-event-time: record has no eventTime"},
	}
	got := failureMessage("flatten", "d-1-flatten", p, 40, shards)
	want := "The flatten Job d-1-flatten failed (MaxFailedIndexesExceeded: Job has exceeded maxFailedIndexes); failed shards 3,7 of 40; " +
		"shard 3 reads s3://trail/a.json.gz, s3://trail/b.json.gz; shard 7 reads s3://trail/c.json.gz and 4 more; " +
		"shard 9: AWSLogs/x.json.gz: record 3 (byte 120): missing-event-time: record has no eventTime. " +
		"Rerun the day once the cause is fixed (annotation parquetrail.io/rerun)."
	if got != want {
		t.Errorf("failureMessage =\n%s\nwant\n%s", got, want)
	}
	many := make([]failedShard, 200)
	for i := range many {
		many[i] = failedShard{Index: i, Objects: []string{strings.Repeat("o", 100)}}
	}
	if n := len(failureMessage("flatten", "j", p, 400, many)); n > maxMessageLength {
		t.Errorf("message of %d bytes", n)
	}
}

func TestAccounting(t *testing.T) {
	ok := v1alpha1.Counts{RecordsRead: 10, RecordsWritten: 6, RecordsOutsideWindow: 2, Duplicates: 1, Malformed: 1}
	if err := accountingError(&ok); err != nil {
		t.Errorf("accountingError(%+v) = %v", ok, err)
	}
	bad := ok
	bad.RecordsWritten = 5
	if err := accountingError(&bad); err == nil {
		t.Errorf("accountingError(%+v) = nil", bad)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo wörld", 8); got != "héll..." {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 8); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}
