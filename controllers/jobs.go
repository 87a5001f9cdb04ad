package controllers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/defaults"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
)

const (
	// workerContainer is the name of the worker pods' only container; the
	// pod failure policy's exit-code rule names it.
	workerContainer = "worker"
	// workerCommand is the worker binary's path in the worker image.
	workerCommand = "/shard-worker"
	// scratchDir is the pods' writable directory (the root file system is
	// read-only); the merge keeps local copies of parts there.
	scratchDir = "/tmp"
	// workerUID is the non-root user the worker image runs as.
	workerUID = 65532
)

// defaultWorkerResources fits a worker, whose peak memory is bounded
// whatever the size of its shard, with room for the Go runtime.
var defaultWorkerResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1"),
		corev1.ResourceMemory: resource.MustParse("384Mi"),
	},
	Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("768Mi"),
	},
}

// jobDefaults are the manager's settings for what a spec leaves out.
type jobDefaults struct {
	Image          string
	ServiceAccount string
	Resources      *corev1.ResourceRequirements
	// Pod holds the pod-level defaults (podLabels, podAnnotations,
	// imagePullSecrets, affinity, tolerations, nodeSelector,
	// priorityClassName, activeDeadlineSeconds) in spec.workers' shape.
	Pod      v1alpha1.Workers
	LeaseTTL time.Duration
	// The plan Job's settings: its deadline when the spec sets none, and
	// the worker's --max-shards and --list-concurrency.
	PlanTimeout     time.Duration
	MaxShards       int
	ListConcurrency int
}

// Scratch sizing: the flatten pod's scratch holds at most its shard's
// Parquet part, the merge pod's the day's parts and the files it writes;
// Parquet is no larger than the gzip'd JSON it comes from, so twice the
// compressed input, plus room for the runtime, bounds either.
const (
	minScratch     = 1 << 30
	scratchHeadway = 256 << 20
)

// scratchSize is the sizeLimit of the scratch emptyDir for input bytes of
// compressed logs: 2 x bytes + 256Mi, at least 1Gi, in whole MiB.
func scratchSize(bytes int64) resource.Quantity {
	n := max(int64(minScratch), 2*bytes+scratchHeadway)
	n = (n + (1<<20 - 1)) &^ (1<<20 - 1)
	return *resource.NewQuantity(n, resource.BinarySI)
}

// flattenScratch sizes a flatten pod's scratch from the day's average shard.
func flattenScratch(day *v1alpha1.CloudTrailDay) resource.Quantity {
	if q := day.Spec.Workers.ScratchSizeLimit; q != nil {
		return *q
	}
	shards := max(int64(day.Status.Shards.Total), 1)
	return scratchSize((day.Status.Counts.Bytes + shards - 1) / shards)
}

// mergeScratch sizes a merge pod's scratch from the whole day, or from its
// share of the day when the merge is split into ranges.
func mergeScratch(day *v1alpha1.CloudTrailDay) resource.Quantity {
	if q := day.Spec.Workers.ScratchSizeLimit; q != nil {
		return *q
	}
	n := max(int64(day.Status.Merge.Indexes), 1)
	return scratchSize((day.Status.Counts.Bytes + n - 1) / n)
}

// publicKeysDir is where the plan pod finds spec.integrity's
// publicKeysConfigMap; publicKeysFile is the key the ConfigMap holds.
const (
	publicKeysDir  = "/etc/parquetrail/public-keys"
	publicKeysFile = "keys.pem"
)

