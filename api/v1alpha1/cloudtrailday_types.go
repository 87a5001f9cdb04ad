package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ColumnSet names the columns written for every record.
// +kubebuilder:validation:Enum=full;seed
type ColumnSet string

const (
	// ColumnsFull writes every documented field through eventVersion 1.11,
	// plus one JSON column with whatever no column maps: no field is lost.
	ColumnsFull ColumnSet = "full"
	// ColumnsSeed writes exactly the seed job's columns, in its order.
	ColumnsSeed ColumnSet = "seed"
)

// MalformedPolicy says what a malformed record or unreadable object does.
// +kubebuilder:validation:Enum=Fail;Report
type MalformedPolicy string

const (
	// MalformedFail fails the day on the first malformed record or
	// unreadable object.
	MalformedFail MalformedPolicy = "Fail"
	// MalformedReport counts and names each problem in the run's error
	// manifest and goes on.
	MalformedReport MalformedPolicy = "Report"
)

// IntegrityPolicy says what a log file or digest that does not verify does.
// +kubebuilder:validation:Enum=Fail;Report
type IntegrityPolicy string

const (
	// IntegrityFail fails the day, before anything is read, when a file is
	// edited, deleted, added or vouched for only by a failed digest, or a
	// digest fails. Files whose digest is not delivered yet do not fail it.
	IntegrityFail IntegrityPolicy = "Fail"
	// IntegrityReport counts and names each one and goes on.
	IntegrityReport IntegrityPolicy = "Report"
)

// Integrity is the verification of the day's log files against the signed
// digest files CloudTrail delivers when log file validation is on.
type Integrity struct {
	// verify checks every selected log file against the digest chain.
	// +optional
	// +kubebuilder:default=false
	Verify *bool `json:"verify,omitempty"`

	// onFailure says what a file or digest that does not verify does.
	// +optional
	// +kubebuilder:default=Fail
	OnFailure IntegrityPolicy `json:"onFailure,omitempty"`

	// publicKeysConfigMap names a ConfigMap in the day's namespace whose key
	// keys.pem holds CloudTrail's public keys as a PEM bundle, for clusters
	// that cannot call the CloudTrail ListPublicKeys API. Public keys are
	// not secret, but whoever may edit this ConfigMap decides what verifies.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	PublicKeysConfigMap string `json:"publicKeysConfigMap,omitempty"`
}

// Compression is the Parquet compression codec of the output.
// +kubebuilder:validation:Enum=zstd;snappy;gzip;none
type Compression string

// Compression codecs.
const (
	CompressionZstd   Compression = "zstd"
	CompressionSnappy Compression = "snappy"
	CompressionGzip   Compression = "gzip"
	CompressionNone   Compression = "none"
)

// CredentialsSecretReference names a Secret in the CloudTrailDay's namespace
// with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for
// S3-compatible stores that take static credentials.
type CredentialsSecretReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ObjectStore is a bucket and prefix in AWS S3 or an S3-compatible store.
// Credentials never appear here: the pods use their service account (IRSA,
// EKS Pod Identity) or the Secret named by credentialsSecret.
type ObjectStore struct {
	// bucket is the name of the S3 bucket.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`
	Bucket string `json:"bucket"`

	// prefix is the folder inside the bucket, without a leading slash.
	// For a source it is the folder above AWSLogs/; empty means the
	// bucket's root.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.contains('//')",message="prefix must not start with a slash or contain an empty segment"
	Prefix string `json:"prefix,omitempty"`

	// endpoint is the URL of an S3-compatible store; empty means AWS S3.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http or https URL"
	Endpoint string `json:"endpoint,omitempty"`

	// region is the AWS region of the bucket, or the region an S3-compatible
	// store expects in signatures; empty means the SDK's default chain.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9-]*[a-z0-9]$`
	Region string `json:"region,omitempty"`

	// pathStyle addresses the bucket in the URL path instead of the host
	// name, as most S3-compatible stores need.
	// +optional
	PathStyle *bool `json:"pathStyle,omitempty"`

	// credentialsSecret names a Secret with static credentials, for
	// S3-compatible stores. Without it the pods use their service account.
	// +optional
	CredentialsSecret *CredentialsSecretReference `json:"credentialsSecret,omitempty"`
}

