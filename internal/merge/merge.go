// Package merge combines the Parquet parts of a day's shards into the day's
// files: a k-way merge of every row group of every part (each one a run
// sorted by (eventtime, eventid)), dropping duplicate events, written as
// files of a target size into the run's staging area, and the manifest that
// names them. internal/commit publishes them into the partition.
//
// Duplicates: CloudTrail repeats an event with the same eventID, and a
// repeated event is the same record, so it has the same eventTime. Under the
// (eventtime, eventid) order the copies of an event are therefore adjacent,
// and the merge drops a row whose (eventtime, eventid) equals the previous
// row's. Rows without an eventid are never dropped. Two rows that share an
// eventID but not an eventTime are different records (rule tests and
// hand-made samples do this) and both are kept.
package merge

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Defaults.
const (
	DefaultTargetFileBytes = 256 << 20
	DefaultRowGroupRows    = 128 << 10
	DefaultRowGroupBytes   = 16 << 20
	DefaultMaxRuns         = 64

	// runBudget is the memory the readers of the runs merged at once may
	// take, and columnCost what one column of one run takes while it is
	// read (a staging page compressed and decoded, its levels, its
	// dictionary, parquet-go's buffers; measured on full-set parts). Their
	// ratio bounds the runs read at once, so that a worker stays under its
	// 256 MiB whatever the number of runs.
	runBudget  = 64 << 20
	columnCost = 24 << 10
	// readBuffer is parquet-go's buffered reader per column chunk: page
	// bodies bypass it, only page headers go through it.
	readBuffer = 2 << 10
)

// maxRuns is how many runs of schema s fit the readers' budget.
func maxRuns(s *record.Schema) int {
	return max(2, min(DefaultMaxRuns, runBudget/(columnCost*len(s.Columns))))
}

// Options tune the merge.
type Options struct {
	// TargetFileBytes starts a new output file once a file reaches it (at a
	// row-group boundary).
	TargetFileBytes int64
	// RowGroupRows bounds the rows of an output row group. RowGroupBytes
	// bounds the memory of the rows buffered at a time (a batch): a row
	// group gathers batches, keeping only their encoded pages and the
	// dictionaries.
	RowGroupRows  int
	RowGroupBytes int
	// Workers encode columns in parallel (default GOMAXPROCS).
	Workers int
	// MaxRuns bounds the sorted runs read at once (each holds a page and a
	// dictionary per column); more are first merged in groups. The default
	// depends on the number of columns (see maxRuns).
	MaxRuns int
	// Progress, when set, is called every few thousand rows of the final
	// merge with the rows merged so far (written or dropped) and the rows
	// of all the parts.
	Progress func(rows, total int64)

	// From and To, when To is set, limit the merge to the event times
	// [From, To): one range of a range-partitioned day. Row groups of the
	// parts outside it are not read (their eventtime statistics); a row
	// group that straddles a bound is read from its first row at or after
	// From (found with the eventtime column's page index; every column
	// seeks to it with its offset index, so the pages before it are not
	// read) up to its first row at or after To. The files are named RangeFileName(run, Index, n), so the
	// names of all ranges sort in the day's order. Manifest.RowsIn counts
	// the rows of the parts in the range.
	From, To time.Time
	Index    int
	// RangeRows is the rows the plan expects in the range, the total that
	// Progress reports (0: the rows of the row groups read).
	RangeRows int64

	// decoded, when set, counts the rows read from the parts (tests).
	decoded *int64
}

// levelName names the files of an intermediate merge; the ranges of a day
// merged at once each have their own.
func levelName(o *Options, level, group int) string {
	if o.ranged() {
		return fmt.Sprintf("merge/range%04d-level%d-group%04d-", o.Index, level, group)
	}
	return fmt.Sprintf("merge/level%d-group%04d-", level, group)
}

// ranged says whether the merge is limited to a range.
func (o *Options) ranged() bool { return !o.To.IsZero() }

// partPages bounds the pages of intermediate merge files like those of
// the shards' parts.
var partPages = pqfile.StagingPages

// FileName is the name of the n-th output file of a run.
func FileName(runID string, n int) string { return fmt.Sprintf("part-%s-%05d.parquet", runID, n) }

// RangeFileName is the name of the n-th output file of range index i of a
// run; the names of a day's ranges sort in the order of their times.
func RangeFileName(runID string, i, n int) string {
	return fmt.Sprintf("part-%s-%04d-%05d.parquet", runID, i, n)
}

