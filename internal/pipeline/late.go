package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

func dateOf(ymd string) string { return ymd[0:4] + "-" + ymd[4:6] + "-" + ymd[6:8] }

func ymdOf(date string) string { return strings.ReplaceAll(date, "-", "") }

// readManifest reads a day's manifest and its version; nil when none.
func readManifest(ctx context.Context, dst store.Store, ymd string) (*plan.Manifest, string, error) {
	b, ver, err := store.ReadVersion(ctx, dst, plan.ManifestKey(ymd))
	if store.IsNotExist(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", plan.ManifestKey(ymd), err)
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("%s: %w", plan.ManifestKey(ymd), err)
	}
	return &m, ver, nil
}

// sameLayout says why a day's manifest cannot take this run's rows ("" when
// it can): another zone means other days, other columns other files.
func sameLayout(m *plan.Manifest, p *plan.Plan) string {
	zone := window.MustNew(p.Date, p.TimeZone).ZoneName()
	schema, err := record.NewSchema(p.Columns, p.LocalTimeColumn)
	if err != nil {
		return err.Error()
	}
	switch {
	case m.TimeZone != zone:
		return fmt.Sprintf("the day is published in time zone %s, this run's is %s", m.TimeZone, zone)
	case m.Columns != schema.Set || m.LocalTimeColumn != schema.LocalTimeColumn():
		return fmt.Sprintf("the day has columns %s/%s, this run %s/%s", m.Columns, m.LocalTimeColumn, schema.Set, schema.LocalTimeColumn())
	}
	return ""
}

// carryLate keeps, in the day's new manifest m, the late files that other
// days' runs added to the published day, less the events that this run
// wrote itself (same eventid and eventtime): a file that loses none is
// carried as it is, one that loses some is written again under this run's
// name, one that loses all is dropped.
func carryLate(ctx context.Context, p *plan.Plan, dst store.Store, m *plan.Manifest, l *plan.Late) ([]string, error) {
	ymd := p.YMD()
	old, _, err := readManifest(ctx, dst, ymd)
	if err != nil || old == nil {
		return nil, err
	}
	var present []string
	for _, f := range m.Files {
		present = append(present, commit.StagedKey(ymd, p.RunID, path.Base(f.Key)))
	}
	var problems []string
	for _, f := range old.Files {
		if f.Late == nil {
			continue
		}
		if why := sameLayout(old, p); why != "" {
			problems = append(problems, fmt.Sprintf("late file %s (%d rows from %s) not carried: %s; run %s again to write them", f.Key, f.Rows, f.Late.SourceDate, why, f.Late.SourceDate))
			l.CarriedDropped += f.Rows
			continue
		}
		nf, st, err := merge.Late(ctx, dst, p, ymd, ymdOf(f.Late.SourceDate), []string{f.Key}, nil, present)
		if err != nil {
			return problems, fmt.Errorf("carrying the late file %s: %w", f.Key, err)
		}
		l.CarriedDropped += st.Present + st.Duplicates
		switch {
		case st.Written == st.In:
			nf = &f
		case nf == nil:
			continue
		default:
			nf.Late = f.Late
		}
		m.Files = append(m.Files, *nf)
		m.LateRows += nf.Rows
		l.Carried += nf.Rows
		l.CarriedFiles++
	}
	return problems, nil
}