// TrailSource is where a trail delivers its log files.
type TrailSource struct {
	ObjectStore `json:",inline"`

	// organizationID is the AWS Organization ID of an organization trail
	// (the o-... folder under AWSLogs/). Empty means: use the folder found
	// there, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=34
	// +kubebuilder:validation:Pattern=`^o-[a-z0-9]{10,32}$`
	OrganizationID string `json:"organizationID,omitempty"`

	// accounts limits the day to these 12-digit account IDs. Empty means
	// every account folder found.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MaxLength=12
	// +kubebuilder:validation:items:Pattern=`^[0-9]{12}$`
	Accounts []string `json:"accounts,omitempty"`

	// regions limits the day to these AWS regions. Empty means every region
	// folder found.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[a-z]{2}(-[a-z]+)+-[0-9]+$`
	Regions []string `json:"regions,omitempty"`
}

// Workers shapes the pods that flatten and merge the day.
type Workers struct {
	// parallelism is how many shards are flattened at once.
	// +optional
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Parallelism *int32 `json:"parallelism,omitempty"`

	// targetShardSize is the compressed size of the log files one worker
	// reads; the day is split into as many shards as that takes.
	// +optional
	// +kubebuilder:default="256Mi"
	// +kubebuilder:validation:XValidation:rule="isQuantity(string(self)) && quantity(string(self)).compareTo(quantity('1Mi')) >= 0 && quantity(string(self)).compareTo(quantity('64Gi')) <= 0",message="targetShardSize must be between 1Mi and 64Gi"
	TargetShardSize *resource.Quantity `json:"targetShardSize,omitempty"`

	// image is the worker image (it runs shard-worker). Empty means the
	// manager's default.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// imagePullPolicy of the worker container.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// resources of the worker container. Empty means a request that fits a
	// worker's bounded memory.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// serviceAccountName runs the worker pods as this service account, which
	// carries their cloud identity (IRSA, EKS Pod Identity).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// nodeSelector of the worker pods.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the worker pods.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// podLabels are added to the worker pods' labels (the operator's own
	// parquetrail.io/ labels win over them).
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// podAnnotations are added to the worker pods, for example
	// sidecar.istio.io/inject: "false" in a mesh (a sidecar that never exits
	// keeps a Job from completing) or karpenter.sh/do-not-disrupt: "true".
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// imagePullSecrets of the worker pods, for a private registry.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// affinity of the worker pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// priorityClassName of the worker pods.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// activeDeadlineSeconds bounds each Job (the flatten Job as a whole, and
	// the merge Job); a Job past it fails with reason DeadlineExceeded.
	// Empty means no bound.
	// +optional
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=604800
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// scratchSizeLimit is the sizeLimit of the pods' scratch emptyDir (and
	// their ephemeral-storage request, unless resources set one). Empty
	// means sized from the work: twice a shard's compressed bytes for a
	// flatten pod, twice the day's for the merge, at least 1Gi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="isQuantity(string(self)) && quantity(string(self)).compareTo(quantity('64Mi')) >= 0",message="scratchSizeLimit must be at least 64Mi"
	ScratchSizeLimit *resource.Quantity `json:"scratchSizeLimit,omitempty"`

	// backoffLimitPerIndex is how often a failing shard is retried before
	// it fails (a bad-input exit fails it at once). The merge is retried as
	// often.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	BackoffLimitPerIndex *int32 `json:"backoffLimitPerIndex,omitempty"`

	// maxMergeIndexes bounds the merge pods of a day: a day of more than
	// targetMergeRows rows is split by event time into ranges balanced by
	// rows, each merged by one index of an Indexed Job, and published once
	// from all of them. 1 merges every day in one pod.
	// +optional
	// +kubebuilder:default=16
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	MaxMergeIndexes *int32 `json:"maxMergeIndexes,omitempty"`

	// targetMergeRows is how many rows one merge pod is given: the day is
	// split into rows/targetMergeRows ranges (rounded up, at most
	// maxMergeIndexes).
	// +optional
	// +kubebuilder:default=2000000
	// +kubebuilder:validation:Minimum=1000
	TargetMergeRows *int64 `json:"targetMergeRows,omitempty"`

	// ttlSecondsAfterFinished is how long finished Jobs and their pods are
	// kept for inspection.
	// +optional
	// +kubebuilder:default=86400
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// CloudTrailDaySpec names a day and says where its logs are and where its
// Parquet goes.
// +kubebuilder:validation:XValidation:rule=`!(self.source.bucket == self.destination.bucket && (has(self.source.endpoint) ? self.source.endpoint : "") == (has(self.destination.endpoint) ? self.destination.endpoint : "") && (has(self.source.prefix) ? self.source.prefix : "") == (has(self.destination.prefix) ? self.destination.prefix : ""))`,message="destination must not be the source's bucket and prefix"
// +kubebuilder:validation:XValidation:rule="has(self.source.credentialsSecret) == has(self.destination.credentialsSecret) && (!has(self.source.credentialsSecret) || self.source.credentialsSecret.name == self.destination.credentialsSecret.name)",message="source and destination must name the same credentialsSecret, or neither: a worker holds one set of static credentials"
// +kubebuilder:validation:XValidation:rule="!has(self.source.region) || !has(self.destination.region) || self.source.region == self.destination.region",message="source and destination region must be the same when both are set"
// +kubebuilder:validation:XValidation:rule="(has(self.source.pathStyle) && self.source.pathStyle) == (has(self.destination.pathStyle) && self.destination.pathStyle)",message="source and destination must agree on pathStyle"
type CloudTrailDaySpec struct {
	// date is the calendar day, YYYY-MM-DD, in timeZone.
	// +required
	// +kubebuilder:validation:MinLength=10
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	Date string `json:"date"`

	// timeZone is the IANA time zone of the day, such as Asia/Seoul. The day
	// is [date 00:00, date+1 00:00) there: 23 or 25 hours on DST change days.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone must name an IANA zone, not Local"
	TimeZone string `json:"timeZone,omitempty"`

	// source is where the trail delivers its logs.
	// +required
	Source TrailSource `json:"source"`

	// destination is the root of the Parquet output; the day is written to
	// proc_ymd=YYYYMMDD/ under it.
	// +required
	Destination ObjectStore `json:"destination"`

	// columns is the column set: full (lossless) or seed.
	// +optional
	// +kubebuilder:default=full
	Columns ColumnSet `json:"columns,omitempty"`

	// localTimeColumn names the column holding the event time in timeZone.
	// +optional
	// +kubebuilder:default=eventtime_local
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[a-z_][a-z0-9_]*$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['eventtime', 'proc_ymd'])",message="localTimeColumn must not be eventtime or proc_ymd"
	LocalTimeColumn string `json:"localTimeColumn,omitempty"`

	// lateArrival is how long after the day's end a file may still hold its
	// events. The day starts once its end plus lateArrival has passed, and
	// reads the files delivered until then.
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('168h')",message="lateArrival must be between 0s and 168h"
	LateArrival *metav1.Duration `json:"lateArrival,omitempty"`

	// deduplicate drops records whose eventID was already written that day.
	// +optional
	// +kubebuilder:default=true
	Deduplicate *bool `json:"deduplicate,omitempty"`

	// allowEmpty publishes an empty day when no log file is selected for it.
	// By default such a day fails (a wrong source, account, region or
	// organization ID must not replace a published day with an empty one).
	// +optional
	// +kubebuilder:default=false
	AllowEmpty bool `json:"allowEmpty,omitempty"`

	// onMalformed says what a malformed record or unreadable object does:
	// Fail the day, or Report it in the run's error manifest and go on.
	// Either way it is counted and named. Report is the default, as in
	// shard-worker run: one truncated object does not hold back a day's
	// evidence, and every problem is in the error manifest and the counts.
	// +optional
	// +kubebuilder:default=Report
	OnMalformed MalformedPolicy `json:"onMalformed,omitempty"`

	// compression is the Parquet compression codec.
	// +optional
	// +kubebuilder:default=zstd
	Compression Compression `json:"compression,omitempty"`

	// integrity verifies the day's log files against CloudTrail's signed
	// digests (off unless verify is true).
	// +optional
	Integrity *Integrity `json:"integrity,omitempty"`

	// workers shapes the pods that flatten and merge the day.
	// +optional
	// +kubebuilder:default={}
	Workers Workers `json:"workers,omitempty,omitzero"`
}

