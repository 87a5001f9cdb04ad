// Package v1alpha1 is the parquetrail.io/v1alpha1 API: the CloudTrailDay
// resource, which names one day of CloudTrail logs to turn into Parquet.
//
// +kubebuilder:object:generate=true
// +groupName=parquetrail.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "parquetrail.io", Version: "v1alpha1"}

	// SchemeBuilder adds the types in this package to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