// newPlanJob is the one-pod Job that lists the day and writes the attempt's
// plan at planKey(ymd, runID): the manager does no long I/O and reads no
// source bucket. rivals are the day parts of the other days that publish
// the same partition.
func newPlanJob(day *v1alpha1.CloudTrailDay, d jobDefaults, rivals []string) *batchv1.Job {
	spec := &day.Spec
	args := []string{"plan",
		"--source", sourceURL(spec), "--destination", destinationURL(spec),
		"--date", spec.Date, "--time-zone", timeZone(spec), "--run-id", day.Status.RunID,
		"--late-arrival", lateArrival(spec).String(),
		"--columns", columns(spec), "--local-time-column", localTimeColumn(spec),
		"--compression", compression(spec), "--on-malformed", onMalformed(spec),
		"--deduplicate=" + strconv.FormatBool(ptr.Deref(spec.Deduplicate, true)),
		"--shard-size", strconv.FormatInt(shardMiB(spec), 10),
		// The manager decided that the window has closed; a worker whose
		// clock lags must not refuse the day.
		"--allow-open-window",
	}
	if o := spec.Source.OrganizationID; o != "" {
		args = append(args, "--organization-id", o)
	}
	if len(spec.Source.Accounts) > 0 {
		args = append(args, "--accounts", strings.Join(spec.Source.Accounts, ","))
	}
	if len(spec.Source.Regions) > 0 {
		args = append(args, "--regions", strings.Join(spec.Source.Regions, ","))
	}
	if spec.AllowEmpty {
		args = append(args, "--allow-empty")
	}
	if d.MaxShards > 0 {
		args = append(args, "--max-shards", strconv.Itoa(d.MaxShards))
	}
	if d.ListConcurrency > 0 {
		args = append(args, "--list-concurrency", strconv.Itoa(d.ListConcurrency))
	}
	if len(rivals) > 0 {
		args = append(args, "--rivals", strings.Join(rivals, ","))
	}
	in := spec.Integrity
	verify := verifies(spec)
	if verify {
		args = append(args, "--verify-integrity", "--on-integrity", onIntegrity(spec))
		if in.PublicKeysConfigMap != "" {
			args = append(args, "--public-keys", publicKeysDir+"/"+publicKeysFile)
		}
	}
	args = append(args, storeArgs(spec, true)...)
	job := newJob(day, v1alpha1.StepPlan, d, args, *resource.NewQuantity(minScratch, resource.BinarySI))
	job.Spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	job.Spec.Completions = ptr.To[int32](1)
	job.Spec.Parallelism = ptr.To[int32](1)
	job.Spec.BackoffLimit = ptr.To(backoffLimit(&spec.Workers))
	job.Spec.PodFailurePolicy = podFailurePolicy(batchv1.PodFailurePolicyActionFailJob)
	if job.Spec.ActiveDeadlineSeconds == nil && d.PlanTimeout > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr.To(int64(d.PlanTimeout.Seconds()))
	}
	if verify && in.PublicKeysConfigMap != "" {
		pod := &job.Spec.Template.Spec
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "public-keys", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: in.PublicKeysConfigMap},
				Items:                []corev1.KeyToPath{{Key: publicKeysFile, Path: publicKeysFile}},
			},
		}})
		c := &pod.Containers[0]
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "public-keys", MountPath: publicKeysDir, ReadOnly: true})
	}
	return job
}

// shardMiB is the target shard size in whole MiB (the worker's unit),
// rounded up.
func shardMiB(spec *v1alpha1.CloudTrailDaySpec) int64 {
	return max(1, (targetShardBytes(spec)+(1<<20-1))>>20)
}

// newFlattenJob is the Indexed Job whose completion index i flattens shard
// i of the attempt's plan.
func newFlattenJob(day *v1alpha1.CloudTrailDay, d jobDefaults) *batchv1.Job {
	st := &day.Status
	w := &day.Spec.Workers
	total := st.Shards.Total
	args := []string{"flatten", "--destination", destinationURL(&day.Spec), "--plan", st.Plan.Key}
	args = append(args, storeArgs(&day.Spec, true)...)
	job := newJob(day, v1alpha1.StepFlatten, d, args, flattenScratch(day))
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job.Spec.Completions = ptr.To(total)
	job.Spec.Parallelism = ptr.To(flattenParallelism(day))
	job.Spec.BackoffLimitPerIndex = ptr.To(backoffLimit(w))
	// A day cannot be published with a shard missing: the first shard that
	// fails for good fails the Job, which stops the others.
	job.Spec.MaxFailedIndexes = ptr.To[int32](0)
	job.Spec.PodFailurePolicy = podFailurePolicy(batchv1.PodFailurePolicyActionFailIndex)
	return job
}

// flattenParallelism is the spec's parallelism, never more than the shards.
func flattenParallelism(day *v1alpha1.CloudTrailDay) int32 {
	return min(ptr.Deref(day.Spec.Workers.Parallelism, 4), day.Status.Shards.Total)
}

// newMergeJob is the one-pod Job that merges the attempt's parts into the
// day's partition and publishes its manifest.
func newMergeJob(day *v1alpha1.CloudTrailDay, d jobDefaults) *batchv1.Job {
	return newPublisherJob(day, d, v1alpha1.StepMerge, "merge", nil, mergeScratch(day))
}