// Counts is the accounting of a run: recordsRead = recordsWritten +
// recordsOutsideWindow + duplicates + malformed.
type Counts struct {
	// objects is the number of log files selected for the day.
	// +optional
	Objects int64 `json:"objects,omitempty"`
	// bytes is their compressed size.
	// +optional
	Bytes int64 `json:"bytes,omitempty"`
	// recordsRead is the number of records in the files read.
	// +optional
	RecordsRead int64 `json:"recordsRead,omitempty"`
	// recordsWritten is the number of rows in the day's output.
	// +optional
	RecordsWritten int64 `json:"recordsWritten,omitempty"`
	// recordsOutsideWindow is the number of records whose eventTime is not
	// in the day's window.
	// +optional
	RecordsOutsideWindow int64 `json:"recordsOutsideWindow,omitempty"`
	// lateEvents is the part of recordsOutsideWindow whose own day's run
	// does not read their file (delivered after that day's late-arrival
	// margin); unless the day only counts them, they are written into their
	// own day's partition (docs/late-events.md).
	// +optional
	LateEvents int64 `json:"lateEvents,omitempty"`
	// duplicates is the number of records dropped for a repeated eventID.
	// +optional
	Duplicates int64 `json:"duplicates,omitempty"`
	// malformed is the number of records that could not be flattened; each
	// is named in the run's error manifest.
	// +optional
	Malformed int64 `json:"malformed,omitempty"`
	// unreadableObjects is the number of selected files that could not be
	// read (gone, not gzip, not JSON); each is named in the run's error
	// manifest.
	// +optional
	UnreadableObjects int64 `json:"unreadableObjects,omitempty"`
}

