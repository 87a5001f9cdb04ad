// Package flatten runs one shard: it streams the shard's CloudTrail objects
// from the source store, flattens their records, keeps those of the day's
// window and writes them as one Parquet part of sorted row groups (sorted
// runs that the day's merge combines).
//
// Accounting is exact within a shard: every record read is written, outside
// the window, or malformed (read = written + outside + malformed). An object
// that cannot be read to its end (a gzip error, truncated data, invalid
// JSON, no Records array, a cap of Options exceeded) is counted as
// unreadable and named; the records
// read from it before the failure are kept and counted like any other, and
// the record being read when it broke off is not counted at all (it was
// never read whole).
package flatten

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/scan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// Policies for malformed records and unreadable objects.
const (
	Fail   = "fail"   // stop at the first problem, with an error wrapping problem.ErrBadInput
	Report = "report" // count and name every problem, go on
)

// Defaults.
const (
	DefaultRowGroupBytes = 32 << 20
	DefaultMaxProblems   = 1000
	minRowGroupBytes     = 8 << 20
)

// RowGroupBytesFor is the RowGroupBytes of a shard flattened beside
// shards-1 others in one process. Each shard holds two batches (one filled
// while the other is encoded), and the batches of all of them take at most
// half of the process's memory limit: a worker whose live batches fill its
// limit spends its time collecting garbage (measured: 4 batches of 32 MiB
// under the worker's 192 MiB limit cost about 10% more CPU than 4 of 24).
// Fewer bytes per batch mean more, shorter row groups, so more sorted runs
// for the merge; the bound is DefaultRowGroupBytes, and at least
// minRowGroupBytes.
func RowGroupBytesFor(shards int) int {
	limit := debug.SetMemoryLimit(-1)
	per := limit / 2 / int64(2*max(shards, 1))
	return int(max(min(per, DefaultRowGroupBytes), minRowGroupBytes))
}

// PartPages bounds the pages and dictionaries of parts: the merge reads
// every sorted run of a day at once, a page and a dictionary per column.
var PartPages = pqfile.StagingPages

// Options say how to flatten a shard.
type Options struct {
	Day             window.Day
	Columns         string // record.Full (default) or record.Seed
	LocalTimeColumn string // default record.DefaultLocalTimeColumn
	OnMalformed     string // Fail or Report (default)
	// Compression is the codec of the day's published files (zstd,
	// snappy, gzip, none); it is checked here so that a bad name fails the
	// first shard, not the merge. The part itself uses PartCompression.
	Compression string
	// PartCompression is the part's codec, snappy by default: parts are
	// staging, written once and read once, and snappy is cheaper both ways
	// than zstd for about the same dictionary-encoded size.
	PartCompression string

	// RowGroupBytes bounds the memory of one buffered row group (a sorted
	// run); RowGroupRows, when set, bounds its rows too.
	RowGroupBytes int
	RowGroupRows  int
	// MaxProblems caps the problems listed in the result (counts stay exact).
	MaxProblems int
	// Workers encode columns in parallel (default GOMAXPROCS).
	Workers int
	// Progress, when set, is called after each object with the shard's
	// records read and compressed bytes read so far.
	Progress func(records, bytes int64)

	// Caps on one record and one object (decompressed bytes, records);
	// zero means scan.MaxRecordBytes, MaxObjectBytes, MaxObjectRecords.
	// An object beyond one is bad input: counted as unreadable and named
	// with the cap, like any unreadable object under OnMalformed.
	MaxRecordBytes   int
	MaxObjectBytes   int64
	MaxObjectRecords int
	// LateArrival is the run's late-arrival margin (0 = the plan's
	// default). A record outside the window is "own day" when its own
	// day's selection (that day's window plus this margin) includes its
	// file's delivery time, and "late" when it does not.
	LateArrival time.Duration
	// ReadUntil, when set, is the end of the read range of days whose run
	// is known (plan.Plan.ReadUntil): a record of such a day is "own day"
	// when its file was delivered within that day's window and ReadUntil;
	// a day missing from it is taken to read with LateArrival. A file read
	// by a day before this one that is in ReadUntil is that day's to write
	// late records from. nil: every day reads with LateArrival.
	ReadUntil map[string]time.Time
	// LatePrefix, when set, keeps the late records of the files that this
	// run's day is the first to read in side parts, one per target day
	// (late.go); "" counts them only.
	LatePrefix string
}