// Day merges parts (keys in dst) into the day's files of plan p, written to
// the run's staging area (commit.StagedKey), and returns the manifest that
// names them under the partition, for commit.Day.Publish. Nothing enters the
// partition here.
func Day(ctx context.Context, dst store.Store, p *plan.Plan, parts []string, opts Options) (*plan.Manifest, error) {
	began := time.Now()
	if opts.TargetFileBytes <= 0 {
		opts.TargetFileBytes = DefaultTargetFileBytes
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	day, err := p.Day()
	if err != nil {
		return nil, err
	}
	ymd := day.YMD()
	schema, err := record.NewSchema(p.Columns, p.LocalTimeColumn)
	if err != nil {
		return nil, err
	}
	if opts.MaxRuns < 2 {
		opts.MaxRuns = maxRuns(schema)
	}
	// Parts and staging runs are typed; the day's files have the plan's types.
	fileSchema, err := schema.FileSchema(p.Types, ymd)
	if err != nil {
		return nil, err
	}
	m := &plan.Manifest{
		Version: 1, RunID: p.RunID, Header: plan.NewHeader(day),
		Columns: schema.Set, Types: p.Types, LocalTimeColumn: schema.LocalTimeColumn(), ColumnNames: fileSchema.Names(),
		Compression: cmp.Or(p.Compression, pqfile.Zstd), Deduplicate: p.Deduplicate,
		Parts: len(parts),
	}
	timeCol := schema.Index("eventtime")
	kv := map[string]string{
		"parquetrail.columns":         schema.Set,
		"parquetrail.sorted_by":       "eventtime,eventid",
		"parquetrail.local_time_zone": day.ZoneName(),
		"parquetrail.run":             p.RunID,
	}

	// Every row group of every part is a sorted run.
	var files []store.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(key string) (*parquet.File, store.File, error) {
		f, err := dst.OpenFile(ctx, key)
		if err != nil {
			return nil, nil, fmt.Errorf("opening %s: %w", key, err)
		}
		files = append(files, f)
		pf, err := parquet.OpenFile(f, f.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true), parquet.ReadBufferSize(readBuffer))
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", key, err)
		}
		if err := sameColumns(pf.Schema(), schema); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
		return pf, f, nil
	}
	var runs []*run
	var inRange int64 // rows of the ranged runs read so far (counted as read)
	total := int64(0)
	lo, hi := opts.From.UnixMilli(), opts.To.UnixMilli()
	for _, key := range parts {
		pf, f, err := open(key)
		if err != nil {
			return nil, err
		}
		for i, rg := range pf.RowGroups() {
			if rg.NumRows() == 0 {
				continue
			}
			r := newRun(key, f, pf, schema, i)
			if opts.ranged() {
				first, last, ok := timeStats(pf, i, timeCol)
				if ok && (last < lo || first >= hi) {
					continue // wholly outside the range: not read
				}
				if !ok || first < lo || last >= hi {
					// Straddles a bound: rows outside are skipped, rows
					// inside counted as they are read.
					r.ranged, r.lo, r.hi, r.count = true, lo, hi, &inRange
					if !ok || first < lo {
						// Reading starts at the first row in the range,
						// found with the page index.
						start, err := startRow(rg, timeCol, lo)
						if err != nil {
							return nil, fmt.Errorf("%s: row group %d: %w", key, i, err)
						}
						if start >= rg.NumRows() {
							continue // every row before the range
						}
						r.start = start
					}
				} else {
					m.RowsIn += rg.NumRows()
				}
			} else {
				m.RowsIn += rg.NumRows()
			}
			r.decoded = opts.decoded
			total += rg.NumRows() - r.start
			runs = append(runs, r)
		}
	}
	m.Runs = len(runs)
	if opts.ranged() && opts.RangeRows > 0 {
		total = opts.RangeRows
	}

	// Too many runs to read at once: merge the smallest of them in groups
	// into staging files, each one sorted run, just enough of them that
	// MaxRuns are left, so that as few rows as possible are written twice
	// (a day slightly over the bound rewrites a few small runs, not all).
	for level := 1; len(runs) > opts.MaxRuns; level++ {
		slices.SortStableFunc(runs, func(a, b *run) int { return cmp.Compare(a.size(), b.size()) })
		need := len(runs) - opts.MaxRuns // runs to do away with
		var groups [][]*run
		used := 0
		for need > 0 && len(runs)-used >= 2 {
			k := min(opts.MaxRuns, need+1, len(runs)-used)
			groups = append(groups, runs[used:used+k])
			used += k
			need -= k - 1
		}
		next := append([]*run(nil), runs[used:]...)
		for g, group := range groups {
			tmp := &output{ctx: ctx, dst: dst, schema: schema, compression: p.Compression, kv: kv, pages: partPages,
				prefix: plan.StagingPrefix(ymd, p.RunID) + levelName(&opts, level, g), runID: p.RunID,
				opts: Options{TargetFileBytes: math.MaxInt64, RowGroupRows: opts.RowGroupRows, RowGroupBytes: opts.RowGroupBytes, Workers: opts.Workers}}
			dups, err := mergeRuns(ctx, group, tmp, p.Deduplicate)
			if err != nil {
				tmp.abort()
				return nil, err
			}
			m.Duplicates += dups
			if err := tmp.finish(); err != nil {
				return nil, err
			}
			for _, tf := range tmp.files {
				pf, f, err := open(tf.Key)
				if err != nil {
					return nil, err
				}
				next = append(next, newRun(tf.Key, f, pf, schema, allGroups(pf)...))
			}
		}
		runs = next
	}

	out := &output{ctx: ctx, dst: dst, schema: schema, fileSchema: fileSchema, compression: p.Compression, prefix: commit.StagedKey(ymd, p.RunID, ""),
		publishAs: plan.PartitionPrefix(ymd), runID: p.RunID, opts: opts, kv: kv}
	defer out.abort()
	if opts.ranged() {
		out.name = func(n int) string { return RangeFileName(p.RunID, opts.Index, n) }
	}
	if opts.Progress != nil {
		out.progress = func(n int64) { opts.Progress(n, total) }
	}
	dups, err := mergeRuns(ctx, runs, out, p.Deduplicate)
	m.RowsIn += inRange
	if opts.Progress != nil && err == nil {
		opts.Progress(m.RowsIn, m.RowsIn)
	}
	if err != nil {
		return nil, err
	}
	m.Duplicates += dups
	if err := out.finish(); err != nil {
		return nil, err
	}
	m.Files = out.files
	for _, f := range m.Files {
		m.Rows += f.Rows
	}
	if m.Rows+m.Duplicates != m.RowsIn {
		return nil, fmt.Errorf("merge accounting: %d rows in, %d written + %d duplicates", m.RowsIn, m.Rows, m.Duplicates)
	}
	m.Created = time.Now().UTC()
	m.Duration = time.Since(began).Round(time.Millisecond).String()
	return m, nil
}

