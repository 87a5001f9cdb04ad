package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RangeWidth is the event-time width of the fine ranges a flatten worker
// counts its rows in (ShardResult.RangeRows): the day's window cut every
// RangeWidth from its start, the last range shorter when the window is not
// a multiple of it. The merge splits a day only at these boundaries, so they
// bound how finely it can be balanced: 288 ranges on a 24-hour day.
const RangeWidth = 5 * time.Minute

// MaxRanges bounds the fine ranges counted: a day is at most 25 hours (300
// ranges); windows longer than MaxRanges ranges (test windows of years)
// are not counted, and their runs merge as one range.
const MaxRanges = 1024

// RangeCount is the number of fine ranges of a window [start, end), 0 when
// it is empty or longer than MaxRanges ranges.
func RangeCount(start, end time.Time) int {
	d := end.Sub(start)
	if d <= 0 || d > MaxRanges*RangeWidth {
		return 0
	}
	return int((d + RangeWidth - 1) / RangeWidth)
}

// RangeOf is the fine range of an event time (Unix milliseconds) in the
// window starting at start; times outside the window are clamped to its
// first or last range (n ranges), since flatten writes only in-window rows.
func RangeOf(start time.Time, n int, ms int64) int {
	i := (ms - start.UnixMilli()) / RangeWidth.Milliseconds()
	return int(max(0, min(i, int64(n-1))))
}

// RangeStart is the start of fine range i of the window starting at start,
// clamped to end.
func RangeStart(start, end time.Time, i int) time.Time {
	t := start.Add(time.Duration(i) * RangeWidth)
	if t.After(end) {
		return end
	}
	return t
}

