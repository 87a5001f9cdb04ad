package scan

import (
	"time"

	"github.com/parquetrail/parquetrail/internal/record"
)

// parseTime parses an eventTime. CloudTrail writes RFC 3339 in UTC
// ("2006-01-02T15:04:05Z"); exporters and hand-made test data also write
// fractional seconds, other offsets, a space instead of the "T", or no zone
// at all. ISO 8601 without a zone is local time of an unknown place; an
// eventTime is always UTC, so a zoneless time is read as UTC.
// canonical says whether formatting the result back gives the same text,
// that is whether the eventtime column alone reproduces the field.
func parseTime(s []byte) (ms int64, canonical, ok bool) {
	if len(s) == 20 && s[19] == 'Z' && s[10] == 'T' {
		if ms, ok := fastTime(s); ok {
			return ms, true, true
		}
	}
	str := string(s)
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, str)
		if err == nil {
			ms = t.UnixMilli()
			return ms, string(record.AppendEventTime(nil, ms)) == str, true
		}
	}
	return 0, false, false
}

// timeLayouts are the accepted eventTime forms after the fast path, with
// and without a zone, with "T" or a space between date and time. A layout
// without a zone parses as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// fastTime parses "YYYY-MM-DDTHH:MM:SSZ" without allocating.
func fastTime(s []byte) (int64, bool) {
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d := num(0, 4), num(5, 2), num(8, 2)
	h, mi, sec := num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	days := daysFromCivil(y, mo, d)
	return ((days*24+int64(h))*60+int64(mi))*60000 + int64(sec)*1000, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
