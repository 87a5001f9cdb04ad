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
	// StepLabel says whether a Job or pod plans, flattens, merges or publishes.
	StepLabel = "parquetrail.io/step"

	// PlanSHA256Annotation records on a Job the checksum of the plan it runs.
	PlanSHA256Annotation = "parquetrail.io/plan-sha256"
)

// Values of StepLabel.
const (
	StepPlan    = "plan"
	StepFlatten = "flatten"
	StepMerge   = "merge"
	StepPublish = "publish"
)

// Condition types. They follow the kstatus conventions that Flux and
// cli-utils read: Reconciling is True while the operator still has work to
// do on the day, Stalled is True when it cannot go on without a change from
// the user (a rerun, a fixed spec or Secret).
const (
	// ConditionReady is True once the day is published; its reason is the
	// Stage.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the day waits, is queued or runs;
	// its reason is the Stage.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the attempt failed; its reason names
	// why (one of the Stalled reasons below).
	ConditionStalled = "Stalled"
	// ConditionVerified says whether every log file the day read verified
	// against CloudTrail's signed digests; absent when verification is off.
	ConditionVerified = "Verified"
)

// Reasons of the Verified condition.
const (
	// VerifiedAll: every selected log file verified.
	VerifiedAll = "AllFilesVerified"
	// VerifiedTampered: a file was edited, deleted, added or vouched for
	// only by a failed digest, or a digest failed.
	VerifiedTampered = "IntegrityFailed"
	// VerifiedNotYetCovered: no file failed, but some are in no digest
	// delivered yet.
	VerifiedNotYetCovered = "NotYetCovered"
	// VerifiedPending: the day has not been planned yet.
	VerifiedPending = "Pending"
)

// Reasons of the Stalled condition: what made the attempt fail.
const (
	StalledInvalidSpec        = "InvalidSpec"
	StalledCredentialsRefused = "CredentialsRefused"
	StalledPlanFailed         = "PlanFailed"
	StalledIntegrityFailed    = "IntegrityFailed" // spec.integrity.onFailure Fail, and a file did not verify
	StalledNoLogFiles         = "NoLogFiles"      // nothing selected and spec.allowEmpty unset
	StalledFlattenFailed      = "FlattenFailed"
	StalledMergeFailed        = "MergeFailed"
	StalledAccountingMismatch = "AccountingMismatch"
	StalledReplacedByOtherRun = "ReplacedByOtherRun"
	StalledJobNameTaken       = "JobNameTaken"
)

// CredentialsLabel must be "true" on a Secret that a day names as its
// credentialsSecret: the manager reads no other Secret, so that creating a
// CloudTrailDay does not hand the operator every Secret of the namespace.
const CredentialsLabel = "parquetrail.io/credentials"
