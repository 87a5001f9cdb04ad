package controllers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// scope is what one reconcile of one day works on. The steps build the new
// status in day.Status; events and metrics wait until it is written, so a
// failed write does not announce what did not happen.
type scope struct {
	day  *v1alpha1.CloudTrailDay
	read *v1alpha1.CloudTrailDayStatus // the status as read
	now  time.Time
	jobs []batchv1.Job // every Job the day controls, of every attempt

	// window is the day's window, from its date and zone (immutable once
	// the day has started); windowErr says why the spec names none.
	window    window.Day
	windowErr error

	// The destination, opened on first use (Reconciler.destination).
	dst       store.Store
	dstErr    error
	dstOpened bool

	// outcome is what the step observed of the day, for updateStatus; nil
	// when it observed nothing new.
	outcome *outcome

	events  []event
	metrics []func(*Metrics)
	// after are side effects that must not happen unless the status is
	// written, such as removing a failed attempt's staging.
	after []func()
}

type event struct {
	related   runtime.Object
	eventType string
	reason    string
	action    string
	note      string
}

// Event reasons.
const (
	ReasonWaiting        = "Waiting"
	ReasonQueued         = "Queued"
	ReasonStarted        = "Started"
	ReasonRerun          = "Rerun"
	ReasonPlanned        = "Planned"
	ReasonPlanFailed     = "PlanFailed"
	ReasonJobCreated     = "JobCreated"
	ReasonFlattened      = "Flattened"
	ReasonSucceeded      = "Succeeded"
	ReasonFailed         = "Failed"
	ReasonInvalid        = "Invalid"
	ReasonStagingRemoved = "StagingRemoved"
	ReasonStagingKept    = "StagingKept"
)

func (r *Reconciler) newScope(ctx context.Context, day *v1alpha1.CloudTrailDay) (*scope, error) {
	if !controllerutil.ContainsFinalizer(day, v1alpha1.Finalizer) {
		orig := day.DeepCopy()
		controllerutil.AddFinalizer(day, v1alpha1.Finalizer)
		if err := r.Client.Patch(ctx, day, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return nil, fmt.Errorf("adding the finalizer: %w", err)
		}
	}
	jobs, err := r.ownedJobs(ctx, day)
	if err != nil {
		return nil, err
	}
	w, werr := window.New(day.Spec.Date, day.Spec.TimeZone)
	return &scope{
		day:       day,
		read:      day.Status.DeepCopy(),
		now:       r.Clock.Now(),
		jobs:      jobs,
		window:    w,
		windowErr: werr,
	}, nil
}

// ownedJobs lists the Jobs the day controls, through the owner-UID index
// (a name can be reused by a later object; a UID cannot).
func (r *Reconciler) ownedJobs(ctx context.Context, day *v1alpha1.CloudTrailDay) ([]batchv1.Job, error) {
	var list batchv1.JobList
	if err := r.Client.List(ctx, &list, client.InNamespace(day.Namespace), client.MatchingFields{ownerUIDIndex: string(day.UID)}); err != nil {
		return nil, fmt.Errorf("listing the day's Jobs: %w", err)
	}
	return list.Items, nil
}

// observe records the stage the day is in, with a message for people.
func (s *scope) observe(stage v1alpha1.Stage, message string) {
	s.outcome = &outcome{stage: stage, message: message}
}

// stalled records that the day failed and cannot go on without a change
// from the user; why is the Stalled reason.
func (s *scope) stalled(why, message string) {
	s.outcome = &outcome{stage: v1alpha1.StageFailed, why: why, message: message}
}

// job returns the current attempt's Job for step, if it exists.
func (s *scope) job(step string) *batchv1.Job {
	attempt := strconv.Itoa(int(s.day.Status.Attempt))
	for i := range s.jobs {
		j := &s.jobs[i]
		if j.Labels[v1alpha1.StepLabel] == step && j.Labels[v1alpha1.AttemptLabel] == attempt {
			return j
		}
	}
	return nil
}

func (s *scope) normal(related runtime.Object, reason, action, format string, args ...any) {
	s.events = append(s.events, event{related, corev1.EventTypeNormal, reason, action, fmt.Sprintf(format, args...)})
}

func (s *scope) warning(related runtime.Object, reason, action, format string, args ...any) {
	s.events = append(s.events, event{related, corev1.EventTypeWarning, reason, action, fmt.Sprintf(format, args...)})
}

func (s *scope) record(f func(*Metrics)) { s.metrics = append(s.metrics, f) }

func (s *scope) afterWrite(f func()) { s.after = append(s.after, f) }

// flush emits the queued events and metrics, and runs the side effects
// that waited, once the status is written.
func (s *scope) flush(rec recorder.EventRecorder, m *Metrics) {
	for _, e := range s.events {
		if rec != nil {
			rec.Eventf(s.day, e.related, e.eventType, e.reason, e.action, "%s", truncate(e.note, 1024))
		}
	}
	if m != nil {
		for _, f := range s.metrics {
			f(m)
		}
	}
	for _, f := range s.after {
		f()
	}
	s.events, s.metrics, s.after = nil, nil, nil
}
