package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// The steps of a day. Each reads the scope, does at most one kind of side
// effect, records the outcome in the new status and says whether the
// reconcile ends there. A step that starts something new (an attempt, a
// plan, the end of flattening) ends the reconcile, so that the status
// recording it is written before anything builds on it.

// step runs the step the day's stage calls for.
func (r *Reconciler) step(ctx context.Context, s *scope) (ctrl.Result, error) {
	if res, done, err := r.start(ctx, s); done {
		return res, err
	}
	switch stageOf(&s.day.Status) {
	case v1alpha1.StagePlanning:
		return ctrl.Result{}, r.plan(ctx, s)
	case v1alpha1.StageFlattening:
		return ctrl.Result{}, r.flatten(ctx, s)
	case v1alpha1.StageMerging:
		return ctrl.Result{}, r.merge(ctx, s)
	}
	// A finished attempt's outcome holds for a changed spec too (changes
	// apply to the next attempt).
	observeGeneration(&s.day.Status, s.day.Generation)
	return ctrl.Result{}, nil
}

// start waits for the day's window to close, then for a slot, then starts
// the first attempt; later, it starts a new attempt when the rerun
// annotation asks.
func (r *Reconciler) start(ctx context.Context, s *scope) (ctrl.Result, bool, error) {
	day, st := s.day, &s.day.Status
	w, err := s.window, s.windowErr
	if err != nil {
		// Only reachable before the day started (the date and zone are
		// immutable after), so a corrected spec is picked up again.
		s.stalled(v1alpha1.StalledInvalidSpec, "Invalid day: "+err.Error())
		return ctrl.Result{}, true, nil
	}
	st.Window = windowStatus(w, lateArrival(&day.Spec))
	rerun := day.Annotations[v1alpha1.RerunAnnotation]
	switch {
	case st.Attempt == 0:
		if s.now.Before(st.Window.ClosesAt.Time) {
			if stageOf(s.read) != v1alpha1.StageWaiting {
				s.normal(nil, ReasonWaiting, "Wait", "Waiting until %s, when the day's window and its late-arrival margin have passed",
					st.Window.ClosesAt.UTC().Format(time.RFC3339))
			}
			s.observe(v1alpha1.StageWaiting, waitingMessage(st.Window, s.now))
			return ctrl.Result{RequeueAfter: st.Window.ClosesAt.Sub(s.now) + time.Second}, true, nil
		}
		if err := validate(&day.Spec); err != nil {
			s.stalled(v1alpha1.StalledInvalidSpec, "Invalid day: "+err.Error())
			return ctrl.Result{}, true, nil
		}
		if res, queued, err := r.queueUp(ctx, s); queued || err != nil {
			return res, true, err
		}
		startAttempt(st, day.UID, rerunToken(rerun), s.now)
		s.observe(v1alpha1.StagePlanning, startedMessage(st.Attempt))
		s.normal(nil, ReasonStarted, "Start", "Started attempt %d of %s (%s)", st.Attempt, day.Spec.Date, w)
		return ctrl.Result{}, true, nil
	case rerun != "" && rerunToken(rerun) != st.Rerun:
		if err := validate(&day.Spec); err != nil {
			s.stalled(v1alpha1.StalledInvalidSpec, "Invalid rerun: "+err.Error())
			return ctrl.Result{}, true, nil
		}
		if running(stageOf(st)) {
			// The running attempt gives way, and its slot passes to the
			// new one; its Jobs must not publish.
			if err := r.deleteJobs(ctx, s, st.Attempt); err != nil {
				return ctrl.Result{}, true, err
			}
		} else if res, queued, err := r.queueUp(ctx, s); queued || err != nil {
			return res, true, err
		}
		startAttempt(st, day.UID, rerunToken(rerun), s.now)
		s.observe(v1alpha1.StagePlanning, startedMessage(st.Attempt))
		s.normal(nil, ReasonRerun, "Start", "Started attempt %d of %s for rerun %q; it replaces the day's output", st.Attempt, day.Spec.Date, rerun)
		return ctrl.Result{}, true, nil
	}
	return ctrl.Result{}, false, nil
}