// newPublisherJob is a one-pod Job that publishes the day under its lease:
// shard-worker command with the plan, extra arguments and the store's.
func newPublisherJob(day *v1alpha1.CloudTrailDay, d jobDefaults, step, command string, extra []string, scratch resource.Quantity) *batchv1.Job {
	args := append([]string{command, "--destination", destinationURL(&day.Spec), "--plan", day.Status.Plan.Key}, extra...)
	args = append(args, storeArgs(&day.Spec, false)...)
	if d.LeaseTTL > 0 {
		args = append(args, "--lease-ttl", d.LeaseTTL.String())
	}
	job := newJob(day, step, d, args, scratch)
	job.Spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	job.Spec.Completions = ptr.To[int32](1)
	job.Spec.Parallelism = ptr.To[int32](1)
	job.Spec.BackoffLimit = ptr.To(backoffLimit(&day.Spec.Workers))
	job.Spec.PodFailurePolicy = podFailurePolicy(batchv1.PodFailurePolicyActionFailJob)
	return job
}

// newRangeMergeJob is the Indexed Job that merges a large day split by
// event time: index i merges range i of status.merge.ranges into staging.
// Like the flatten Job, each index is retried on its own and the first that
// fails for good fails the Job; nothing is published until every range is
// merged (newPublishJob).
func newRangeMergeJob(day *v1alpha1.CloudTrailDay, d jobDefaults) *batchv1.Job {
	st := &day.Status
	args := []string{"merge", "--destination", destinationURL(&day.Spec), "--plan", st.Plan.Key, "--ranges", formatRanges(st.Merge.Ranges)}
	args = append(args, storeArgs(&day.Spec, false)...)
	job := newJob(day, v1alpha1.StepMerge, d, args, mergeScratch(day))
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job.Spec.Completions = ptr.To(st.Merge.Indexes)
	job.Spec.Parallelism = ptr.To(min(ptr.Deref(day.Spec.Workers.Parallelism, 4), st.Merge.Indexes))
	job.Spec.BackoffLimitPerIndex = ptr.To(backoffLimit(&day.Spec.Workers))
	job.Spec.MaxFailedIndexes = ptr.To[int32](0)
	job.Spec.PodFailurePolicy = podFailurePolicy(batchv1.PodFailurePolicyActionFailIndex)
	return job
}

// newPublishJob is the one-pod Job that joins the ranges the merge Job
// wrote and publishes the day under its lease.
func newPublishJob(day *v1alpha1.CloudTrailDay, d jobDefaults) *batchv1.Job {
	return newPublisherJob(day, d, v1alpha1.StepPublish, "publish", []string{"--ranges", formatRanges(day.Status.Merge.Ranges)}, scratchSize(0))
}

// formatRanges writes status.merge.ranges as shard-worker's --ranges.
func formatRanges(r []int32) string {
	b := make([]int, len(r))
	for i, v := range r {
		b[i] = int(v)
	}
	return plan.FormatBounds(b)
}

// mergeIndexes is how many ranges a day of rows is split into for the
// merge: one per targetMergeRows, at most maxMergeIndexes.
func mergeIndexes(w *v1alpha1.Workers, rows int64) int {
	target := max(ptr.Deref(w.TargetMergeRows, defaults.TargetMergeRows), 1)
	n := (rows + target - 1) / target
	return int(max(1, min(n, int64(ptr.Deref(w.MaxMergeIndexes, defaults.MaxMergeIndexes)))))
}

// podFailurePolicy does not count evictions and preemptions against the
// retries, and gives up at once on bad input and on a usage or
// configuration error (a flag, a bucket), which no retry can fix.
func podFailurePolicy(onBadInput batchv1.PodFailurePolicyAction) *batchv1.PodFailurePolicy {
	return &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{
			Action: batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
				{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
			},
		},
		{
			Action: onBadInput,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To(workerContainer),
				Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
				Values:        []int32{problem.ExitUsage, problem.ExitBadInput},
			},
		},
	}}
}

func backoffLimit(w *v1alpha1.Workers) int32 { return ptr.Deref(w.BackoffLimitPerIndex, 3) }

// jobLabels select an attempt's Jobs and pods.
func jobLabels(day *v1alpha1.CloudTrailDay, step string) map[string]string {
	return map[string]string{
		v1alpha1.DayLabel:     labelValue(day.Name),
		v1alpha1.DayUIDLabel:  string(day.UID),
		v1alpha1.AttemptLabel: strconv.Itoa(int(day.Status.Attempt)),
		v1alpha1.StepLabel:    step,
	}
}

