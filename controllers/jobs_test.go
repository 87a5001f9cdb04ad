package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/problem"
)

func TestJobName(t *testing.T) {
	long := strings.Repeat("a", 240)
	cases := []struct {
		day     string
		attempt int32
		step    string
		want    string
	}{
		{"2026-11-24", 1, "flatten", "2026-11-24-1-flatten"},
		{"2026-11-24", 12, "merge", "2026-11-24-12-merge"},
		{"seoul.2026-11-24", 1, "flatten", "seoul-2026-11-24-" + shortHash("seoul.2026-11-24", 8) + "-1-flatten"},
		{long, 3, "flatten", strings.Repeat("a", 52-len("-3-flatten")-9) + "-" + shortHash(long, 8) + "-3-flatten"},
	}
	for _, c := range cases {
		got := jobName(c.day, c.attempt, c.step)
		if got != c.want {
			t.Errorf("jobName(%q, %d, %q) = %q, want %q", c.day, c.attempt, c.step, got, c.want)
		}
		if len(got) > maxJobNameLength {
			t.Errorf("jobName(%q) has %d characters", c.day, len(got))
		}
		// The pod host name of the largest index must be a DNS label.
		if errs := validation.IsDNS1123Label(got + "-99999"); len(errs) > 0 {
			t.Errorf("jobName(%q) = %q: host name invalid: %v", c.day, got, errs)
		}
	}
	// Names that differ only where truncation cuts stay apart.
	a, b := jobName(long+"x", 1, "merge"), jobName(long+"y", 1, "merge")
	if a == b {
		t.Errorf("two long names map to the same Job name %q", a)
	}
}

func TestRunIDAndRerunToken(t *testing.T) {
	uid := types.UID("3f9a1c2e-7b4d-4e21-9a8b-0c1d2e3f4a5b")
	start := time.Date(2026, 11, 25, 11, 45, 0, 0, time.FixedZone("KST", 9*3600))
	tests := []struct {
		run  string
		want string
		of   bool // an attempt of the day with uid
	}{
		{runID(uid, 2, start), "20261125T024500Z-3f9a1c2e7b4d-2", true},
		{runID(uid, 10, start.Add(time.Hour)), "20261125T034500Z-3f9a1c2e7b4d-10", true},
		{runID("0a1b2c3d-4e5f-6789-abcd-ef0123456789", 1, start), "20261125T024500Z-0a1b2c3d4e5f-1", false},
		{"3f9a1c2e7b4d-3", "3f9a1c2e7b4d-3", true}, // a run of the earlier naming
		{"20261125T024500Z-3f9a1c", "20261125T024500Z-3f9a1c", false},
	}
	for _, tc := range tests {
		if tc.run != tc.want {
			t.Errorf("runID = %q, want %q", tc.run, tc.want)
		}
		if got := runOf(uid, tc.run); got != tc.of {
			t.Errorf("runOf(%s) = %v, want %v", tc.run, got, tc.of)
		}
	}
	if got := rerunToken("now"); got != "now" {
		t.Errorf("rerunToken(short) = %q", got)
	}
	long := strings.Repeat("z", 100)
	if got := rerunToken(long); len(got) > 80 || got == rerunToken(long+"1") {
		t.Errorf("rerunToken(long) = %q", got)
	}
}

