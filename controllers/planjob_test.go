package controllers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

func planning(day *v1alpha1.CloudTrailDay) *v1alpha1.CloudTrailDay {
	day.Status.Attempt = 1
	day.Status.RunID = "20261125T020000Z-0a1b2c3d4e5f-1"
	return day
}

// The plan Job carries the day's settings as the worker's flags, mounts the
// public keys' ConfigMap when the spec names one, and fails at once on a
// usage or bad-input exit.
func TestNewPlanJob(t *testing.T) {
	base := []string{"plan", "--source", "s3://trail", "--destination", "s3://lake/cloudtrail",
		"--date", "2026-11-24", "--time-zone", "UTC", "--run-id", "20261125T020000Z-0a1b2c3d4e5f-1",
		"--late-arrival", "1h0m0s", "--columns", "full", "--local-time-column", "eventtime_local",
		"--compression", "zstd", "--on-malformed", "fail", "--deduplicate=true", "--shard-size", "256", "--allow-open-window"}
	tests := []struct {
		name     string
		day      *controllertest.DayWrapper
		defaults jobDefaults
		rivals   []string
		wantArgs []string
		wantKeys bool  // the ConfigMap volume and mount
		deadline int64 // 0: none
	}{
		{name: "defaults", day: controllertest.MakeDay("d", "ns"), wantArgs: base},
		{
			name: "narrowed source, seed columns, manager settings, rivals",
			day: controllertest.MakeDay("d", "ns").TimeZone("Asia/Seoul").Columns(v1alpha1.ColumnsSeed, "eventtime_kst").
				LateArrival(3*time.Hour).Accounts("111122223333", "444455556666").Regions("us-east-1").
				OnMalformed(v1alpha1.MalformedReport).TargetShardSize("1500Ki").AllowEmpty(),
			defaults: jobDefaults{MaxShards: 900, ListConcurrency: 8, PlanTimeout: 10 * time.Minute},
			rivals:   []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb"},
			wantArgs: []string{"plan", "--source", "s3://trail", "--destination", "s3://lake/cloudtrail",
				"--date", "2026-11-24", "--time-zone", "Asia/Seoul", "--run-id", "20261125T020000Z-0a1b2c3d4e5f-1",
				"--late-arrival", "3h0m0s", "--columns", "seed", "--local-time-column", "eventtime_kst",
				"--compression", "zstd", "--on-malformed", "report", "--deduplicate=true", "--shard-size", "2", "--allow-open-window",
				"--accounts", "111122223333,444455556666", "--regions", "us-east-1", "--allow-empty",
				"--max-shards", "900", "--list-concurrency", "8", "--rivals", "aaaaaaaaaaaa,bbbbbbbbbbbb"},
			deadline: 600,
		},
		{
			name:     "integrity from the API, reported",
			day:      controllertest.MakeDay("d", "ns").Integrity(v1alpha1.IntegrityReport, ""),
			wantArgs: append(slices.Clone(base), "--verify-integrity", "--on-integrity", "report"),
		},
		{
			name:     "integrity from a ConfigMap, failing the day",
			day:      controllertest.MakeDay("d", "ns").Integrity(v1alpha1.IntegrityFail, "cloudtrail-keys"),
			wantArgs: append(slices.Clone(base), "--verify-integrity", "--on-integrity", "fail", "--public-keys", "/etc/parquetrail/public-keys/keys.pem"),
			wantKeys: true,
		},
		{
			name: "integrity off",
			day: func() *controllertest.DayWrapper {
				w := controllertest.MakeDay("d", "ns").Integrity(v1alpha1.IntegrityFail, "cloudtrail-keys")
				w.Spec.Integrity.Verify = ptr.To(false)
				return w
			}(),
			wantArgs: base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.defaults
			d.Image = "img"
			job := newPlanJob(planning(tt.day.Obj()), d, tt.rivals)
			spec := job.Spec
			if job.Name != "d-1-plan" || job.Labels[v1alpha1.StepLabel] != v1alpha1.StepPlan || *spec.Completions != 1 || *spec.Parallelism != 1 || *spec.BackoffLimit != 3 {
				t.Errorf("plan Job %s: labels %v, completions %d, parallelism %d, backoffLimit %d", job.Name, job.Labels, *spec.Completions, *spec.Parallelism, *spec.BackoffLimit)
			}
			if len(job.Annotations) != 0 {
				t.Errorf("annotations %v: the plan Job runs no plan yet", job.Annotations)
			}
			pod := spec.Template.Spec
			if diff := cmp.Diff(tt.wantArgs, pod.Containers[0].Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if got := spec.PodFailurePolicy.Rules[1]; got.Action != batchv1.PodFailurePolicyActionFailJob || !slices.Equal(got.OnExitCodes.Values, []int32{2, 3}) {
				t.Errorf("exit-code rule = %+v, want FailJob on 2 and 3", got)
			}
			if got := ptr.Deref(spec.ActiveDeadlineSeconds, 0); got != tt.deadline {
				t.Errorf("activeDeadlineSeconds = %d, want %d", got, tt.deadline)
			}
			var gotKeys []string
			for _, v := range pod.Volumes {
				if v.ConfigMap != nil {
					gotKeys = append(gotKeys, v.Name+":"+v.ConfigMap.Name)
				}
			}
			for _, m := range pod.Containers[0].VolumeMounts {
				if m.Name == "public-keys" {
					gotKeys = append(gotKeys, m.MountPath)
				}
			}
			var wantKeys []string
			if tt.wantKeys {
				wantKeys = []string{"public-keys:cloudtrail-keys", "/etc/parquetrail/public-keys"}
			}
			if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
				t.Errorf("public keys volume and mount (-want +got):\n%s", diff)
			}
		})
	}
	// A spec's deadline wins over the manager's plan timeout.
	day := planning(controllertest.MakeDay("d", "ns").Obj())
	day.Spec.Workers.ActiveDeadlineSeconds = ptr.To[int64](60)
	if got := *newPlanJob(day, jobDefaults{PlanTimeout: time.Hour}, nil).Spec.ActiveDeadlineSeconds; got != 60 {
		t.Errorf("activeDeadlineSeconds = %d, want the spec's 60", got)
	}
}

