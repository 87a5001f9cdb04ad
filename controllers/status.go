package controllers

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/plan"
)

// The functions here compute status from what the reconciler observed.
// They do no I/O, so that table tests cover them.

// maxMessageLength bounds condition messages (the API allows 32768).
const maxMessageLength = 2048

// stageOf is the stage the status records: the Ready condition's reason.
func stageOf(st *v1alpha1.CloudTrailDayStatus) v1alpha1.Stage {
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return ""
	}
	return v1alpha1.Stage(c.Reason)
}

// finished says whether the current attempt is over.
func finished(stage v1alpha1.Stage) bool {
	return stage == v1alpha1.StageSucceeded || stage == v1alpha1.StageFailed
}

// outcome is what a reconcile's step observed of the day: the stage it is
// in, a message for people, and for a failed attempt why (the Stalled
// reason). The steps only record it; updateStatus turns it into conditions.
type outcome struct {
	stage   v1alpha1.Stage
	why     string
	message string
}

// updateStatus computes the conditions from what the steps observed, in
// the manner of Cluster API's updateStatus: the three kstatus conditions
// from the outcome (nil: the step observed nothing new and they stay), and
// Verified from the stage and the integrity counts.
func updateStatus(st *v1alpha1.CloudTrailDayStatus, generation int64, o *outcome, verify bool, now time.Time) {
	if o != nil {
		for _, c := range conditions(*o) {
			c.ObservedGeneration, c.LastTransitionTime = generation, metav1.NewTime(now)
			meta.SetStatusCondition(&st.Conditions, c)
		}
	}
	setVerified(st, generation, verify, now)
}

// conditions are the kstatus conditions of an outcome: Ready is True only
// once the day is published, with the stage as its reason; Reconciling is
// True while the day waits, is queued or runs; Stalled is True on failure,
// with why as its reason. kstatus then reads Failed as Failed, Succeeded as
// Current and the rest as InProgress.
func conditions(o outcome) []metav1.Condition {
	message := truncate(o.message, maxMessageLength)
	cond := func(t string, ok bool, reason, message string) metav1.Condition {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		return metav1.Condition{Type: t, Status: status, Reason: reason, Message: message}
	}
	out := []metav1.Condition{cond(v1alpha1.ConditionReady, o.stage == v1alpha1.StageSucceeded, string(o.stage), message)}
	if finished(o.stage) {
		out = append(out, cond(v1alpha1.ConditionReconciling, false, string(o.stage), "The attempt is over"))
	} else {
		out = append(out, cond(v1alpha1.ConditionReconciling, true, string(o.stage), message))
	}
	if o.stage == v1alpha1.StageFailed {
		why := o.why
		if why == "" {
			why = string(v1alpha1.StageFailed)
		}
		out = append(out, cond(v1alpha1.ConditionStalled, true, why, message))
	} else {
		out = append(out, cond(v1alpha1.ConditionStalled, false, string(o.stage), ""))
	}
	return out
}

// observeGeneration records that a finished attempt's outcome holds for
// the spec's generation (changes apply to the next attempt).
func observeGeneration(st *v1alpha1.CloudTrailDayStatus, generation int64) {
	for i := range st.Conditions {
		st.Conditions[i].ObservedGeneration = generation
	}
}

// startAttempt begins a new attempt of the day: a new run ID and staging
// area, and nothing of the previous attempt's outcome. rerun is the token of
// the rerun annotation the attempt answers.
func startAttempt(st *v1alpha1.CloudTrailDayStatus, uid types.UID, rerun string, now time.Time) {
	st.Attempt++
	st.RunID = runID(uid, st.Attempt, now)
	st.Rerun = rerun
	t := metav1.NewTime(now)
	st.StartTime = &t
	st.CompletionTime = nil
	st.Stages = nil
	st.Plan = nil
	st.Counts = v1alpha1.Counts{}
	st.Integrity = nil
	st.Shards = v1alpha1.Shards{}
	st.Merge = v1alpha1.MergeProgress{}
	st.Output = nil
	beginStage(st, v1alpha1.StagePlanning, now)
}

