package flatten

import (
	"context"
	"fmt"
	"time"

	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/trail"
	"github.com/parquetrail/parquetrail/internal/window"
)

// LatePartKey is where shard writes its late records for day ymd, under
// prefix (the run's staging: plan.StagingPrefix + "late/").
func LatePartKey(prefix, ymd string, shard int) string {
	return fmt.Sprintf("%sproc_ymd=%s/shard-%05d.parquet", prefix, ymd, shard)
}

// lateRowGroupBytes bounds a side part's buffered rows: late records are
// few, and a shard may hold some for several days at once.
const lateRowGroupBytes = 4 << 20

// FirstReader is the earliest day (in the run's zone) whose selection
// (window plus margin) includes a file delivered at delivered: the one run
// that writes the file's late records into their days. Every other day
// reading the file only counts them, so that each late record is written
// once however many days read its file. It is the rule when every day reads
// with the same margin (Options.ReadUntil nil).
func FirstReader(delivered time.Time, zone *time.Location, margin time.Duration) window.Day {
	t := delivered.Add(-margin).In(zone).AddDate(0, 0, -1)
	for i := 0; ; i++ {
		d := window.MustNew(t.Format(time.DateOnly), zone.String())
		if ok, _ := d.Selects(delivered, margin); ok || i > 3+int(margin/(24*time.Hour)) {
			return d
		}
		t = d.End.In(zone)
	}
}

// lateSides classifies the records outside the window and writes the late
// ones that this run is responsible for into one side part per day.
type lateSides struct {
	ctx    context.Context
	dst    store.Store
	schema *record.Schema
	opts   *Options
	shard  int

	delivered time.Time // of the current object; zero when its key does not parse
	mine      bool      // this run's day is the first to read the current object
	days      map[string]window.Day
	// before are the days before this one with a published read range.
	before []readRange
	sides  map[string]*side
	order  []string
}

type readRange struct {
	window.Day
	until time.Time
}

type side struct {
	key   string
	out   store.Writer
	pw    *pqfile.FileWriter
	batch *pqfile.Batch
	rows  int64
}

func newLateSides(ctx context.Context, dst store.Store, schema *record.Schema, opts *Options, shard int) *lateSides {
	l := &lateSides{ctx: ctx, dst: dst, schema: schema, opts: opts, shard: shard,
		days: map[string]window.Day{}, sides: map[string]*side{}}
	for ymd, until := range opts.ReadUntil {
		if ymd >= opts.Day.YMD() || len(ymd) != 8 {
			continue
		}
		d, err := window.New(ymd[0:4]+"-"+ymd[4:6]+"-"+ymd[6:8], opts.Day.ZoneName())
		if err != nil {
			continue // not a day: it names no range to leave files to
		}
		l.before = append(l.before, readRange{Day: d, until: until})
	}
	return l
}

func (l *lateSides) object(key string) {
	k, ok := trail.ParseKey(key)
	if !ok {
		l.delivered, l.mine = time.Time{}, false
		return
	}
	l.delivered = k.Delivered
	if l.opts.ReadUntil == nil {
		l.mine = FirstReader(k.Delivered, l.opts.Day.Zone, l.opts.LateArrival).Date == l.opts.Day.Date
		return
	}
	// The file is another day's to write from only when that day's
	// published run read it (and so wrote its late records, or left them
	// to a day before it that did): a day without a published run may never
	// read it, whatever margin it runs with.
	l.mine = true
	for _, b := range l.before {
		if !k.Delivered.Before(b.Start.Truncate(time.Minute)) && !k.Delivered.After(b.until) {
			l.mine = false
			return
		}
	}
}

// reads says whether the run of day d reads (or read) a file delivered at
// t: by the read range its published run recorded; else, for a day before
// this one, by this run's margin (the plan's Assumed holds that day's first
// run to it), and for a day after it, by its window only (its run has not
// been held to more: it may run before files delivered in its margin exist).
func (l *lateSides) reads(d window.Day, t time.Time) bool {
	until, ok := l.opts.ReadUntil[d.YMD()]
	switch {
	case l.opts.ReadUntil == nil:
		until = d.End.Add(l.opts.LateArrival)
	case !ok && d.Start.Before(l.opts.Day.Start):
		until = d.End.Add(l.opts.LateArrival)
	case !ok:
		until = d.End
	}
	return !t.Before(d.Start.Truncate(time.Minute)) && !t.After(until)
}

// outside counts a record outside the window as own day or late, and keeps
// a late one when this run writes it.
func (l *lateSides) outside(row *record.Row, res *plan.ShardResult) error {
	if l.delivered.IsZero() {
		res.OwnDay++ // not a trail key: its days cannot be told, nothing is written
		return nil
	}
	date := time.UnixMilli(row.Time).In(l.opts.Day.Zone).Format(time.DateOnly)
	own, ok := l.days[date]
	if !ok {
		var err error
		if own, err = window.New(date, l.opts.Day.ZoneName()); err != nil {
			return err
		}
		l.days[date] = own
	}
	if l.reads(own, l.delivered) {
		res.OwnDay++
		return nil
	}
	res.Late++
	if !l.mine || l.opts.LatePrefix == "" {
		return nil
	}
	s, err := l.side(own.YMD())
	if err != nil {
		return err
	}
	s.batch.Append(row)
	s.rows++
	if s.batch.Size() >= lateRowGroupBytes {
		if err := s.pw.WriteBatch(s.batch, false, 1); err != nil {
			return fmt.Errorf("writing %s: %w", s.key, err)
		}
		s.batch.Reset()
	}
	return nil
}

func (l *lateSides) side(ymd string) (*side, error) {
	if s := l.sides[ymd]; s != nil {
		return s, nil
	}
	key := LatePartKey(l.opts.LatePrefix, ymd, l.shard)
	out, err := l.dst.Create(l.ctx, key)
	if err != nil {
		return nil, err
	}
	pw, err := pqfile.NewFileWriter(out, l.schema, l.opts.PartCompression, map[string]string{
		"parquetrail.columns":         l.schema.Set,
		"parquetrail.sorted_by":       "eventtime,eventid",
		"parquetrail.local_time_zone": l.opts.Day.ZoneName(),
	})
	if err != nil {
		_ = out.Abort()
		return nil, err
	}
	pw.SetPageOptions(PartPages)
	s := &side{key: key, out: out, pw: pw, batch: pqfile.NewBatch(l.schema, lateRowGroupBytes)}
	l.sides[ymd] = s
	l.order = append(l.order, ymd)
	return s, nil
}

// close finishes every side part and lists them in res.
func (l *lateSides) close(res *plan.ShardResult) error {
	for _, ymd := range l.order {
		s := l.sides[ymd]
		if s.batch.Len() > 0 {
			if err := s.pw.WriteBatch(s.batch, false, 1); err != nil {
				return fmt.Errorf("writing %s: %w", s.key, err)
			}
		}
		if err := s.pw.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", s.key, err)
		}
		if err := s.out.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", s.key, err)
		}
		s.out = nil
		res.LateParts = append(res.LateParts, plan.LatePart{Day: ymd, Key: s.key, Rows: s.rows})
	}
	return nil
}

// abort discards the side parts not closed.
func (l *lateSides) abort() {
	for _, s := range l.sides {
		if s.out != nil {
			_ = s.out.Abort()
			s.out = nil
		}
	}
}