// queueUp takes a slot for the day, or records it as Queued.
func (r *Reconciler) queueUp(ctx context.Context, s *scope) (res ctrl.Result, queued bool, err error) {
	a, err := r.admit(ctx, s.day)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	if a.ok {
		return ctrl.Result{}, false, nil
	}
	if stageOf(s.read) != v1alpha1.StageQueued {
		s.normal(nil, ReasonQueued, "Queue", "%s", queuedMessage(a, r.Config.MaxConcurrentDays))
	}
	s.observe(v1alpha1.StageQueued, queuedMessage(a, r.Config.MaxConcurrentDays))
	return ctrl.Result{RequeueAfter: queuedRecheck}, true, nil
}

// plan runs the plan Job, which lists the day and writes the attempt's plan
// into its staging area, and reads the plan's counts into the status once
// the Job has completed. The Job keeps a plan already written for the run
// (shard-worker plan --run-id), so a retried pod never plans other shards.
func (r *Reconciler) plan(ctx context.Context, s *scope) error {
	day, st := s.day, &s.day.Status
	w := s.window
	job := s.job(v1alpha1.StepPlan)
	if job == nil {
		dst, err := r.destination(ctx, s)
		var refused *credentialsRefusedError
		if errors.As(err, &refused) {
			s.warning(nil, ReasonPlanFailed, "Plan", "%v", err)
			r.fail(s, v1alpha1.StalledCredentialsRefused, "Cannot use the credentials: "+err.Error())
			return nil
		}
		if err != nil {
			s.observe(v1alpha1.StagePlanning, "Cannot reach the destination, retrying: "+err.Error())
			return err
		}
		r.removeStaging(ctx, dst, w.YMD(), day, st.RunID)
		rivals, err := r.rivals(ctx, day, w.YMD())
		if err != nil {
			s.observe(v1alpha1.StagePlanning, "Planning failed, retrying: "+err.Error())
			return err
		}
		created, err := r.createJob(ctx, s, newPlanJob(day, r.jobDefaults(), rivals))
		if err != nil || created == nil {
			return err
		}
		s.observe(v1alpha1.StagePlanning, planningMessage(st.Attempt, created.Name))
		s.normal(created, ReasonJobCreated, "CreateJob", "Created Job %s to list the day's log files", created.Name)
		return nil
	}
	p := observeJob(job)
	switch {
	case p.JobFailed:
		r.planFailed(ctx, s, job, p)
		return nil
	case p.Complete:
		return r.planned(ctx, s, job)
	default:
		s.observe(v1alpha1.StagePlanning, planningMessage(st.Attempt, job.Name))
		return nil
	}
}

// planned reads the plan the plan Job wrote into the status and moves on.
func (r *Reconciler) planned(ctx context.Context, s *scope, job *batchv1.Job) error {
	day, st := s.day, &s.day.Status
	w := s.window
	key := plan.PlanKey(w.YMD(), st.RunID)
	dst, err := r.destination(ctx, s)
	var p *plan.Plan
	var sum string
	if err == nil {
		p, sum, err = plan.Read(ctx, dst, key)
	}
	if err != nil {
		err = fmt.Errorf("the plan Job %s completed, but its plan %s cannot be read: %w", job.Name, objectURL(&day.Spec, key), err)
		s.observe(v1alpha1.StagePlanning, "Reading the plan, retrying: "+err.Error())
		return err
	}
	st.Plan = &v1alpha1.PlanRef{Key: key, SHA256: sum}
	st.Counts.Objects = p.Counts.Selected
	st.Counts.Bytes = p.Counts.SelectedBytes
	st.Integrity = integrityCounts(p.Integrity)
	st.Shards = v1alpha1.Shards{Total: int32(len(p.Shards)), Progress: progress(0, int32(len(p.Shards)))}
	if d, ok := endStage(st, v1alpha1.StagePlanning, s.now); ok {
		s.record(func(m *Metrics) { m.stage(v1alpha1.StagePlanning, d) })
	}
	s.normal(job, ReasonPlanned, "Plan", "Planned %d objects (%d bytes) in %d shards from %d date folders", p.Counts.Selected, p.Counts.SelectedBytes, len(p.Shards), p.Counts.Prefixes)
	if p.Counts.Selected == 0 && !day.Spec.AllowEmpty {
		// The merge worker would refuse to publish it (bad input); saying
		// so here names the cause without running a pod.
		msg := fmt.Sprintf("No log file selected for %s (%s) under %s: %d objects listed in %d date folders, none an event log of the day; check the source, organization ID, accounts and regions, or set spec.allowEmpty to publish an empty day",
			day.Spec.Date, w.ZoneName(), sourceURL(&day.Spec), p.Counts.Listed, p.Counts.Prefixes)
		s.warning(nil, ReasonPlanFailed, "Plan", "%s", msg)
		r.removeStaging(ctx, dst, w.YMD(), day, "")
		r.fail(s, v1alpha1.StalledNoLogFiles, msg)
		return nil
	}
	if len(p.Shards) == 0 {
		beginStage(st, v1alpha1.StageMerging, s.now)
		s.observe(v1alpha1.StageMerging, "No log files for the day: publishing an empty day")
		return nil
	}
	beginStage(st, v1alpha1.StageFlattening, s.now)
	s.observe(v1alpha1.StageFlattening, fmt.Sprintf("Planned %d objects in %d shards", p.Counts.Selected, len(p.Shards)))
	return nil
}