// timeStats returns the least and greatest eventtime (ms) of row group i of
// pf from its column statistics; ok is false when it has none.
func timeStats(pf *parquet.File, i, timeCol int) (lo, hi int64, ok bool) {
	rgs := pf.Metadata().RowGroups
	if i >= len(rgs) || timeCol >= len(rgs[i].Columns) {
		return 0, 0, false
	}
	st := rgs[i].Columns[timeCol].MetaData.Statistics
	if len(st.MinValue) != 8 || len(st.MaxValue) != 8 {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(st.MinValue)), int64(binary.LittleEndian.Uint64(st.MaxValue)), true
}

// startRow returns the first row of row group rg (a sorted run) whose
// eventtime is at least lo, or rg.NumRows() when there is none. It reads the
// eventtime column's page index and decodes the one page of that column
// where the row is. Without a page index it returns 0: the run then reads
// from the start and skips the rows before lo.
func startRow(rg parquet.RowGroup, timeCol int, lo int64) (int64, error) {
	cc, ok := rg.ColumnChunks()[timeCol].(*parquet.FileColumnChunk)
	if !ok {
		return 0, nil
	}
	ci, err := cc.ColumnIndex()
	if errors.Is(err, parquet.ErrMissingColumnIndex) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	oi, err := cc.OffsetIndex()
	if errors.Is(err, parquet.ErrMissingOffsetIndex) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := ci.NumPages()
	if n == 0 || oi.NumPages() != n {
		return 0, nil
	}
	for i := range n {
		if ci.NullPage(i) {
			return 0, nil
		}
	}
	// The run is sorted by eventtime: the pages' maxima do not decrease.
	p := sort.Search(n, func(i int) bool { return ci.MaxValue(i).Int64() >= lo })
	if p == n {
		return rg.NumRows(), nil
	}
	first := oi.FirstRowIndex(p)
	pages := cc.Pages()
	defer pages.Close()
	if err := pages.SeekToRow(first); err != nil {
		return 0, err
	}
	page, err := pages.ReadPage()
	if err != nil {
		return 0, fmt.Errorf("reading the eventtime page at row %d: %w", first, err)
	}
	defer parquet.Release(page)
	values := make([]parquet.Value, page.NumValues())
	k, err := page.Values().ReadValues(values)
	if err != nil && err != io.EOF {
		return 0, fmt.Errorf("reading the eventtime page at row %d: %w", first, err)
	}
	values = values[:k]
	return first + int64(sort.Search(len(values), func(i int) bool { return values[i].Int64() >= lo })), nil
}

