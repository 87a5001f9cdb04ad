package plan

import (
	"fmt"
	"time"

	"github.com/parquetrail/parquetrail/internal/problem"
)

// ShardResult is what a flatten worker reports of its shard, written as
// JSON to ResultKey.
type ShardResult struct {
	Shard int    `json:"shard"`
	Part  string `json:"part"`

	Objects    int64 `json:"objects"`    // objects read (whole or in part)
	Bytes      int64 `json:"bytes"`      // stored (compressed) bytes read
	JSONBytes  int64 `json:"jsonBytes"`  // decompressed bytes scanned
	Unreadable int64 `json:"unreadable"` // objects that could not be read to their end

	Read      int64 `json:"read"`
	Written   int64 `json:"written"`
	Outside   int64 `json:"outside"`
	Malformed int64 `json:"malformed"`
	// Outside = OwnDay + Late: read by their own day's run, or not.
	OwnDay int64 `json:"ownDay"`
	Late   int64 `json:"late"`
	// LateParts are the side parts of late records kept for their days.
	LateParts []LatePart `json:"lateParts,omitempty"`

	MinEventTime *time.Time `json:"minEventTime,omitempty"` // of written rows
	MaxEventTime *time.Time `json:"maxEventTime,omitempty"`
	RowGroups    int        `json:"rowGroups"`
	PartBytes    int64      `json:"partBytes"`

	// RangeRows are the written rows per fine event-time range of the
	// day's window (RangeWidth each, RangeCount of them), for the plan of
	// a range-partitioned merge (PlanMerge). Empty when no row was written.
	RangeRows []int64 `json:"rangeRows,omitempty"`

	// Problems names malformed records and unreadable objects, at most
	// flatten.Options.MaxProblems of them; ProblemsOmitted counts the rest.
	Problems        []problem.Problem `json:"problems,omitempty"`
	ProblemsOmitted int64             `json:"problemsOmitted,omitempty"`

	Timings ShardTimings `json:"timings"`
}

// ShardTimings are the wall times of a shard. Stages overlap, so they add up to more than Total.
type ShardTimings struct {
	Total  TextDuration `json:"total"`
	Scan   TextDuration `json:"scan"`   // flattening (busy time of the scanning goroutine)
	Encode TextDuration `json:"encode"` // sorting, encoding and writing row groups
}

// TextDuration marshals as a string ("1.5s").
type TextDuration time.Duration

// MarshalJSON writes the duration as Go prints it.
func (d TextDuration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *TextDuration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return fmt.Errorf("duration %s: want a string", b)
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	*d = TextDuration(v)
	return err
}

// Check verifies the shard's accounting.
func (r *ShardResult) Check() error {
	if r.Read != r.Written+r.Outside+r.Malformed {
		return fmt.Errorf("shard %d: read %d != written %d + outside %d + malformed %d", r.Shard, r.Read, r.Written, r.Outside, r.Malformed)
	}
	if r.Outside != r.OwnDay+r.Late {
		return fmt.Errorf("shard %d: outside %d != own day %d + late %d", r.Shard, r.Outside, r.OwnDay, r.Late)
	}
	return nil
}

// LatePart is a side part of late records for one target day, written by
// one shard: sorted row groups, like a part, in the run's staging area.
type LatePart struct {
	Day  string `json:"day"` // yyyyMMdd of the records' own day
	Key  string `json:"key"`
	Rows int64  `json:"rows"`
}

// Failure is what a shard that failed on bad input leaves in staging at
// FailureKey: the operator copies Error, which names the object and the
// position in it, into the status.
type Failure struct {
	Result *ShardResult `json:"result"`
	Error  string       `json:"error"`
}
