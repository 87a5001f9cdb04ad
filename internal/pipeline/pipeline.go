// Package pipeline composes the stages of a day — plan, flatten, merge — from
// the packages that implement them. The worker's subcommands call one stage
// each (the operator runs them in pods); Run calls all three in one process.
// There is one implementation of every stage: Run is only their composition.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Stores says how to reach the source and the destination.
type Stores struct {
	Source      store.Options
	Destination store.Options
}

// Config is one day to convert.
type Config struct {
	Source      string // store URL of the trail's bucket (or a folder)
	Destination string // store URL of the output root
	Stores      Stores

	Date     string // YYYY-MM-DD
	TimeZone string // IANA name, "" = UTC

	OrgID    string
	Accounts []string
	Regions  []string

	Columns         string // record.Full or record.Seed
	LocalTimeColumn string
	OnMalformed     string // "fail" or "report"
	Deduplicate     bool
	Compression     string
	Types           string // record.Typed (default) or record.Spark
	// KeepRuns is how many runs of the day keep their report and error
	// files: 0 is DefaultKeepRuns, a negative number keeps all.
	KeepRuns int

	LateArrival time.Duration
	// LateArrivalFolder reads to the end of the last UTC date folder the
	// window touches (what the Spark job did), instead of LateArrival.
	LateArrivalFolder bool

	TargetShardBytes int64
	// Workers is how many shards are flattened at once by Run.
	Workers int

	// Progress, when set, is called as folders are listed, as objects of
	// shards are read and as rows are merged; calls do not overlap.
	Progress func(Progress)
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
}

// Progress is reported while a day runs. Stage is "plan" (folders
// listed), "flatten" (shards, records and bytes read) or "merge" (rows
// merged); Elapsed is the stage's time so far.
type Progress struct {
	Stage         string
	FoldersListed int
	FoldersTotal  int
	ObjectsListed int64
	ShardsDone    int
	ShardsTotal   int
	RecordsRead   int64
	BytesRead     int64
	BytesTotal    int64
	RowsMerged    int64
	RowsTotal     int64
	Elapsed       time.Duration
}

