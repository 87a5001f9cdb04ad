package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
	"github.com/parquetrail/parquetrail/internal/controllertest"
)

// metricDays are days in several stages, two destinations.
func metricDays() []client.Object {
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	day := func(name string, stage v1alpha1.Stage, dst string, done time.Duration) client.Object {
		d := controllertest.MakeDay(name, "ns").Obj()
		d.Spec.Destination.Bucket = dst
		if stage != "" {
			updateStatus(&d.Status, 1, &outcome{stage: stage}, false, t0)
		}
		if stage == v1alpha1.StageSucceeded || stage == v1alpha1.StageFailed {
			d.Status.CompletionTime = &metav1.Time{Time: t0.Add(done)}
		}
		return d
	}
	return []client.Object{
		day("new", "", "lake", 0),
		day("queued-1", v1alpha1.StageQueued, "lake", 0),
		day("queued-2", v1alpha1.StageQueued, "lake", 0),
		day("flattening", v1alpha1.StageFlattening, "lake", 0),
		day("ok-1", v1alpha1.StageSucceeded, "lake", time.Hour),
		day("ok-2", v1alpha1.StageSucceeded, "lake", 3*time.Hour),
		day("ok-3", v1alpha1.StageSucceeded, "other-lake", 30*time.Minute),
		day("failed", v1alpha1.StageFailed, "lake", 5*time.Hour), // a failure is no success
	}
}

// TestMetricsLint: every metric, with values, passes promlint (the names,
// units and help texts alert rules rely on).
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	m.WatchDays(fake.NewClientBuilder().WithScheme(scheme).WithObjects(metricDays()...).Build())
	m.DayRuns.WithLabelValues(resultFailed).Inc()
	m.ReadBytes.Add(1 << 20)
	m.WrittenBytes.Add(1 << 19)
	m.RecordsRead.Add(10)
	m.RecordsWritten.Add(9)
	m.stage(v1alpha1.StagePlanning, time.Second)

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	want := []string{MetricDays, MetricDayRuns, MetricLastSuccess, MetricReadBytes, MetricRecordsRead, MetricRecordsWritten, MetricStageDuration, MetricWrittenBytes}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	// The gauges, as a scrape shows them.
	wantText := `
# HELP parquetrail_cloudtraildays CloudTrailDays by stage (the Ready condition's reason; New before the operator has seen them).
# TYPE parquetrail_cloudtraildays gauge
parquetrail_cloudtraildays{stage="Failed"} 1
parquetrail_cloudtraildays{stage="Flattening"} 1
parquetrail_cloudtraildays{stage="Merging"} 0
parquetrail_cloudtraildays{stage="New"} 1
parquetrail_cloudtraildays{stage="Planning"} 0
parquetrail_cloudtraildays{stage="Queued"} 2
parquetrail_cloudtraildays{stage="Succeeded"} 3
parquetrail_cloudtraildays{stage="Waiting"} 0
# HELP parquetrail_last_success_timestamp_seconds When a day last succeeded into the destination (the latest completionTime of its succeeded days), in Unix seconds.
# TYPE parquetrail_last_success_timestamp_seconds gauge
parquetrail_last_success_timestamp_seconds{destination="s3://lake/cloudtrail"} 1.7955864e+09
parquetrail_last_success_timestamp_seconds{destination="s3://other-lake/cloudtrail"} 1.7955774e+09
# HELP parquetrail_day_runs_total Attempts of CloudTrailDays that finished, by result (succeeded, failed).
# TYPE parquetrail_day_runs_total counter
parquetrail_day_runs_total{result="failed"} 1
parquetrail_day_runs_total{result="succeeded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantText), MetricDays, MetricLastSuccess, MetricDayRuns); err != nil {
		t.Error(err)
	}
}
