package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parquetrail/parquetrail/internal/digest"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Duration prints as seconds in JSON and as a Go duration in text.
type Duration time.Duration

// MarshalJSON writes seconds with millisecond precision.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", time.Duration(d).Seconds())), nil
}

// UnmarshalJSON reads what MarshalJSON writes, so that a report read back
// has the timings it was written with.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var sec float64
	if err := json.Unmarshal(b, &sec); err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	*d = Duration(time.Duration(math.Round(sec*1000)) * time.Millisecond)
	return nil
}

// Millis is d to the millisecond, the precision the report keeps.
func Millis(d time.Duration) Duration { return Duration(d.Round(time.Millisecond)) }

func (d Duration) String() string { return time.Duration(d).Round(time.Millisecond).String() }

// Report is the outcome of a day's run: what the worker prints, and writes
// at ReportKey for the operator.
type Report struct {
	Header
	RunID   string `json:"runID"`
	Columns string `json:"columns"`

	Objects Objects `json:"objects"`
	Records Records `json:"records"`
	Shards  int     `json:"shards"`

	Output   string   `json:"output"`   // the partition's URL
	Manifest string   `json:"manifest"` // the day's manifest URL
	Errors   string   `json:"errors,omitempty"`
	Files    int      `json:"files"`
	OutBytes int64    `json:"outputBytes"`
	Problems []string `json:"problems,omitempty"` // the first few, named

	// Integrity is the digest verification's outcome, when it ran.
	Integrity *Integrity `json:"integrity,omitempty"`
	// Late is what the run did with late events.
	Late *Late `json:"lateEvents,omitempty"`

	Stages Stages `json:"stages"`
}

// Objects counts what listing found and what was read.
type Objects struct {
	Listed       int64 `json:"listed"`
	Selected     int64 `json:"selected"`
	SkippedEarly int64 `json:"skippedEarly"`
	SkippedLate  int64 `json:"skippedLate"`
	NotLogs      int64 `json:"notLogs"`
	Read         int64 `json:"read"`
	Unreadable   int64 `json:"unreadable"`
	Bytes        int64 `json:"bytes"` // compressed bytes read
}

// Records is the day's accounting: Read = Written + Outside + Duplicates + Malformed.
type Records struct {
	Read       int64 `json:"read"`
	Written    int64 `json:"written"`
	Outside    int64 `json:"outsideWindow"`
	Duplicates int64 `json:"duplicates"`
	Malformed  int64 `json:"malformed"`
	// Outside = OwnDay + Late: records of other days whose own day's run
	// reads their file, and those it does not (docs/late-events.md).
	OwnDay int64 `json:"ownDay"`
	Late   int64 `json:"late"`
}

// Integrity counts the selected files by verification outcome, and the
// digests read and failed; Ranges is the digest range verified per chain.
type Integrity struct {
	digest.Counts
	Ranges []digest.Range `json:"ranges"`
}

// AddIntegrity adds the digest verification's outcome.
func (s *Report) AddIntegrity(r *digest.Report) {
	s.Integrity = &Integrity{Counts: r.Counts, Ranges: r.Ranges}
}

// Stages is the wall time of each stage.
type Stages struct {
	Plan    Duration `json:"plan"`
	Flatten Duration `json:"flatten"`
	Merge   Duration `json:"merge"`
	Total   Duration `json:"total"`
}

// NewReport starts the report of plan p's run of day: what planning found.
func NewReport(p *Plan, day window.Day) *Report {
	return &Report{
		Header: NewHeader(day),
		RunID:  p.RunID, Columns: p.Columns, Shards: len(p.Shards),
		Objects: Objects{
			Listed: p.Counts.Listed, Selected: p.Counts.Selected, SkippedEarly: p.Counts.SkippedEarly,
			SkippedLate: p.Counts.SkippedLate, NotLogs: p.Counts.NotLogs,
		},
		Output:   JoinURL(p.Destination, PartitionPrefix(day.YMD())),
		Manifest: JoinURL(p.Destination, ManifestKey(day.YMD())),
	}
}

// AddShards adds the shards' results: objects read, records read, outside
// the window and malformed, and the first problems.
func (s *Report) AddShards(rs []*ShardResult) {
	for _, r := range rs {
		s.Objects.Read += r.Objects
		s.Objects.Bytes += r.Bytes
		s.Objects.Unreadable += r.Unreadable
		s.Records.Read += r.Read
		s.Records.Outside += r.Outside
		s.Records.OwnDay += r.OwnDay
		s.Records.Late += r.Late
		s.Records.Malformed += r.Malformed
		for _, p := range r.Problems {
			if len(s.Problems) < 10 {
				s.Problems = append(s.Problems, p.Error())
			}
		}
	}
}

// AddMerge adds what the merge published: records written, duplicates
// dropped, files.
func (s *Report) AddMerge(m *Manifest) {
	s.Records.Written = m.Rows
	s.Records.Duplicates = m.Duplicates
	s.Files = len(m.Files)
	for _, f := range m.Files {
		s.OutBytes += f.Bytes
	}
}