// startedMessage is the Ready message of a new attempt.
func startedMessage(attempt int32) string {
	return fmt.Sprintf("Attempt %d: listing the day's log files", attempt)
}

// beginStage records the start of a stage of the current attempt.
func beginStage(st *v1alpha1.CloudTrailDayStatus, name v1alpha1.Stage, now time.Time) {
	for i := range st.Stages {
		if st.Stages[i].Name == name {
			return
		}
	}
	st.Stages = append(st.Stages, v1alpha1.StageTiming{Name: name, StartTime: metav1.NewTime(now)})
}

// endStage records the end of a stage and returns how long it took; ok is
// false when the stage was not running.
func endStage(st *v1alpha1.CloudTrailDayStatus, name v1alpha1.Stage, now time.Time) (d time.Duration, ok bool) {
	for i := range st.Stages {
		s := &st.Stages[i]
		if s.Name != name || s.CompletionTime != nil {
			continue
		}
		t := metav1.NewTime(now)
		s.CompletionTime = &t
		d = now.Sub(s.StartTime.Time).Round(time.Millisecond)
		s.Duration = &metav1.Duration{Duration: d}
		return d, true
	}
	return 0, false
}

// finish ends the attempt's stages and records when it ended.
func finish(st *v1alpha1.CloudTrailDayStatus, now time.Time) {
	for _, s := range []v1alpha1.Stage{v1alpha1.StagePlanning, v1alpha1.StageFlattening, v1alpha1.StageMerging} {
		endStage(st, s, now)
	}
	t := metav1.NewTime(now)
	st.CompletionTime = &t
}

// indexes is what an Indexed Job's status says of its total indexes.
type indexes struct {
	succeeded, failed, active int32
	failedIndexes, progress   string
}

func indexesOf(p jobProgress, total int32) indexes {
	done := min(p.Succeeded, total)
	return indexes{done, p.Failed, p.Active, truncate(formatIndexes(p.FailedIndexes), 1024), progress(done, total)}
}

// applyShards records the flatten Job's progress.
func applyShards(s *v1alpha1.Shards, p jobProgress) {
	i := indexesOf(p, s.Total)
	s.Succeeded, s.Failed, s.Active, s.FailedIndexes, s.Progress = i.succeeded, i.failed, i.active, i.failedIndexes, i.progress
}

// applyMerge records the range merge Job's progress.
func applyMerge(m *v1alpha1.MergeProgress, p jobProgress) {
	i := indexesOf(p, m.Indexes)
	m.Succeeded, m.Failed, m.Active, m.FailedIndexes, m.Progress = i.succeeded, i.failed, i.active, i.failedIndexes, i.progress
}

// indexMessage is the Ready message while an Indexed Job runs: "3 of 8
// ranges merged, 2 running (Job J)".
func indexMessage(succeeded, total, active, failed int32, what, job string) string {
	msg := fmt.Sprintf("%d of %d %s, %d running (Job %s)", succeeded, total, what, active, job)
	if failed > 0 {
		msg += fmt.Sprintf(", %d failed", failed)
	}
	return msg
}

// rangesMessage is the Ready message while the ranges of a day merge.
func rangesMessage(m *v1alpha1.MergeProgress, job string) string {
	return indexMessage(m.Succeeded, m.Indexes, m.Active, m.Failed, "ranges merged", job)
}

// mergingMessage is the Ready message while the merge Job (or, for a day
// merged in ranges, the publish Job) runs.
func mergingMessage(st *v1alpha1.CloudTrailDayStatus, partition, job string) string {
	if len(st.Merge.Ranges) > 0 {
		return fmt.Sprintf("Publishing the %d merged ranges into %s (Job %s)", st.Merge.Indexes, partition, job)
	}
	return fmt.Sprintf("Merging %d parts into %s (Job %s)", st.Shards.Total, partition, job)
}

// progress is "succeeded/total", as kubectl get shows it.
func progress(succeeded, total int32) string { return fmt.Sprintf("%d/%d", succeeded, total) }

// flattenMessage is the Ready message while shards run.
func flattenMessage(s *v1alpha1.Shards, job string) string {
	return indexMessage(s.Succeeded, s.Total, s.Active, s.Failed, "shards flattened", job)
}

