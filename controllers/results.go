package controllers

// The worker's files the status is read from, decoded here by their JSON
// names so that the manager does not link the Parquet code. A test checks
// them: the reconcile tests write these files with the worker's own types
// (internal/controllertest).

// shardResult is what the status needs of a flatten worker's result file
// (plan.ResultKey).
type shardResult struct {
	Read       int64 `json:"read"`
	Outside    int64 `json:"outside"`
	Malformed  int64 `json:"malformed"`
	Unreadable int64 `json:"unreadable"`
}

// dayManifest is what the status needs of a day's published manifest
// (plan.ManifestKey).
type dayManifest struct {
	RunID      string `json:"runID"`
	Rows       int64  `json:"rows"`
	Duplicates int64  `json:"duplicates"`
	Files      []struct {
		Bytes int64 `json:"bytes"`
	} `json:"files"`
}

// runReport is what the status needs of the merge's report of the run
// (plan.ReportKey): its accounting, which the worker has checked.
type runReport struct {
	RunID   string `json:"runID"`
	Objects struct {
		Unreadable int64 `json:"unreadable"`
	} `json:"objects"`
	Records struct {
		Read       int64 `json:"read"`
		Written    int64 `json:"written"`
		Outside    int64 `json:"outsideWindow"`
		Duplicates int64 `json:"duplicates"`
		Malformed  int64 `json:"malformed"`
		Late       int64 `json:"late"`
	} `json:"records"`
	Errors string `json:"errors"`
}