// MergeSpan is one merge index's share of a day: the fine ranges
// [First, Last) of the window, event times [From, To), and the rows the
// flatten results counted in them.
type MergeSpan struct {
	Index int       `json:"index"`
	First int       `json:"first"`
	Last  int       `json:"last"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Rows  int64     `json:"rows"`
}

// SumRanges adds the shards' rows per fine range; it fails when a shard
// that wrote rows did not count them (a result of an older worker) or
// counted another number of ranges than the window has.
func SumRanges(results []*ShardResult, n int) ([]int64, error) {
	sum := make([]int64, n)
	for _, r := range results {
		if r.Written == 0 {
			continue
		}
		if len(r.RangeRows) != n {
			return nil, fmt.Errorf("shard %d: %d row ranges in its result, the window has %d (a result of an older worker?)", r.Shard, len(r.RangeRows), n)
		}
		var tot int64
		for i, v := range r.RangeRows {
			sum[i] += v
			tot += v
		}
		if tot != r.Written {
			return nil, fmt.Errorf("shard %d: its row ranges hold %d rows, it wrote %d", r.Shard, tot, r.Written)
		}
	}
	return sum, nil
}

// PlanMerge cuts the fine ranges of a day (rows per range, in order) into at
// most r contiguous spans balanced by rows, for r merge indices. Every span
// but a lone one holds rows; the spans cover every range, the first from
// range 0, the last to the end. A range is never split (a duplicate event
// keeps its eventTime, so its copies stay in one span), so one huge range
// makes an unbalanced span and fewer spans than r may come back: when fewer
// ranges hold rows than r, or when cuts would leave a span empty. The cut
// for the k-th share goes at the range boundary nearest k/r of the rows.
func PlanMerge(rows []int64, r int) []MergeSpan {
	n := len(rows)
	prefix := make([]int64, n+1)
	for i, v := range rows {
		prefix[i+1] = prefix[i] + v
	}
	total := prefix[n]
	cuts := []int{0}
	for k := 1; k < r && total > 0; k++ {
		target := float64(total) * float64(k) / float64(r)
		// The first boundary b whose prefix reaches the target, or the one
		// before it when that is nearer.
		b := 1
		for b < n && float64(prefix[b]) < target {
			b++
		}
		if b > 1 && target-float64(prefix[b-1]) < float64(prefix[b])-target {
			b--
		}
		prev := cuts[len(cuts)-1]
		// Keep rows on both sides: the span before the cut and the rest.
		if b <= prev || prefix[b] == prefix[prev] || prefix[b] == total {
			continue
		}
		cuts = append(cuts, b)
	}
	cuts = append(cuts, n)
	spans := make([]MergeSpan, 0, len(cuts)-1)
	for i := 0; i+1 < len(cuts); i++ {
		spans = append(spans, MergeSpan{Index: i, First: cuts[i], Last: cuts[i+1], Rows: prefix[cuts[i+1]] - prefix[cuts[i]]})
	}
	return spans
}

// SpanTimes sets the event-time bounds of spans in the window [start, end).
// The first span starts at the window's start and the last ends at its end.
func SpanTimes(spans []MergeSpan, start, end time.Time) {
	for i := range spans {
		spans[i].From = RangeStart(start, end, spans[i].First)
		spans[i].To = RangeStart(start, end, spans[i].Last)
	}
	if len(spans) > 0 {
		spans[len(spans)-1].To = end
	}
}

// Bounds are the fine-range boundaries of spans: span i is [b[i], b[i+1]).
// They are what a range-partitioned merge's indices are given (shard-worker
// merge --ranges), so every index and the publisher use the same spans.
func Bounds(spans []MergeSpan) []int {
	if len(spans) == 0 {
		return nil
	}
	b := make([]int, 0, len(spans)+1)
	for _, sp := range spans {
		b = append(b, sp.First)
	}
	return append(b, spans[len(spans)-1].Last)
}

// SpansOf makes the spans of bounds over the day's fine ranges (rows per
// range, as SumRanges adds them): span i covers [b[i], b[i+1]). The bounds
// must start at 0, rise, and end at len(rows).
func SpansOf(b []int, rows []int64) ([]MergeSpan, error) {
	if len(b) < 2 || b[0] != 0 || b[len(b)-1] != len(rows) {
		return nil, fmt.Errorf("range bounds %v: want at least two, from 0 to %d (the day's fine ranges)", b, len(rows))
	}
	spans := make([]MergeSpan, 0, len(b)-1)
	for i := 0; i+1 < len(b); i++ {
		if b[i+1] <= b[i] {
			return nil, fmt.Errorf("range bounds %v: not rising at %d", b, i+1)
		}
		sp := MergeSpan{Index: i, First: b[i], Last: b[i+1]}
		for _, v := range rows[b[i]:b[i+1]] {
			sp.Rows += v
		}
		spans = append(spans, sp)
	}
	return spans, nil
}

// FormatBounds writes bounds as the comma-separated list ParseBounds reads.
func FormatBounds(b []int) string {
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// ParseBounds reads a comma-separated list of range bounds ("0,96,192,288").
func ParseBounds(s string) ([]int, error) {
	var b []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("range bounds %q: %q is not a range number", s, f)
		}
		b = append(b, v)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("range bounds %q: want at least two", s)
	}
	return b, nil
}

// dayRows sums the shards' rows per fine range of the window [start, end).
func dayRows(start, end time.Time, results []*ShardResult) ([]int64, error) {
	n := RangeCount(start, end)
	if n == 0 {
		return nil, fmt.Errorf("the window [%s, %s) is not split into ranges", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return SumRanges(results, n)
}

// SplitDay cuts the day of window [start, end) into at most r spans of
// event time balanced by the rows the shards counted (PlanMerge), with
// their times. It fails on a window not split into ranges and on results
// without range counts (SumRanges).
func SplitDay(start, end time.Time, results []*ShardResult, r int) ([]MergeSpan, error) {
	rows, err := dayRows(start, end, results)
	if err != nil {
		return nil, err
	}
	spans := PlanMerge(rows, r)
	SpanTimes(spans, start, end)
	return spans, nil
}

// SpansAt are the spans that bounds (Bounds of an earlier SplitDay) cut the
// day of window [start, end) into, with their times and the rows the
// shards counted in them.
func SpansAt(start, end time.Time, results []*ShardResult, bounds []int) ([]MergeSpan, error) {
	rows, err := dayRows(start, end, results)
	if err != nil {
		return nil, err
	}
	spans, err := SpansOf(bounds, rows)
	if err != nil {
		return nil, err
	}
	SpanTimes(spans, start, end)
	return spans, nil
}