func newJob(day *v1alpha1.CloudTrailDay, step string, d jobDefaults, args []string, scratch resource.Quantity) *batchv1.Job {
	w := &day.Spec.Workers
	labels := jobLabels(day, step)
	image := w.Image
	if image == "" {
		image = d.Image
	}
	resources := *defaultWorkerResources.DeepCopy()
	switch {
	case w.Resources != nil:
		resources = *w.Resources.DeepCopy()
	case d.Resources != nil:
		resources = *d.Resources.DeepCopy()
	}
	if _, ok := resources.Requests[corev1.ResourceEphemeralStorage]; !ok {
		// The scheduler places the pod where its scratch fits.
		if resources.Requests == nil {
			resources.Requests = corev1.ResourceList{}
		}
		resources.Requests[corev1.ResourceEphemeralStorage] = scratch
	}
	serviceAccount := w.ServiceAccountName
	if serviceAccount == "" {
		serviceAccount = d.ServiceAccount
	}
	env := []corev1.EnvVar{{Name: "TMPDIR", Value: scratchDir}}
	if limit, ok := resources.Limits[corev1.ResourceMemory]; ok && !limit.IsZero() {
		// Let the Go runtime collect before the kernel kills the pod.
		env = append(env, corev1.EnvVar{Name: "GOMEMLIMIT", Value: strconv.FormatInt(limit.Value()/10*9, 10)})
	}
	if s := day.Spec.Source.CredentialsSecret; s != nil {
		token := secretEnv(secretSessionToken, s.Name)
		token.ValueFrom.SecretKeyRef.Optional = ptr.To(true)
		env = append(env, secretEnv(secretAccessKeyID, s.Name), secretEnv(secretSecretAccessKey, s.Name), token)
	}
	p := podSettings(w, &d.Pod)
	// The operator's labels win: its selectors and the Job's own rely on them.
	podLabels := merged(p.PodLabels, labels)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(day.Name, day.Status.Attempt, step),
			Namespace:       day.Namespace,
			Labels:          labels,
			Annotations:     planAnnotations(day),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(day, v1alpha1.GroupVersion.WithKind("CloudTrailDay"))},
		},
		Spec: batchv1.JobSpec{
			TTLSecondsAfterFinished: ptr.To(ptr.Deref(w.TTLSecondsAfterFinished, 86400)),
			ActiveDeadlineSeconds:   p.ActiveDeadlineSeconds,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: p.PodAnnotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           serviceAccount,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					NodeSelector:                 p.NodeSelector,
					Tolerations:                  p.Tolerations,
					Affinity:                     p.Affinity,
					PriorityClassName:            p.PriorityClassName,
					ImagePullSecrets:             p.ImagePullSecrets,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](workerUID),
						RunAsGroup:     ptr.To[int64](workerUID),
						FSGroup:        ptr.To[int64](workerUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            workerContainer,
						Image:           image,
						ImagePullPolicy: w.ImagePullPolicy,
						Command:         []string{workerCommand},
						Args:            args,
						Env:             env,
						Resources:       resources,
						// The worker's last words (the bad object, the failed
						// request) show in the pod's status.
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Privileged:               ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: scratchDir}},
					}},
					Volumes: []corev1.Volume{{
						Name:         "scratch",
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &scratch}},
					}},
				},
			},
		},
	}
}

// planAnnotations name the plan a Job runs; the plan Job, which writes it,
// has none.
func planAnnotations(day *v1alpha1.CloudTrailDay) map[string]string {
	if day.Status.Plan == nil {
		return nil
	}
	return map[string]string{v1alpha1.PlanSHA256Annotation: day.Status.Plan.SHA256}
}

// podSettings are the pod-level settings of the day's spec, each falling
// back to the manager's default when the spec leaves it out; labels and
// annotations are the defaults with the spec's on top.
func podSettings(w, d *v1alpha1.Workers) v1alpha1.Workers {
	p := v1alpha1.Workers{
		PodLabels:             merged(d.PodLabels, w.PodLabels),
		PodAnnotations:        merged(d.PodAnnotations, w.PodAnnotations),
		ImagePullSecrets:      w.ImagePullSecrets,
		Affinity:              w.Affinity,
		PriorityClassName:     w.PriorityClassName,
		ActiveDeadlineSeconds: w.ActiveDeadlineSeconds,
		NodeSelector:          w.NodeSelector,
		Tolerations:           w.Tolerations,
	}
	if len(p.ImagePullSecrets) == 0 {
		p.ImagePullSecrets = d.ImagePullSecrets
	}
	if p.Affinity == nil {
		p.Affinity = d.Affinity
	}
	if p.PriorityClassName == "" {
		p.PriorityClassName = d.PriorityClassName
	}
	if p.ActiveDeadlineSeconds == nil {
		p.ActiveDeadlineSeconds = d.ActiveDeadlineSeconds
	}
	if len(p.NodeSelector) == 0 {
		p.NodeSelector = d.NodeSelector
	}
	if len(p.Tolerations) == 0 {
		p.Tolerations = d.Tolerations
	}
	return p
}

