package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// mergeRanges merges the day's parts as up to r ranges of event time, run
// at once, each writing its own files, and returns the day's one manifest
// over all of them, as merge.Day does for the whole day. The ranges come
// from the shards' rows per fine range (plan.PlanMerge); with r <= 1, or
// results without those counts (an older worker), or a day that does not
// split, it is merge.Day over the whole day.
func mergeRanges(ctx context.Context, p *plan.Plan, dst store.Store, day window.Day, parts []string, results []*flatten.Result, r int, mo merge.Options) (*merge.Manifest, error) {
	var spans []plan.MergeSpan
	if n := plan.RangeCount(day.Start, day.End); r > 1 && n > 0 {
		if rows, err := plan.SumRanges(results, n); err == nil {
			spans = plan.PlanMerge(rows, r)
		}
	}
	if len(spans) <= 1 {
		return merge.Day(ctx, dst, p, parts, mo)
	}
	began := time.Now()
	plan.SpanTimes(spans, day.Start, day.End)
	var total int64
	for _, sp := range spans {
		total += sp.Rows
	}
	var (
		mu     sync.Mutex
		merged = make([]int64, len(spans))
		ms     = make([]*merge.Manifest, len(spans))
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, sp := range spans {
		o := mo
		o.From, o.To, o.Index, o.RangeRows = sp.From, sp.To, sp.Index, sp.Rows
		// The ranges share the cores.
		o.Workers = max(1, runtime.GOMAXPROCS(0)/len(spans))
		if mo.Progress != nil {
			o.Progress = func(rows, _ int64) {
				mu.Lock()
				defer mu.Unlock()
				merged[i] = rows
				var sum int64
				for _, v := range merged {
					sum += v
				}
				mo.Progress(sum, total)
			}
		}
		g.Go(func() error {
			m, err := merge.Day(gctx, dst, p, parts, o)
			if err != nil {
				return fmt.Errorf("merging range %d [%s, %s): %w", sp.Index, sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), err)
			}
			// The flatten results counted the rows of the range: the merge
			// must have read exactly those.
			if m.RowsIn != sp.Rows {
				return fmt.Errorf("merging range %d [%s, %s): read %d rows of the parts, their shards counted %d",
					sp.Index, sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), m.RowsIn, sp.Rows)
			}
			ms[i] = m
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return joinRanges(ms, began)
}

// joinRanges makes the day's manifest from the manifests of its ranges, in
// order, and checks that the files follow each other in event time.
func joinRanges(ms []*merge.Manifest, began time.Time) (*merge.Manifest, error) {
	m := *ms[0]
	m.Files = nil
	m.Runs, m.RowsIn, m.Rows, m.Duplicates = 0, 0, 0, 0
	for _, r := range ms {
		m.Files = append(m.Files, r.Files...)
		m.Runs += r.Runs
		m.RowsIn += r.RowsIn
		m.Rows += r.Rows
		m.Duplicates += r.Duplicates
	}
	for i := 1; i < len(m.Files); i++ {
		a, b := m.Files[i-1], m.Files[i]
		if b.MinEventTime.Before(a.MaxEventTime) {
			return nil, fmt.Errorf("merged files out of order: %s ends at %s, after %s starts at %s",
				a.Key, a.MaxEventTime.Format(time.RFC3339Nano), b.Key, b.MinEventTime.Format(time.RFC3339Nano))
		}
	}
	m.Created = time.Now().UTC()
	m.Duration = time.Since(began).Round(time.Millisecond).String()
	return &m, nil
}
