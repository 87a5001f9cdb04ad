package plan

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanMerge(t *testing.T) {
	type span struct {
		First, Last int
		Rows        int64
	}
	tests := []struct {
		name string
		rows []int64
		r    int
		want []span
	}{
		{"even day", []int64{10, 10, 10, 10, 10, 10}, 3, []span{{0, 2, 20}, {2, 4, 20}, {4, 6, 20}}},
		{"one index", []int64{3, 4, 5}, 1, []span{{0, 3, 12}}},
		{"skewed day", []int64{1, 1, 1, 1, 90, 1, 1, 1, 1, 90, 1, 1}, 2, []span{{0, 6, 95}, {6, 12, 95}}},
		// The last range alone outweighs a share: two spans balance it as well as three.
		{"skewed to the end", []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 50}, 3, []span{{0, 11, 11}, {11, 12, 50}}},
		{"an empty range", []int64{10, 0, 10, 10}, 2, []span{{0, 3, 20}, {3, 4, 10}}},
		{"empty ranges at the edges", []int64{0, 0, 10, 10, 0, 0}, 2, []span{{0, 3, 10}, {3, 6, 10}}},
		{"one huge range", []int64{1, 1, 1000, 1, 1}, 3, []span{{0, 2, 2}, {2, 3, 1000}, {3, 5, 2}}},
		{"all events in one second", []int64{0, 0, 500, 0, 0}, 3, []span{{0, 5, 500}}},
		{"r larger than ranges", []int64{5, 5}, 4, []span{{0, 1, 5}, {1, 2, 5}}},
		{"r larger than ranges with rows", []int64{0, 7, 0, 0, 7, 0, 7}, 8, []span{{0, 2, 7}, {2, 5, 7}, {5, 7, 7}}},
		{"no rows", []int64{0, 0, 0}, 3, []span{{0, 3, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []span
			for i, s := range PlanMerge(tt.rows, tt.r) {
				if s.Index != i {
					t.Errorf("span %d has index %d", i, s.Index)
				}
				got = append(got, span{s.First, s.Last, s.Rows})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanMerge(%v, %d) (-want +got):\n%s", tt.rows, tt.r, diff)
			}
		})
	}
}

// TestPlanMergeBalance holds random days to the promises: contiguous spans
// over every range, at most r, none empty but a lone one, and none holding
// more than its share plus the largest range.
func TestPlanMergeBalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(300)
		rows := make([]int64, n)
		var total, biggest int64
		for i := range rows {
			if rng.IntN(3) > 0 {
				rows[i] = rng.Int64N(1 + int64(rng.IntN(5000)))
			}
			total += rows[i]
			biggest = max(biggest, rows[i])
		}
		r := 1 + rng.IntN(20)
		spans := PlanMerge(rows, r)
		if len(spans) == 0 || len(spans) > r {
			t.Fatalf("%d spans for r=%d", len(spans), r)
		}
		next := 0
		var sum int64
		for _, s := range spans {
			if s.First != next || s.Last <= s.First {
				t.Fatalf("span %+v does not follow range %d", s, next)
			}
			next = s.Last
			sum += s.Rows
			if s.Rows == 0 && len(spans) > 1 {
				t.Fatalf("empty span %+v among %d", s, len(spans))
			}
			if share := total/int64(r) + 1; s.Rows > share+biggest {
				t.Fatalf("span %+v holds more than a share %d plus the largest range %d", s, share, biggest)
			}
		}
		if next != n || sum != total {
			t.Fatalf("spans end at %d of %d ranges, hold %d of %d rows", next, n, sum, total)
		}
	}
}

func TestRangesOfADSTDay(t *testing.T) {
	start := time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC) // a 23-hour day in America/Los_Angeles
	end := start.Add(23 * time.Hour)
	n := RangeCount(start, end)
	got := []int{n, RangeOf(start, n, start.UnixMilli()), RangeOf(start, n, start.Add(RangeWidth).UnixMilli()-1),
		RangeOf(start, n, start.Add(RangeWidth).UnixMilli()), RangeOf(start, n, end.UnixMilli()-1)}
	if diff := cmp.Diff([]int{276, 0, 0, 1, 275}, got); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
	spans := []MergeSpan{{First: 0, Last: 100}, {First: 100, Last: n}}
	SpanTimes(spans, start, end)
	if !spans[0].From.Equal(start) || !spans[0].To.Equal(spans[1].From) || !spans[1].To.Equal(end) ||
		!spans[1].From.Equal(start.Add(100*RangeWidth)) {
		t.Errorf("span times %+v", spans)
	}
}

// SpansAt over the bounds of SplitDay gives SplitDay's spans back, as the
// merge indices and the publisher rebuild them from --ranges.
func TestSplitDayAndSpansAt(t *testing.T) {
	start := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	n := RangeCount(start, end)
	a, b := &ShardResult{Shard: 0, RangeRows: make([]int64, n)}, &ShardResult{Shard: 1, RangeRows: make([]int64, n)}
	for i := range n {
		a.RangeRows[i], b.RangeRows[i] = int64(i%7), int64(3*(i%5))
		a.Written += a.RangeRows[i]
		b.Written += b.RangeRows[i]
	}
	results := []*ShardResult{a, b}
	split, err := SplitDay(start, end, results, 5)
	if err != nil || len(split) != 5 || !split[0].From.Equal(start) || !split[4].To.Equal(end) {
		t.Fatalf("SplitDay: %v, %+v", err, split)
	}
	at, err := SpansAt(start, end, results, Bounds(split))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(split, at); diff != "" {
		t.Errorf("SpansAt(Bounds(SplitDay)) (-split +at):\n%s", diff)
	}
	if _, err := SplitDay(start, end, []*ShardResult{{Written: 5}}, 2); err == nil {
		t.Error("results without range counts were split")
	}
	if _, err := SpansAt(start, end, results, []int{0, 10}); err == nil {
		t.Error("bounds short of the day were taken")
	}
}
