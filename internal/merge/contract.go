package merge

import "github.com/parquetrail/parquetrail/internal/plan"

// The day's manifest is part of the contract between the worker and the
// operator, declared in internal/plan; these names keep this package's
// callers short.
type (
	Manifest   = plan.Manifest
	File       = plan.File
	LateOrigin = plan.LateOrigin
	LateStats  = plan.LateStats
)
