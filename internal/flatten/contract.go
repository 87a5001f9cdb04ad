package flatten

import "github.com/parquetrail/parquetrail/internal/plan"

// The shard result is part of the contract between the worker and the
// operator, declared in internal/plan; these names keep this package's
// callers short.
type (
	Result   = plan.ShardResult
	LatePart = plan.LatePart
	Timings  = plan.ShardTimings
	Duration = plan.TextDuration
)