// planFailed fails the day whose plan Job failed, naming why: the problem
// the worker left (and, when the integrity check failed the day, the files
// that did not verify), else the Job's own reason.
func (r *Reconciler) planFailed(ctx context.Context, s *scope, job *batchv1.Job, p jobProgress) {
	day, st := s.day, &s.day.Status
	w := s.window
	why, msg := v1alpha1.StalledPlanFailed, failureMessage(v1alpha1.StepPlan, job.Name, p, 1, nil)
	if dst, err := r.destination(ctx, s); err == nil {
		f, err := plan.ReadPlanFailure(ctx, dst, plan.PlanFailureKey(w.YMD(), st.RunID))
		switch {
		case err == nil:
			st.Integrity = integrityCounts(f.Integrity)
			why, msg = planFailure(job.Name, f, objectURL(&day.Spec, plan.ErrorsKey(w.YMD(), st.RunID)))
		case !store.IsNotExist(err):
			log.FromContext(ctx).Error(err, "Reading the plan's failure", "job", job.Name)
		}
	}
	s.warning(job, ReasonPlanFailed, "Plan", "%s", msg)
	r.fail(s, why, msg)
	s.afterWrite(func() { r.dropStaging(ctx, s) })
}

// flatten runs the Indexed Job and follows it; when every shard is done it
// sums the shards' results into the status and moves on to the merge.
func (r *Reconciler) flatten(ctx context.Context, s *scope) error {
	day, st := s.day, &s.day.Status
	job := s.job(v1alpha1.StepFlatten)
	if job == nil {
		created, err := r.createJob(ctx, s, newFlattenJob(day, r.jobDefaults()))
		if err != nil || created == nil {
			return err
		}
		st.Shards.Progress = progress(0, st.Shards.Total)
		s.observe(v1alpha1.StageFlattening, flattenMessage(&st.Shards, created.Name))
		s.normal(created, ReasonJobCreated, "CreateJob", "Created Job %s to flatten %d shards, %d at a time", created.Name, st.Shards.Total, ptr.Deref(created.Spec.Parallelism, 0))
		return nil
	}
	p := observeJob(job)
	applyShards(&st.Shards, p)
	if !p.Complete && !p.JobFailed {
		if err := r.syncParallelism(ctx, s, job); err != nil {
			return err
		}
	}
	switch {
	case p.JobFailed:
		shards := r.failedShards(ctx, s, p.FailedIndexes)
		msg := failureMessage(v1alpha1.StepFlatten, job.Name, p, st.Shards.Total, shards)
		s.warning(job, ReasonFailed, "Flatten", "%s", msg)
		r.fail(s, v1alpha1.StalledFlattenFailed, msg)
		s.afterWrite(func() { r.dropStaging(ctx, s) })
	case p.Complete:
		if err := r.addResults(ctx, s); err != nil {
			s.observe(v1alpha1.StageFlattening, "Reading the shards' results, retrying: "+err.Error())
			return err
		}
		if d, ok := endStage(st, v1alpha1.StageFlattening, s.now); ok {
			s.record(func(m *Metrics) { m.stage(v1alpha1.StageFlattening, d) })
		}
		bytes := st.Counts.Bytes
		s.record(func(m *Metrics) { m.ReadBytes.Add(float64(bytes)) })
		beginStage(st, v1alpha1.StageMerging, s.now)
		s.observe(v1alpha1.StageMerging, fmt.Sprintf("All %d shards flattened: %d records read", st.Shards.Total, st.Counts.RecordsRead))
		s.normal(job, ReasonFlattened, "Flatten", "Flattened %d shards: %d records read, %d outside the window, %d malformed", st.Shards.Total, st.Counts.RecordsRead, st.Counts.RecordsOutsideWindow, st.Counts.Malformed)
	default:
		s.observe(v1alpha1.StageFlattening, flattenMessage(&st.Shards, job.Name))
	}
	return nil
}

