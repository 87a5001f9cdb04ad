package plan

import (
	"encoding/json"
	"time"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Header names the day a manifest or a report is of: the date, the zone
// and the day's window in UTC, as the files have always spelled them.
type Header struct {
	Date        string    `json:"date"`
	TimeZone    string    `json:"timeZone"`
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
}

// NewHeader is the header of day d.
func NewHeader(d window.Day) Header {
	return Header{Date: d.Date, TimeZone: d.ZoneName(), WindowStart: d.Start, WindowEnd: d.End}
}

// File is one published Parquet file of a day.
type File struct {
	Key          string    `json:"key"`
	Rows         int64     `json:"rows"`
	Bytes        int64     `json:"bytes"`
	SHA256       string    `json:"sha256"`
	RowGroups    int       `json:"rowGroups"`
	MinEventTime time.Time `json:"minEventTime"`
	MaxEventTime time.Time `json:"maxEventTime"`
	// Late is set on a file of late records another day's run added.
	Late *LateOrigin `json:"late,omitempty"`
}

// Manifest describes a day's published output, at ManifestKey.
type Manifest struct {
	Version int    `json:"version"`
	RunID   string `json:"runID"`
	Header
	Columns         string   `json:"columns"`
	Types           string   `json:"types,omitempty"`
	LocalTimeColumn string   `json:"localTimeColumn"`
	ColumnNames     []string `json:"columnNames"`
	Compression     string   `json:"compression"`
	Deduplicate     bool     `json:"deduplicate"`

	Parts      int   `json:"parts"`      // part files merged
	Runs       int   `json:"runs"`       // sorted runs (row groups of the parts)
	RowsIn     int64 `json:"rowsIn"`     // rows read from the parts
	Rows       int64 `json:"rows"`       // rows published
	Duplicates int64 `json:"duplicates"` // rows dropped as duplicate events

	Files    []File    `json:"files"`
	Created  time.Time `json:"created"`
	Duration string    `json:"duration"`

	// ReadUntil is the end of the read range of the run that published
	// the day's own files (window end plus its late-arrival margin): it
	// read the files delivered from the window's start until then. Zero in
	// a day holding only late files, or published before it was recorded.
	ReadUntil time.Time `json:"readUntil,omitzero"`
	// Assumed is the plan's: days before this one whose first run must
	// read at least until then (Plan.Assumed).
	Assumed map[string]time.Time `json:"assumed,omitempty"`

	// LateRows counts the rows of the late files (Rows does not).
	LateRows int64 `json:"lateRows,omitempty"`
	// Integrity is the digest verification of the files read, when it ran.
	Integrity *digest.Report `json:"integrity,omitempty"`
}

// JSON is the manifest as published.
func (m *Manifest) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// LateOrigin says where a day's late file came from: the day whose run read
// the records' files (after this day's own run could), and that run.
type LateOrigin struct {
	SourceDate string `json:"sourceDate"` // YYYY-MM-DD
	SourceRun  string `json:"sourceRun"`
}

// LateStats accounts for a late file: In = Written + Duplicates + Present,
// and the file has Written + Kept rows.
type LateStats struct {
	In         int64 `json:"in"`         // rows read from the side parts
	Written    int64 `json:"written"`    // rows of the side parts in the file
	Duplicates int64 `json:"duplicates"` // repeated events among the late rows
	Present    int64 `json:"present"`    // events the day already holds (same eventid and eventtime)
	// Earlier counts the rows of the late files being replaced; Kept those
	// of them in the file (neither the side parts nor the day have them).
	Earlier int64 `json:"earlier,omitempty"`
	Kept    int64 `json:"kept,omitempty"`
}
