package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day := func(date string, created time.Duration, key string) queuedDay {
		return queuedDay{date: date, created: t0.Add(created), key: key}
	}
	me := day("2026-03-10", time.Minute, "ns/b-2026-03-10")
	cases := []struct {
		name           string
		limit, running int
		queued         []queuedDay
		want           admission
	}{
		{"no bound", 0, 50, []queuedDay{day("2026-01-01", 0, "ns/a")}, admission{ok: true, running: 50, ahead: 1}},
		{"a free slot", 3, 2, nil, admission{ok: true, running: 2}},
		{"full", 3, 3, nil, admission{running: 3}},
		{"older dates first", 3, 1, []queuedDay{day("2026-03-01", 2*time.Minute, "ns/x"), day("2026-03-09", 0, "ns/y")},
			admission{running: 1, ahead: 2}},
		{"room for the older and me", 4, 1, []queuedDay{day("2026-03-01", 2*time.Minute, "ns/x"), day("2026-03-09", 0, "ns/y")},
			admission{ok: true, running: 1, ahead: 2}},
		{"newer dates after", 3, 2, []queuedDay{day("2026-03-11", 0, "ns/x"), day("2027-01-01", 0, "ns/y")},
			admission{ok: true, running: 2}},
		{"same date: first created first", 3, 2, []queuedDay{day("2026-03-10", 0, "ns/z")}, admission{running: 2, ahead: 1}},
		{"same date and time: by name", 3, 2, []queuedDay{day("2026-03-10", time.Minute, "ns/a-2026-03-10")}, admission{running: 2, ahead: 1}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, decide(me, c.limit, c.running, c.queued), cmp.AllowUnexported(admission{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
