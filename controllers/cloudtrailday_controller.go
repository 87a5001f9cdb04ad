// Package controllers holds the CloudTrailDay reconciler. It runs a day's
// work in three Jobs — a one-pod Job that lists the day and writes its plan,
// an Indexed Job that flattens the shards and a one-pod Job that merges them
// — reads the small files they leave in the destination, and writes what
// happened onto the resource's status. It never reads the source bucket.
package controllers

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Config is the manager's settings for every day.
type Config struct {
	// WorkerImage runs the Jobs of a day whose spec names no image.
	WorkerImage string
	// WorkerServiceAccount runs the worker pods of a day whose spec names
	// no service account ("" = the namespace's default).
	WorkerServiceAccount string
	// WorkerResources are the worker container's resources for a day whose
	// spec sets none (nil = the built-in defaults).
	WorkerResources *corev1.ResourceRequirements
	// WorkerPod holds the worker pods' defaults for a day whose spec leaves
	// them out, in spec.workers' shape: podLabels, podAnnotations,
	// imagePullSecrets, affinity, tolerations, nodeSelector,
	// priorityClassName and activeDeadlineSeconds (other fields are
	// ignored).
	WorkerPod v1alpha1.Workers
	// PlanTimeout bounds the plan Job of a day whose spec sets no
	// activeDeadlineSeconds.
	PlanTimeout time.Duration
	// ListConcurrency bounds the listings the plan Job runs at once.
	ListConcurrency int
	// MaxShards bounds a day's shards (the flatten Job's completions); a
	// larger day gets larger shards.
	MaxShards int
	// ReadConcurrency bounds the result files read at once.
	ReadConcurrency int
	// MaxConcurrentDays bounds the days that plan, flatten or merge at
	// once (0 = no bound); the others wait as Queued, oldest date first.
	MaxConcurrentDays int
	// SecretNamespaces are the namespaces in which the manager reads the
	// credentials Secrets that days name ("*" = every namespace); a day
	// elsewhere that names one fails. Only Secrets labelled
	// parquetrail.io/credentials: "true" are used.
	SecretNamespaces []string
	// LeaseTTL is the merge worker's lease on the day (--lease-ttl): how
	// long a killed merge pod blocks its own retry and other runs of the
	// day (0 = the worker's default, one minute).
	LeaseTTL time.Duration
}

// DefaultConfig is the configuration the manager's flags default to.
func DefaultConfig() Config {
	return Config{
		WorkerImage:       "ghcr.io/parquetrail/shard-worker:latest",
		PlanTimeout:       10 * time.Minute,
		ListConcurrency:   16,
		MaxShards:         5000,
		ReadConcurrency:   16,
		MaxConcurrentDays: 4,
	}
}

// Reconciler reconciles CloudTrailDays.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads around the cache: Secrets (which the manager does not
	// cache, so that it needs only get on them) and Jobs the cache may not
	// have seen yet.
	APIReader client.Reader
	// Recorder emits events on CloudTrailDays.
	Recorder recorder.EventRecorder
	// Clock tells the time; tests move it.
	Clock clock.PassiveClock
	// OpenStore opens an object store; nil means store.Open.
	OpenStore func(ctx context.Context, url string, o store.Options) (store.Store, error)
	// Metrics records outcomes; nil records nothing.
	Metrics *Metrics
	Config  Config

	// queue holds the slots of running days; made on first use.
	queue *queue
}

// +kubebuilder:rbac:groups=parquetrail.io,resources=cloudtraildays,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=parquetrail.io,resources=cloudtraildays/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=parquetrail.io,resources=cloudtraildays/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// Secrets: get, in the namespaces of --secret-namespaces only, is granted
// by a Role per namespace (the chart's rbac.yaml, config/rbac/secret_reader_role.yaml),
// not by the ClusterRole generated here.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves a day one step on and writes its status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	day := &v1alpha1.CloudTrailDay{}
	if err := r.Client.Get(ctx, req.NamespacedName, day); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !day.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, day)
	}
	s, err := r.newScope(ctx, day)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := r.step(ctx, s)
	updateStatus(&s.day.Status, s.day.Generation, s.outcome, verifies(&s.day.Spec), s.now)
	if werr := r.writeStatus(ctx, s, err); werr != nil {
		return ctrl.Result{}, errors.Join(err, werr)
	}
	s.flush(r.Recorder, r.Metrics)
	if finished(stageOf(&s.day.Status)) {
		r.release(ctx, s.day)
	}
	return result, err
}

// writeStatus writes the status built by the steps, if it changed. The
// top-level observedGeneration moves only after a step without error. The
// update carries the resourceVersion that was read, so a status computed
// from a stale read is refused rather than written.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope, stepErr error) error {
	if stepErr == nil {
		s.day.Status.ObservedGeneration = s.day.Generation
	}
	if equality.Semantic.DeepEqual(s.read, &s.day.Status) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, s.day); err != nil {
		if apierrors.IsConflict(err) {
			ctrl.LoggerFrom(ctx).V(1).Info("Status changed meanwhile; reconciling again")
		}
		return err
	}
	return nil
}

// SetupWithManager registers the reconciler and the Job index it lists by.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, concurrency int) error {
	if err := IndexJobsByOwner(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.OpenStore == nil {
		r.OpenStore = store.Open
	}
	if r.Metrics != nil {
		r.Metrics.WatchDays(mgr.GetClient())
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.CloudTrailDay{}).
		Owns(&batchv1.Job{}).
		WatchesRawSource(source.Channel(r.dayQueue().wake, &handler.EnqueueRequestForObject{})).
		Named("cloudtrailday").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}
