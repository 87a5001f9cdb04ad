package controllers

import "github.com/parquetrail/parquetrail/internal/plan"

// readJSON reads one of the files the worker leaves for the status (shard
// results and failures, the day's manifest, the run's report), decoded
// into the contract's own types (internal/plan), the ones the worker
// writes them with.
var readJSON = plan.ReadJSON