// Shards is the progress of the flatten Job.
type Shards struct {
	// total is the number of shards in the plan.
	// +optional
	Total int32 `json:"total,omitempty"`
	// succeeded is the number of shards flattened.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// failed is the number of shards that failed for good.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// active is the number of shards being flattened.
	// +optional
	Active int32 `json:"active,omitempty"`
	// progress is succeeded/total, for kubectl get.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Progress string `json:"progress,omitempty"`
	// failedIndexes are the failed shards, as the Job reports them
	// ("1,3-5").
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	FailedIndexes string `json:"failedIndexes,omitempty"`
}

// MergeProgress is the merge Job's progress. A day is merged by one pod,
// or, when it is large, split by event time into ranges merged by the
// indexes of an Indexed Job and then published by one pod.
type MergeProgress struct {
	// indexes is the number of merge indexes (ranges).
	// +optional
	Indexes int32 `json:"indexes,omitempty"`
	// succeeded is the number of ranges merged.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// failed is the number of ranges that failed for good.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// active is the number of ranges being merged.
	// +optional
	Active int32 `json:"active,omitempty"`
	// progress is succeeded/indexes, for kubectl get.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Progress string `json:"progress,omitempty"`
	// failedIndexes are the failed ranges, as the Job reports them.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	FailedIndexes string `json:"failedIndexes,omitempty"`
	// ranges are the bounds of the indexes' ranges, in 5-minute steps from
	// the start of the day's window: index i merges the events from step
	// ranges[i] to step ranges[i+1]. Empty when one pod merges the day.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=65
	Ranges []int32 `json:"ranges,omitempty"`
}