// writeLate writes the late events of the run's side parts into their own
// days, after the run's day is published: one file per day, through the
// day's lease and Day.Amend. prevDays are the days an earlier run of this
// day wrote to, whose late files this run replaces even when it has no
// rows for them.
func writeLate(ctx context.Context, p *plan.Plan, dst store.Store, results []*plan.ShardResult, prevDays []string, lease commit.Options, l *plan.Late) error {
	parts := map[string][]string{}
	for _, r := range results {
		for _, lp := range r.LateParts {
			parts[lp.Day] = append(parts[lp.Day], lp.Key)
		}
	}
	days := slices.Collect(func(yield func(string) bool) {
		for d := range parts {
			if !yield(d) {
				return
			}
		}
	})
	for _, d := range prevDays {
		days = append(days, ymdOf(d))
	}
	slices.Sort(days)
	days = slices.Compact(days)
	var errs []error
	for _, d := range days {
		if d == p.YMD() {
			continue
		}
		ld, err := writeLateDay(ctx, p, dst, d, parts[d], lease)
		l.Days = append(l.Days, ld)
		l.Written += ld.Written
		if err != nil {
			errs = append(errs, fmt.Errorf("late events of %s: %w", ld.Date, err))
		}
	}
	l.Done = len(errs) == 0
	return errors.Join(errs...)
}

func writeLateDay(ctx context.Context, p *plan.Plan, dst store.Store, ymd string, parts []string, lease commit.Options) (plan.LateDay, error) {
	ld := plan.LateDay{Date: dateOf(ymd)}
	held, lctx, err := commit.Acquire(ctx, dst, ymd, p.RunID, lease)
	if err != nil {
		return ld, err
	}
	defer held.Release(context.WithoutCancel(ctx))
	defer commit.RemoveStaging(context.WithoutCancel(ctx), dst, ymd, p.RunID)
	if err := held.RecoverSwitch(lctx); err != nil {
		return ld, err
	}
	old, ver, err := readManifest(lctx, dst, ymd)
	if err != nil {
		return ld, err
	}
	m := old
	if m == nil {
		m = newLateManifest(p, ld.Date)
	} else if why := sameLayout(m, p); why != "" {
		ld.Skipped = why
		return ld, nil
	}
	var (
		keep    []plan.File
		present []string
		remove  []string
	)
	for _, f := range m.Files {
		if f.Late != nil && f.Late.SourceDate == p.Date {
			switch {
			case f.Late.SourceRun == p.RunID:
				ld.Skipped, ld.File = "written already by this run", f.Key
				return ld, nil
			case commit.Older(p.RunID, f.Late.SourceRun):
				ld.Skipped = "a newer run of " + p.Date + " (" + f.Late.SourceRun + ") wrote this day's late file"
				return ld, nil
			}
			remove = append(remove, f.Key)
			continue
		}
		keep = append(keep, f)
		present = append(present, f.Key)
	}
	var add []string
	if len(parts)+len(remove) > 0 {
		// The earlier run's file goes in too: its events that this run no
		// longer writes (it now leaves them to a day that read their file
		// before it, or reads less) and that nothing else in the day holds
		// stay in the day.
		f, st, err := merge.Late(lctx, dst, p, ymd, p.YMD(), parts, remove, present)
		ld.LateStats = st
		if err != nil {
			return ld, err
		}
		if f != nil {
			f.Late = &plan.LateOrigin{SourceDate: p.Date, SourceRun: p.RunID}
			keep = append(keep, *f)
			add = append(add, f.Key)
			ld.File = f.Key
		}
	}
	if len(add)+len(remove) == 0 {
		return ld, nil
	}
	m.Files = keep
	m.LateRows = 0
	for _, f := range keep {
		if f.Late != nil {
			m.LateRows += f.Rows
		}
	}
	b, err := m.JSON()
	if err != nil {
		return ld, err
	}
	_, err = held.Amend(lctx, ver, b, add, remove)
	return ld, leaseCause(lctx, err)
}

// newLateManifest is the manifest of a day that no run has published yet
// and that receives late events: no run, no files of its own.
func newLateManifest(p *plan.Plan, date string) *plan.Manifest {
	day := window.MustNew(date, p.TimeZone)
	schema, _ := record.NewSchema(p.Columns, p.LocalTimeColumn)
	return &plan.Manifest{
		Version: 1, Header: plan.NewHeader(day),
		Columns: schema.Set, LocalTimeColumn: schema.LocalTimeColumn(), ColumnNames: schema.Names(),
		Compression: p.Compression, Deduplicate: p.Deduplicate, Files: []plan.File{},
		Created: time.Now().UTC(), Duration: "0s",
	}
}