// merged is a copy of base with over's entries on top; nil when both are
// empty.
func merged(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func secretEnv(key, secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret},
		Key:                  key,
	}}}
}

// storeArgs are the worker's flags for reaching the stores. The merge reads
// no source and takes no source flag.
func storeArgs(spec *v1alpha1.CloudTrailDaySpec, source bool) []string {
	var args []string
	if source && spec.Source.Endpoint != "" {
		args = append(args, "--source-endpoint", spec.Source.Endpoint)
	}
	if spec.Destination.Endpoint != "" {
		args = append(args, "--destination-endpoint", spec.Destination.Endpoint)
	}
	if r := region(spec); r != "" {
		args = append(args, "--region", r)
	}
	if ptr.Deref(spec.Destination.PathStyle, false) || ptr.Deref(spec.Source.PathStyle, false) {
		args = append(args, "--path-style")
	}
	return args
}

// region is the one region the worker is given (CEL makes source and
// destination agree when both are set).
func region(spec *v1alpha1.CloudTrailDaySpec) string {
	if spec.Destination.Region != "" {
		return spec.Destination.Region
	}
	return spec.Source.Region
}

// storeURL is the store URL of a bucket and prefix.
func storeURL(s *v1alpha1.ObjectStore) string {
	u := "s3://" + s.Bucket
	if p := strings.Trim(s.Prefix, "/"); p != "" {
		u += "/" + p
	}
	return u
}

func sourceURL(spec *v1alpha1.CloudTrailDaySpec) string { return storeURL(&spec.Source.ObjectStore) }

func destinationURL(spec *v1alpha1.CloudTrailDaySpec) string { return storeURL(&spec.Destination) }

// objectURL is the URL of a key in the destination.
func objectURL(spec *v1alpha1.CloudTrailDaySpec, key string) string {
	return destinationURL(spec) + "/" + key
}

// planKey is the attempt's plan manifest key.
func planKey(ymd, runID string) string { return plan.PlanKey(ymd, runID) }

// jobProgress is what a Job says about its pods.
type jobProgress struct {
	Succeeded, Failed, Active int32
	// FailedIndexes are the failed completion indexes of an Indexed Job.
	FailedIndexes []int
	// Complete and Failed are the Job's final conditions; Reason and
	// Message come from the one that holds.
	Complete, JobFailed bool
	Reason, Message     string
}

// observeJob reads a Job's status. For an Indexed Job the counts come from
// completedIndexes and failedIndexes, which stay exact across pod retries,
// capped at the completions the Job was made with.
func observeJob(job *batchv1.Job) jobProgress {
	var p jobProgress
	total := ptr.Deref(job.Spec.Completions, 1)
	if ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion {
		p.Succeeded = int32(len(parseIndexes(job.Status.CompletedIndexes, int(total))))
		p.FailedIndexes = parseIndexes(ptr.Deref(job.Status.FailedIndexes, ""), int(total))
		p.Failed = int32(len(p.FailedIndexes))
	} else {
		p.Succeeded = min(job.Status.Succeeded, total)
	}
	p.Active = max(0, min(job.Status.Active, total-p.Succeeded-p.Failed))
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			p.Complete = true
			p.Reason, p.Message = c.Reason, c.Message
		case batchv1.JobFailed:
			p.JobFailed = true
			p.Reason, p.Message = c.Reason, c.Message
		}
	}
	if p.JobFailed && ptr.Deref(job.Spec.CompletionMode, "") != batchv1.IndexedCompletion {
		p.Failed = 1
	}
	return p
}

// parseIndexes parses a Job's index list ("1,3-5,7") into the sorted
// distinct indexes below total; what does not parse is skipped.
func parseIndexes(s string, total int) []int {
	if s == "" || total <= 0 {
		return nil
	}
	seen := make(map[int]bool)
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				continue
			}
		}
		for i := a; i <= b && i < total; i++ {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// formatIndexes writes indexes the way a Job does ("1,3-5,7").
func formatIndexes(idx []int) string {
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", idx[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", idx[i], idx[j])
		}
		i = j + 1
	}
	return b.String()
}