func TestParseAndFormatIndexes(t *testing.T) {
	cases := []struct {
		in    string
		total int
		want  []int
		out   string
	}{
		{"", 10, nil, ""},
		{"0", 10, []int{0}, "0"},
		{"1,3-5,7", 10, []int{1, 3, 4, 5, 7}, "1,3-5,7"},
		{"0-9", 5, []int{0, 1, 2, 3, 4}, "0-4"},   // capped at completions
		{"3-5,4-6", 10, []int{3, 4, 5, 6}, "3-6"}, // a union
		{"x,2,5-3,-1,4", 10, []int{2, 4}, "2,4"},  // junk is skipped
		{" 1 , 2 ", 10, []int{1, 2}, "1-2"},       // spaces
		{"0-99999", 100000, nil, ""},              // checked below by length
		{"7", 0, nil, ""},                         // no completions
	}
	for _, c := range cases {
		got := parseIndexes(c.in, c.total)
		if c.in == "0-99999" {
			if len(got) != 100000 {
				t.Errorf("parseIndexes(%q) has %d indexes", c.in, len(got))
			}
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("parseIndexes(%q, %d) (-want +got):\n%s", c.in, c.total, diff)
		}
		if out := formatIndexes(got); out != c.out {
			t.Errorf("formatIndexes(%v) = %q, want %q", got, out, c.out)
		}
	}
}