// sameColumns checks that a part has the columns of the run's schema.
func sameColumns(got *parquet.Schema, want *record.Schema) error {
	fields := got.Fields()
	if len(fields) != len(want.Columns) {
		return fmt.Errorf("part has %d columns, the run's %s set %d", len(fields), want.Set, len(want.Columns))
	}
	for i, f := range fields {
		if f.Name() != want.Columns[i].Name {
			return fmt.Errorf("part column %d is %q, want %q", i, f.Name(), want.Columns[i].Name)
		}
	}
	return nil
}

// mergeRuns merges sorted runs into out, dropping adjacent duplicates when
// dedup is set; it returns the number dropped.
func mergeRuns(ctx context.Context, runs []*run, out *output, dedup bool) (int64, error) {
	var h runHeap
	defer func() {
		for _, r := range h {
			r.close()
		}
	}()
	for _, r := range runs {
		ok, err := r.advance()
		if err != nil {
			return 0, err
		}
		if ok {
			h = append(h, r)
		}
	}
	heap.Init(&h)
	var dups int64
	var lastID []byte
	lastTime, haveLast := int64(0), false
	for n := 0; len(h) > 0; n++ {
		if n&4095 == 0 {
			if ctx.Err() != nil {
				return dups, ctx.Err()
			}
			if out.progress != nil {
				out.progress(int64(n))
			}
		}
		r := h[0]
		if dedup && r.id != nil && haveLast && r.time == lastTime && bytes.Equal(r.id, lastID) {
			dups++
		} else {
			if err := out.add(r.cur); err != nil {
				return dups, err
			}
			lastTime, haveLast = r.time, true
			lastID = append(lastID[:0], r.id...)
			if r.id == nil {
				lastID = nil
			}
		}
		ok, err := r.advance()
		if err != nil {
			return dups, err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			r.close()
			heap.Pop(&h)
		}
	}
	return dups, nil
}

// run is a cursor over a sorted run: one row group of a part, or the row
// groups of a staging file in order. It reads with pqfile.Run, straight
// from the pages into the output's batches; a group's reader opens on
// first use.
type run struct {
	name   string
	file   store.File
	md     *format.FileMetaData
	schema *record.Schema
	groups []int // row groups of the file, in order
	gi     int
	cur    *pqfile.Run
	time   int64
	id     []byte // nil when the row's eventid is null or empty
	null   bool   // the row's eventid is null

	// ranged runs yield only rows with eventtime in [lo, hi), adding
	// them to *count; the groups are sorted, so a group ends at hi.
	ranged bool
	lo, hi int64
	count  *int64
	// start is the row of the first group where reading starts.
	start int64
	// decoded, when set, counts the rows read.
	decoded *int64
}

func newRun(name string, f store.File, pf *parquet.File, s *record.Schema, groups ...int) *run {
	return &run{name: name, file: f, md: pf.Metadata(), schema: s, groups: groups}
}

// allGroups lists the row groups of pf.
func allGroups(pf *parquet.File) []int {
	g := make([]int, len(pf.Metadata().RowGroups))
	for i := range g {
		g[i] = i
	}
	return g
}

// size is the number of rows of the run's groups.
func (r *run) size() int64 {
	var n int64
	for _, g := range r.groups {
		n += r.md.RowGroups[g].NumRows
	}
	return n
}

func (r *run) close() { r.cur = nil }

// advance moves to the next row, skipping those outside a ranged run's
// range.
func (r *run) advance() (bool, error) {
	for {
		ok, err := r.next()
		if !ok || err != nil || !r.ranged {
			return ok, err
		}
		if r.time < r.lo {
			continue
		}
		if r.time >= r.hi {
			// The rest of this sorted group is past the range.
			r.cur = nil
			continue
		}
		*r.count++
		return true, nil
	}
}

