package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// Metric names. Alert rules and dashboards are written against them; the
// names pass promlint (a test checks): the gauge of days by stage is
// parquetrail_cloudtraildays, as promlint reads "parquetrail_days" as a
// quantity in days.
const (
	MetricDayRuns          = "parquetrail_day_runs_total"
	MetricRecordsRead      = "parquetrail_records_read_total"
	MetricRecordsWritten   = "parquetrail_records_written_total"
	MetricReadBytes        = "parquetrail_read_bytes_total"
	MetricWrittenBytes     = "parquetrail_written_bytes_total"
	MetricStageDuration    = "parquetrail_stage_duration_seconds"
	MetricDays             = "parquetrail_cloudtraildays"
	MetricLastSuccess      = "parquetrail_last_success_timestamp_seconds"
	resultSucceeded        = "succeeded"
	resultFailed           = "failed"
	dayCollectorListBudget = 10 * time.Second
)

// Metrics are parquetrail's own, beside controller-runtime's.
type Metrics struct {
	// DayRuns counts finished attempts by result (succeeded, failed).
	DayRuns *prometheus.CounterVec
	// RecordsRead counts the records read from the logs of finished attempts.
	RecordsRead prometheus.Counter
	// RecordsWritten counts rows published.
	RecordsWritten prometheus.Counter
	// ReadBytes counts compressed log bytes flattened.
	ReadBytes prometheus.Counter
	// WrittenBytes counts Parquet bytes published.
	WrittenBytes prometheus.Counter
	// StageDuration observes how long each stage of an attempt took.
	StageDuration *prometheus.HistogramVec

	reg prometheus.Registerer
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		DayRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDayRuns,
			Help: "Attempts of CloudTrailDays that finished, by result (succeeded, failed).",
		}, []string{"result"}),
		RecordsRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricRecordsRead,
			Help: "CloudTrail records read by finished attempts.",
		}),
		RecordsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricRecordsWritten,
			Help: "CloudTrail records written to Parquet by finished attempts.",
		}),
		ReadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricReadBytes,
			Help: "Compressed CloudTrail log bytes flattened.",
		}),
		WrittenBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricWrittenBytes,
			Help: "Parquet bytes published by attempts that succeeded.",
		}),
		StageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricStageDuration,
			Help:    "Wall time of the stages of a day's attempt.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15), // 1 s to about 4.5 h
		}, []string{"stage"}),
		reg: reg,
	}
	for _, result := range []string{resultSucceeded, resultFailed} {
		m.DayRuns.WithLabelValues(result)
	}
	reg.MustRegister(m.DayRuns, m.RecordsRead, m.RecordsWritten, m.ReadBytes, m.WrittenBytes, m.StageDuration)
	return m
}

// WatchDays registers the gauges read from the days themselves at each
// scrape: days by stage, and the last success per destination. Reading
// them from the days' status (not from events the manager saw) keeps them
// right across manager restarts, so that "no day published for 36 hours"
// does not fire because the manager restarted.
func (m *Metrics) WatchDays(days client.Reader) {
	m.reg.MustRegister(&dayCollector{days: days})
}

func (m *Metrics) stage(s v1alpha1.Stage, d time.Duration) {
	m.StageDuration.WithLabelValues(string(s)).Observe(d.Seconds())
}

var (
	daysDesc = prometheus.NewDesc(MetricDays,
		"CloudTrailDays by stage (the Ready condition's reason; New before the operator has seen them).",
		[]string{"stage"}, nil)
	lastSuccessDesc = prometheus.NewDesc(MetricLastSuccess,
		"When a day last succeeded into the destination (the latest completionTime of its succeeded days), in Unix seconds.",
		[]string{"destination"}, nil)
	// stages are reported even when no day is in them, so that a rule
	// comparing them never sees a missing series.
	stages = []v1alpha1.Stage{"New", v1alpha1.StageWaiting, v1alpha1.StageQueued, v1alpha1.StagePlanning,
		v1alpha1.StageFlattening, v1alpha1.StageMerging, v1alpha1.StageSucceeded, v1alpha1.StageFailed}
)

// dayCollector computes the day gauges from the manager's cache.
type dayCollector struct{ days client.Reader }

func (c *dayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- daysDesc
	ch <- lastSuccessDesc
}

func (c *dayCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), dayCollectorListBudget)
	defer cancel()
	var list v1alpha1.CloudTrailDayList
	if err := c.days.List(ctx, &list); err != nil {
		ch <- prometheus.NewInvalidMetric(daysDesc, err)
		return
	}
	byStage, last := dayGauges(list.Items)
	for stage, n := range byStage {
		ch <- prometheus.MustNewConstMetric(daysDesc, prometheus.GaugeValue, float64(n), string(stage))
	}
	for dst, t := range last {
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(t.UnixMilli())/1000, dst)
	}
}

// dayGauges counts days by stage and finds, per destination, the latest
// completion of a succeeded day.
func dayGauges(days []v1alpha1.CloudTrailDay) (map[v1alpha1.Stage]int, map[string]time.Time) {
	byStage := make(map[v1alpha1.Stage]int, len(stages))
	for _, s := range stages {
		byStage[s] = 0
	}
	last := map[string]time.Time{}
	for i := range days {
		d := &days[i]
		stage := stageOf(&d.Status)
		if stage == "" {
			stage = "New"
		}
		byStage[stage]++
		if stage == v1alpha1.StageSucceeded && d.Status.CompletionTime != nil {
			dst := destinationURL(&d.Spec)
			if t := d.Status.CompletionTime.Time; t.After(last[dst]) {
				last[dst] = t
			}
		}
	}
	return byStage, last
}
