// Package window turns a calendar date in an IANA time zone into the UTC
// interval of event times that belong to it, and into the UTC date folders a
// trail delivers them to.
package window

import "time"

// Day is one calendar day in a time zone: the half-open UTC interval
// [Start, End), 23 or 25 hours long on DST change days.
type Day struct {
	Date  string         // YYYY-MM-DD as given
	Zone  *time.Location // never nil
	Start time.Time      // UTC
	End   time.Time      // UTC, exclusive
}