// merge runs the merge Job and, once it has published the day, reads the
// day's manifest into the status. A day split into ranges is merged by an
// Indexed Job, one range per index, then published by the publish Job.
func (r *Reconciler) merge(ctx context.Context, s *scope) error {
	day, st := s.day, &s.day.Status
	w := s.window
	step, newPublisher := v1alpha1.StepMerge, newMergeJob
	if len(st.Merge.Ranges) > 0 {
		if merged, err := r.mergeRanges(ctx, s, w.YMD()); err != nil || !merged {
			return err
		}
		step, newPublisher = v1alpha1.StepPublish, newPublishJob
	}
	job := s.job(step)
	if job == nil {
		// A Job that published and was removed (its TTL passed while the
		// manager was away) must not run again: its staging is gone.
		if done, _, err := r.published(ctx, s, w.YMD()); err != nil || done {
			return err
		}
		created, err := r.createJob(ctx, s, newPublisher(day, r.jobDefaults()))
		if err != nil || created == nil {
			return err
		}
		s.observe(v1alpha1.StageMerging, mergingMessage(st, plan.PartitionPrefix(w.YMD()), created.Name))
		if step == v1alpha1.StepPublish {
			s.normal(created, ReasonJobCreated, "CreateJob", "Created Job %s to publish the %d merged ranges", created.Name, st.Merge.Indexes)
		} else {
			s.normal(created, ReasonJobCreated, "CreateJob", "Created Job %s to merge %d parts", created.Name, st.Shards.Total)
		}
		return nil
	}
	p := observeJob(job)
	switch {
	case p.JobFailed:
		msg := failureMessage(step, job.Name, p, 1, nil)
		if other := r.otherPublisher(ctx, s, w.YMD()); other != "" {
			msg = truncate(other+" "+msg, maxMessageLength)
		}
		s.warning(job, ReasonFailed, "Merge", "%s", msg)
		r.fail(s, v1alpha1.StalledMergeFailed, msg)
		s.afterWrite(func() { r.dropStaging(ctx, s) })
	case p.Complete:
		done, other, err := r.published(ctx, s, w.YMD())
		if err != nil || done {
			return err
		}
		if other != "" {
			// Published, then replaced: a later run of the same day and
			// destination (another CloudTrailDay) won. Retrying cannot help.
			by := "(another CloudTrailDay for " + day.Spec.Date + " into " + destinationURL(&day.Spec) + "?)"
			if name := r.dayOfRun(ctx, other); name != "" {
				by = "of CloudTrailDay " + name
			}
			msg := fmt.Sprintf("The %s Job %s published the day, but run %s has replaced it since %s", step, job.Name, other, by)
			s.warning(job, ReasonFailed, "Merge", "%s", msg)
			r.fail(s, v1alpha1.StalledReplacedByOtherRun, msg)
			return nil
		}
		err = fmt.Errorf("the %s Job %s completed, but the day has no manifest", step, job.Name)
		s.observe(v1alpha1.StageMerging, "Reading the day's manifest, retrying: "+err.Error())
		return err
	default:
		s.observe(v1alpha1.StageMerging, mergingMessage(st, plan.PartitionPrefix(w.YMD()), job.Name))
	}
	return nil
}

// mergeRanges runs the Indexed merge Job of a day split into ranges and
// follows it; it says whether every range is merged.
func (r *Reconciler) mergeRanges(ctx context.Context, s *scope, ymd string) (bool, error) {
	day, st := s.day, &s.day.Status
	job := s.job(v1alpha1.StepMerge)
	if job == nil {
		if s.job(v1alpha1.StepPublish) != nil {
			return true, nil
		}
		if done, _, err := r.published(ctx, s, ymd); err != nil || done {
			return false, err
		}
		created, err := r.createJob(ctx, s, newRangeMergeJob(day, r.jobDefaults()))
		if err != nil || created == nil {
			return false, err
		}
		st.Merge.Progress = progress(0, st.Merge.Indexes)
		s.observe(v1alpha1.StageMerging, rangesMessage(&st.Merge, created.Name))
		s.normal(created, ReasonJobCreated, "CreateJob", "Created Job %s to merge %d parts as %d ranges of event time, %d at a time",
			created.Name, st.Shards.Total, st.Merge.Indexes, ptr.Deref(created.Spec.Parallelism, 0))
		return false, nil
	}
	p := observeJob(job)
	applyMerge(&st.Merge, p)
	switch {
	case p.JobFailed:
		msg := failureMessage(v1alpha1.StepMerge, job.Name, p, st.Merge.Indexes, nil)
		s.warning(job, ReasonFailed, "Merge", "%s", msg)
		r.fail(s, v1alpha1.StalledMergeFailed, msg)
		s.afterWrite(func() { r.dropStaging(ctx, s) })
		return false, nil
	case p.Complete:
		return true, nil
	}
	s.observe(v1alpha1.StageMerging, rangesMessage(&st.Merge, job.Name))
	return false, nil
}

