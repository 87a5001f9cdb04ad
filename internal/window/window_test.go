package window

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		date, zone string
		wantStart  string
		wantEnd    string
		wantLength time.Duration
	}{
		{"utc by default", "2024-01-02", "", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", 24 * time.Hour},
		{"utc by name", "2024-01-02", "UTC", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", 24 * time.Hour},
		{"leap day", "2024-02-29", "", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", 24 * time.Hour},
		{"seoul", "2024-01-02", "Asia/Seoul", "2024-01-01T15:00:00Z", "2024-01-02T15:00:00Z", 24 * time.Hour},
		{"seoul new year", "2025-01-01", "Asia/Seoul", "2024-12-31T15:00:00Z", "2025-01-01T15:00:00Z", 24 * time.Hour},
		{"new york spring forward", "2024-03-10", "America/New_York", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z", 23 * time.Hour},
		{"new york fall back", "2024-11-03", "America/New_York", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z", 25 * time.Hour},
		{"new york ordinary", "2024-07-04", "America/New_York", "2024-07-04T04:00:00Z", "2024-07-05T04:00:00Z", 24 * time.Hour},
		{"berlin spring forward", "2024-03-31", "Europe/Berlin", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z", 23 * time.Hour},
		{"berlin fall back", "2024-10-27", "Europe/Berlin", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z", 25 * time.Hour},
		{"kiritimati +14", "2024-01-02", "Pacific/Kiritimati", "2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z", 24 * time.Hour},
		{"pago pago -11", "2024-01-02", "Pacific/Pago_Pago", "2024-01-02T11:00:00Z", "2024-01-03T11:00:00Z", 24 * time.Hour},
		{"lord howe 30 min back", "2024-04-07", "Australia/Lord_Howe", "2024-04-06T13:00:00Z", "2024-04-07T13:30:00Z", 24*time.Hour + 30*time.Minute},
		{"lord howe 30 min forward", "2024-10-06", "Australia/Lord_Howe", "2024-10-05T13:30:00Z", "2024-10-06T13:00:00Z", 23*time.Hour + 30*time.Minute},
		// Local midnight does not exist: clocks jump from 24:00 to 01:00.
		// The day starts at the jump (time.Date alone picks an instant of
		// the previous day here).
		{"santiago midnight gap", "2022-09-11", "America/Santiago", "2022-09-11T04:00:00Z", "2022-09-12T03:00:00Z", 23 * time.Hour},
		{"santiago day before gap", "2022-09-10", "America/Santiago", "2022-09-10T04:00:00Z", "2022-09-11T04:00:00Z", 24 * time.Hour},
		// Clocks go back from 24:00 to 23:00: the previous day has 25 hours.
		{"santiago fall back at midnight", "2024-04-06", "America/Santiago", "2024-04-06T03:00:00Z", "2024-04-07T04:00:00Z", 25 * time.Hour},
		{"beirut midnight gap", "2023-03-26", "Asia/Beirut", "2023-03-25T22:00:00Z", "2023-03-26T21:00:00Z", 23 * time.Hour},
		{"kathmandu +05:45", "2024-06-01", "Asia/Kathmandu", "2024-05-31T18:15:00Z", "2024-06-01T18:15:00Z", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.date, tt.zone)
			if err != nil {
				t.Fatalf("New(%q, %q): %v", tt.date, tt.zone, err)
			}
			want := struct{ Start, End time.Time }{utc(tt.wantStart), utc(tt.wantEnd)}
			got := struct{ Start, End time.Time }{d.Start, d.End}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("New(%q, %q) window (-want +got):\n%s", tt.date, tt.zone, diff)
			}
			if d.Start.Location() != time.UTC || d.End.Location() != time.UTC {
				t.Errorf("window not in UTC: %v %v", d.Start.Location(), d.End.Location())
			}
			if got := d.Length(); got != tt.wantLength {
				t.Errorf("Length() = %v, want %v", got, tt.wantLength)
			}
			if d.Zone == nil {
				t.Fatal("Zone is nil")
			}
			if d.Date != tt.date {
				t.Errorf("Date = %q, want %q", d.Date, tt.date)
			}
			// Start is local midnight of the date or, in a gap, the first
			// instant of the date.
			if got := d.Start.In(d.Zone).Format(time.DateOnly); got != tt.date {
				t.Errorf("Start is on local date %s, want %s", got, tt.date)
			}
			if got := d.Start.Add(-time.Nanosecond).In(d.Zone).Format(time.DateOnly); got >= tt.date {
				t.Errorf("instant before Start is on local date %s, want before %s", got, tt.date)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		date, zone string
		wantInErr  string
	}{
		{"2023-02-29", "", `"2023-02-29"`},
		{"2024-13-01", "", `"2024-13-01"`},
		{"2024-00-10", "", `"2024-00-10"`},
		{"2024-04-31", "", `"2024-04-31"`},
		{"2024-1-1", "", `want YYYY-MM-DD`},
		{"2024-01-01T00:00:00Z", "", `want YYYY-MM-DD`},
		{"20240101", "", `want YYYY-MM-DD`},
		{" 2024-01-01", "", `want YYYY-MM-DD`},
		{"", "", `want YYYY-MM-DD`},
		{"2024-01-01", "Mars/Olympus_Mons", `"Mars/Olympus_Mons"`},
		{"2024-01-01", "asia/seoul ", `"asia/seoul "`},
		{"2024-01-01", "../../etc/passwd", `"../../etc/passwd"`},
		{"2024-01-01", "Local", `depends on the host`},
	}
	for _, tt := range tests {
		t.Run(tt.date+"/"+tt.zone, func(t *testing.T) {
			_, err := New(tt.date, tt.zone)
			if err == nil {
				t.Fatalf("New(%q, %q) = nil error, want one", tt.date, tt.zone)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("New(%q, %q) error %q does not contain %q", tt.date, tt.zone, err, tt.wantInErr)
			}
		})
	}
}

func TestYMD(t *testing.T) {
	for _, tt := range []struct{ date, zone, want string }{
		{"2024-01-02", "", "20240102"},
		{"1999-12-31", "Asia/Seoul", "19991231"},
	} {
		if got := MustNew(tt.date, tt.zone).YMD(); got != tt.want {
			t.Errorf("YMD(%s) = %q, want %q", tt.date, got, tt.want)
		}
	}
}

func TestContains(t *testing.T) {
	seoul := MustNew("2024-01-02", "Asia/Seoul")
	berlinFall := MustNew("2024-10-27", "Europe/Berlin")
	tests := []struct {
		name string
		day  Day
		t    time.Time
		want bool
	}{
		{"start is in", seoul, utc("2024-01-01T15:00:00Z"), true},
		{"just before start", seoul, utc("2024-01-01T14:59:59.999999999Z"), false},
		{"just before end", seoul, utc("2024-01-02T14:59:59.999999999Z"), true},
		{"end is out", seoul, utc("2024-01-02T15:00:00Z"), false},
		{"start given in local time", seoul, time.Date(2024, 1, 2, 0, 0, 0, 0, seoul.Zone), true},
		{"end given in local time", seoul, time.Date(2024, 1, 3, 0, 0, 0, 0, seoul.Zone), false},
		{"utc midnight inside seoul day", seoul, utc("2024-01-02T00:00:00Z"), true},
		{"25th hour of fall back day", berlinFall, utc("2024-10-27T22:59:59Z"), true},
		{"fall back end", berlinFall, utc("2024-10-27T23:00:00Z"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.day.Contains(tt.t); got != tt.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tt.day, tt.t, got, tt.want)
			}
		})
	}
}

func TestFolders(t *testing.T) {
	tests := []struct {
		date, zone string
		margin     time.Duration
		want       []string
	}{
		{"2024-01-02", "", 0, []string{"2024/01/02", "2024/01/03"}},
		{"2024-01-02", "", time.Hour, []string{"2024/01/02", "2024/01/03"}},
		{"2024-01-02", "Asia/Seoul", 0, []string{"2024/01/01", "2024/01/02"}},
		{"2024-01-02", "Asia/Seoul", time.Hour, []string{"2024/01/01", "2024/01/02"}},
		{"2024-01-02", "Asia/Seoul", 9 * time.Hour, []string{"2024/01/01", "2024/01/02", "2024/01/03"}},
		{"2024-01-02", "Asia/Seoul", 48 * time.Hour, []string{"2024/01/01", "2024/01/02", "2024/01/03", "2024/01/04"}},
		{"2025-01-01", "Asia/Seoul", time.Hour, []string{"2024/12/31", "2025/01/01"}},
		{"2024-01-02", "Pacific/Pago_Pago", time.Hour, []string{"2024/01/02", "2024/01/03"}},
		{"2024-01-02", "Pacific/Kiritimati", time.Hour, []string{"2024/01/01", "2024/01/02"}},
		{"2024-02-28", "America/New_York", time.Hour, []string{"2024/02/28", "2024/02/29"}},
		{"2024-03-31", "Europe/Berlin", time.Hour, []string{"2024/03/30", "2024/03/31"}},
	}
	for _, tt := range tests {
		t.Run(tt.date+"/"+tt.zone+"/"+tt.margin.String(), func(t *testing.T) {
			got := MustNew(tt.date, tt.zone).Folders(tt.margin)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Folders (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelects(t *testing.T) {
	seoul := MustNew("2024-01-02", "Asia/Seoul") // [01-01T15:00Z, 01-02T15:00Z)
	lordHowe := MustNew("2024-10-06", "Australia/Lord_Howe")
	tests := []struct {
		name       string
		day        Day
		delivered  time.Time
		margin     time.Duration
		wantOK     bool
		wantReason string
	}{
		{"minute before start", seoul, utc("2024-01-01T14:59:00Z"), time.Hour, false, ReasonEarly},
		{"day before", seoul, utc("2023-12-31T15:00:00Z"), time.Hour, false, ReasonEarly},
		{"minute of start", seoul, utc("2024-01-01T15:00:00Z"), time.Hour, true, ""},
		{"inside", seoul, utc("2024-01-02T03:17:00Z"), time.Hour, true, ""},
		{"at end", seoul, utc("2024-01-02T15:00:00Z"), time.Hour, true, ""},
		{"at end plus margin", seoul, utc("2024-01-02T16:00:00Z"), time.Hour, true, ""},
		{"minute after end plus margin", seoul, utc("2024-01-02T16:01:00Z"), time.Hour, false, ReasonLate},
		{"after end, no margin", seoul, utc("2024-01-02T15:01:00Z"), 0, false, ReasonLate},
		{"half-hour zone start", lordHowe, utc("2024-10-05T13:30:00Z"), 0, true, ""},
		{"half-hour zone before start", lordHowe, utc("2024-10-05T13:29:00Z"), 0, false, ReasonEarly},
		// The file of the minute in which the window starts may hold events
		// of its later seconds.
		{"seconds-late start", Day{Start: utc("2024-01-01T15:00:30Z"), End: utc("2024-01-02T15:00:30Z")}, utc("2024-01-01T15:00:00Z"), 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := tt.day.Selects(tt.delivered, tt.margin)
			if ok != tt.wantOK || reason != tt.wantReason {
				t.Errorf("Selects(%v, %v) = %v, %q; want %v, %q", tt.delivered, tt.margin, ok, reason, tt.wantOK, tt.wantReason)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	d := MustNew("2024-01-02", "Asia/Seoul")
	if got, want := d.ReadyAt(time.Hour), utc("2024-01-02T16:00:00Z"); !got.Equal(want) {
		t.Errorf("ReadyAt(1h) = %v, want %v", got, want)
	}
	tests := []struct {
		now    time.Time
		margin time.Duration
		want   bool
	}{
		{utc("2024-01-02T12:00:00Z"), time.Hour, false},
		{utc("2024-01-02T15:00:00Z"), time.Hour, false},
		{utc("2024-01-02T15:59:59Z"), time.Hour, false},
		{utc("2024-01-02T16:00:00Z"), time.Hour, true},
		{utc("2024-01-02T15:00:00Z"), 0, true},
		{utc("2025-01-01T00:00:00Z"), time.Hour, true},
	}
	for _, tt := range tests {
		if got := d.Closed(tt.now, tt.margin); got != tt.want {
			t.Errorf("Closed(%v, %v) = %v, want %v", tt.now, tt.margin, got, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	got := MustNew("2024-01-02", "Asia/Seoul").String()
	want := "2024-01-02 Asia/Seoul [2024-01-01T15:00:00Z, 2024-01-02T15:00:00Z)"
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
