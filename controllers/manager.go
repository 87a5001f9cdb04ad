package controllers

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// CacheOptions are the manager's cache settings the reconciler is written
// for: only the operator's Jobs are cached, not every Job of the cluster
// (so Jobs the cache cannot have are read through APIReader).
func CacheOptions() cache.Options {
	owned, err := labels.NewRequirement(v1alpha1.DayUIDLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key
	}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&batchv1.Job{}: {Label: labels.NewSelector().Add(*owned)},
	}}
}

// ClientOptions keep Secrets out of the cache: they are read one by name,
// never listed or watched, so the manager needs only get on them.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}
}