// previousLateDays are the days the run that published the day before
// wrote late files to, from its report.
func previousLateDays(ctx context.Context, dst store.Store, ymd, oldRun string) []string {
	if oldRun == "" {
		return nil
	}
	s, err := ReadReport(ctx, dst, ymd, oldRun)
	if err != nil || s.Late == nil {
		return nil
	}
	var out []string
	for _, d := range s.Late.Days {
		if d.File != "" {
			out = append(out, d.Date)
		}
	}
	return out
}

// lateReach is how many days before and after its own a run reads the
// published manifests of: CloudTrail redelivers up to 30 days late, so the
// records a run reads belong to days within it.
const lateReach = 32

// nearDays reads the manifests of the days within lateReach of day (its own
// included) that a run of this layout published (stub names the zone and
// columns): their read ranges decide which records of other days this run
// counts as read by them, and what this day must read at least.
func nearDays(ctx context.Context, dst store.Store, stub *plan.Plan, day window.Day) (map[string]*plan.Manifest, error) {
	var (
		mu   sync.Mutex
		near = map[string]*plan.Manifest{}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := -lateReach; i <= lateReach; i++ {
		ymd := day.Start.In(day.Zone).AddDate(0, 0, i).Format("20060102")
		g.Go(func() error {
			m, _, err := readManifest(gctx, dst, ymd)
			if err != nil || m == nil || m.RunID == "" || sameLayout(m, stub) != "" {
				return err
			}
			mu.Lock()
			near[ymd] = m
			mu.Unlock()
			return nil
		})
	}
	return near, g.Wait()
}

// readFloor is how far the run of day must read at least (zero: no
// floor): as far as its published run read, since the delivering days'
// runs since left the events of those files to it; and as far as a
// published run of another day took it to read while it had no run
// (plan.Manifest.Assumed).
func readFloor(day window.Day, near map[string]*plan.Manifest) time.Time {
	var floor time.Time
	for ymd, m := range near {
		until := m.Assumed[day.YMD()]
		if ymd == day.YMD() {
			until = m.ReadUntil
		}
		if until.After(floor) {
			floor = until
		}
	}
	return floor
}

// setReadRanges records in p the read ranges flatten classifies records
// by (plan.Plan.ReadUntil), and what it assumes of the days within reach
// whose range is not known (plan.Plan.Assumed).
func setReadRanges(p *plan.Plan, day window.Day, near map[string]*plan.Manifest) {
	until := day.End.Add(p.LateArrival)
	p.ReadUntil = map[string]time.Time{day.YMD(): until}
	p.Assumed = nil
	for i := -lateReach; i <= lateReach; i++ {
		d := window.MustNew(day.Start.In(day.Zone).AddDate(0, 0, i).Format(time.DateOnly), p.TimeZone)
		if d.YMD() == day.YMD() {
			continue
		}
		if m := near[d.YMD()]; m != nil && !m.ReadUntil.IsZero() {
			p.ReadUntil[d.YMD()] = m.ReadUntil
			continue
		}
		// This run may read files delivered in the margin of d, a day
		// before it: flatten takes d to read them, so d's own run must.
		// (A day after it is taken to read its window only.)
		if !d.End.After(day.Start) && !d.End.Add(p.LateArrival).Before(day.Start.Truncate(time.Minute)) {
			if p.Assumed == nil {
				p.Assumed = map[string]time.Time{}
			}
			p.Assumed[d.YMD()] = d.End.Add(p.LateArrival)
		}
	}
}

// widened says why a plan reads further than the margin asked for.
func widened(p *plan.Plan) string {
	if p.LateArrivalAsked == 0 {
		return ""
	}
	return fmt.Sprintf("read with a late-arrival margin of %s, not the %s asked for: a published run read that far for this day (its own earlier run, or a run of a day before it that left the events of those files to it); reading less would leave them in no partition",
		p.LateArrival, p.LateArrivalAsked)
}