// planningMessage is the Ready message while the plan Job runs.
func planningMessage(attempt int32, job string) string {
	return fmt.Sprintf("Attempt %d: listing the day's log files (Job %s)", attempt, job)
}

// integrityCounts are a verification report's counts for the status; nil
// when there was no verification.
func integrityCounts(r *digest.Report) *v1alpha1.IntegrityCounts {
	if r == nil {
		return nil
	}
	c := r.Counts
	return &v1alpha1.IntegrityCounts{
		Verified: c.Verified, NotYetCovered: c.NotCovered, HashMismatch: c.Mismatch, Missing: c.Missing,
		Unlisted: c.Unlisted, DigestInvalid: c.DigestInvalid, Digests: c.Digests, DigestFailures: c.DigestFailures,
	}
}

// integrityText names the counts of a verification that are not all
// verified, "3 hash mismatches, 1 missing".
func integrityText(c *v1alpha1.IntegrityCounts) string {
	var parts []string
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(c.HashMismatch, "hash mismatch", "hash mismatches")
	add(c.Missing, "missing", "missing")
	add(c.Unlisted, "unlisted", "unlisted")
	add(c.DigestInvalid, "vouched for by a failed digest", "vouched for by a failed digest")
	add(c.DigestFailures, "digest failure", "digest failures")
	add(c.NotYetCovered, "not yet covered by a delivered digest", "not yet covered by a delivered digest")
	return strings.Join(parts, ", ")
}

// verifiedCondition is the Verified condition of a status: nil (absent)
// when the day does not verify, Unknown until the plan has verified, True
// when every selected file verified, False naming the counts otherwise.
func verifiedCondition(verify bool, stage v1alpha1.Stage, c *v1alpha1.IntegrityCounts) *metav1.Condition {
	switch {
	case c != nil:
		if text := integrityText(c); text != "" {
			reason := v1alpha1.VerifiedTampered
			if c.NotYetCovered > 0 && c.HashMismatch+c.Missing+c.Unlisted+c.DigestInvalid+c.DigestFailures == 0 {
				reason = v1alpha1.VerifiedNotYetCovered
			}
			return &metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionFalse, Reason: reason,
				Message: fmt.Sprintf("%d of the day's log files verified against CloudTrail's signed digests; %s (named in the run's error manifest)", c.Verified, text)}
		}
		return &metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionTrue, Reason: v1alpha1.VerifiedAll,
			Message: fmt.Sprintf("All %d log files verified against %d signed digests", c.Verified, c.Digests)}
	case verify && (stage == v1alpha1.StagePlanning || stage == v1alpha1.StageWaiting || stage == v1alpha1.StageQueued):
		return &metav1.Condition{Type: v1alpha1.ConditionVerified, Status: metav1.ConditionUnknown, Reason: v1alpha1.VerifiedPending,
			Message: "The log files are verified when the day is planned"}
	}
	return nil
}

// setVerified writes the Verified condition verifiedCondition computes.
func setVerified(st *v1alpha1.CloudTrailDayStatus, generation int64, verify bool, now time.Time) {
	c := verifiedCondition(verify, stageOf(st), st.Integrity)
	if c == nil {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionVerified)
		return
	}
	c.ObservedGeneration, c.LastTransitionTime = generation, metav1.NewTime(now)
	meta.SetStatusCondition(&st.Conditions, *c)
}

