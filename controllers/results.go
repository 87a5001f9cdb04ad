package controllers

// shardResult is what the status needs of a flatten worker's result file.
type shardResult struct {
	Read       int64 `json:"read"`
	Outside    int64 `json:"outside"`
	Malformed  int64 `json:"malformed"`
	Unreadable int64 `json:"unreadable"`
}

// dayManifest is what the status needs of a day's published manifest.
type dayManifest struct {
	RunID      string `json:"runID"`
	Rows       int64  `json:"rows"`
	Duplicates int64  `json:"duplicates"`
	Files      []struct {
		Bytes int64 `json:"bytes"`
	} `json:"files"`
}