func TestObserveJob(t *testing.T) {
	day := flattening(controllertest.MakeDay("d", "ns").UID("uid-1").Obj(), 10)
	flatten := newFlattenJob(day, jobDefaults{Image: "img"})
	merge := newMergeJob(day, jobDefaults{Image: "img"})
	now := fixedNow
	cases := []struct {
		name  string
		job   *batchv1.Job
		apply func(*batchv1.Job)
		want  jobProgress
	}{
		{"new", flatten, func(*batchv1.Job) {}, jobProgress{}},
		{"running", flatten, func(j *batchv1.Job) { controllertest.Running(j, now, 4, "0-2,5", "") },
			jobProgress{Succeeded: 4, Active: 4}},
		{"active capped by what is left", flatten, func(j *batchv1.Job) { controllertest.Running(j, now, 9, "0-7", "") },
			jobProgress{Succeeded: 8, Active: 2}},
		{"a failed index", flatten, func(j *batchv1.Job) { controllertest.Running(j, now, 2, "0-2", "7") },
			jobProgress{Succeeded: 3, Failed: 1, FailedIndexes: []int{7}, Active: 2}},
		{"success criteria met is not the end", flatten, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, now) },
			jobProgress{Succeeded: 10}},
		{"complete", flatten, func(j *batchv1.Job) {
			controllertest.SuccessCriteriaMet(j, now)
			controllertest.Complete(j, now)
		}, jobProgress{Succeeded: 10, Complete: true, Reason: batchv1.JobReasonCompletionsReached, Message: "Reached expected number of succeeded pods"}},
		{"failure target is not the end", flatten, func(j *batchv1.Job) {
			controllertest.FailureTarget(j, now, batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded maxFailedIndexes", "3")
		}, jobProgress{Failed: 1, FailedIndexes: []int{3}}},
		{"failed", flatten, func(j *batchv1.Job) {
			controllertest.Running(j, now, 3, "0-1", "")
			controllertest.FailureTarget(j, now, batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded maxFailedIndexes", "3")
			controllertest.Failed(j, now, batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded maxFailedIndexes")
		}, jobProgress{Succeeded: 2, Failed: 1, FailedIndexes: []int{3}, JobFailed: true,
			Reason: batchv1.JobReasonMaxFailedIndexesExceeded, Message: "Job has exceeded maxFailedIndexes"}},
		{"merge complete", merge, func(j *batchv1.Job) {
			controllertest.SuccessCriteriaMet(j, now)
			controllertest.Complete(j, now)
		}, jobProgress{Succeeded: 1, Complete: true, Reason: batchv1.JobReasonCompletionsReached, Message: "Reached expected number of succeeded pods"}},
		{"merge failed", merge, func(j *batchv1.Job) {
			controllertest.FailureTarget(j, now, batchv1.JobReasonPodFailurePolicy, "Container worker exited with 3", "")
			controllertest.Failed(j, now, batchv1.JobReasonPodFailurePolicy, "Container worker exited with 3")
		}, jobProgress{Failed: 1, JobFailed: true, Reason: batchv1.JobReasonPodFailurePolicy, Message: "Container worker exited with 3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := c.job.DeepCopy()
			c.apply(j)
			if diff := cmp.Diff(c.want, observeJob(j)); diff != "" {
				t.Errorf("observeJob (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewFlattenJob(t *testing.T) {
	day := flattening(controllertest.MakeDay("2026-11-24", "ns").UID("uid-1").Parallelism(8).Obj(), 3)
	job := newFlattenJob(day, jobDefaults{Image: "example/shard-worker:v1"})

	if got, want := job.Name, "2026-11-24-1-flatten"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	ref := job.OwnerReferences
	if len(ref) != 1 || !ptr.Deref(ref[0].Controller, false) || ref[0].UID != "uid-1" || ref[0].Kind != "CloudTrailDay" {
		t.Errorf("owner references = %+v", ref)
	}
	spec := job.Spec
	if *spec.CompletionMode != batchv1.IndexedCompletion || *spec.Completions != 3 || *spec.Parallelism != 3 {
		t.Errorf("mode %v, completions %d, parallelism %d; want Indexed, 3, 3 (capped at the shards)", *spec.CompletionMode, *spec.Completions, *spec.Parallelism)
	}
	if *spec.BackoffLimitPerIndex != 3 || *spec.MaxFailedIndexes != 0 || *spec.TTLSecondsAfterFinished != 86400 {
		t.Errorf("backoffLimitPerIndex %d, maxFailedIndexes %d, ttl %d", *spec.BackoffLimitPerIndex, *spec.MaxFailedIndexes, *spec.TTLSecondsAfterFinished)
	}
	wantPolicy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr.To("worker"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{problem.ExitUsage, problem.ExitBadInput}}},
	}}
	if diff := cmp.Diff(wantPolicy, spec.PodFailurePolicy); diff != "" {
		t.Errorf("podFailurePolicy (-want +got):\n%s", diff)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Errorf("restartPolicy %q, automount %v", pod.RestartPolicy, pod.AutomountServiceAccountToken)
	}
	c := pod.Containers[0]
	wantArgs := []string{"flatten", "--destination", "s3://lake/cloudtrail", "--plan", day.Status.Plan.Key}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if c.Image != "example/shard-worker:v1" || c.Command[0] != "/shard-worker" {
		t.Errorf("image %q, command %v", c.Image, c.Command)
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || *sc.Privileged ||
		len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container security context is not restricted: %+v", sc)
	}
	if psc := pod.SecurityContext; !*psc.RunAsNonRoot || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context is not restricted: %+v", psc)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/tmp" || pod.Volumes[0].EmptyDir == nil {
		t.Errorf("no writable emptyDir at /tmp: %+v %+v", c.VolumeMounts, pod.Volumes)
	}
	wantLabels := map[string]string{
		v1alpha1.DayLabel: "2026-11-24", v1alpha1.DayUIDLabel: "uid-1", v1alpha1.AttemptLabel: "1", v1alpha1.StepLabel: "flatten",
	}
	if diff := cmp.Diff(wantLabels, job.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLabels, spec.Template.Labels); diff != "" {
		t.Errorf("pod labels (-want +got):\n%s", diff)
	}
	if job.Annotations[v1alpha1.PlanSHA256Annotation] != day.Status.Plan.SHA256 {
		t.Errorf("annotations = %v", job.Annotations)
	}
}

func TestWorkerStoreSettings(t *testing.T) {
	day := flattening(controllertest.MakeDay("d", "ns").UID("u").
		Endpoint("http://127.0.0.1:9000", "us-east-1").CredentialsSecret("s3-creds").Obj(), 2)
	flatten := newFlattenJob(day, jobDefaults{Image: "img"})
	merge := newMergeJob(day, jobDefaults{Image: "img"})

	stores := []string{"--destination-endpoint", "http://127.0.0.1:9000", "--region", "us-east-1", "--path-style"}
	wantFlatten := append([]string{"flatten", "--destination", "s3://lake/cloudtrail", "--plan", day.Status.Plan.Key,
		"--source-endpoint", "http://127.0.0.1:9000"}, stores...)
	if diff := cmp.Diff(wantFlatten, flatten.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("flatten args (-want +got):\n%s", diff)
	}
	wantMerge := append([]string{"merge", "--destination", "s3://lake/cloudtrail", "--plan", day.Status.Plan.Key}, stores...)
	if diff := cmp.Diff(wantMerge, merge.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("merge args (-want +got):\n%s", diff)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range flatten.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		e, ok := env[k]
		if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "s3-creds" || e.ValueFrom.SecretKeyRef.Key != k {
			t.Errorf("env %s = %+v, want a reference to Secret s3-creds", k, e)
		}
	}
	if e := env["AWS_SESSION_TOKEN"]; e.ValueFrom == nil || !*e.ValueFrom.SecretKeyRef.Optional {
		t.Errorf("env AWS_SESSION_TOKEN = %+v, want an optional reference", e)
	}
	if got := env["GOMEMLIMIT"].Value; got != "724775724" { // 90% of the default 768Mi limit
		t.Errorf("GOMEMLIMIT = %q", got)
	}
}

func TestNewMergeJob(t *testing.T) {
	day := flattening(controllertest.MakeDay("d", "ns").UID("u").Resources(corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
	}).Obj(), 5)
	job := newMergeJob(day, jobDefaults{Image: "img"})
	spec := job.Spec
	if job.Name != "d-1-merge" || *spec.CompletionMode != batchv1.NonIndexedCompletion || *spec.Completions != 1 || *spec.BackoffLimit != 3 {
		t.Errorf("merge Job %s: mode %v, completions %d, backoffLimit %d", job.Name, *spec.CompletionMode, *spec.Completions, *spec.BackoffLimit)
	}
	if spec.BackoffLimitPerIndex != nil || spec.MaxFailedIndexes != nil {
		t.Error("a non-indexed Job has per-index limits")
	}
	if got := spec.PodFailurePolicy.Rules[1].Action; got != batchv1.PodFailurePolicyActionFailJob {
		t.Errorf("bad-input action = %q, want FailJob", got)
	}
	c := spec.Template.Spec.Containers[0]
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		t.Error("the spec's resources were not taken as they are")
	}
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			t.Error("GOMEMLIMIT set without a memory limit")
		}
	}
}