// Defaults fills what the user did not choose.
func (c *Config) Defaults() {
	if c.Columns == "" {
		c.Columns = record.Full
	}
	if c.LocalTimeColumn == "" {
		c.LocalTimeColumn = record.DefaultLocalTimeColumn
	}
	if c.OnMalformed == "" {
		c.OnMalformed = "report"
	}
	if c.Compression == "" {
		c.Compression = "zstd"
	}
	if c.LateArrival == 0 {
		c.LateArrival = time.Hour
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the settings that do not need a store.
func (c *Config) Validate() error {
	if c.Source == "" {
		return errors.New("a source is required (a folder or s3://bucket[/prefix])")
	}
	if c.Destination == "" {
		return errors.New("a destination is required (a folder or s3://bucket[/prefix])")
	}
	if _, err := window.New(c.Date, c.TimeZone); err != nil {
		return err
	}
	if _, err := record.NewSchema(c.Columns, c.LocalTimeColumn); err != nil {
		return err
	}
	if err := record.ValidTypes(c.Types, c.Columns); err != nil {
		return err
	}
	switch c.OnMalformed {
	case "fail", "report":
	default:
		return fmt.Errorf("on-malformed must be fail or report, not %q", c.OnMalformed)
	}
	return nil
}

// PlanDay lists the day's objects, packs them into shards and writes the
// plan into the destination's staging area. It returns the plan, its key
// and its checksum.
func PlanDay(ctx context.Context, c Config, src, dst store.Store, runID string, maxShards int) (*plan.Plan, string, string, error) {
	day, err := window.New(c.Date, c.TimeZone)
	if err != nil {
		return nil, "", "", err
	}
	p, err := plan.Make(ctx, plan.Options{
		Source:           src,
		Day:              day,
		LateArrival:      c.lateArrival(day),
		OrgID:            c.OrgID,
		Accounts:         c.Accounts,
		Regions:          c.Regions,
		TargetShardBytes: c.TargetShardBytes,
		MaxShards:        maxShards,
		Progress:         planProgress(c.Progress),
	})
	if err != nil {
		return nil, "", "", err
	}
	p.RunID = runID
	// Store URLs, not what the user typed: a relative folder must mean the
	// same to a worker started elsewhere.
	p.Source = src.URL()
	p.Destination = dst.URL()
	p.Columns = c.Columns
	p.LocalTimeColumn = c.LocalTimeColumn
	p.OnMalformed = c.OnMalformed
	p.Deduplicate = c.Deduplicate
	p.Compression = c.Compression
	p.Types = c.Types
	p.KeepRuns = c.KeepRuns
	sum, err := plan.Write(ctx, dst, p)
	if err != nil {
		return nil, "", "", fmt.Errorf("writing the plan: %w", err)
	}
	return p, plan.PlanKey(day.YMD(), runID), sum, nil
}

// FlattenShard runs one shard of a plan and writes its result file. The
// returned error wraps problem.ErrBadInput when a retry cannot help.
func FlattenShard(ctx context.Context, p *plan.Plan, index int, src, dst store.Store) (*flatten.Result, error) {
	return FlattenShardProgress(ctx, p, index, src, dst, nil)
}

// FlattenShardProgress is FlattenShard that calls progress after each
// object with the shard's records and compressed bytes read so far.
func FlattenShardProgress(ctx context.Context, p *plan.Plan, index int, src, dst store.Store, progress func(records, bytes int64)) (*flatten.Result, error) {
	if index < 0 || index >= len(p.Shards) {
		return nil, fmt.Errorf("shard index %d is outside the plan's %d shards", index, len(p.Shards))
	}
	day, err := window.New(p.Date, p.TimeZone)
	if err != nil {
		return nil, err
	}
	ymd := day.YMD()
	res, err := flatten.Shard(ctx, src, p.Shards[index], dst, plan.PartKey(ymd, p.RunID, index), flatten.Options{
		Day:             day,
		Columns:         p.Columns,
		LocalTimeColumn: p.LocalTimeColumn,
		OnMalformed:     p.OnMalformed,
		Compression:     p.Compression,
		Progress:        progress,
	})
	if err != nil {
		if res != nil && errors.Is(err, problem.ErrBadInput) {
			f := Failure{Result: res, Error: err.Error()}
			if werr := writeJSON(ctx, dst, plan.FailureKey(ymd, p.RunID, index), f); werr != nil {
				err = errors.Join(err, fmt.Errorf("writing the failure of shard %d: %w", index, werr))
			}
		}
		return res, err
	}
	if err := writeJSON(ctx, dst, plan.ResultKey(ymd, p.RunID, index), res); err != nil {
		return res, fmt.Errorf("writing the result of shard %d: %w", index, err)
	}
	return res, nil
}

// Failure is what a shard that failed on bad input leaves in staging.
type Failure struct {
	Result *flatten.Result `json:"result"`
	Error  string          `json:"error"`
}

// ReadFailure reads what a shard left when it failed on bad input; a
// missing file means the shard failed for another reason.
func ReadFailure(ctx context.Context, dst store.Store, ymd, runID string, shard int) (*Failure, error) {
	var f Failure
	if err := readJSON(ctx, dst, plan.FailureKey(ymd, runID, shard), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// MergeDay merges the parts of every shard of a plan into the day's
// partition, publishes its manifest, writes the run's error manifest,
// removes staging, and returns the day's summary.
func MergeDay(ctx context.Context, p *plan.Plan, dst store.Store) (*Summary, error) {
	return mergeDay(ctx, p, dst, nil, nil)
}

// MergeDayProgress is MergeDay reporting the rows merged to progress.
func MergeDayProgress(ctx context.Context, p *plan.Plan, dst store.Store, progress func(Progress)) (*Summary, error) {
	return mergeDay(ctx, p, dst, progress, nil)
}

// mergeDay is MergeDay; finish, when set, completes the summary (the
// timings of the stages before the merge) before the report is written, so
// that the report says what the summary says.
func mergeDay(ctx context.Context, p *plan.Plan, dst store.Store, progress func(Progress), finish func(*Summary)) (*Summary, error) {
	day, err := window.New(p.Date, p.TimeZone)
	if err != nil {
		return nil, err
	}
	ymd := day.YMD()
	results := make([]*flatten.Result, len(p.Shards))
	parts := make([]string, len(p.Shards))
	for i := range p.Shards {
		var r flatten.Result
		if err := readJSON(ctx, dst, plan.ResultKey(ymd, p.RunID, i), &r); err != nil {
			return nil, fmt.Errorf("shard %d has no result (did its worker finish?): %w", i, err)
		}
		results[i] = &r
		parts[i] = plan.PartKey(ymd, p.RunID, i)
	}
	s := newSummary(p, day)
	s.addShards(results)
	if wrote, err := writeProblems(ctx, dst, plan.ErrorsKey(ymd, p.RunID), results); err != nil {
		return nil, fmt.Errorf("writing the error manifest: %w", err)
	} else if wrote {
		s.Errors = joinURL(p.Destination, plan.ErrorsKey(ymd, p.RunID))
	}
	start := time.Now()
	var mo merge.Options
	if progress != nil {
		mo.Progress = func(rows, total int64) {
			progress(Progress{Stage: "merge", RowsMerged: rows, RowsTotal: total, Elapsed: time.Since(start)})
		}
	}
	m, err := merge.Day(ctx, dst, p, parts, mo)
	if err != nil {
		return nil, err
	}
	s.Stages.Merge = msDuration(time.Since(start))
	s.addMerge(m)
	if finish != nil {
		finish(s)
	}
	if err := s.Check(); err != nil {
		return s, err
	}
	if err := writeJSON(ctx, dst, plan.ReportKey(ymd, p.RunID), s); err != nil {
		return s, fmt.Errorf("writing the run's report: %w", err)
	}
	if err := pruneRuns(ctx, dst, ymd, p.RunID, keepRuns(p.KeepRuns)); err != nil {
		return s, fmt.Errorf("removing the reports and errors of older runs: %w", err)
	}
	if err := merge.CleanStaging(ctx, dst, ymd, p.RunID); err != nil {
		return s, fmt.Errorf("removing staging: %w", err)
	}
	return s, nil
}

// ReadReport reads the summary MergeDay kept for an attempt.
func ReadReport(ctx context.Context, dst store.Store, ymd, runID string) (*Summary, error) {
	var s Summary
	if err := readJSON(ctx, dst, plan.ReportKey(ymd, runID), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Run converts one day in this process: plan, flatten c.Workers shards at
// a time, merge.
func Run(ctx context.Context, c Config) (*Summary, error) {
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	began := c.Now()
	src, err := store.Open(ctx, c.Source, c.Stores.Source)
	if err != nil {
		return nil, err
	}
	dst, err := store.Open(ctx, c.Destination, c.Stores.Destination)
	if err != nil {
		return nil, err
	}
	if c.TargetShardBytes == 0 {
		// Locally, many small shards balance the cores; the merge reads
		// sorted row groups, so their number costs little.
		c.TargetShardBytes = 32 << 20
	}
	t0 := time.Now()
	p, _, _, err := PlanDay(ctx, c, src, dst, plan.NewRunID(began), 0)
	if err != nil {
		return nil, err
	}
	planned := time.Since(t0)

	t1 := time.Now()
	if err := flattenAll(ctx, c, p, src, dst); err != nil {
		// Nothing else reads this attempt's staging; the error names the
		// culprit.
		_ = merge.CleanStaging(context.WithoutCancel(ctx), dst, p.YMD(), p.RunID)
		return nil, err
	}
	flattened := time.Since(t1)

	return mergeDay(ctx, p, dst, c.Progress, func(s *Summary) {
		s.Stages.Plan = msDuration(planned)
		s.Stages.Flatten = msDuration(flattened)
		s.Stages.Total = msDuration(time.Since(t0))
	})
}

func flattenAll(ctx context.Context, c Config, p *plan.Plan, src, dst store.Store) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		records  int64 // of finished shards
		bytes    int64
		running  = map[int][2]int64{} // records and bytes of shards under way
	)
	started := time.Now()
	report := func() {
		if c.Progress != nil {
			r, b := records, bytes
			for _, v := range running {
				r += v[0]
				b += v[1]
			}
			c.Progress(Progress{Stage: "flatten", ShardsDone: done, ShardsTotal: len(p.Shards),
				RecordsRead: r, BytesRead: b, BytesTotal: p.Counts.SelectedBytes, Elapsed: time.Since(started)})
		}
	}
	report()
	var wg sync.WaitGroup
	for w := 0; w < min(c.Workers, len(p.Shards)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := FlattenShardProgress(ctx, p, i, src, dst, func(r, b int64) {
					mu.Lock()
					running[i] = [2]int64{r, b}
					report()
					mu.Unlock()
				})
				mu.Lock()
				delete(running, i)
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("shard %d: %w", i, err)
					cancel()
				}
				if res != nil {
					done++
					records += res.Read
					bytes += res.Bytes
				}
				report()
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range p.Shards {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return firstErr
}

func writeJSON(ctx context.Context, st store.Store, key string, v any) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		_ = w.Abort()
		return err
	}
	return w.Close()
}

func readJSON(ctx context.Context, st store.Store, key string, v any) error {
	r, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// writeProblems writes every named problem of the run as JSON lines; no
// file is written for a clean run.
func writeProblems(ctx context.Context, st store.Store, key string, results []*flatten.Result) (bool, error) {
	n := 0
	for _, r := range results {
		n += len(r.Problems)
	}
	if n == 0 {
		return false, nil
	}
	w, err := st.Create(ctx, key)
	if err != nil {
		return false, err
	}
	enc := json.NewEncoder(w)
	for _, r := range results {
		for _, pr := range r.Problems {
			if err := enc.Encode(pr); err != nil {
				_ = w.Abort()
				return false, err
			}
		}
	}
	return true, w.Close()
}
