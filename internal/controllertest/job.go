package controllertest

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The functions below change a Job's status as the Job controller would,
// in the order it would, so that the API server's status validation
// accepts them: startTime when pods start; completedIndexes and
// failedIndexes as indexes finish; SuccessCriteriaMet before Complete and
// FailureTarget before Failed, with no active pods and a completionTime on
// Complete.

// Running marks a Job started, with active pods and the indexes given as
// completed ("0-2,5") and failed (only with backoffLimitPerIndex).
func Running(job *batchv1.Job, now time.Time, active int32, completed, failed string) {
	st := &job.Status
	if st.StartTime == nil {
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
	st.Active = active
	st.Ready = ptr.To(active)
	st.Terminating = ptr.To[int32](0)
	if indexed(job) {
		st.CompletedIndexes = completed
		st.Succeeded = int32(count(completed))
		if job.Spec.BackoffLimitPerIndex != nil {
			st.FailedIndexes = ptr.To(failed)
		}
		st.Failed = int32(count(failed))
	}
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
}

// SuccessCriteriaMet is the first step of a Job's success: every
// completion done, no pod left.
func SuccessCriteriaMet(job *batchv1.Job, now time.Time) {
	n := ptr.Deref(job.Spec.Completions, 1)
	if indexed(job) {
		Running(job, now, 0, indexRange(0, int(n)-1), "")
	} else {
		Running(job, now, 0, "", "")
		job.Status.Succeeded = n
	}
	setCondition(job, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
}

// Complete is the second step: the Complete condition and completionTime.
func Complete(job *batchv1.Job, now time.Time) {
	setCondition(job, batchv1.JobComplete, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
	job.Status.CompletionTime = ptr.To(metav1.NewTime(now))
}

// FailureTarget is the first step of a Job's failure, with the failed
// indexes of an Indexed Job.
func FailureTarget(job *batchv1.Job, now time.Time, reason, message, failed string) {
	Running(job, now, 0, job.Status.CompletedIndexes, failed)
	if !indexed(job) {
		job.Status.Failed = max(job.Status.Failed, 1)
	}
	setCondition(job, batchv1.JobFailureTarget, reason, message, now)
}

// Failed is the second step: the Failed condition.
func Failed(job *batchv1.Job, now time.Time, reason, message string) {
	setCondition(job, batchv1.JobFailed, reason, message, now)
}

// UpdateStatus applies change to the live Job's status and writes it,
// retrying on conflicts.
func UpdateStatus(ctx context.Context, c client.Client, key client.ObjectKey, change func(*batchv1.Job)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		job := &batchv1.Job{}
		if err := c.Get(ctx, key, job); err != nil {
			return err
		}
		change(job)
		return c.Status().Update(ctx, job)
	})
}

// Succeed takes a Job through success in two status writes.
func Succeed(ctx context.Context, c client.Client, key client.ObjectKey, now time.Time) error {
	if err := UpdateStatus(ctx, c, key, func(j *batchv1.Job) { SuccessCriteriaMet(j, now) }); err != nil {
		return err
	}
	return UpdateStatus(ctx, c, key, func(j *batchv1.Job) { Complete(j, now) })
}

// Fail takes a Job through failure in two status writes.
func Fail(ctx context.Context, c client.Client, key client.ObjectKey, now time.Time, reason, message, failed string) error {
	if err := UpdateStatus(ctx, c, key, func(j *batchv1.Job) { FailureTarget(j, now, reason, message, failed) }); err != nil {
		return err
	}
	return UpdateStatus(ctx, c, key, func(j *batchv1.Job) { Failed(j, now, reason, message) })
}

func setCondition(job *batchv1.Job, t batchv1.JobConditionType, reason, message string, now time.Time) {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			job.Status.Conditions[i].Status = corev1.ConditionTrue
			return
		}
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{
		Type:               t,
		Status:             corev1.ConditionTrue,
		Reason:             reason,
		Message:            message,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
	})
}

func indexed(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
}

func indexRange(lo, hi int) string {
	switch {
	case hi < lo:
		return ""
	case hi == lo:
		return fmt.Sprint(lo)
	default:
		return fmt.Sprintf("%d-%d", lo, hi)
	}
}

// count counts the indexes of a well-formed index list.
func count(s string) int {
	if s == "" {
		return 0
	}
	n := 0
	var lo, hi int
	for _, part := range strings.Split(s, ",") {
		if _, err := fmt.Sscanf(part, "%d-%d", &lo, &hi); err == nil {
			n += hi - lo + 1
			continue
		}
		n++
	}
	return n
}
