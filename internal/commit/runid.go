package commit

import (
	"regexp"
	"strconv"
)

// operatorRun is the operator's run ID: the attempt's start time (UTC, to
// the second), the first 12 hex digits of the CloudTrailDay's UID and the
// attempt, "20261125T114500Z-842523e47273-2". Days started before run IDs
// carried the time have "842523e47273-2"; they are still recognised.
var operatorRun = regexp.MustCompile(`^(?:\d{8}T\d{6}Z-)?([0-9a-f]{12})-([1-9]\d{0,9})$`)

// RunDay is the CloudTrailDay part of an operator run ID (the first 12 hex
// digits of its UID), "" for any other run ID. Two runs with the same day
// part are attempts of one CloudTrailDay.
func RunDay(run string) string {
	d, _ := runAttempt(run)
	return d
}

// runAttempt splits an operator run ID into its day part and attempt.
func runAttempt(run string) (day string, attempt int) {
	m := operatorRun.FindStringSubmatch(run)
	if m == nil {
		return "", 0
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0
	}
	return m[1], n
}

// earlierAttempt says that held is an earlier attempt of the same
// CloudTrailDay as run: the operator deleted its Jobs before it started
// run's attempt, so its lease is a dead or dying pod's.
func earlierAttempt(held, run string) bool {
	d := RunDay(run)
	return d != "" && RunDay(held) == d && Older(held, run)
}
