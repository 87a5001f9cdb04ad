// Package controllertest holds builders and fakes for the operator's tests:
// a fluent CloudTrailDay builder, and helpers that move a Job's status the
// way the Job controller would, for test environments that do not run it.
package controllertest

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// DayWrapper builds a CloudTrailDay.
type DayWrapper struct{ v1alpha1.CloudTrailDay }

// MakeDay returns a valid day: 2026-11-24 UTC, from s3://trail to
// s3://lake/cloudtrail, with every default spelled out as the API server
// would fill it in.
func MakeDay(name, namespace string) *DayWrapper {
	return &DayWrapper{v1alpha1.CloudTrailDay{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "CloudTrailDay"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1alpha1.CloudTrailDaySpec{
			Date:            "2026-11-24",
			TimeZone:        "UTC",
			Source:          v1alpha1.TrailSource{ObjectStore: v1alpha1.ObjectStore{Bucket: "trail"}},
			Destination:     v1alpha1.ObjectStore{Bucket: "lake", Prefix: "cloudtrail"},
			Columns:         v1alpha1.ColumnsFull,
			LocalTimeColumn: "eventtime_local",
			LateArrival:     &metav1.Duration{Duration: time.Hour},
			Deduplicate:     ptr.To(true),
			OnMalformed:     v1alpha1.MalformedFail,
			Compression:     v1alpha1.CompressionZstd,
			Workers: v1alpha1.Workers{
				Parallelism:             ptr.To[int32](4),
				TargetShardSize:         ptr.To(resource.MustParse("256Mi")),
				BackoffLimitPerIndex:    ptr.To[int32](3),
				TTLSecondsAfterFinished: ptr.To[int32](86400),
			},
		},
	}}
}

// Obj returns the day.
func (w *DayWrapper) Obj() *v1alpha1.CloudTrailDay { return &w.CloudTrailDay }

// Clone returns a copy of the builder.
func (w *DayWrapper) Clone() *DayWrapper { return &DayWrapper{*w.DeepCopy()} }

// UID sets the UID (the API server sets it on create).
func (w *DayWrapper) UID(uid string) *DayWrapper { w.ObjectMeta.UID = types.UID(uid); return w }

// Generation sets metadata.generation.
func (w *DayWrapper) Generation(g int64) *DayWrapper { w.ObjectMeta.Generation = g; return w }

// Date sets the day.
func (w *DayWrapper) Date(d string) *DayWrapper { w.Spec.Date = d; return w }

// TimeZone sets the day's zone.
func (w *DayWrapper) TimeZone(z string) *DayWrapper { w.Spec.TimeZone = z; return w }

// Source sets the trail's bucket and prefix.
func (w *DayWrapper) Source(bucket, prefix string) *DayWrapper {
	w.Spec.Source.Bucket, w.Spec.Source.Prefix = bucket, prefix
	return w
}

// Destination sets the output's bucket and prefix.
func (w *DayWrapper) Destination(bucket, prefix string) *DayWrapper {
	w.Spec.Destination.Bucket, w.Spec.Destination.Prefix = bucket, prefix
	return w
}

// Endpoint points source and destination at an S3-compatible store,
// addressed path-style, with the region it expects.
func (w *DayWrapper) Endpoint(url, region string) *DayWrapper {
	for _, s := range []*v1alpha1.ObjectStore{&w.Spec.Source.ObjectStore, &w.Spec.Destination} {
		s.Endpoint, s.Region, s.PathStyle = url, region, ptr.To(true)
	}
	return w
}

// CredentialsSecret names the Secret of both stores.
func (w *DayWrapper) CredentialsSecret(name string) *DayWrapper {
	for _, s := range []*v1alpha1.ObjectStore{&w.Spec.Source.ObjectStore, &w.Spec.Destination} {
		s.CredentialsSecret = &v1alpha1.CredentialsSecretReference{Name: name}
	}
	return w
}

// Accounts limits the source's accounts.
func (w *DayWrapper) Accounts(a ...string) *DayWrapper { w.Spec.Source.Accounts = a; return w }

// Regions limits the source's regions.
func (w *DayWrapper) Regions(r ...string) *DayWrapper { w.Spec.Source.Regions = r; return w }

// AllowEmpty lets the day publish an empty partition when it selects no log file.
func (w *DayWrapper) AllowEmpty() *DayWrapper { w.Spec.AllowEmpty = true; return w }

// Columns sets the column set and the local-time column's name.
func (w *DayWrapper) Columns(set v1alpha1.ColumnSet, localTimeColumn string) *DayWrapper {
	w.Spec.Columns, w.Spec.LocalTimeColumn = set, localTimeColumn
	return w
}

// LateArrival sets the late-arrival margin.
func (w *DayWrapper) LateArrival(d time.Duration) *DayWrapper {
	w.Spec.LateArrival = &metav1.Duration{Duration: d}
	return w
}

// OnMalformed sets the malformed-record policy.
func (w *DayWrapper) OnMalformed(p v1alpha1.MalformedPolicy) *DayWrapper {
	w.Spec.OnMalformed = p
	return w
}

// Parallelism sets the workers' parallelism.
func (w *DayWrapper) Parallelism(n int32) *DayWrapper { w.Spec.Workers.Parallelism = &n; return w }

// TargetShardSize sets the compressed bytes per shard.
// MergeIndexes sets spec.workers.maxMergeIndexes and targetMergeRows.
func (w *DayWrapper) MergeIndexes(most int32, rows int64) *DayWrapper {
	w.Spec.Workers.MaxMergeIndexes, w.Spec.Workers.TargetMergeRows = &most, &rows
	return w
}

func (w *DayWrapper) TargetShardSize(q string) *DayWrapper {
	w.Spec.Workers.TargetShardSize = ptr.To(resource.MustParse(q))
	return w
}

// Image sets the worker image.
func (w *DayWrapper) Image(image string) *DayWrapper { w.Spec.Workers.Image = image; return w }

// Resources sets the worker container's resources.
func (w *DayWrapper) Resources(r corev1.ResourceRequirements) *DayWrapper {
	w.Spec.Workers.Resources = &r
	return w
}

// Annotation sets an annotation.
func (w *DayWrapper) Annotation(k, v string) *DayWrapper {
	if w.Annotations == nil {
		w.Annotations = map[string]string{}
	}
	w.Annotations[k] = v
	return w
}

// Rerun sets the rerun annotation.
func (w *DayWrapper) Rerun(v string) *DayWrapper { return w.Annotation(v1alpha1.RerunAnnotation, v) }

// Integrity turns digest verification on, with the policy and, unless "",
// the ConfigMap of public keys.
func (w *DayWrapper) Integrity(onFailure v1alpha1.IntegrityPolicy, publicKeysConfigMap string) *DayWrapper {
	verify := true
	w.Spec.Integrity = &v1alpha1.Integrity{Verify: &verify, OnFailure: onFailure, PublicKeysConfigMap: publicKeysConfigMap}
	return w
}

// Finalizer adds the operator's finalizer.
func (w *DayWrapper) Finalizer() *DayWrapper {
	w.Finalizers = append(w.Finalizers, v1alpha1.Finalizer)
	return w
}
