package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/parquetrail/parquetrail/internal/commit"
)

// maxJobNameLength keeps a Job's name short enough for what is derived from
// it: the job-name label (63 characters) and, for an Indexed Job, the pod
// host name "<job>-<index>", a DNS label of at most 63 characters. 52 leaves
// room for any completion index (the same margin CronJob names keep).
const maxJobNameLength = 52

// jobName is the deterministic name of an attempt's Job for step, so that
// a restarted manager finds the Jobs it created and never creates a second.
// A name that is too long, or that has characters a DNS label may not
// hold, is shortened and made unique again with a hash of the whole name.
func jobName(day string, attempt int32, step string) string {
	suffix := fmt.Sprintf("-%d-%s", attempt, step)
	base := strings.ReplaceAll(day, ".", "-")
	if base == day && len(base)+len(suffix) <= maxJobNameLength {
		return base + suffix
	}
	hash := shortHash(day, 8)
	keep := maxJobNameLength - len(suffix) - len(hash) - 1
	if len(base) > keep {
		base = base[:keep]
	}
	base = strings.TrimRight(base, "-")
	return base + "-" + hash + suffix
}

// labelValue returns s if it is a valid label value, else a hash of it.
func labelValue(s string) string {
	if len(s) <= 63 {
		return s
	}
	return shortHash(s, 16)
}

// runID names an attempt and its staging area: the attempt's start (UTC,
// to the second), the day part of the day's UID and the attempt,
// "20261125T020000Z-0a1b2c3d4e5f-1". The start orders the runs of two
// CloudTrailDays for one date and destination (commit.Older: an older run
// never replaces a newer run's output); the day part finds the staging of
// every attempt of one CloudTrailDay, and of no other (runOf).
func runID(uid types.UID, attempt int32, start time.Time) string {
	return start.UTC().Format("20060102T150405Z") + "-" + uidPart(uid) + "-" + fmt.Sprint(attempt)
}

// uidPart is the day part of the run IDs of the day with uid
// (commit.RunDay): the first 12 hex digits of the UID.
func uidPart(uid types.UID) string {
	u := strings.ReplaceAll(string(uid), "-", "")
	if len(u) > 12 {
		u = u[:12]
	}
	return u
}

// runOf says whether run is an attempt of the day with uid, in the current
// naming or the earlier one without the start ("0a1b2c3d4e5f-1").
func runOf(uid types.UID, run string) bool {
	return commit.RunDay(run) == uidPart(uid)
}

// rerunToken is what status.rerun keeps of the rerun annotation's value:
// the value itself, or a hash when it is long.
func rerunToken(v string) string {
	if len(v) <= 63 {
		return v
	}
	return "sha256:" + shortHash(v, 32)
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}