// IntegrityCounts are the outcomes of the verification of the day's log
// files against CloudTrail's signed digests (docs/integrity.md); every file
// not verified is named in the run's error manifest.
type IntegrityCounts struct {
	// verified files: listed with their hash by a valid digest of the chain.
	// +optional
	Verified int64 `json:"verified,omitempty"`
	// notYetCovered files: the digest that will list them is not delivered yet.
	// +optional
	NotYetCovered int64 `json:"notYetCovered,omitempty"`
	// hashMismatch files: their bytes differ from what the digest lists.
	// +optional
	HashMismatch int64 `json:"hashMismatch,omitempty"`
	// missing files: listed by a digest but absent from the bucket.
	// +optional
	Missing int64 `json:"missing,omitempty"`
	// unlisted files: present in the bucket but in no digest.
	// +optional
	Unlisted int64 `json:"unlisted,omitempty"`
	// digestInvalid files: vouched for only by a digest that failed.
	// +optional
	DigestInvalid int64 `json:"digestInvalid,omitempty"`
	// digests is the number of digest files checked.
	// +optional
	Digests int64 `json:"digests,omitempty"`
	// digestFailures is the number of digests that failed (signature,
	// chain, format).
	// +optional
	DigestFailures int64 `json:"digestFailures,omitempty"`
}

// Output is where the day was published.
type Output struct {
	// location is the URL of the day's partition (proc_ymd=YYYYMMDD/).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Location string `json:"location,omitempty"`
	// manifest is the URL of the day's manifest, which lists every file with
	// its row count and checksum.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Manifest string `json:"manifest,omitempty"`
	// errors is the URL of the run's error manifest, which names every
	// malformed record and unreadable object; empty when there were none.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Errors string `json:"errors,omitempty"`
	// files is the number of Parquet files of the day.
	// +optional
	Files int32 `json:"files,omitempty"`
	// bytes is their total size.
	// +optional
	Bytes int64 `json:"bytes,omitempty"`
}

// Window is the day as an interval of UTC event times.
type Window struct {
	// start is the first instant of the day (inclusive).
	// +required
	Start metav1.Time `json:"start"`
	// end is the first instant after the day (exclusive).
	// +required
	End metav1.Time `json:"end"`
	// closesAt is end plus lateArrival: the day starts then.
	// +required
	ClosesAt metav1.Time `json:"closesAt"`
}

// PlanRef is the plan manifest of an attempt.
type PlanRef struct {
	// key of the plan manifest, relative to the destination.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key"`
	// sha256 is the checksum of the plan manifest, in hex.
	// +required
	// +kubebuilder:validation:MinLength=64
	// +kubebuilder:validation:MaxLength=64
	SHA256 string `json:"sha256"`
}

// Stage names a step of an attempt; it is the reason of the Ready condition.
type Stage string

// Stages of a day, in order. Succeeded and Failed are final until a rerun.
const (
	StageWaiting Stage = "Waiting"
	// StageQueued is a day whose window has closed, waiting for one of the
	// manager's slots (--max-concurrent-days); the oldest date goes first.
	StageQueued     Stage = "Queued"
	StagePlanning   Stage = "Planning"
	StageFlattening Stage = "Flattening"
	StageMerging    Stage = "Merging"
	StageSucceeded  Stage = "Succeeded"
	StageFailed     Stage = "Failed"
)