func TestVerifiedCondition(t *testing.T) {
	tests := []struct {
		name   string
		verify bool
		stage  v1alpha1.Stage
		counts *v1alpha1.IntegrityCounts
		want   *metav1.Condition // Type is Verified
	}{
		{name: "off", stage: v1alpha1.StageSucceeded},
		{name: "off, not yet started", stage: v1alpha1.StageWaiting},
		{name: "on, planning", verify: true, stage: v1alpha1.StagePlanning,
			want: &metav1.Condition{Status: metav1.ConditionUnknown, Reason: "Pending", Message: "The log files are verified when the day is planned"}},
		{name: "on, failed before planning", verify: true, stage: v1alpha1.StageFailed},
		{name: "every file verified", verify: true, stage: v1alpha1.StageFlattening, counts: &v1alpha1.IntegrityCounts{Verified: 40, Digests: 6},
			want: &metav1.Condition{Status: metav1.ConditionTrue, Reason: "AllFilesVerified", Message: "All 40 log files verified against 6 signed digests"}},
		{name: "tampered", verify: true, stage: v1alpha1.StageFailed, counts: &v1alpha1.IntegrityCounts{Verified: 37, HashMismatch: 1, Missing: 2, NotYetCovered: 1, Digests: 6},
			want: &metav1.Condition{Status: metav1.ConditionFalse, Reason: "IntegrityFailed",
				Message: "37 of the day's log files verified against CloudTrail's signed digests; 1 hash mismatch, 2 missing, 1 not yet covered by a delivered digest (named in the run's error manifest)"}},
		{name: "a digest failed", verify: true, stage: v1alpha1.StageMerging, counts: &v1alpha1.IntegrityCounts{Verified: 10, DigestInvalid: 3, DigestFailures: 1},
			want: &metav1.Condition{Status: metav1.ConditionFalse, Reason: "IntegrityFailed",
				Message: "10 of the day's log files verified against CloudTrail's signed digests; 3 vouched for by a failed digest, 1 digest failure (named in the run's error manifest)"}},
		{name: "only not yet covered", verify: true, stage: v1alpha1.StageSucceeded, counts: &v1alpha1.IntegrityCounts{Verified: 10, NotYetCovered: 2},
			want: &metav1.Condition{Status: metav1.ConditionFalse, Reason: "NotYetCovered",
				Message: "10 of the day's log files verified against CloudTrail's signed digests; 2 not yet covered by a delivered digest (named in the run's error manifest)"}},
		{name: "counts of an attempt whose spec no longer verifies", stage: v1alpha1.StageSucceeded, counts: &v1alpha1.IntegrityCounts{Verified: 1},
			want: &metav1.Condition{Status: metav1.ConditionTrue, Reason: "AllFilesVerified", Message: "All 1 log files verified against 0 signed digests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != nil {
				tt.want.Type = v1alpha1.ConditionVerified
			}
			if diff := cmp.Diff(tt.want, verifiedCondition(tt.verify, tt.stage, tt.counts)); diff != "" {
				t.Errorf("Verified (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanFailure(t *testing.T) {
	const errs = "s3://lake/_parquetrail/errors/proc_ymd=20261124/run.jsonl"
	files := []digest.File{
		{Key: "AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json.gz", Outcome: digest.HashMismatch},
		{Key: "AWSLogs/1/CloudTrail/us-east-1/2026/11/24/b.json.gz", Outcome: digest.NotCovered},
		{Key: "AWSLogs/1/CloudTrail/us-east-1/2026/11/24/c.json.gz", Outcome: digest.Missing},
	}
	for i := range 6 {
		files = append(files, digest.File{Key: "AWSLogs/1/CloudTrail/eu-west-1/2026/11/24/u" + itoa(int32(i)) + ".json.gz", Outcome: digest.Unlisted})
	}
	tests := []struct {
		name     string
		failure  plan.PlanFailure
		wantWhy  string
		wantText string
	}{
		{
			name:     "not an integrity failure",
			failure:  plan.PlanFailure{Error: "bad input: no trail under s3://trail/AWSLogs/"},
			wantWhy:  v1alpha1.StalledPlanFailed,
			wantText: "The plan Job d-1-plan failed: bad input: no trail under s3://trail/AWSLogs/. Rerun the day once the cause is fixed (annotation parquetrail.io/rerun).",
		},
		{
			name: "tampered files and a failed digest, the first five named",
			failure: plan.PlanFailure{Error: "bad input: integrity: ...", Integrity: &digest.Report{
				Counts:  digest.Counts{Verified: 30, Mismatch: 1, Missing: 1, Unlisted: 6, NotCovered: 1, DigestFailures: 1},
				Digests: []digest.DigestProblem{{Key: "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/24/d.json.gz", Failure: "signature"}},
				Files:   files,
			}},
			wantWhy: v1alpha1.StalledIntegrityFailed,
			wantText: "The day's log files do not verify against CloudTrail's signed digests: 1 hash mismatch, 1 missing, 6 unlisted, 1 digest failure, 1 not yet covered by a delivered digest; " +
				"digest AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/24/d.json.gz (signature), AWSLogs/1/CloudTrail/us-east-1/2026/11/24/a.json.gz (hash-mismatch), " +
				"AWSLogs/1/CloudTrail/us-east-1/2026/11/24/c.json.gz (missing), AWSLogs/1/CloudTrail/eu-west-1/2026/11/24/u0.json.gz (unlisted), " +
				"AWSLogs/1/CloudTrail/eu-west-1/2026/11/24/u1.json.gz (unlisted) and 4 more; every one is named in " + errs + ". spec.integrity.onFailure is Fail: nothing was read or published.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why, msg := planFailure("d-1-plan", &tt.failure, errs)
			if diff := cmp.Diff([]string{tt.wantWhy, tt.wantText}, []string{why, msg}); diff != "" {
				t.Errorf("reason and message (-want +got):\n%s", diff)
			}
		})
	}
}

// A plan Job that fails on a failed integrity check fails the day naming
// the files, with the counts in status and Verified False; one that fails
// for another cause names the Job's reason.
func TestReconcilePlanFails(t *testing.T) {
	report := &digest.Report{
		Counts: digest.Counts{Verified: 99, Mismatch: 1, Digests: 24},
		Files:  []digest.File{{Key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/24/x.json.gz", Outcome: digest.HashMismatch}},
	}
	tests := []struct {
		name          string
		failure       *plan.PlanFailure // nil: the worker left none
		wantWhy       string
		wantMsg       []string
		wantIntegrity *v1alpha1.IntegrityCounts
		wantVerified  string // the condition's status, "" for absent
	}{
		{
			name:          "integrity",
			failure:       &plan.PlanFailure{Error: "bad input: integrity: 1 hash mismatches", Integrity: report},
			wantWhy:       v1alpha1.StalledIntegrityFailed,
			wantMsg:       []string{"1 hash mismatch", "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/24/x.json.gz (hash-mismatch)", "s3://lake/cloudtrail/_parquetrail/errors/proc_ymd=20261124/"},
			wantIntegrity: &v1alpha1.IntegrityCounts{Verified: 99, HashMismatch: 1, Digests: 24},
			wantVerified:  "False",
		},
		{
			name:         "the Job's deadline",
			wantWhy:      v1alpha1.StalledPlanFailed,
			wantMsg:      []string{"The plan Job 2026-11-24-1-plan failed (DeadlineExceeded: Job was active longer than specified deadline)"},
			wantVerified: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").Integrity(v1alpha1.IntegrityFail, "keys"), nil)
			e.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
			e.reconcile()
			e.reconcile()
			d := e.day()
			if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionVerified); c == nil || c.Status != metav1.ConditionUnknown {
				t.Errorf("Verified while planning = %+v, want Unknown", c)
			}
			job := e.planJob()
			if tt.failure != nil {
				if err := plan.WritePlanFailure(e.ctx, e.dst(), plan.PlanFailureKey("20261124", d.Status.RunID), tt.failure); err != nil {
					t.Fatal(err)
				}
			}
			reason, message := batchv1.JobReasonPodFailurePolicy, "Container worker for pod ns/x exited with code 3"
			if tt.failure == nil {
				reason, message = batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline"
			}
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.FailureTarget(j, e.clock.Now(), reason, message, "") })
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Failed(j, e.clock.Now(), reason, message) })
			e.reconcile()
			d = e.day()
			wantStage(t, d, v1alpha1.StageFailed, "")
			stalled := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionStalled)
			if stalled == nil || stalled.Reason != tt.wantWhy {
				t.Errorf("Stalled = %+v, want reason %s", stalled, tt.wantWhy)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(readyOf(d).Message, want) {
					t.Errorf("message %q lacks %q", readyOf(d).Message, want)
				}
			}
			if diff := cmp.Diff(tt.wantIntegrity, d.Status.Integrity); diff != "" {
				t.Errorf("integrity (-want +got):\n%s", diff)
			}
			var verified string
			if c := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionVerified); c != nil {
				verified = string(c.Status)
			}
			if verified != tt.wantVerified {
				t.Errorf("Verified = %q, want %q", verified, tt.wantVerified)
			}
			if keys := s3test.Keys(t, e.s3, "lake", "cloudtrail/"+plan.DayStagingPrefix("20261124")); len(keys) != 0 {
				t.Errorf("staging left after the failed plan: %v", keys)
			}
			if got := names(e.jobs()); !slices.Equal(got, []string{"2026-11-24-1-plan"}) {
				t.Errorf("jobs = %v, want the plan Job alone", got)
			}
		})
	}
}

