package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parquetrail/parquetrail/api/v1alpha1"
)

// Metrics are parquetrail's own, beside controller-runtime's.
type Metrics struct {
	// Days counts finished attempts by outcome (succeeded, failed).
	Days *prometheus.CounterVec
	// RecordsWritten counts rows published.
	RecordsWritten prometheus.Counter
	// BytesRead counts compressed log bytes flattened.
	BytesRead prometheus.Counter
	// StageDuration observes how long each stage of an attempt took.
	StageDuration *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Days: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parquetrail_days_total",
			Help: "Attempts of CloudTrailDays that finished, by outcome.",
		}, []string{"outcome"}),
		RecordsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parquetrail_records_written_total",
			Help: "CloudTrail records written to Parquet.",
		}),
		BytesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parquetrail_bytes_read_total",
			Help: "Compressed CloudTrail log bytes flattened.",
		}),
		StageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parquetrail_stage_duration_seconds",
			Help:    "Wall time of the stages of a day's attempt.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15), // 1 s to about 4.5 h
		}, []string{"stage"}),
	}
	for _, outcome := range []string{"succeeded", "failed"} {
		m.Days.WithLabelValues(outcome)
	}
	reg.MustRegister(m.Days, m.RecordsWritten, m.BytesRead, m.StageDuration)
	return m
}

func (m *Metrics) stage(s v1alpha1.Stage, d time.Duration) {
	m.StageDuration.WithLabelValues(string(s)).Observe(d.Seconds())
}
