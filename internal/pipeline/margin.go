package pipeline

import (
	"time"

	"github.com/parquetrail/parquetrail/internal/window"
)

// FolderMargin is the late-arrival margin that reads every file of the last
// UTC date folder the day's window touches, and no later folder: what the
// Spark job this replaces did by reading whole UTC date folders. For a day
// in Asia/Seoul (window ending 15:00 UTC) it is 8h59m: files are named by
// the minute of delivery, and the folder's last is 23:59 UTC. A window that
// ends at UTC midnight touches no later folder; its margin is the least
// there is, so that only the next folder's files of 00:00 are read.
func FolderMargin(d window.Day) time.Duration {
	last := d.End.Add(-time.Nanosecond).UTC()
	folderEnd := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	return max(folderEnd.Sub(d.End)-time.Minute, time.Nanosecond)
}

// lateArrival is the margin the plan uses.
func (c *Config) lateArrival(d window.Day) time.Duration {
	if c.LateArrivalFolder {
		return FolderMargin(d)
	}
	return c.LateArrival
}