// otherPublisher names the run that kept this attempt's merge from
// publishing: one holding the day's lease (another CloudTrailDay for the
// same date and destination), a newer run that published it, or a run of
// another CloudTrailDay that published it first (a rival: docs/publishing.md,
// two days on one destination). "" when there is none or the store cannot
// say.
func (r *Reconciler) otherPublisher(ctx context.Context, s *scope, ymd string) string {
	dst, err := r.destination(ctx, s)
	if err != nil {
		return ""
	}
	this := s.day.Status.RunID
	if l, err := commit.ReadLease(ctx, dst, ymd, s.now); err == nil && l != nil && l.Run != this {
		return fmt.Sprintf("The day is being published by run %s%s (%s) until %s.", l.Run, r.ofDay(ctx, l.Run), l.Holder, l.Expires.UTC().Format(time.RFC3339))
	}
	var m struct {
		RunID string `json:"runID"`
	}
	if readJSON(ctx, dst, plan.ManifestKey(ymd), &m) != nil || m.RunID == "" || m.RunID == this {
		return ""
	}
	if commit.Older(this, m.RunID) {
		return fmt.Sprintf("The day was published by run %s%s, which started after this attempt's run %s.", m.RunID, r.ofDay(ctx, m.RunID), this)
	}
	if name := r.dayOfRun(ctx, m.RunID); name != "" && !runOf(s.day.UID, m.RunID) {
		return fmt.Sprintf("The day was published first by run %s of CloudTrailDay %s, which this day does not replace: rerun %s to replace its output, or delete it (its output stays) and rerun this day.", m.RunID, name, name)
	}
	return ""
}

// ofDay is " of CloudTrailDay ns/name" for a run of a day that exists, else "".
func (r *Reconciler) ofDay(ctx context.Context, run string) string {
	if name := r.dayOfRun(ctx, run); name != "" {
		return " of CloudTrailDay " + name
	}
	return ""
}

// dayOfRun names ("ns/name") the CloudTrailDay that run is an attempt of,
// "" when it is not an operator run or its day no longer exists.
func (r *Reconciler) dayOfRun(ctx context.Context, run string) string {
	part := commit.RunDay(run)
	if part == "" {
		return ""
	}
	var list v1alpha1.CloudTrailDayList
	if err := r.Client.List(ctx, &list); err != nil {
		return ""
	}
	for i := range list.Items {
		if d := &list.Items[i]; uidPart(d.UID) == part {
			return d.Namespace + "/" + d.Name
		}
	}
	return ""
}

