package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/window"
)

func TestFolderMargin(t *testing.T) {
	for _, tc := range []struct {
		date, zone string
		margin     time.Duration
		folders    []string
	}{
		// Ends 15:00 UTC: read the rest of that UTC folder, to its 23:59 files.
		{"2026-11-24", "Asia/Seoul", 8*time.Hour + 59*time.Minute, []string{"2026/11/23", "2026/11/24"}},
		// Ends 05:00 UTC the next day: the rest of that day's folder.
		{"2026-11-24", "America/New_York", 18*time.Hour + 59*time.Minute, []string{"2026/11/24", "2026/11/25"}},
		// A UTC day touches one folder; only the next folder's 00:00 files.
		{"2026-11-24", "UTC", time.Nanosecond, []string{"2026/11/24", "2026/11/25"}},
		// DST ends in New York: a 25-hour day, still to the folder's end.
		{"2026-11-01", "America/New_York", 18*time.Hour + 59*time.Minute, []string{"2026/11/01", "2026/11/02"}},
	} {
		d := window.MustNew(tc.date, tc.zone)
		got := FolderMargin(d)
		if got != tc.margin {
			t.Errorf("%s %s: margin %v, want %v", tc.date, tc.zone, got, tc.margin)
		}
		if diff := cmp.Diff(tc.folders, d.Folders(got)); diff != "" {
			t.Errorf("%s %s: folders (-want +got):\n%s", tc.date, tc.zone, diff)
		}
		// The last file of the last folder is read, the next folder's first
		// file after 00:00 is not.
		last := d.End.Add(got).Truncate(time.Minute)
		if ok, _ := d.Selects(last, got); !ok {
			t.Errorf("%s %s: a file delivered %v is not read", tc.date, tc.zone, last)
		}
		if ok, _ := d.Selects(last.Add(2*time.Minute), got); ok {
			t.Errorf("%s %s: a file delivered %v is read", tc.date, tc.zone, last.Add(2*time.Minute))
		}
	}
}