// StageTiming is when one stage of the current attempt ran.
type StageTiming struct {
	// name of the stage: Planning, Flattening or Merging.
	// +required
	// +kubebuilder:validation:Enum=Planning;Flattening;Merging
	Name Stage `json:"name"`
	// startTime is when the stage began.
	// +required
	StartTime metav1.Time `json:"startTime"`
	// completionTime is when the stage ended.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// duration is completionTime - startTime.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// CloudTrailDayStatus is what happened to the day. Per-file detail lives in
// the manifests in the destination, never here.
type CloudTrailDayStatus struct {
	// conditions: Ready is True once the day is published; its reason is
	// the stage (Waiting, Queued, Planning, Flattening, Merging, Succeeded,
	// Failed). Reconciling is True until the attempt is over; Stalled is
	// True when it failed, with the cause as its reason.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation last reconciled without error.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// attempt counts the runs of the day, from 1; a rerun adds one.
	// +optional
	Attempt int32 `json:"attempt,omitempty"`

	// runID names the current attempt's staging area and Jobs.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	RunID string `json:"runID,omitempty"`

	// rerun is the value of the parquetrail.io/rerun annotation that the
	// current attempt answered (hashed when long).
	// +optional
	// +kubebuilder:validation:MaxLength=80
	Rerun string `json:"rerun,omitempty"`

	// window is the day in UTC.
	// +optional
	Window *Window `json:"window,omitempty"`

	// startTime is when the current attempt began.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the current attempt succeeded or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// stages are the timings of the current attempt's stages.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=3
	Stages []StageTiming `json:"stages,omitempty"`

	// plan is the current attempt's plan manifest.
	// +optional
	Plan *PlanRef `json:"plan,omitempty"`

	// counts is the current attempt's accounting.
	// +optional
	Counts Counts `json:"counts,omitzero"`

	// integrity is the outcome of the verification of the day's log files
	// when spec.integrity.verify is on.
	// +optional
	Integrity *IntegrityCounts `json:"integrity,omitempty"`

	// shards is the flatten Job's progress.
	// +optional
	Shards Shards `json:"shards,omitzero"`

	// merge is the merge Job's progress: the day's event-time ranges, one
	// per index.
	// +optional
	Merge MergeProgress `json:"merge,omitzero"`

	// output is where the day was published.
	// +optional
	Output *Output `json:"output,omitempty"`
}

// CloudTrailDay is one calendar day of CloudTrail logs, in a time zone,
// turned into a Parquet partition.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ctd,categories=parquetrail
// +kubebuilder:printcolumn:name="Date",type=string,JSONPath=`.spec.date`
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.timeZone`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Shards",type=string,JSONPath=`.status.shards.progress`
// +kubebuilder:printcolumn:name="Merge",type=string,JSONPath=`.status.merge.progress`,priority=1
// +kubebuilder:printcolumn:name="Records",type=integer,JSONPath=`.status.counts.recordsWritten`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Attempt",type=integer,JSONPath=`.status.attempt`,priority=1
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.counts.objects`,priority=1
// +kubebuilder:printcolumn:name="Read",type=integer,JSONPath=`.status.counts.recordsRead`,priority=1
// +kubebuilder:printcolumn:name="Late",type=integer,JSONPath=`.status.counts.lateEvents`,priority=1
// +kubebuilder:printcolumn:name="Output",type=string,JSONPath=`.status.output.location`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.startTime) || (self.spec.date == oldSelf.spec.date && self.spec.timeZone == oldSelf.spec.timeZone && self.spec.source == oldSelf.spec.source && self.spec.destination == oldSelf.spec.destination)",message="date, timeZone, source and destination are immutable once the day has started"
type CloudTrailDay struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the day the user asks for.
	// +required
	Spec CloudTrailDaySpec `json:"spec"`

	// status is what happened to it. A new day gets observedGeneration 0,
	// so that kstatus (Flux) reads it as InProgress until the operator has
	// seen it.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status CloudTrailDayStatus `json:"status,omitempty,omitzero"`
}

// CloudTrailDayList is a list of CloudTrailDays.
//
// +kubebuilder:object:root=true
type CloudTrailDayList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the CloudTrailDays.
	Items []CloudTrailDay `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CloudTrailDay{}, &CloudTrailDayList{})
}