// planFailure is the Stalled reason and message of a day whose plan Job
// failed on bad input, from what the worker left: when the integrity check
// failed the day, the counts and the first files that did not verify, and
// where the rest are named (errors).
func planFailure(job string, f *plan.PlanFailure, errors string) (why, msg string) {
	if f.Integrity == nil || !f.Integrity.Tampered() {
		return v1alpha1.StalledPlanFailed, truncate(fmt.Sprintf("The plan Job %s failed: %s. Rerun the day once the cause is fixed (annotation %s).", job, f.Error, v1alpha1.RerunAnnotation), maxMessageLength)
	}
	const maxFiles = 5
	var b strings.Builder
	fmt.Fprintf(&b, "The day's log files do not verify against CloudTrail's signed digests: %s", integrityText(integrityCounts(f.Integrity)))
	var named []string
	for _, d := range f.Integrity.Digests {
		named = append(named, fmt.Sprintf("digest %s (%s)", d.Key, d.Failure))
	}
	for _, file := range f.Integrity.Files {
		if file.Outcome != digest.Verified && file.Outcome != digest.NotCovered {
			named = append(named, fmt.Sprintf("%s (%s)", file.Key, file.Outcome))
		}
	}
	if len(named) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(named[:min(len(named), maxFiles)], ", "))
		if len(named) > maxFiles {
			fmt.Fprintf(&b, " and %d more", len(named)-maxFiles)
		}
	}
	fmt.Fprintf(&b, "; every one is named in %s. spec.integrity.onFailure is Fail: nothing was read or published.", errors)
	return v1alpha1.StalledIntegrityFailed, truncate(b.String(), maxMessageLength)
}

// waitingMessage is the Ready message of a day whose window is still open.
func waitingMessage(w *v1alpha1.Window, now time.Time) string {
	return fmt.Sprintf("The day's window closes at %s, with the late-arrival margin (in %s)",
		w.ClosesAt.UTC().Format(time.RFC3339), w.ClosesAt.Sub(now).Round(time.Second))
}

// failedShard is a shard that failed for good, with the objects it was to
// read (as many as fit in a message).
type failedShard struct {
	Index   int
	Problem string // what the worker reported, when it failed on bad input
	Objects []string
	More    int // objects not named
}

// failureMessage names what failed: the Job, its reason, and the failed
// shards with the objects behind them, so that a user can find the culprit
// without opening the manifests.
func failureMessage(step, job string, p jobProgress, total int32, shards []failedShard) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The %s Job %s failed", step, job)
	if p.Reason != "" {
		fmt.Fprintf(&b, " (%s", p.Reason)
		if p.Message != "" {
			fmt.Fprintf(&b, ": %s", p.Message)
		}
		b.WriteString(")")
	}
	if len(p.FailedIndexes) > 0 {
		unit := "shards"
		if step == v1alpha1.StepMerge {
			unit = "ranges"
		}
		fmt.Fprintf(&b, "; failed %s %s of %d", unit, truncate(formatIndexes(p.FailedIndexes), 200), total)
	}
	for _, s := range shards {
		if s.Problem != "" {
			fmt.Fprintf(&b, "; shard %d: %s", s.Index, s.Problem)
			continue
		}
		fmt.Fprintf(&b, "; shard %d reads %s", s.Index, strings.Join(s.Objects, ", "))
		if s.More > 0 {
			fmt.Fprintf(&b, " and %d more", s.More)
		}
	}
	b.WriteString(". Rerun the day once the cause is fixed (annotation " + v1alpha1.RerunAnnotation + ").")
	return truncate(b.String(), maxMessageLength)
}

// successMessage sums up a published day.
func successMessage(c *v1alpha1.Counts, o *v1alpha1.Output) string {
	msg := fmt.Sprintf("Wrote %d records in %d files to %s (read %d: %d outside the window, %d duplicates, %d malformed)",
		c.RecordsWritten, o.Files, o.Location, c.RecordsRead, c.RecordsOutsideWindow, c.Duplicates, c.Malformed)
	if o.Errors != "" {
		msg += "; problems are named in " + o.Errors
	}
	return msg
}

// accountingError says whether the counts do not add up; a day whose
// accounting is off has lost or invented records.
func accountingError(c *v1alpha1.Counts) error {
	sum := c.RecordsWritten + c.RecordsOutsideWindow + c.Duplicates + c.Malformed
	if sum != c.RecordsRead {
		return fmt.Errorf("the accounting does not add up: read %d, but written %d + outside the window %d + duplicates %d + malformed %d = %d",
			c.RecordsRead, c.RecordsWritten, c.RecordsOutsideWindow, c.Duplicates, c.Malformed, sum)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "..."
	cut := n - len(ellipsis)
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