func (o *Options) defaults() {
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.MaxProblems <= 0 {
		o.MaxProblems = DefaultMaxProblems
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.OnMalformed == "" {
		o.OnMalformed = Report
	}
	if o.PartCompression == "" {
		o.PartCompression = pqfile.Snappy
	}
	if o.LateArrival <= 0 {
		o.LateArrival = plan.DefaultLateArrival
	}
}

// Shard flattens the objects of sh from src into one Parquet part at
// partKey in dst. The part is committed only when the shard succeeds. With
// OnMalformed=fail the first problem ends the shard with an error wrapping
// problem.ErrBadInput; errors of the stores are returned as they are (a
// retry may help).
func Shard(ctx context.Context, src store.Store, sh plan.Shard, dst store.Store, partKey string, opts Options) (*plan.ShardResult, error) {
	opts.defaults()
	began := time.Now()
	res := &plan.ShardResult{Shard: sh.Index, Part: partKey}
	if opts.OnMalformed != Fail && opts.OnMalformed != Report {
		return res, fmt.Errorf("on-malformed policy %q: want %q or %q", opts.OnMalformed, Fail, Report)
	}
	if opts.Day.Zone == nil || !opts.Day.Start.Before(opts.Day.End) {
		return res, errors.New("flatten: options carry no day window")
	}
	schema, err := record.NewSchema(opts.Columns, opts.LocalTimeColumn)
	if err != nil {
		return res, err
	}
	if _, err := pqfile.Codec(opts.Compression); err != nil {
		return res, err
	}
	out, err := dst.Create(ctx, partKey)
	if err != nil {
		return res, err
	}
	pw, err := pqfile.NewFileWriter(out, schema, opts.PartCompression, map[string]string{
		"parquetrail.columns":         schema.Set,
		"parquetrail.sorted_by":       "eventtime,eventid",
		"parquetrail.local_time_zone": opts.Day.ZoneName(),
	})
	if err != nil {
		_ = out.Abort()
		return res, err
	}
	pw.SetPageOptions(PartPages)

	g, gctx := errgroup.WithContext(ctx)
	chunks := make(chan chunk, 32)
	full := make(chan *pqfile.Batch, 1)
	free := make(chan *pqfile.Batch, 2)
	free <- pqfile.GetBatch(schema, opts.RowGroupBytes)
	free <- pqfile.GetBatch(schema, opts.RowGroupBytes)
	defer func() {
		for len(free) > 0 {
			pqfile.PutBatch(<-free)
		}
	}()

	// Stage 1: fetch and decompress, one object ahead of the scanner.
	g.Go(func() error {
		defer close(chunks)
		return fetch(gctx, src, sh.Objects, chunks)
	})
	// Stage 2: scan, flatten, classify, buffer rows into batches.
	late := newLateSides(ctx, dst, schema, &opts, sh.Index)
	defer late.abort()
	g.Go(func() error {
		defer close(full)
		t := time.Now()
		err := scanObjects(gctx, schema, &opts, sh, chunks, free, full, res, late)
		res.Timings.Scan = plan.TextDuration(time.Since(t))
		return err
	})
	// Stage 3: sort and encode each batch as one row group, counting its
	// rows per fine range of the window for the merge's plan.
	nRanges := plan.RangeCount(opts.Day.Start, opts.Day.End)
	g.Go(func() error {
		var busy time.Duration
		defer func() { res.Timings.Encode = plan.TextDuration(busy) }()
		for b := range full {
			t := time.Now()
			if lo, hi, ok := b.MinMax(); ok {
				addTimes(res, lo, hi)
				if res.RangeRows == nil && nRanges > 0 {
					res.RangeRows = make([]int64, nRanges)
				}
				for _, t := range b.Times() {
					if nRanges == 0 {
						break
					}
					res.RangeRows[plan.RangeOf(opts.Day.Start, nRanges, t)]++
				}
			}
			err := pw.WriteBatch(b, false, opts.Workers)
			busy += time.Since(t)
			if err != nil {
				return err
			}
			res.RowGroups++
			b.Reset()
			free <- b
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		_ = out.Abort()
		res.Timings.Total = plan.TextDuration(time.Since(began))
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, err
	}
	if err := pw.Close(); err != nil {
		_ = out.Abort()
		return res, err
	}
	if err := late.close(res); err != nil {
		_ = out.Abort()
		return res, err
	}
	if err := out.Close(); err != nil {
		return res, err
	}
	res.PartBytes = pw.Size()
	res.Timings.Total = plan.TextDuration(time.Since(began))
	if err := res.Check(); err != nil {
		return res, err
	}
	return res, nil
}

func addTimes(r *plan.ShardResult, lo, hi int64) {
	l, h := time.UnixMilli(lo).UTC(), time.UnixMilli(hi).UTC()
	if r.MinEventTime == nil || l.Before(*r.MinEventTime) {
		r.MinEventTime = &l
	}
	if r.MaxEventTime == nil || h.After(*r.MaxEventTime) {
		r.MaxEventTime = &h
	}
}

func addProblem(r *plan.ShardResult, p problem.Problem, limit int) {
	if len(r.Problems) < limit {
		r.Problems = append(r.Problems, p)
	} else {
		r.ProblemsOmitted++
	}
}

// scanObjects reads the objects' decompressed bytes from chunks, one object after
// the other, and fills batches.
func scanObjects(ctx context.Context, schema *record.Schema, opts *Options, sh plan.Shard, chunks <-chan chunk, free <-chan *pqfile.Batch, full chan<- *pqfile.Batch, res *plan.ShardResult, late *lateSides) error {
	start, end := opts.Day.Start.UnixMilli(), opts.Day.End.UnixMilli()
	var batch *pqfile.Batch
	send := func() error {
		if batch == nil || batch.Len() == 0 {
			return nil
		}
		select {
		case full <- batch:
			batch = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cr := &chunkReader{ctx: ctx, ch: chunks}
	var rd scan.Reader
	var row record.Row
	for i, obj := range sh.Objects {
		cr.next(i)
		// fetch has undone the object's gzip, if it had one: the reader
		// must not inflate a second layer.
		rd.Reset(cr, schema, scan.ReaderOptions{Zone: opts.Day.Zone, Decompressed: true,
			MaxRecordBytes: opts.MaxRecordBytes, MaxObjectBytes: opts.MaxObjectBytes, MaxObjectRecords: opts.MaxObjectRecords})
		res.Objects++
		late.object(obj.Key)
		for n := 0; ; n++ {
			if n&1023 == 1023 && ctx.Err() != nil {
				return ctx.Err()
			}
			err := rd.Next(&row)
			if err == io.EOF {
				break
			}
			if err != nil {
				if cr.storeErr != nil {
					// The store failed, not the object: let a retry read it.
					return fmt.Errorf("reading %s: %w", obj.Key, cr.storeErr)
				}
				if cr.ctxErr != nil {
					return cr.ctxErr
				}
				var p problem.Problem
				if !errors.As(err, &p) {
					return fmt.Errorf("reading %s: %w", obj.Key, err)
				}
				p.Object = obj.Key
				res.Unreadable++
				addProblem(res, p, opts.MaxProblems)
				if opts.OnMalformed == Fail {
					return fmt.Errorf("shard %d: %w", sh.Index, p)
				}
				break
			}
			res.Read++
			if row.Kind != "" {
				res.Malformed++
				p := problem.Problem{Object: obj.Key, Record: row.Index, Offset: row.Offset, Kind: row.Kind, Detail: row.Detail}
				addProblem(res, p, opts.MaxProblems)
				if opts.OnMalformed == Fail {
					return fmt.Errorf("shard %d: %w", sh.Index, p)
				}
				continue
			}
			if row.Time < start || row.Time >= end {
				res.Outside++
				if err := late.outside(&row, res); err != nil {
					return err
				}
				continue
			}
			if batch != nil && batch.Len() > 0 && batch.Size()+int(rd.Offset()-row.Offset) > opts.RowGroupBytes {
				// A big record (megabytes) starts the next batch rather
				// than push this one far past its bound.
				if err := send(); err != nil {
					return err
				}
			}
			if batch == nil {
				select {
				case batch = <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			batch.Append(&row)
			res.Written++
			if batch.Size() >= opts.RowGroupBytes || opts.RowGroupRows > 0 && batch.Len() >= opts.RowGroupRows {
				if err := send(); err != nil {
					return err
				}
			}
		}
		res.JSONBytes += rd.Offset()
		cr.finish()
		if cr.storeErr != nil {
			return fmt.Errorf("reading %s: %w", obj.Key, cr.storeErr)
		}
		res.Bytes += cr.stored
		if opts.Progress != nil {
			opts.Progress(res.Read, res.Bytes)
		}
	}
	return send()
}

// chunk is a piece of an object's decompressed bytes. The last chunk of an
// object has end set, and err when reading stopped on an error.
type chunk struct {
	obj    int
	data   []byte
	end    bool
	err    error
	store  bool  // err came from the store, not from the data
	stored int64 // compressed bytes read (on the last chunk)
}

const chunkSize = 256 << 10

// fetch opens each object in turn, decompresses it when it is gzipped, and
// sends its bytes in chunks.
func fetch(ctx context.Context, src store.Store, objs []store.Object, out chan<- chunk) error {
	var gz scan.Gunzip
	for i, obj := range objs {
		c := fetchOne(ctx, src, obj, i, &gz, out)
		select {
		case out <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func fetchOne(ctx context.Context, src store.Store, obj store.Object, i int, gz *scan.Gunzip, out chan<- chunk) chunk {
	rc, err := src.Open(ctx, obj.Key)
	if err != nil {
		if store.IsNotExist(err) {
			return chunk{obj: i, end: true, err: fmt.Errorf("object is gone: %w", err)}
		}
		return chunk{obj: i, end: true, err: err, store: true}
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	r, err := gz.Open(cr)
	if err != nil {
		if cr.err != nil {
			return chunk{obj: i, end: true, err: cr.err, store: true, stored: cr.n}
		}
		return chunk{obj: i, end: true, err: err, stored: cr.n}
	}
	for {
		buf := getBuf()
		n := 0
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		if n > 0 {
			select {
			case out <- chunk{obj: i, data: buf[:n]}:
			case <-ctx.Done():
				return chunk{obj: i, end: true, err: ctx.Err()}
			}
		} else {
			putBuf(buf)
		}
		if err == io.EOF {
			if serr := cr.sizeErr(obj); serr != nil {
				return chunk{obj: i, end: true, err: serr, store: true, stored: cr.n}
			}
			return chunk{obj: i, end: true, stored: cr.n}
		}
		if err != nil {
			if cr.err != nil {
				return chunk{obj: i, end: true, err: cr.err, store: true, stored: cr.n}
			}
			if serr := cr.sizeErr(obj); serr != nil {
				// A body shorter than the listing is the store's fault (or
				// the object changed), not a truncated file.
				return chunk{obj: i, end: true, err: serr, store: true, stored: cr.n}
			}
			if err == io.ErrUnexpectedEOF {
				err = errors.New("gzip: unexpected end of data (truncated object?)")
			}
			return chunk{obj: i, end: true, err: err, stored: cr.n}
		}
	}
}

// chunkReader reads one object's chunks as an io.Reader.
type chunkReader struct {
	ctx      context.Context
	ch       <-chan chunk
	obj      int
	cur      []byte // the unread rest of buf
	buf      []byte
	done     bool
	storeErr error
	ctxErr   error
	stored   int64
}

func (c *chunkReader) next(obj int) {
	c.obj, c.cur, c.done, c.storeErr, c.stored = obj, nil, false, nil, 0
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.done {
			return 0, io.EOF
		}
		ch, ok := <-c.ch
		if !ok {
			c.done = true
			if c.ctxErr = c.ctx.Err(); c.ctxErr == nil {
				c.ctxErr = errors.New("flatten: input ended early")
			}
			return 0, c.ctxErr
		}
		c.cur, c.buf = ch.data, ch.data
		if ch.end {
			c.done = true
			c.stored = ch.stored
			if ch.err != nil {
				if ch.store {
					c.storeErr = ch.err
				}
				if errors.Is(ch.err, context.Canceled) || errors.Is(ch.err, context.DeadlineExceeded) {
					c.ctxErr = ch.err
				}
				return 0, ch.err
			}
			if len(c.cur) == 0 {
				return 0, io.EOF
			}
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	if len(c.cur) == 0 {
		putBuf(c.buf)
		c.buf = nil
	}
	return n, nil
}

// bufs recycles chunk buffers between the fetcher and the scanner.
var bufs = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func getBuf() []byte { return (*bufs.Get().(*[]byte))[:chunkSize] }

func putBuf(b []byte) {
	if cap(b) >= chunkSize {
		b = b[:chunkSize]
		bufs.Put(&b)
	}
}

// finish skips what the scanner left of the object (after an error).
func (c *chunkReader) finish() {
	for !c.done {
		ch, ok := <-c.ch
		if !ok || ch.end {
			c.done = true
			if ok {
				c.stored = ch.stored
				if ch.store {
					c.storeErr = ch.err
				}
			}
		}
	}
}

type countingReader struct {
	r   io.Reader
	n   int64
	eof bool
	err error // the store's error, if any
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	} else if err != nil {
		c.err = err
	}
	return n, err
}

// sizeErr says whether the object's body ended at another size than the
// listing gave.
func (c *countingReader) sizeErr(obj store.Object) error {
	if !c.eof || obj.Size <= 0 || c.n == obj.Size {
		return nil
	}
	return fmt.Errorf("read %d bytes of an object listed with %d (changed or cut short by the store)", c.n, obj.Size)
}
