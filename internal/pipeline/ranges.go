package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// A day's merge can be split by event time into spans of the fine ranges
// the flatten workers counted their rows in (plan.PlanMerge). Each span is
// merged on its own, reading only the row groups of the parts that reach
// into it, and writes its own files; a redelivered event keeps its
// eventTime, so its copies meet in one span and dedup stays exact. The day
// is published once, from the files of all spans, in order.
//
// In one process (shard-worker run --merge-workers R) the spans run at once
// (mergeRanges). In the operator's merge Job each index merges one span
// (MergeRange, shard-worker merge --ranges B --index i) and leaves its
// manifest in staging; one publisher joins them and commits the day
// (PublishRanges, shard-worker publish --ranges B).

// mergeRanges merges the day's parts as up to r spans of event time, run at
// once, each writing its own files, and returns the day's one manifest over
// all of them, as merge.Day does for the whole day. With r <= 1, or results
// without range counts (an older worker), or a day that does not split, it
// is merge.Day over the whole day.
func mergeRanges(ctx context.Context, p *plan.Plan, dst store.Store, day window.Day, parts []string, results []*plan.ShardResult, r int, mo merge.Options) (*plan.Manifest, error) {
	var spans []plan.MergeSpan
	if r > 1 {
		spans, _ = plan.SplitDay(day.Start, day.End, results, r)
	}
	if len(spans) <= 1 {
		return merge.Day(ctx, dst, p, parts, mo)
	}
	began := time.Now()
	var total int64
	for _, sp := range spans {
		total += sp.Rows
	}
	var (
		mu     sync.Mutex
		merged = make([]int64, len(spans))
		ms     = make([]*plan.Manifest, len(spans))
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, sp := range spans {
		o := mo
		// The spans share the cores.
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
			m, err := mergeSpan(gctx, p, dst, parts, sp, o)
			ms[i] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return joinRanges(ms, spans, began)
}

// mergeSpan merges the parts' rows of one span and checks that it read the
// rows the flatten results counted in it.
func mergeSpan(ctx context.Context, p *plan.Plan, dst store.Store, parts []string, sp plan.MergeSpan, o merge.Options) (*plan.Manifest, error) {
	o.From, o.To, o.Index, o.RangeRows = sp.From, sp.To, sp.Index, sp.Rows
	m, err := merge.Day(ctx, dst, p, parts, o)
	if err != nil {
		return nil, fmt.Errorf("merging range %d [%s, %s): %w", sp.Index, sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), err)
	}
	if m.RowsIn != sp.Rows {
		return nil, fmt.Errorf("merging range %d [%s, %s): read %d rows of the parts, their shards counted %d",
			sp.Index, sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), m.RowsIn, sp.Rows)
	}
	return m, nil
}

// joinRanges makes the day's manifest from the manifests of its spans, in
// order, and checks that each holds its span's rows and that the files
// follow each other in event time.
func joinRanges(ms []*plan.Manifest, spans []plan.MergeSpan, began time.Time) (*plan.Manifest, error) {
	m := *ms[0]
	m.Files = nil
	m.Runs, m.RowsIn, m.Rows, m.Duplicates = 0, 0, 0, 0
	for i, r := range ms {
		if r.RunID != m.RunID {
			return nil, fmt.Errorf("range %d was merged by run %s, not %s", i, r.RunID, m.RunID)
		}
		if r.RowsIn != spans[i].Rows {
			return nil, fmt.Errorf("range %d read %d rows of the parts, their shards counted %d", i, r.RowsIn, spans[i].Rows)
		}
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

// readResults reads the result of every shard of p and names its part.
func readResults(ctx context.Context, p *plan.Plan, dst store.Store) ([]*plan.ShardResult, []string, error) {
	ymd := p.YMD()
	results := make([]*plan.ShardResult, len(p.Shards))
	parts := make([]string, len(p.Shards))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range p.Shards {
		parts[i] = plan.PartKey(ymd, p.RunID, i)
		g.Go(func() error {
			var r plan.ShardResult
			if err := plan.ReadJSON(gctx, dst, plan.ResultKey(ymd, p.RunID, i), &r); err != nil {
				return fmt.Errorf("shard %d has no result (did its worker finish?): %w", i, err)
			}
			results[i] = &r
			return nil
		})
	}
	return results, parts, g.Wait()
}

// PlanRanges reads the shards' results of p and cuts its day into at most r
// spans balanced by rows; it returns their bounds (for MergeRange and
// PublishRanges) and the spans.
func PlanRanges(ctx context.Context, p *plan.Plan, dst store.Store, r int) ([]int, []plan.MergeSpan, error) {
	day, err := p.Day()
	if err != nil {
		return nil, nil, err
	}
	results, _, err := readResults(ctx, p, dst)
	if err != nil {
		return nil, nil, err
	}
	spans, err := plan.SplitDay(day.Start, day.End, results, r)
	if err != nil {
		return nil, nil, err
	}
	return plan.Bounds(spans), spans, nil
}

// MergeRange merges span index of the day of p cut at bounds, as one index
// of the operator's merge Job: it writes the span's files into the run's
// staging area and their manifest at plan.RangeManifestKey, for
// PublishRanges. It takes no lease and publishes nothing: the run's staging
// area is its own. A retried index writes the same files again.
func MergeRange(ctx context.Context, p *plan.Plan, dst store.Store, bounds []int, index int, progress func(Progress)) (*plan.Manifest, error) {
	day, err := p.Day()
	if err != nil {
		return nil, err
	}
	results, parts, err := readResults(ctx, p, dst)
	if err != nil {
		return nil, err
	}
	spans, err := plan.SpansAt(day.Start, day.End, results, bounds)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(spans) {
		return nil, fmt.Errorf("%w: merge index %d of %d ranges", ErrConfig, index, len(spans))
	}
	var mo merge.Options
	if progress != nil {
		start := time.Now()
		mo.Progress = func(rows, total int64) {
			progress(Progress{Stage: "merge", RowsMerged: rows, RowsTotal: total, Elapsed: time.Since(start)})
		}
	}
	m, err := mergeSpan(ctx, p, dst, parts, spans[index], mo)
	if err != nil {
		return nil, err
	}
	if err := plan.WriteJSON(ctx, dst, plan.RangeManifestKey(day.YMD(), p.RunID, index), m); err != nil {
		return nil, fmt.Errorf("writing the manifest of range %d: %w", index, err)
	}
	return m, nil
}

// PublishRanges publishes the day of p from the files its merge indices
// wrote (MergeRange over the same bounds): under the day's lease, as
// MergeDay does, with the manifests of all spans joined into the day's.
func PublishRanges(ctx context.Context, p *plan.Plan, dst store.Store, bounds []int, lease commit.Options) (*plan.Report, error) {
	return publishHeld(ctx, p, dst, lease, nil, func(ctx context.Context, p *plan.Plan, dst store.Store, day window.Day, _ []string, results []*plan.ShardResult, _ merge.Options) (*plan.Manifest, error) {
		began := time.Now()
		spans, err := plan.SpansAt(day.Start, day.End, results, bounds)
		if err != nil {
			return nil, err
		}
		ms := make([]*plan.Manifest, len(spans))
		for i := range spans {
			var m plan.Manifest
			if err := plan.ReadJSON(ctx, dst, plan.RangeManifestKey(day.YMD(), p.RunID, i), &m); err != nil {
				return nil, fmt.Errorf("range %d has no manifest (did its merge index finish?): %w", i, err)
			}
			ms[i] = &m
		}
		return joinRanges(ms, spans, began)
	})
}
