// Package plan decides what one day's run reads: it lists the trail's date
// folders that the day's window touches, selects event-log files, and
// bin-packs them into shards that workers flatten independently. The plan is
// written as a JSON manifest into the run's staging area, from which each
// worker reads its shard by index.
package plan

import (
	"time"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Plan is the manifest of one run of one day.
type Plan struct {
	Version int `json:"version"` // format version, 1
	// RunID names this attempt; staging lives under Staging(day, RunID).
	RunID string `json:"runID"`
	// Date (YYYY-MM-DD) and TimeZone (IANA) name the day; Day gives its
	// window.
	Date     string `json:"date"`
	TimeZone string `json:"timeZone"`
	// Source and Destination are store URLs.
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Flatten settings every worker must agree on.
	Columns         string `json:"columns"`         // "full" or "seed"
	LocalTimeColumn string `json:"localTimeColumn"` // e.g. "eventtime_local"
	OnMalformed     string `json:"onMalformed"`     // "fail" or "report"
	Deduplicate     bool   `json:"deduplicate"`
	Compression     string `json:"compression"` // "zstd" (default), "snappy", "gzip", "none"
	// AllowEmpty lets a run that selects no log file publish an empty day;
	// without it the worker fails the run rather than empty a good day.
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Types of the published files: "typed" (default) or "spark".
	Types string `json:"types,omitempty"`
	// KeepRuns is how many runs of the day keep their report and error
	// files (0: the default, 10; negative: all).
	KeepRuns int `json:"keepRuns,omitempty"`
	// Rivals are the day parts of the run IDs (commit.RunDay) of the
	// operator's other CloudTrailDays for the same date and destination
	// when this attempt was planned: the merge does not replace a day one
	// of them published.
	Rivals []string `json:"rivals,omitempty"`
	// LateArrival is the margin the selection used; flatten splits the
	// records outside the window by it (read by their own day, or late).
	LateArrival time.Duration `json:"lateArrival,omitempty"`
	// LateArrivalAsked is the margin the run asked for when planning
	// widened it to what the day's published run read, or what a published
	// run of a later day took this day to read (docs/late-events.md);
	// 0 when it was not widened.
	LateArrivalAsked time.Duration `json:"lateArrivalAsked,omitempty"`
	// ReadUntil is, for days near this one (yyyyMMdd, in this zone), the
	// end of the read range their runs used, taken from their published
	// manifests while planning, and this run's own: flatten counts a
	// record of another day as read by that day's run by it, and a day
	// missing from it by this run's margin. nil in a plan written before
	// it existed: every day is then taken to read with LateArrival.
	ReadUntil map[string]time.Time `json:"readUntil,omitempty"`
	// Assumed is, for the days before this one that had no published run
	// while planning, the end of the read range flatten takes them to use
	// (their window plus this run's margin): the day's first run must read
	// at least that far, or the events it counts on that day to read are
	// written nowhere. The merged manifest keeps it.
	Assumed map[string]time.Time `json:"assumed,omitempty"`
	// LateEvents is what happens to late events: "write" ("" too) them
	// into their own day, or "count" them only (docs/late-events.md).
	LateEvents string `json:"lateEvents,omitempty"`

	// Integrity is the digest verification of the selected files (when
	// asked for): counts, the digest range verified, and every file and
	// digest that did not verify.
	Integrity *digest.Report `json:"integrity,omitempty"`

	Counts Counts  `json:"counts"`
	Shards []Shard `json:"shards"`
}

// Counts says what listing found.
type Counts struct {
	Listed        int64 `json:"listed"`        // objects seen under the listed prefixes
	Selected      int64 `json:"selected"`      // event-log files to read
	SkippedEarly  int64 `json:"skippedEarly"`  // event logs delivered before the window start
	SkippedLate   int64 `json:"skippedLate"`   // event logs delivered after window end + late margin
	NotLogs       int64 `json:"notLogs"`       // digests, Insights, other services' files
	SelectedBytes int64 `json:"selectedBytes"` // compressed bytes to read
	Accounts      int   `json:"accounts"`
	Regions       int   `json:"regions"`
	Prefixes      int   `json:"prefixes"` // date folders listed
}

// Shard is the unit of work of one worker (one Job completion index).
type Shard struct {
	Index   int            `json:"index"`
	Bytes   int64          `json:"bytes"`
	Objects []store.Object `json:"objects"`
}
