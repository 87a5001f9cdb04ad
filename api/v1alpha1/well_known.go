package v1alpha1

// Keys and names users and tools may rely on.
const (
	// RerunAnnotation starts a new attempt of a finished or running day
	// whenever its value changes; the new attempt replaces the day's output.
	RerunAnnotation = "parquetrail.io/rerun"

	// Finalizer holds a deleted day until its Jobs and staging data are gone.
	// The published output is never removed.
	Finalizer = "parquetrail.io/cleanup"

	// DayLabel carries the CloudTrailDay's name on its Jobs and pods (or a
	// hash of it when the name is longer than a label value may be).
	DayLabel = "parquetrail.io/day"
	// DayUIDLabel carries the CloudTrailDay's UID on its Jobs and pods.
	DayUIDLabel = "parquetrail.io/day-uid"
	// AttemptLabel carries the attempt number on Jobs and pods.
	AttemptLabel = "parquetrail.io/attempt"
	// StepLabel says whether a Job or pod flattens or merges.
	StepLabel = "parquetrail.io/step"

	// PlanSHA256Annotation records on a Job the checksum of the plan it runs.
	PlanSHA256Annotation = "parquetrail.io/plan-sha256"
)

// Values of StepLabel.
const (
	StepFlatten = "flatten"
	StepMerge   = "merge"
)

// ConditionReady is True once the day is published; its reason is the Stage.
const ConditionReady = "Ready"