// The manager's lease TTL reaches the merge worker as --lease-ttl; without
// one the worker keeps its default.
func TestMergeJobLeaseTTL(t *testing.T) {
	tests := []struct {
		ttl  time.Duration
		want []string
	}{
		{0, nil},
		{20 * time.Second, []string{"--lease-ttl", "20s"}},
	}
	for _, tt := range tests {
		day := flattening(controllertest.MakeDay("d", "ns").UID("u").Obj(), 2)
		args := newMergeJob(day, jobDefaults{Image: "img", LeaseTTL: tt.ttl}).Spec.Template.Spec.Containers[0].Args
		var got []string
		for i, a := range args {
			if a == "--lease-ttl" && i+1 < len(args) {
				got = args[i : i+2]
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("lease TTL %s: args %v (-want +got):\n%s", tt.ttl, args, diff)
		}
	}
}

// flattening gives day the status of an attempt that planned shards.
func flattening(day *v1alpha1.CloudTrailDay, shards int32) *v1alpha1.CloudTrailDay {
	startAttempt(&day.Status, day.UID, "", fixedNow)
	day.Status.Plan = &v1alpha1.PlanRef{Key: planKey("20261124", day.Status.RunID), SHA256: strings.Repeat("ab", 32)}
	day.Status.Shards.Total = shards
	return day
}

func TestJobDefaultsFillWhatTheSpecLeavesOut(t *testing.T) {
	rr := &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("300Mi")}}
	d := jobDefaults{Image: "img", ServiceAccount: "parquetrail-worker", Resources: rr}

	bare := flattening(controllertest.MakeDay("2026-11-24", "ns").UID("uid-1").Obj(), 2)
	pod := newFlattenJob(bare, d).Spec.Template.Spec
	if pod.ServiceAccountName != "parquetrail-worker" {
		t.Errorf("service account %q, want the manager's default", pod.ServiceAccountName)
	}
	want := rr.DeepCopy()
	want.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi") // the scratch of a small day
	if diff := cmp.Diff(*want, pod.Containers[0].Resources); diff != "" {
		t.Errorf("resources (-default +got):\n%s", diff)
	}

	own := bare.DeepCopy()
	own.Spec.Workers.ServiceAccountName = "mine"
	own.Spec.Workers.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	pod = newMergeJob(own, d).Spec.Template.Spec
	if pod.ServiceAccountName != "mine" || !pod.Containers[0].Resources.Limits.Memory().Equal(resource.MustParse("1Gi")) {
		t.Errorf("the spec's own settings lost: %q %+v", pod.ServiceAccountName, pod.Containers[0].Resources)
	}

	none := newFlattenJob(bare, jobDefaults{Image: "img"}).Spec.Template.Spec
	if none.ServiceAccountName != "" || !none.Containers[0].Resources.Requests.Memory().Equal(resource.MustParse("384Mi")) {
		t.Errorf("without manager defaults: %q %+v", none.ServiceAccountName, none.Containers[0].Resources)
	}
}