// next moves to the next row of the run's groups.
func (r *run) next() (bool, error) {
	for {
		if r.cur == nil {
			if r.gi >= len(r.groups) {
				return false, nil
			}
			cur, err := pqfile.OpenRun(r.file, r.md, r.groups[r.gi], r.schema, r.name)
			if err != nil {
				return false, err
			}
			if r.gi == 0 && r.start > 0 {
				// Each column starts at the page holding the row.
				oi, err := pqfile.OffsetIndexes(r.file, r.md, r.groups[0])
				if err != nil {
					return false, fmt.Errorf("%s: %w", r.name, err)
				}
				if err := cur.SeekRow(r.start, oi); err != nil {
					return false, err
				}
			}
			r.gi++
			r.cur = cur
		}
		ok, err := r.cur.Next()
		if err != nil {
			return false, err
		}
		if !ok {
			r.cur = nil
			continue
		}
		if r.decoded != nil {
			*r.decoded++
		}
		r.time = r.cur.Time()
		id, valid := r.cur.ID()
		r.null = !valid
		if len(id) == 0 {
			id = nil
		}
		r.id = id
		return true, nil
	}
}

// less orders the runs by their rows in the order of pqfile.Batch.Sort:
// (eventtime, eventid), then the rows' content, so that of the copies of
// an event the least comes out first, whatever run it is in.
func (r *run) less(o *run) bool {
	if r.time != o.time {
		return r.time < o.time
	}
	if c := compareIDs(r, o); c != 0 {
		return c < 0
	}
	return r.cur.CompareContent(o.cur) < 0
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}

// output writes the day's files one after the other, a row group per
// batch of merged rows.
type output struct {
	ctx         context.Context
	dst         store.Store
	schema      *record.Schema
	fileSchema  *record.Schema // of the files, when not schema
	progress    func(rows int64)
	compression string
	prefix      string // where the files are written
	publishAs   string // the prefix the manifest names them under ("" = prefix)
	runID       string
	name        func(n int) string // the n-th file's name, when not FileName
	kv          map[string]string
	opts        Options
	pages       pqfile.PageOptions

	files []plan.File
	cur   *plan.File
	w     store.Writer
	fw    *pqfile.FileWriter
	enc   *pqfile.Encoder // encodes the batches into fw
	cw    *countingWriter

	batch  *pqfile.Batch      // being filled by the merge
	work   chan *pqfile.Batch // full batches for the writer
	free   chan *pqfile.Batch
	done   chan struct{} // closed when the writer has ended
	err    error         // the writer's error, read after done
	failed atomic.Bool   // set with err, for the merge to stop early
}

func (o *output) open() error {
	name := FileName(o.runID, len(o.files))
	if o.name != nil {
		name = o.name(len(o.files))
	}
	w, err := o.dst.Create(o.ctx, o.prefix+name)
	if err != nil {
		return err
	}
	o.cw = &countingWriter{w: w, h: sha256.New()}
	fs := o.schema
	if o.fileSchema != nil {
		fs = o.fileSchema
	}
	fw, err := pqfile.NewFileWriter(o.cw, fs, o.compression, o.kv)
	if err != nil {
		_ = w.Abort()
		return err
	}
	fw.SetPageOptions(o.pages)
	o.w, o.fw = w, fw
	o.enc = fw.NewEncoder(o.opts.Workers, encodeDepth, o.release)
	o.cur = &plan.File{Key: cmp.Or(o.publishAs, o.prefix) + name}
	return nil
}

// add appends the current row of r; rows come in order. Full batches go to
// a goroutine that encodes and writes them while the merge fills the next.
func (o *output) add(r *pqfile.Run) error {
	if o.failed.Load() {
		return o.finish() // the writer's error
	}
	if o.batch != nil && o.batch.Len() > 0 && o.batch.Size()+r.RowBytes() > o.opts.RowGroupBytes {
		// A big row (a record of megabytes) starts the next batch rather
		// than push this one far past its bound.
		if err := o.send(); err != nil {
			return err
		}
	}
	if o.batch == nil {
		if o.work == nil {
			o.start()
		}
		select {
		case o.batch = <-o.free:
		case <-o.done:
			return o.err
		}
	}
	o.batch.AppendRun(r)
	if o.batch.Len() >= o.opts.RowGroupRows || o.batch.Size() >= o.opts.RowGroupBytes {
		return o.send()
	}
	return nil
}

