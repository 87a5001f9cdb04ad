package pipeline

import "github.com/parquetrail/parquetrail/internal/plan"

// The run's report is part of the contract between the worker and the
// operator, declared in internal/plan; these names keep this package's
// callers short.
type (
	Summary   = plan.Report
	Duration  = plan.Duration
	Objects   = plan.Objects
	Records   = plan.Records
	Integrity = plan.Integrity
	Stages    = plan.Stages
	Late      = plan.Late
	LateDay   = plan.LateDay
)

// Late-event modes (docs/late-events.md).
const (
	LateWrite = plan.LateWrite
	LateCount = plan.LateCount
)