// rivals are the day parts of the run IDs of the other CloudTrailDays that
// publish the same partition (the same destination and proc_ymd), unless
// being deleted: this attempt's merge does not replace a day one of them
// published, so that of two such days the first to publish keeps the day
// and the other fails naming it. Days created later need not be listed:
// their runs start later, and an older run never replaces a newer one.
func (r *Reconciler) rivals(ctx context.Context, day *v1alpha1.CloudTrailDay, ymd string) ([]string, error) {
	var list v1alpha1.CloudTrailDayList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing the days that publish into %s: %w", objectURL(&day.Spec, plan.PartitionPrefix(ymd)), err)
	}
	var out []string
	for i := range list.Items {
		d := &list.Items[i]
		if d.UID == day.UID || !d.DeletionTimestamp.IsZero() ||
			destinationURL(&d.Spec) != destinationURL(&day.Spec) || d.Spec.Destination.Endpoint != day.Spec.Destination.Endpoint {
			continue
		}
		if w, err := window.New(d.Spec.Date, d.Spec.TimeZone); err == nil && w.YMD() == ymd {
			out = append(out, uidPart(d.UID))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// dropStaging removes the staging of a failed attempt: its Jobs have
// stopped, and a rerun plans anew. Best effort (removeStaging logs). It
// runs once the status saying the attempt failed is written: a reconcile
// that repeats the failure (its status write refused) still finds the plan
// to name the failed shards by.
func (r *Reconciler) dropStaging(ctx context.Context, s *scope) {
	w, err := s.window, s.windowErr
	if err != nil {
		return
	}
	if dst, err := r.destination(ctx, s); err == nil {
		r.removeStaging(ctx, dst, w.YMD(), s.day, "")
	}
}

// published reads the day's manifest and, if this attempt published it,
// finishes the attempt: Succeeded, or Failed when the counts do not add up.
// other is the run that published the day's manifest when it was not this
// attempt.
func (r *Reconciler) published(ctx context.Context, s *scope, ymd string) (done bool, other string, err error) {
	st := &s.day.Status
	dst, err := r.destination(ctx, s)
	if err == nil {
		err = r.readManifest(ctx, s, dst, ymd)
	}
	var otherRun *otherRunError
	switch {
	case errors.As(err, &otherRun):
		return false, otherRun.runID, nil
	case store.IsNotExist(err):
		return false, "", nil
	case err != nil:
		s.observe(v1alpha1.StageMerging, "Reading the day's manifest, retrying: "+err.Error())
		return false, "", err
	}
	if err := accountingError(&st.Counts); err != nil {
		s.warning(nil, ReasonFailed, "Merge", "%v", err)
		r.fail(s, v1alpha1.StalledAccountingMismatch, err.Error())
		return true, "", nil
	}
	r.succeed(s)
	return true, "", nil
}

// syncParallelism applies a changed spec parallelism to the running
// flatten Job.
func (r *Reconciler) syncParallelism(ctx context.Context, s *scope, job *batchv1.Job) error {
	want := flattenParallelism(s.day)
	if ptr.Deref(job.Spec.Parallelism, want) == want {
		return nil
	}
	patch := client.MergeFrom(job.DeepCopy())
	job.Spec.Parallelism = ptr.To(want)
	if err := r.Client.Patch(ctx, job, patch); err != nil {
		return fmt.Errorf("setting the parallelism of Job %s: %w", job.Name, err)
	}
	log.FromContext(ctx).Info("Changed the parallelism", "job", job.Name, "parallelism", want)
	return nil
}

func (r *Reconciler) succeed(s *scope) {
	st := &s.day.Status
	msg := successMessage(&st.Counts, st.Output)
	r.endAttempt(s, v1alpha1.StageSucceeded, "", msg)
	s.normal(nil, ReasonSucceeded, "Publish", "%s", msg)
}

// fail ends the attempt as Failed; why is the Stalled reason.
func (r *Reconciler) fail(s *scope, why, msg string) { r.endAttempt(s, v1alpha1.StageFailed, why, msg) }

// endAttempt finishes the current attempt and records its metrics.
func (r *Reconciler) endAttempt(s *scope, stage v1alpha1.Stage, why, msg string) {
	st := &s.day.Status
	for _, name := range []v1alpha1.Stage{v1alpha1.StagePlanning, v1alpha1.StageFlattening, v1alpha1.StageMerging} {
		if d, ok := endStage(st, name, s.now); ok {
			s.record(func(m *Metrics) { m.stage(name, d) })
		}
	}
	finish(st, s.now)
	s.outcome = &outcome{stage: stage, why: why, message: msg}
	read, written := st.Counts.RecordsRead, st.Counts.RecordsWritten
	var bytes int64
	if stage == v1alpha1.StageSucceeded && st.Output != nil {
		bytes = st.Output.Bytes
	}
	s.record(func(m *Metrics) {
		m.DayRuns.WithLabelValues(resultLabel(stage)).Inc()
		m.RecordsRead.Add(float64(read))
		m.RecordsWritten.Add(float64(written))
		m.WrittenBytes.Add(float64(bytes))
	})
}

// createJob creates an attempt's Job. A Job of that name that already
// exists is this day's (a previous reconcile created it, and the cache has
// not caught up) or a stranger's, which fails the day. It returns nil, nil
// when the day failed.
func (r *Reconciler) createJob(ctx context.Context, s *scope, job *batchv1.Job) (*batchv1.Job, error) {
	err := r.Client.Create(ctx, job)
	if err == nil {
		log.FromContext(ctx).Info("Created Job", "job", job.Name, "step", job.Labels[v1alpha1.StepLabel], "attempt", s.day.Status.Attempt)
		return job, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating Job %s: %w", job.Name, err)
	}
	existing := &batchv1.Job{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(job), existing); err != nil {
		return nil, fmt.Errorf("reading Job %s: %w", job.Name, err)
	}
	if !metav1.IsControlledBy(existing, s.day) {
		msg := fmt.Sprintf("Job %s exists and does not belong to this day; delete or rename it, then rerun", job.Name)
		s.warning(existing, ReasonFailed, "CreateJob", "%s", msg)
		r.fail(s, v1alpha1.StalledJobNameTaken, msg)
		return nil, nil
	}
	return existing, nil
}

// deleteJobs deletes the day's Jobs of one attempt, or of every attempt
// when attempt is 0. The garbage collector removes their pods.
func (r *Reconciler) deleteJobs(ctx context.Context, s *scope, attempt int32) error {
	for i := range s.jobs {
		j := &s.jobs[i]
		if attempt != 0 && j.Labels[v1alpha1.AttemptLabel] != fmt.Sprint(attempt) {
			continue
		}
		if !j.DeletionTimestamp.IsZero() {
			continue
		}
		err := r.Client.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Job %s: %w", j.Name, err)
		}
		log.FromContext(ctx).Info("Deleted Job", "job", j.Name)
	}
	return nil
}

func (r *Reconciler) jobDefaults() jobDefaults {
	return jobDefaults{Image: r.Config.WorkerImage, ServiceAccount: r.Config.WorkerServiceAccount, Resources: r.Config.WorkerResources, Pod: r.Config.WorkerPod, LeaseTTL: r.Config.LeaseTTL,
		PlanTimeout: r.Config.PlanTimeout, MaxShards: r.Config.MaxShards, ListConcurrency: r.Config.ListConcurrency}
}

// validate checks what CEL cannot: the zone's existence in tzdata (done by
// window.New) and the local-time column against the chosen column set.
func validate(spec *v1alpha1.CloudTrailDaySpec) error {
	if _, err := record.NewSchema(columns(spec), localTimeColumn(spec)); err != nil {
		return err
	}
	return nil
}

func windowStatus(w window.Day, late time.Duration) *v1alpha1.Window {
	return &v1alpha1.Window{
		Start:    metav1.NewTime(w.Start),
		End:      metav1.NewTime(w.End),
		ClosesAt: metav1.NewTime(w.ReadyAt(late)),
	}
}

func lateArrival(spec *v1alpha1.CloudTrailDaySpec) time.Duration {
	if spec.LateArrival == nil {
		return time.Hour
	}
	return spec.LateArrival.Duration
}

func targetShardBytes(spec *v1alpha1.CloudTrailDaySpec) int64 {
	if q := spec.Workers.TargetShardSize; q != nil {
		return q.Value()
	}
	return 256 << 20
}

// The functions below give the spec's values, with the CRD's defaults for
// objects that did not pass through the API server's defaulting.

func timeZone(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.TimeZone == "" {
		return "UTC"
	}
	return spec.TimeZone
}

// verifies says whether the day checks its log files against the digests.
func verifies(spec *v1alpha1.CloudTrailDaySpec) bool {
	return spec.Integrity != nil && ptr.Deref(spec.Integrity.Verify, false)
}

func onIntegrity(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.Integrity != nil && spec.Integrity.OnFailure == v1alpha1.IntegrityReport {
		return "report"
	}
	return "fail"
}

func columns(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.Columns == "" {
		return string(v1alpha1.ColumnsFull)
	}
	return string(spec.Columns)
}

func localTimeColumn(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.LocalTimeColumn == "" {
		return record.DefaultLocalTimeColumn
	}
	return spec.LocalTimeColumn
}

func compression(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.Compression == "" {
		return string(v1alpha1.CompressionZstd)
	}
	return string(spec.Compression)
}

func onMalformed(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.OnMalformed == v1alpha1.MalformedReport {
		return "report"
	}
	return "fail"
}

func resultLabel(stage v1alpha1.Stage) string {
	if stage == v1alpha1.StageSucceeded {
		return resultSucceeded
	}
	return resultFailed
}
