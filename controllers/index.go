package controllers

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// ownerUIDIndex indexes Jobs by the UID of the CloudTrailDay that controls
// them.
const ownerUIDIndex = ".metadata.controller.uid"

// IndexJobsByOwner adds the index the reconciler lists a day's Jobs by.
func IndexJobsByOwner(ctx context.Context, indexer client.FieldIndexer) error {
	return indexer.IndexField(ctx, &batchv1.Job{}, ownerUIDIndex, jobOwnerUID)
}

func jobOwnerUID(o client.Object) []string {
	ref := metav1.GetControllerOf(o)
	if ref == nil || ref.Kind != "CloudTrailDay" || ref.APIVersion != v1alpha1.GroupVersion.String() {
		return nil
	}
	return []string{string(ref.UID)}
}