// Check verifies the accounting: every record read is written, outside the
// window, a duplicate, or malformed.
func (s *Report) Check() error {
	r := s.Records
	if got := r.Written + r.Outside + r.Duplicates + r.Malformed; got != r.Read {
		return fmt.Errorf("accounting does not add up: read %d, but written %d + outside %d + duplicates %d + malformed %d = %d",
			r.Read, r.Written, r.Outside, r.Duplicates, r.Malformed, got)
	}
	if r.Outside != r.OwnDay+r.Late {
		return fmt.Errorf("accounting does not add up: outside window %d, but own day %d + late %d", r.Outside, r.OwnDay, r.Late)
	}
	return nil
}

// WriteJSON prints the summary as one JSON object.
func (s *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText prints the summary for a person.
func (s *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	p("day\t%s %s  [%s, %s) UTC", s.Date, s.TimeZone, s.WindowStart.Format(time.RFC3339), s.WindowEnd.Format(time.RFC3339))
	p("objects\tlisted %d, selected %d, skipped %d early + %d late, %d not event logs", s.Objects.Listed, s.Objects.Selected, s.Objects.SkippedEarly, s.Objects.SkippedLate, s.Objects.NotLogs)
	p("read\t%d objects, %s compressed, %d unreadable, in %d shards", s.Objects.Read, bytesHuman(s.Objects.Bytes), s.Objects.Unreadable, s.Shards)
	r := s.Records
	p("records\tread %d = written %d + outside window %d (own day %d + late %d) + duplicates %d + malformed %d", r.Read, r.Written, r.Outside, r.OwnDay, r.Late, r.Duplicates, r.Malformed)
	s.Late.text(p)
	p("output\t%s (%d files, %s, %s columns)", s.Output, s.Files, bytesHuman(s.OutBytes), s.Columns)
	p("manifest\t%s", s.Manifest)
	if in := s.Integrity; in != nil {
		p("integrity\tverified %d, not yet covered %d, hash mismatch %d, missing %d, unlisted %d, digest invalid %d; %d digests, %d failed",
			in.Verified, in.NotCovered, in.Mismatch, in.Missing, in.Unlisted, in.DigestInvalid, in.Digests, in.DigestFailures)
	}
	if s.Errors != "" {
		p("errors\t%s", s.Errors)
	}
	for _, pr := range s.Problems {
		p("problem\t%s", pr)
	}
	p("time\tplan %s, flatten %s, merge %s, total %s", s.Stages.Plan, s.Stages.Flatten, s.Stages.Merge, s.Stages.Total)
	return tw.Flush()
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// JoinURL is key under the store URL root.
func JoinURL(root, key string) string {
	if root == "" {
		return key
	}
	return strings.TrimSuffix(root, "/") + "/" + key
}

// Late-event modes (docs/late-events.md).
const (
	LateWrite = "write" // late events are written into their own days
	LateCount = "count" // late events are only counted
)

// Late is what a run did with late events: those it wrote into their own
// days (per day), and the late files of other days' runs that its own day
// carries over.
type Late struct {
	Mode    string    `json:"mode"`
	Written int64     `json:"written"` // rows added to their own days
	Days    []LateDay `json:"days,omitempty"`
	// Carried counts the rows of other days' late files that this day's
	// new manifest keeps (CarriedFiles files); CarriedDropped the rows of
	// those files that this run wrote itself (it now reads their files).
	Carried        int64 `json:"carried"`
	CarriedFiles   int   `json:"carriedFiles"`
	CarriedDropped int64 `json:"carriedDropped"`
	// Done is set once every day has been amended.
	Done bool `json:"done"`
	// Widened says that the run read further than the margin asked for,
	// and why ("" when it did not).
	Widened string `json:"widened,omitempty"`
}

// LateDay is the late file of one target day.
type LateDay struct {
	Date string `json:"date"` // YYYY-MM-DD
	LateStats
	File    string `json:"file,omitempty"`    // the day's late file from this run
	Skipped string `json:"skipped,omitempty"` // why nothing was written
}

// text prints the late events' lines of the summary.
func (l *Late) text(p func(string, ...any)) {
	if l == nil {
		return
	}
	if l.Mode == LateCount {
		p("late\tcounted only (--late-events count)")
	}
	if l.Widened != "" {
		p("late\t%s", l.Widened)
	}
	for _, d := range l.Days {
		switch {
		case d.Skipped != "":
			p("late\t%s: not written: %s", d.Date, d.Skipped)
		case d.File != "" && d.Kept > 0:
			p("late\t%s: %d written (%d already there, %d duplicates) and %d kept from the earlier late file to %s", d.Date, d.Written, d.Present, d.Duplicates, d.Kept, d.File)
		case d.File != "":
			p("late\t%s: %d written (%d already there, %d duplicates) to %s", d.Date, d.Written, d.Present, d.Duplicates, d.File)
		default:
			p("late\t%s: none left to write (%d already there, %d duplicates); earlier late file removed", d.Date, d.Present, d.Duplicates)
		}
	}
	if l.CarriedFiles > 0 || l.CarriedDropped > 0 {
		p("late\tthis day keeps %d rows in %d late files of other days' runs (%d of their rows now read by this run)", l.Carried, l.CarriedFiles, l.CarriedDropped)
	}
}