func TestScratchSize(t *testing.T) {
	const mi = 1 << 20
	cases := []struct {
		bytes int64
		want  string
	}{
		{0, "1Gi"},
		{300 * mi, "1Gi"},   // 856Mi, raised to the floor
		{384 * mi, "1Gi"},   // exactly 1Gi
		{1 << 30, "2304Mi"}, // 2 x 1Gi + 256Mi
		{5000 * mi, "10256Mi"},
		{1000*mi + 1, "2257Mi"}, // 2256Mi and 2 bytes, rounded up to whole MiB
	}
	for _, c := range cases {
		got := scratchSize(c.bytes)
		if want := resource.MustParse(c.want); got.Cmp(want) != 0 {
			t.Errorf("scratchSize(%d) = %s, want %s", c.bytes, got.String(), c.want)
		}
	}
	// A flatten pod's scratch follows its shard, the merge's the day.
	day := flattening(controllertest.MakeDay("d", "ns").UID("u").Obj(), 4)
	day.Status.Counts.Bytes = 4 << 30
	flatten := newFlattenJob(day, jobDefaults{Image: "img"}).Spec.Template.Spec
	merge := newMergeJob(day, jobDefaults{Image: "img"}).Spec.Template.Spec
	for _, c := range []struct {
		name string
		pod  corev1.PodSpec
		want string
	}{{"flatten", flatten, "2304Mi"}, {"merge", merge, "8448Mi"}} {
		limit := c.pod.Volumes[0].EmptyDir.SizeLimit
		request := c.pod.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage]
		if want := resource.MustParse(c.want); limit == nil || limit.Cmp(want) != 0 || request.Cmp(want) != 0 {
			t.Errorf("%s: sizeLimit %v, ephemeral-storage request %s, want %s", c.name, limit, request.String(), c.want)
		}
	}
	// The spec's own limit and request win.
	day.Spec.Workers.ScratchSizeLimit = ptr.To(resource.MustParse("50Gi"))
	day.Spec.Workers.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("60Gi")}}
	pod := newMergeJob(day, jobDefaults{Image: "img"}).Spec.Template.Spec
	if got := pod.Volumes[0].EmptyDir.SizeLimit.String(); got != "50Gi" {
		t.Errorf("sizeLimit = %s, want the spec's 50Gi", got)
	}
	if got := pod.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage]; got.String() != "60Gi" {
		t.Errorf("ephemeral-storage request = %s, want the spec's 60Gi", got.String())
	}
}