// A day that verifies and reports goes on with the plan's integrity counts
// in status and Verified False; one where every file verified has Verified
// True.
func TestReconcileVerified(t *testing.T) {
	tests := []struct {
		name   string
		counts digest.Counts
		want   metav1.ConditionStatus
	}{
		{"all verified", digest.Counts{Verified: 100, Digests: 48}, metav1.ConditionTrue},
		{"one missing, reported", digest.Counts{Verified: 99, Missing: 1, Digests: 48}, metav1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns").Integrity(v1alpha1.IntegrityReport, ""), nil)
			e.clock.SetTime(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
			e.reconcile()
			e.reconcile()
			job := e.planJob()
			if !slices.Contains(job.Spec.Template.Spec.Containers[0].Args, "--verify-integrity") {
				t.Fatalf("plan args = %v", job.Spec.Template.Spec.Containers[0].Args)
			}
			// The worker's verification needs CloudTrail's keys and digests;
			// what it leaves is the plan with its report.
			withoutVerify := job.DeepCopy()
			c := &withoutVerify.Spec.Template.Spec.Containers[0]
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return a == "--verify-integrity" })
			c.Args = slices.Delete(c.Args, slices.Index(c.Args, "--on-integrity"), slices.Index(c.Args, "--on-integrity")+2)
			p, err := controllertest.Plan(e.ctx, e.src(), e.dst(), withoutVerify, nil)
			if err != nil {
				t.Fatal(err)
			}
			p.Integrity = &digest.Report{Counts: tt.counts}
			if _, err := plan.Write(e.ctx, e.dst(), p); err != nil {
				t.Fatal(err)
			}
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.SuccessCriteriaMet(j, e.clock.Now()) })
			e.updateJob(job.Name, func(j *batchv1.Job) { controllertest.Complete(j, e.clock.Now()) })
			e.reconcile()
			d := e.day()
			wantStage(t, d, v1alpha1.StageFlattening, "Planned")
			want := integrityCounts(&digest.Report{Counts: tt.counts})
			if diff := cmp.Diff(want, d.Status.Integrity); diff != "" {
				t.Errorf("integrity (-want +got):\n%s", diff)
			}
			got := apimeta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionVerified)
			if got == nil || got.Status != tt.want || got.ObservedGeneration != d.Generation {
				t.Errorf("Verified = %+v, want %s", got, tt.want)
			}
		})
	}
}

// The finalizer names the day's staging prefix, where it removes or leaves
// the staging data, not the partition's date folder.
func TestFinalizerNamesTheStagingPrefix(t *testing.T) {
	for _, withSecret := range []bool{true, false} {
		e := newEnv(t, controllertest.MakeDay("2026-11-24", "ns"), nil)
		e.toFlattening()
		if !withSecret {
			if err := e.client.Delete(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: "ns"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.client.Delete(e.ctx, e.day()); err != nil {
			t.Fatal(err)
		}
		e.drain()
		e.reconcile()
		var got []string
		for len(e.events.Events) > 0 {
			got = append(got, <-e.events.Events)
		}
		const prefix = "s3://lake/cloudtrail/_parquetrail/staging/proc_ymd=20261124/"
		want := "Normal StagingRemoved Removed 1 staging objects under " + prefix
		if !withSecret {
			want = "Warning StagingKept Left the staging data under " + prefix + `: reading the credentials Secret ns/s3: secrets "s3" not found`
		}
		if diff := cmp.Diff([]string{want}, got); diff != "" {
			t.Errorf("secret %v: events (-want +got):\n%s", withSecret, diff)
		}
	}
}
