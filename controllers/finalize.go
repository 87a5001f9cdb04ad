package controllers

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/window"
)

// finalize removes a deleted day's Jobs and staging data, then lets the
// object go. The published output stays: deleting the record of a day must
// not delete the day.
func (r *Reconciler) finalize(ctx context.Context, day *v1alpha1.CloudTrailDay) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(day, v1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	jobs, err := r.ownedJobs(ctx, day)
	if err != nil {
		return ctrl.Result{}, err
	}
	w, werr := window.New(day.Spec.Date, day.Spec.TimeZone)
	s := &scope{day: day, jobs: jobs, now: r.Clock.Now(), window: w, windowErr: werr}
	if err := r.deleteJobs(ctx, s, 0); err != nil {
		return ctrl.Result{}, err
	}
	if day.Status.RunID != "" {
		if err := r.cleanStaging(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	orig := day.DeepCopy()
	controllerutil.RemoveFinalizer(day, v1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, day, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s.flush(r.Recorder, nil)
	r.release(ctx, day)
	return ctrl.Result{}, nil
}

// cleanStaging removes every attempt's staging data. When the credentials
// Secret is gone (a namespace being deleted removes it too) or may not be
// used, the data is left with a warning rather than holding the namespace
// forever.
func (r *Reconciler) cleanStaging(ctx context.Context, s *scope) error {
	day := s.day
	w, err := s.window, s.windowErr
	if err != nil {
		return nil // never started, nothing staged
	}
	dst, err := r.destination(ctx, s)
	var refused *credentialsRefusedError
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || errors.As(err, &refused) {
		s.warning(nil, ReasonStagingKept, "Delete", "Left the staging data under %s: %v", stagingURL(&day.Spec, w.YMD()), err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening the destination to remove staging data: %w", err)
	}
	n, err := r.removeStaging(ctx, dst, w.YMD(), day, "")
	if err != nil {
		return err
	}
	if n > 0 {
		s.normal(nil, ReasonStagingRemoved, "Delete", "Removed %d staging objects under %s", n, stagingURL(&day.Spec, w.YMD()))
	}
	return nil
}

// stagingURL is where the day's attempts keep their staging data: one
// folder per run under the day's staging prefix (removeStaging removes this
// day's runs only).
func stagingURL(spec *v1alpha1.CloudTrailDaySpec, ymd string) string {
	return objectURL(spec, plan.DayStagingPrefix(ymd))
}