// TestPodTemplate: the spec's pod settings land on the Jobs' pod template,
// the manager's defaults fill what the spec leaves out, and the operator's
// own labels cannot be overridden.
func TestPodTemplate(t *testing.T) {
	defaults := jobDefaults{Image: "img", Pod: v1alpha1.Workers{
		PodLabels:             map[string]string{"team": "platform", v1alpha1.StepLabel: "hijack"},
		PodAnnotations:        map[string]string{"sidecar.istio.io/inject": "false", "karpenter.sh/do-not-disrupt": "true"},
		ImagePullSecrets:      []corev1.LocalObjectReference{{Name: "registry"}},
		PriorityClassName:     "batch-low",
		ActiveDeadlineSeconds: ptr.To[int64](21600),
		NodeSelector:          map[string]string{"pool": "batch"},
		Tolerations:           []corev1.Toleration{{Key: "batch", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}}}}},
	}}
	day := flattening(controllertest.MakeDay("d", "ns").UID("u").Obj(), 2)

	// The defaults alone.
	for _, job := range []*batchv1.Job{newFlattenJob(day, defaults), newMergeJob(day, defaults)} {
		pod := job.Spec.Template
		wantLabels := map[string]string{"team": "platform", v1alpha1.DayLabel: "d", v1alpha1.DayUIDLabel: "u", v1alpha1.AttemptLabel: "1",
			v1alpha1.StepLabel: job.Labels[v1alpha1.StepLabel]}
		if diff := cmp.Diff(wantLabels, pod.Labels); diff != "" {
			t.Errorf("%s pod labels (-want +got):\n%s", job.Name, diff)
		}
		if diff := cmp.Diff(defaults.Pod.PodAnnotations, pod.Annotations); diff != "" {
			t.Errorf("%s pod annotations (-want +got):\n%s", job.Name, diff)
		}
		got := v1alpha1.Workers{
			ImagePullSecrets: pod.Spec.ImagePullSecrets, PriorityClassName: pod.Spec.PriorityClassName, ActiveDeadlineSeconds: job.Spec.ActiveDeadlineSeconds,
			NodeSelector: pod.Spec.NodeSelector, Tolerations: pod.Spec.Tolerations, Affinity: pod.Spec.Affinity,
		}
		want := defaults.Pod
		want.PodLabels, want.PodAnnotations = nil, nil
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s pod settings (-want +got):\n%s", job.Name, diff)
		}
	}

	// The spec's own settings win; labels and annotations merge.
	own := day.DeepCopy()
	w := &own.Spec.Workers
	w.PodAnnotations = map[string]string{"sidecar.istio.io/inject": "true", "proxy.istio.io/config": "{}"}
	w.PodLabels = map[string]string{"team": "security"}
	w.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}}
	w.PriorityClassName = "high"
	w.ActiveDeadlineSeconds = ptr.To[int64](3600)
	w.NodeSelector = map[string]string{"pool": "mine"}
	job := newFlattenJob(own, defaults)
	pod := job.Spec.Template
	if diff := cmp.Diff(map[string]string{"sidecar.istio.io/inject": "true", "proxy.istio.io/config": "{}", "karpenter.sh/do-not-disrupt": "true"}, pod.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if pod.Labels["team"] != "security" || pod.Spec.ImagePullSecrets[0].Name != "mine" || pod.Spec.PriorityClassName != "high" ||
		*job.Spec.ActiveDeadlineSeconds != 3600 || pod.Spec.NodeSelector["pool"] != "mine" || pod.Spec.Tolerations[0].Key != "batch" {
		t.Errorf("the spec's settings lost: %+v %+v", pod.ObjectMeta, pod.Spec)
	}
}