// encodeDepth is the batches the encoder holds at once: with the one the
// merge fills, the output's batches.
const encodeDepth = 2

func (o *output) start() {
	o.work = make(chan *pqfile.Batch, 1)
	o.free = make(chan *pqfile.Batch, encodeDepth+1)
	o.done = make(chan struct{})
	for range encodeDepth + 1 {
		o.free <- pqfile.GetBatch(o.schema, o.opts.RowGroupBytes)
	}
	go o.writer(o.work)
}

// release gives a batch back to the merge.
func (o *output) release(b *pqfile.Batch) {
	b.Reset()
	o.free <- b
}

func (o *output) send() error {
	b := o.batch
	o.batch = nil
	if b == nil || b.Len() == 0 {
		if b != nil {
			o.free <- b
		}
		return nil
	}
	select {
	case o.work <- b:
		return nil
	case <-o.done:
		return o.err
	}
}

// writer encodes batches in order, rotating files at the target size.
func (o *output) writer(work <-chan *pqfile.Batch) {
	defer close(o.done)
	for b := range work {
		if o.err != nil {
			o.release(b)
			continue
		}
		if o.err = o.writeBatch(b); o.err != nil {
			o.failed.Store(true)
		}
	}
	if o.err == nil {
		o.err = o.closeFile()
	}
	if o.enc != nil {
		// After an error: end the encoder, its batches back.
		_ = o.enc.Stop()
		o.enc = nil
	}
}

// writeBatch queues b for the encoder, which gives it back to the merge
// once encoded (here when it is not queued).
func (o *output) writeBatch(b *pqfile.Batch) error {
	if o.cur == nil {
		if err := o.open(); err != nil {
			o.release(b)
			return err
		}
	}
	lo, hi, _ := b.MinMax()
	if o.cur.Rows == 0 {
		o.cur.MinEventTime = time.UnixMilli(lo).UTC()
	}
	o.cur.MaxEventTime = time.UnixMilli(hi).UTC()
	// Batches are a memory budget; a row group gathers several of them
	// (their pages and dictionaries), up to RowGroupRows.
	n := int64(b.Len())
	if err := o.enc.Add(b, true); err != nil {
		o.release(b)
		return err
	}
	o.cur.Rows += n
	if o.fw.RowGroupRows() < int64(o.opts.RowGroupRows) {
		return nil
	}
	if err := o.endRowGroup(); err != nil {
		return err
	}
	if o.cw.n >= o.opts.TargetFileBytes {
		return o.closeFile()
	}
	return nil
}

func (o *output) endRowGroup() error {
	if o.fw.RowGroupRows() == 0 {
		return nil
	}
	if err := o.enc.Flush(); err != nil {
		return err
	}
	if err := o.fw.EndRowGroup(); err != nil {
		return err
	}
	o.cur.RowGroups++
	return nil
}

func (o *output) closeFile() error {
	if o.cur == nil {
		return nil
	}
	if err := o.endRowGroup(); err != nil {
		return err
	}
	if err := o.enc.Stop(); err != nil {
		return err
	}
	o.enc = nil
	if err := o.fw.Close(); err != nil {
		return err
	}
	if err := o.w.Close(); err != nil {
		return err
	}
	o.cur.Bytes = o.cw.n
	o.cur.SHA256 = hex.EncodeToString(o.cw.h.Sum(nil))
	o.files = append(o.files, *o.cur)
	o.cur, o.w, o.fw = nil, nil, nil
	return nil
}

// finish writes what is left and waits for the writer.
func (o *output) finish() error {
	if o.work == nil {
		return nil // no row at all: no file
	}
	if o.batch != nil {
		if err := o.send(); err != nil {
			return err
		}
	}
	close(o.work)
	o.work = nil
	<-o.done
	for len(o.free) > 0 {
		pqfile.PutBatch(<-o.free)
	}
	return o.err
}

// abort stops the writer and discards the file being written.
func (o *output) abort() {
	if o.work != nil {
		close(o.work)
		o.work = nil
		<-o.done
	}
	if o.w != nil {
		_ = o.w.Abort()
		o.w = nil
	}
}

type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// CleanStaging removes a run's staging area (plan, parts, results, the
// files it was to publish).
func CleanStaging(ctx context.Context, dst store.Store, ymd, runID string) error {
	return commit.RemoveStaging(ctx, dst, ymd, runID)
}
