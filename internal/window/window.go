// Package window turns a calendar date in an IANA time zone into the UTC
// interval of event times that belong to it, and into the UTC date folders a
// trail delivers them to.
package window

import (
	"fmt"
	"regexp"
	"time"

	// Embedded zone data: the result must not depend on the zoneinfo of the
	// host (distroless images have none, and hosts lag behind tzdata).
	_ "time/tzdata"
)

// Day is one calendar day in a time zone: the half-open UTC interval
// [Start, End), 23 or 25 hours long on DST change days.
type Day struct {
	Date  string         // YYYY-MM-DD as given
	Zone  *time.Location // never nil
	Start time.Time      // UTC
	End   time.Time      // UTC, exclusive
}

// Reasons Selects gives for a file that cannot hold events of the window.
const (
	ReasonEarly = "early" // delivered before the window start
	ReasonLate  = "late"  // delivered after the window end plus the late-arrival margin
)

// FolderLayout is the time layout of a trail's UTC date folders.
const FolderLayout = "2006/01/02"

var dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// New returns the day named by date (YYYY-MM-DD) in the IANA time zone zone;
// "" means UTC. "Local" is refused: a day must mean the same on every host.
func New(date, zone string) (Day, error) {
	if !dateRE.MatchString(date) {
		return Day{}, fmt.Errorf("window: date %q: want YYYY-MM-DD", date)
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return Day{}, fmt.Errorf("window: date %q is not a calendar date: %w", date, err)
	}
	loc, err := loadZone(zone)
	if err != nil {
		return Day{}, err
	}
	start := startOfDay(d, loc)
	end := startOfDay(d.AddDate(0, 0, 1), loc)
	return Day{Date: date, Zone: loc, Start: start, End: end}, nil
}

// MustNew is New for tests and constants; it panics on error.
func MustNew(date, zone string) Day {
	d, err := New(date, zone)
	if err != nil {
		panic(err)
	}
	return d
}

func loadZone(zone string) (*time.Location, error) {
	switch zone {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("window: time zone %q depends on the host; name an IANA zone such as \"Asia/Seoul\"", zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("window: time zone %q is not an IANA time zone name: %w", zone, err)
	}
	return loc, nil
}

// startOfDay returns the first instant whose local date in loc is the
// calendar date of d (d's clock is ignored). time.Date does not say which
// instant it returns when local midnight falls into a DST gap (America/Santiago,
// Asia/Beirut, ...) or occurs twice, so the boundary is searched for instead:
// every UTC offset lies within [-12h, +14h], so local midnight lies within 28
// hours of the same wall clock read as UTC.
func startOfDay(d time.Time, loc *time.Location) time.Time {
	y, m, dd := d.Date()
	wall := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	if loc == time.UTC {
		return wall
	}
	reached := func(t time.Time) bool {
		ly, lm, ld := t.In(loc).Date()
		return !time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(wall)
	}
	lo, hi := wall.Add(-15*time.Hour), wall.Add(13*time.Hour) // !reached(lo), reached(hi)
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if reached(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi.UTC()
}

// YMD is the date as yyyyMMdd, the value of the proc_ymd partition.
func (d Day) YMD() string {
	if len(d.Date) != len("2006-01-02") {
		return ""
	}
	return d.Date[0:4] + d.Date[5:7] + d.Date[8:10]
}

// ZoneName is the IANA name of the zone ("UTC" for the default).
func (d Day) ZoneName() string {
	if d.Zone == nil {
		return "UTC"
	}
	return d.Zone.String()
}

// Length is End - Start: 24h, or 23h/25h (or 23.5h/24.5h) on DST change days.
func (d Day) Length() time.Duration { return d.End.Sub(d.Start) }

// Contains reports whether t lies in [Start, End).
func (d Day) Contains(t time.Time) bool {
	return !t.Before(d.Start) && t.Before(d.End)
}

// Folders returns the UTC date folders ("YYYY/MM/DD") a trail may have
// delivered the day's events to: from the UTC date of Start through the UTC
// date of End+margin, since a file delivered up to margin after the end may
// still hold events of the window.
func (d Day) Folders(margin time.Duration) []string {
	first := d.Start.UTC()
	last := d.End.Add(margin).UTC()
	cur := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	var out []string
	for !cur.After(last) {
		out = append(out, cur.Format(FolderLayout))
		cur = cur.AddDate(0, 0, 1)
	}
	return out
}

// Selects reports whether a log file delivered at delivered may hold events
// of the window. A trail names its files by the minute of delivery and writes
// only events from before the delivery, so a file of a minute before the
// minute of Start holds none; a file delivered after End+margin is taken as
// out of scope (events of the window that arrive that late are missed unless
// the margin is raised). reason is ReasonEarly or ReasonLate when ok is false.
func (d Day) Selects(delivered time.Time, margin time.Duration) (ok bool, reason string) {
	switch {
	case delivered.Before(d.Start.Truncate(time.Minute)):
		return false, ReasonEarly
	case delivered.After(d.End.Add(margin)):
		return false, ReasonLate
	}
	return true, ""
}

// ReadyAt is when the day may be processed: its end plus the late-arrival
// margin.
func (d Day) ReadyAt(margin time.Duration) time.Time { return d.End.Add(margin) }

// Closed reports whether now is at or after ReadyAt(margin).
func (d Day) Closed(now time.Time, margin time.Duration) bool {
	return !now.Before(d.ReadyAt(margin))
}

// String is "2024-01-02 Asia/Seoul [2024-01-01T15:00:00Z, 2024-01-02T15:00:00Z)".
func (d Day) String() string {
	return fmt.Sprintf("%s %s [%s, %s)", d.Date, d.ZoneName(),
		d.Start.Format(time.RFC3339), d.End.Format(time.RFC3339))
}
