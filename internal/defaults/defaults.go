// Package defaults is the one table of a day's default settings, shared by
// the shard-worker flags, the worker's configuration, the planner and the
// CRD (whose kubebuilder markers cannot name Go constants: a test checks
// that the generated CRD's defaults equal this table).
package defaults

import "time"

// A day's settings when the user gives none. The CRD spells policies with
// a capital (Fail, Report); the worker and the plan in lower case.
const (
	TimeZone        = "UTC"
	Columns         = "full"
	Types           = "typed"
	LocalTimeColumn = "eventtime_local"
	Compression     = "zstd"
	Deduplicate     = true
	AllowEmpty      = false
	LateEvents      = "write"
	OnIntegrity     = "fail"
	// LateArrival is how long after a day's end a trail may still deliver
	// files holding its events: CloudTrail delivers within about 15
	// minutes, and an hour covers its retries without delaying the day much.
	LateArrival = time.Hour
)

// OnMalformed is the default for a malformed record or an unreadable
// object, locally and in the cluster alike: report it (counted, and named
// with its object and position in the run's error manifest) and go on, so
// that one broken object does not hold back a day; "fail" is the choice of
// a user who wants a day to stop at the first one. The CRD spells it
// Report.
const (
	OnMalformed    = "report"
	OnMalformedCRD = "Report"
)

// The merge of a large day is split by event time across pods: one per
// TargetMergeRows rows (about 20 s of one core's merging), at most
// MaxMergeIndexes.
const (
	MaxMergeIndexes = 16
	TargetMergeRows = 2_000_000
)
