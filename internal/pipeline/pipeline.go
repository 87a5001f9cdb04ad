// Package pipeline composes the stages of a day — plan, flatten, merge — from
// the packages that implement them. The worker's subcommands call one stage
// each (the operator runs them in pods); Run calls all three in one process.
// There is one implementation of every stage: Run is only their composition.
package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/defaults"
	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"
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

	// VerifyIntegrity checks every selected file against CloudTrail's
	// signed digests (see docs/integrity.md); PublicKeys is a PEM bundle
	// used instead of the ListPublicKeys API; OnIntegrity is "fail" (the
	// day fails when a file or digest does not verify) or "report".
	VerifyIntegrity bool
	PublicKeys      string
	OnIntegrity     string

	TargetShardBytes int64
	// Rivals go into the plan (plan.Plan.Rivals): the operator's other
	// days that publish the same partition.
	Rivals []string
	// ListConcurrency bounds the listing requests of planning in flight
	// (0: plan.DefaultListConcurrency).
	ListConcurrency int
	// LateEvents is plan.LateWrite (default: events read after their own day's
	// margin are written into their day) or plan.LateCount (counted only).
	LateEvents string

	// AllowEmpty publishes an empty day when no log file is selected;
	// without it such a run fails (bad input) and the day stays as it was.
	AllowEmpty bool
	// AllowOpenWindow runs a day whose window plus late-arrival margin has
	// not closed yet; without it such a run is refused (configuration).
	AllowOpenWindow bool
	// Lease configures the day's lease (holder, TTL); zero = defaults.
	Lease commit.Options

	// Workers is how many shards are flattened at once by Run.
	Workers int
	// MergeWorkers is how many ranges of event time Run merges at once
	// (the day's files are published together, as one day); 1 merges the
	// whole day in one.
	MergeWorkers int

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
	if c.OnIntegrity == "" {
		c.OnIntegrity = "fail"
	}
	if c.LateArrival == 0 {
		c.LateArrival = defaults.LateArrival
	}
	if c.LateEvents == "" {
		c.LateEvents = plan.LateWrite
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
	if _, err := pqfile.Codec(c.Compression); err != nil {
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
	switch c.LateEvents {
	case "", plan.LateWrite, plan.LateCount:
	default:
		return fmt.Errorf("late-events must be write or count, not %q", c.LateEvents)
	}
	switch c.OnIntegrity {
	case "", "fail", "report":
	default:
		return fmt.Errorf("on-integrity must be fail or report, not %q", c.OnIntegrity)
	}
	if c.MergeWorkers < 0 {
		return fmt.Errorf("merge workers must be 1 or more, not %d", c.MergeWorkers)
	}
	if c.PublicKeys != "" && !c.VerifyIntegrity {
		return errors.New("public keys are only used with integrity verification on")
	}
	return nil
}

// PlanDay lists the day's objects, packs them into shards and writes the
// plan into the destination's staging area. It returns the plan, its key
// and its checksum. When integrity verification fails the day, it returns
// the unwritten plan, with its integrity report, beside the error.
func PlanDay(ctx context.Context, c Config, src, dst store.Store, runID string, maxShards int) (*plan.Plan, string, string, error) {
	day, err := window.New(c.Date, c.TimeZone)
	if err != nil {
		return nil, "", "", err
	}
	// A day never reads less than its published run, or than a published
	// run of a neighbouring day took it to read (docs/late-events.md).
	margin := cmp.Or(c.lateArrival(day), plan.DefaultLateArrival)
	stub := &plan.Plan{Date: c.Date, TimeZone: c.TimeZone, Columns: c.Columns, LocalTimeColumn: c.LocalTimeColumn}
	near, err := nearDays(ctx, dst, stub, day)
	if err != nil {
		return nil, "", "", fmt.Errorf("reading the manifests of the days near %s: %w", c.Date, err)
	}
	asked := margin
	if floor := readFloor(day, near); floor.After(day.End.Add(margin)) {
		margin = floor.Sub(day.End)
		c.LateArrival, c.LateArrivalFolder = margin, false
	}
	p, err := plan.Make(ctx, plan.Options{
		Source:           src,
		Day:              day,
		LateArrival:      margin,
		OrgID:            c.OrgID,
		Accounts:         c.Accounts,
		Regions:          c.Regions,
		TargetShardBytes: c.TargetShardBytes,
		MaxShards:        maxShards,
		ListConcurrency:  c.ListConcurrency,
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
	p.AllowEmpty = c.AllowEmpty
	p.LateEvents = c.LateEvents
	p.Rivals = c.Rivals
	if margin != asked {
		p.LateArrivalAsked = asked
	}
	setReadRanges(p, day, near)
	if c.VerifyIntegrity {
		if err := verifyIntegrity(ctx, c, p, day, src, dst); err != nil {
			// The plan, unwritten, carries the report for the caller
			// to name what failed.
			return p, "", "", err
		}
	}
	sum, err := plan.Write(ctx, dst, p)
	if err != nil {
		return nil, "", "", fmt.Errorf("writing the plan: %w", err)
	}
	return p, plan.PlanKey(day.YMD(), runID), sum, nil
}

// FlattenShard runs one shard of a plan and writes its result file. The
// returned error wraps problem.ErrBadInput when a retry cannot help.
func FlattenShard(ctx context.Context, p *plan.Plan, index int, src, dst store.Store) (*plan.ShardResult, error) {
	return FlattenShardProgress(ctx, p, index, src, dst, 1, nil)
}

// FlattenShardProgress is FlattenShard that calls progress after each
// object with the shard's records and compressed bytes read so far; atOnce
// is the number of shards this process flattens at the same time, which
// share its memory (flatten.RowGroupBytesFor).
func FlattenShardProgress(ctx context.Context, p *plan.Plan, index int, src, dst store.Store, atOnce int, progress func(records, bytes int64)) (*plan.ShardResult, error) {
	if index < 0 || index >= len(p.Shards) {
		return nil, fmt.Errorf("shard index %d is outside the plan's %d shards", index, len(p.Shards))
	}
	day, err := p.Day()
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
		RowGroupBytes:   flatten.RowGroupBytesFor(atOnce),
		LateArrival:     p.LateArrival,
		ReadUntil:       p.ReadUntil,
		LatePrefix:      latePrefix(p),
	})
	if err != nil {
		if res != nil && errors.Is(err, problem.ErrBadInput) {
			f := plan.Failure{Result: res, Error: err.Error()}
			if werr := plan.WriteJSON(ctx, dst, plan.FailureKey(ymd, p.RunID, index), f); werr != nil {
				err = errors.Join(err, fmt.Errorf("writing the failure of shard %d: %w", index, werr))
			}
		}
		return res, err
	}
	if err := plan.WriteJSON(ctx, dst, plan.ResultKey(ymd, p.RunID, index), res); err != nil {
		return res, fmt.Errorf("writing the result of shard %d: %w", index, err)
	}
	return res, nil
}

// ReadFailure reads what a shard left when it failed on bad input; a
// missing file means the shard failed for another reason.
func ReadFailure(ctx context.Context, dst store.Store, ymd, runID string, shard int) (*plan.Failure, error) {
	var f plan.Failure
	if err := plan.ReadJSON(ctx, dst, plan.FailureKey(ymd, runID, shard), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// ErrConfig marks a run refused for its settings (exit 2): a source and a
// destination that overlap, a window that has not closed.
var ErrConfig = problem.ErrUsage

// ErrEmpty marks a run that selected no log file (bad input: a retry
// cannot help; the settings or the source must change).
var ErrEmpty = fmt.Errorf("%w: no log file selected", problem.ErrBadInput)

// MergeDay merges the parts of every shard of a plan and publishes them as
// the day (internal/commit: lease, recovery of an interrupted switch,
// staged files, journal, manifest compare-and-swap), writes the run's error
// manifest and report, removes staging, and returns the day's summary. A
// plan that already is the published day (a retried merge whose first
// attempt committed) returns its report without merging again. A merge
// that fails leaves the plan, parts and results in staging: a retry of it
// (the merge Job's next pod) needs them; whoever gives up on the run (the
// operator, or the next holder of the day) removes them.
func MergeDay(ctx context.Context, p *plan.Plan, dst store.Store) (*plan.Report, error) {
	return MergeDayWith(ctx, p, dst, commit.Options{})
}

// MergeDayWith is MergeDay with lease options.
func MergeDayWith(ctx context.Context, p *plan.Plan, dst store.Store, lease commit.Options) (*plan.Report, error) {
	return MergeDayProgress(ctx, p, dst, lease, nil)
}

// MergeDayProgress is MergeDayWith reporting the rows merged to progress.
func MergeDayProgress(ctx context.Context, p *plan.Plan, dst store.Store, lease commit.Options, progress func(Progress)) (*plan.Report, error) {
	return publishHeld(ctx, p, dst, lease, progress, inProcess(1))
}

// mergeFunc makes the day's manifest from the shards' parts and results:
// the whole day merged at once, its spans merged at once, or the spans'
// manifests that the merge indices left.
type mergeFunc func(ctx context.Context, p *plan.Plan, dst store.Store, day window.Day, parts []string, results []*plan.ShardResult, mo merge.Options) (*plan.Manifest, error)

// inProcess merges the day in this process, as up to r spans at once.
func inProcess(r int) mergeFunc {
	return func(ctx context.Context, p *plan.Plan, dst store.Store, day window.Day, parts []string, results []*plan.ShardResult, mo merge.Options) (*plan.Manifest, error) {
		return mergeRanges(ctx, p, dst, day, parts, results, r, mo)
	}
}

// publishHeld takes the day's lease, recovers what an earlier run left,
// and merges and publishes the day of p through merged, unless p's run
// published it already.
func publishHeld(ctx context.Context, p *plan.Plan, dst store.Store, lease commit.Options, progress func(Progress), merged mergeFunc) (*plan.Report, error) {
	ymd := p.YMD()
	if lease.Rivals == nil {
		lease.Rivals = p.Rivals
	}
	held, lctx, err := commit.Acquire(ctx, dst, ymd, p.RunID, lease)
	if err != nil {
		return nil, err
	}
	defer held.Release(context.WithoutCancel(ctx))
	if _, err := held.Recover(lctx); err != nil {
		return nil, err
	}
	if s, done, err := publishedBy(lctx, dst, ymd, p.RunID); err != nil || done {
		return s, err
	}
	if err := held.MayReplace(lctx); err != nil {
		return nil, err
	}
	s, err := mergeDay(lctx, p, dst, held, lease, progress, merged, nil)
	return s, leaseCause(lctx, err)
}

// leaseCause names the lost lease when that is why the run stopped.
func leaseCause(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && cause != ctx.Err() {
			return fmt.Errorf("%w (%w)", err, cause)
		}
	}
	return err
}

// publishedBy returns the report of run when the day's manifest is run's.
func publishedBy(ctx context.Context, dst store.Store, ymd, run string) (*plan.Report, bool, error) {
	var m struct {
		RunID string `json:"runID"`
	}
	err := plan.ReadJSON(ctx, dst, plan.ManifestKey(ymd), &m)
	if store.IsNotExist(err) || err == nil && m.RunID != run {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the day's manifest: %w", err)
	}
	s, err := ReadReport(ctx, dst, ymd, run)
	if err != nil {
		return nil, true, fmt.Errorf("run %s is published, but its report: %w", run, err)
	}
	_ = commit.RemoveStaging(ctx, dst, ymd, run)
	return s, true, nil
}

// emptyError is the failure of a run that selected no log file.
func emptyError(p *plan.Plan) error {
	return fmt.Errorf("%w for %s (%s) under %s: %d objects listed in %d date folders, none an event log of the day; check the source, organization ID, accounts and regions, or allow an empty day (--allow-empty, spec.allowEmpty) to publish one",
		ErrEmpty, p.Date, p.TimeZone, p.Source, p.Counts.Listed, p.Counts.Prefixes)
}

func mergeDay(ctx context.Context, p *plan.Plan, dst store.Store, held *commit.Day, lease commit.Options, progress func(Progress), merged mergeFunc, finish func(*plan.Report)) (*plan.Report, error) {
	day, err := p.Day()
	if err != nil {
		return nil, err
	}
	ymd := day.YMD()
	if p.Counts.Selected == 0 && !p.AllowEmpty {
		return nil, emptyError(p)
	}
	results, parts, err := readResults(ctx, p, dst)
	if err != nil {
		return nil, err
	}
	s := plan.NewReport(p, day)
	s.AddShards(results)
	var extra []problem.Problem
	if p.Integrity != nil {
		extra = p.Integrity.Problems()
		s.AddIntegrity(p.Integrity)
	}
	if wrote, err := writeProblems(ctx, dst, plan.ErrorsKey(ymd, p.RunID), results, extra...); err != nil {
		return nil, fmt.Errorf("writing the error manifest: %w", err)
	} else if wrote {
		s.Errors = plan.JoinURL(p.Destination, plan.ErrorsKey(ymd, p.RunID))
	}
	start := time.Now()
	var mo merge.Options
	if progress != nil {
		mo.Progress = func(rows, total int64) {
			progress(Progress{Stage: "merge", RowsMerged: rows, RowsTotal: total, Elapsed: time.Since(start)})
		}
	}
	m, err := merged(ctx, p, dst, day, parts, results, mo)
	if err != nil {
		return nil, err
	}
	m.Integrity = p.Integrity
	if p.LateArrival > 0 {
		m.ReadUntil, m.Assumed = day.End.Add(p.LateArrival), p.Assumed
	}
	s.Late = &plan.Late{Mode: cmp.Or(p.LateEvents, plan.LateWrite), Widened: widened(p)}
	lateProblems, err := carryLate(ctx, p, dst, m, s.Late)
	if err != nil {
		return nil, err
	}
	s.Problems = append(s.Problems, lateProblems...)
	s.Stages.Merge = plan.Millis(time.Since(start))
	s.AddMerge(m)
	if finish != nil {
		finish(s)
	}
	if err := s.Check(); err != nil {
		return s, err
	}
	// The report first: a run killed right after its commit point still
	// has one for the operator (and for a retried merge) to read.
	if err := plan.WriteJSON(ctx, dst, plan.ReportKey(ymd, p.RunID), s); err != nil {
		return s, fmt.Errorf("writing the run's report: %w", err)
	}
	commit.Failpoint("run.merged")
	b, err := m.JSON()
	if err != nil {
		return s, err
	}
	res, err := held.Publish(ctx, b)
	if err != nil {
		return s, err
	}
	if latePrefix(p) != "" {
		// The day is published; its late events go to their own days now.
		prev := previousLateDays(ctx, dst, ymd, res.OldRun)
		lerr := writeLate(ctx, p, dst, results, prev, lease, s.Late)
		if err := plan.WriteJSON(ctx, dst, plan.ReportKey(ymd, p.RunID), s); err != nil {
			lerr = errors.Join(lerr, fmt.Errorf("writing the run's report: %w", err))
		}
		if lerr != nil {
			return s, fmt.Errorf("published %s; %w (run the day again to write them)", s.Output, lerr)
		}
	}
	if err := commit.RemoveStaging(context.WithoutCancel(ctx), dst, ymd, p.RunID); err != nil {
		return s, fmt.Errorf("published; removing staging: %w", err)
	}
	if err := pruneRuns(ctx, dst, ymd, p.RunID, keepRuns(p.KeepRuns)); err != nil {
		return s, fmt.Errorf("published; removing the reports and errors of older runs: %w", err)
	}
	return s, nil
}

// ReadReport reads the summary MergeDay kept for an attempt.
func ReadReport(ctx context.Context, dst store.Store, ymd, runID string) (*plan.Report, error) {
	var s plan.Report
	if err := plan.ReadJSON(ctx, dst, plan.ReportKey(ymd, runID), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// CheckStores refuses a source and a destination that overlap (either
// inside the other): a run would read its own output and its commit could
// delete what it reads.
func CheckStores(src, dst store.Store) error {
	if store.SameLocation(src, dst) {
		return fmt.Errorf("%w: the source %s and the destination %s overlap (one is inside the other); use separate locations", ErrConfig, src.URL(), dst.URL())
	}
	return nil
}

// CheckWindow refuses a day whose window and late-arrival margin have not
// passed: its files are not all delivered, and publishing it would replace
// a day with part of it.
func CheckWindow(c Config) error {
	day, err := window.New(c.Date, c.TimeZone)
	if err != nil {
		return err
	}
	closes := day.End.Add(c.LateArrival)
	if now := c.Now(); now.Before(closes) && !c.AllowOpenWindow {
		return fmt.Errorf("%w: the window of %s (%s) closes at %s with the late-arrival margin of %s, in %s; run it after that, or pass --allow-open-window",
			ErrConfig, c.Date, day.ZoneName(), closes.UTC().Format(time.RFC3339), c.LateArrival, closes.Sub(now).Round(time.Second))
	}
	return nil
}

// Run converts one day in this process: lease and recovery of the day,
// plan, flatten c.Workers shards at a time, merge, publish.
func Run(ctx context.Context, c Config) (*plan.Report, error) {
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := CheckWindow(c); err != nil {
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
	if err := CheckStores(src, dst); err != nil {
		return nil, err
	}
	if c.TargetShardBytes == 0 {
		// Locally, many small shards balance the cores; the merge reads
		// sorted row groups, so their number costs little.
		c.TargetShardBytes = 32 << 20
	}
	ymd := window.MustNew(c.Date, c.TimeZone).YMD()
	runID := plan.NewRunID(began)
	held, lctx, err := commit.Acquire(ctx, dst, ymd, runID, c.Lease)
	if err != nil {
		return nil, err
	}
	defer held.Release(context.WithoutCancel(ctx))
	s, err := runHeld(lctx, c, src, dst, held)
	if err != nil {
		// Best effort: nothing else reads this attempt's staging.
		_ = commit.RemoveStaging(context.WithoutCancel(ctx), dst, ymd, runID)
	}
	return s, leaseCause(lctx, err)
}

func runHeld(ctx context.Context, c Config, src, dst store.Store, held *commit.Day) (*plan.Report, error) {
	if _, err := held.Recover(ctx); err != nil {
		return nil, err
	}
	commit.Failpoint("run.planning")
	t0 := time.Now()
	p, _, _, err := PlanDay(ctx, c, src, dst, held.Run(), 0)
	if err != nil {
		return nil, err
	}
	if p.Counts.Selected == 0 && !c.AllowEmpty {
		return nil, emptyError(p)
	}
	planned := time.Since(t0)

	t1 := time.Now()
	if err := flattenAll(ctx, c, p, src, dst); err != nil {
		return nil, err
	}
	flattened := time.Since(t1)

	return mergeDay(ctx, p, dst, held, c.Lease, c.Progress, inProcess(c.MergeWorkers), func(s *plan.Report) {
		s.Stages.Plan = plan.Millis(planned)
		s.Stages.Flatten = plan.Millis(flattened)
		s.Stages.Total = plan.Millis(time.Since(t0))
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
				res, err := FlattenShardProgress(ctx, p, i, src, dst, min(c.Workers, len(p.Shards)), func(r, b int64) {
					mu.Lock()
					running[i] = [2]int64{r, b}
					report()
					mu.Unlock()
				})
				if i == 0 {
					commit.Failpoint("run.flattening")
				}
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

// writeProblems writes every named problem of the run as JSON lines; no
// file is written for a clean run.
func writeProblems(ctx context.Context, st store.Store, key string, results []*plan.ShardResult, extra ...problem.Problem) (bool, error) {
	n := len(extra)
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
	for _, pr := range extra {
		if err := enc.Encode(pr); err != nil {
			_ = w.Abort()
			return false, err
		}
	}
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

// latePrefix is where a run's shards keep late events for their days (""
// when the run only counts them).
func latePrefix(p *plan.Plan) string {
	if p.LateEvents == plan.LateCount {
		return ""
	}
	return plan.StagingPrefix(p.YMD(), p.RunID) + "late/"
}
