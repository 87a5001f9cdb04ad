package record

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
)

// Compression codecs by name.
const (
	Zstd   = "zstd"
	Snappy = "snappy"
	Gzip   = "gzip"
	None   = "none"
)

var zstdDefault = newZstd(zstd.SpeedDefault)

// Codec returns the Parquet codec for a compression name ("" is zstd).
func Codec(name string) (compress.Codec, error) {
	switch name {
	case "", Zstd:
		return zstdDefault, nil
	case Snappy:
		return &snappy.Codec{}, nil
	case Gzip:
		return &gzip.Codec{Level: gzip.DefaultCompression}, nil
	case None, "uncompressed":
		return &uncompressed.Codec{}, nil
	}
	return nil, fmt.Errorf("unknown compression %q (want zstd, snappy, gzip or none)", name)
}

// Parquet returns the Parquet schema of s, columns in the schema's order.
func (s *Schema) Parquet() *parquet.Schema {
	g := parquet.Group{}
	order := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		order[i] = c.Name
		var n parquet.Node
		str := func() parquet.Node {
			n := parquet.Optional(parquet.String())
			if c.Dict {
				n = parquet.Encoded(n, &parquet.RLEDictionary)
			}
			return n
		}
		switch c.Kind {
		case String, JSON:
			n = str()
		case Bool:
			n = parquet.Optional(parquet.Leaf(parquet.BooleanType))
		case TimeUTC:
			n = parquet.Required(parquet.TimestampAdjusted(parquet.Millisecond, true))
		case TimeLocal:
			n = parquet.Required(parquet.TimestampAdjusted(parquet.Millisecond, false))
		case StringList:
			n = parquet.Optional(parquet.List(str()))
		}
		g[c.Name] = n
	}
	return parquet.NewSchema("cloudtrail", orderedGroup{Group: g, order: order})
}

// orderedGroup keeps the schema's column order (parquet.Group sorts by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	fields := g.Group.Fields()
	byName := make(map[string]parquet.Field, len(fields))
	for _, f := range fields {
		byName[f.Name()] = f
	}
	out := make([]parquet.Field, len(g.order))
	for i, name := range g.order {
		out[i] = byName[name]
	}
	return out
}

// WriterOptions are the Parquet writer settings shared by shard parts and
// the day's files.
func WriterOptions(s *Schema, compression string) ([]parquet.WriterOption, error) {
	codec, err := Codec(compression)
	if err != nil {
		return nil, err
	}
	return []parquet.WriterOption{
		s.Parquet(),
		parquet.Compression(codec),
		parquet.PageBufferSize(256 << 10),
		parquet.DictionaryMaxBytes(1 << 20),
		parquet.CreatedBy("parquetrail", "", ""),
		parquet.KeyValueMetadata("parquetrail.columns", s.Set),
		parquet.KeyValueMetadata("parquetrail.sorted_by", "eventtime,eventid"),
	}, nil
}

// Batch holds flattened rows column by column until they are sorted and
// written as one row group. Its memory is about Size() bytes.
type Batch struct {
	s     *Schema
	n     int
	time  []int64
	local []int64
	cols  []colBuf // by schema column; unused for times and lists
	lists [3]listBuf
	size  int
	perm  []int32
}

type colBuf struct {
	data  []byte
	end   []uint32
	valid []bool
}

func (c *colBuf) add(v []byte) {
	c.data = append(c.data, v...)
	c.end = append(c.end, uint32(len(c.data)))
	c.valid = append(c.valid, v != nil)
}

func (c *colBuf) get(i int32) ([]byte, bool) {
	if !c.valid[i] {
		return nil, false
	}
	start := uint32(0)
	if i > 0 {
		start = c.end[i-1]
	}
	return c.data[start:c.end[i]:c.end[i]], true
}

func (c *colBuf) reset() {
	c.data, c.end, c.valid = c.data[:0], c.end[:0], c.valid[:0]
}

type listBuf struct {
	first []int32 // per row: index of its first element
	count []int32 // per row: elements, -1 for a null list
	elems colBuf
}

// NewBatch returns an empty batch for schema s.
func NewBatch(s *Schema) *Batch {
	return &Batch{s: s, cols: make([]colBuf, len(s.Columns))}
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.n }

// Size estimates the batch's memory in bytes.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.n, b.size = 0, 0
	b.time, b.local = b.time[:0], b.local[:0]
	for i := range b.cols {
		b.cols[i].reset()
	}
	for i := range b.lists {
		l := &b.lists[i]
		l.first, l.count = l.first[:0], l.count[:0]
		l.elems.reset()
	}
}

// Append copies a well-formed row into the batch.
func (b *Batch) Append(r *Row) {
	b.time = append(b.time, r.Time)
	b.local = append(b.local, r.Local)
	size := 16
	for ci := range b.s.Columns {
		c := &b.s.Columns[ci]
		switch c.Kind {
		case TimeUTC, TimeLocal:
		case StringList:
			k := c.field - fResourcesARN
			l := &b.lists[k]
			l.first = append(l.first, int32(len(l.elems.end)))
			if r.resN < 0 {
				l.count = append(l.count, -1)
				break
			}
			l.count = append(l.count, int32(r.resN))
			for _, e := range r.res[k] {
				l.elems.add(e)
				size += len(e) + 5
			}
		default:
			v := r.val[c.field]
			if c.field == fUnmapped {
				v = r.unmapped
			}
			b.cols[ci].add(v)
			size += len(v) + 5
		}
	}
	b.size += size
	b.n++
}

// Sort orders the rows by (eventtime, eventid); rows without an eventid come
// first among equal times.
func (b *Batch) Sort() {
	b.perm = b.perm[:0]
	for i := 0; i < b.n; i++ {
		b.perm = append(b.perm, int32(i))
	}
	ids := &b.cols[b.s.col[fEventID]]
	slices.SortStableFunc(b.perm, func(x, y int32) int {
		if c := cmp.Compare(b.time[x], b.time[y]); c != 0 {
			return c
		}
		ix, _ := ids.get(x)
		iy, _ := ids.get(y)
		return bytes.Compare(ix, iy)
	})
}

// MinMax returns the smallest and largest eventtime (ms); ok is false for
// an empty batch.
func (b *Batch) MinMax() (lo, hi int64, ok bool) {
	if b.n == 0 {
		return 0, 0, false
	}
	lo, hi = b.time[0], b.time[0]
	for _, t := range b.time[1:] {
		lo, hi = min(lo, t), max(hi, t)
	}
	return lo, hi, true
}

// WriteRowGroup sorts the batch and writes it to w as one row group,
// encoding columns on up to workers goroutines.
func (b *Batch) WriteRowGroup(w *parquet.GenericWriter[any], workers int) error {
	if b.n == 0 {
		return nil
	}
	b.Sort()
	rg := w.BeginRowGroup()
	cws := rg.ColumnWriters()
	if len(cws) != len(b.s.Columns) {
		return fmt.Errorf("writer has %d columns, schema %d", len(cws), len(b.s.Columns))
	}
	workers = max(1, min(workers, len(cws)))
	next := make(chan int, len(cws))
	// Big columns first, so that the workers finish together.
	order := make([]int, len(cws))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return len(b.cols[y].data) - len(b.cols[x].data) })
	for _, ci := range order {
		next <- ci
	}
	close(next)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := make([]parquet.Value, 0, 1024)
			for ci := range next {
				if err := b.writeColumn(cws[ci], ci, vals); err != nil && errs[k] == nil {
					errs[k] = fmt.Errorf("column %s: %w", b.s.Columns[ci].Name, err)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	_, err := rg.Commit()
	return err
}

// writeColumn writes column ci of the sorted rows, a chunk of values at a
// time (a row never spans pages).
func (b *Batch) writeColumn(cw *parquet.ColumnWriter, ci int, vals []parquet.Value) error {
	c := &b.s.Columns[ci]
	flush := func(force bool) error {
		if len(vals) == 0 || !force && len(vals) < cap(vals)-64 {
			return nil
		}
		_, err := cw.WriteRowValues(vals)
		vals = vals[:0]
		return err
	}
	for _, i := range b.perm {
		switch c.Kind {
		case TimeUTC:
			vals = append(vals, parquet.Int64Value(b.time[i]).Level(0, 0, ci))
		case TimeLocal:
			vals = append(vals, parquet.Int64Value(b.local[i]).Level(0, 0, ci))
		case Bool:
			if v, ok := b.cols[ci].get(i); ok {
				vals = append(vals, parquet.BooleanValue(v[0] == 't').Level(0, 1, ci))
			} else {
				vals = append(vals, parquet.NullValue().Level(0, 0, ci))
			}
		case StringList:
			l := &b.lists[c.field-fResourcesARN]
			n := l.count[i]
			switch {
			case n < 0:
				vals = append(vals, parquet.NullValue().Level(0, 0, ci))
			case n == 0:
				vals = append(vals, parquet.NullValue().Level(0, 1, ci))
			default:
				for k := int32(0); k < n; k++ {
					rep := 1
					if k == 0 {
						rep = 0
					}
					if v, ok := l.elems.get(l.first[i] + k); ok {
						vals = append(vals, parquet.ByteArrayValue(v).Level(rep, 3, ci))
					} else {
						vals = append(vals, parquet.NullValue().Level(rep, 2, ci))
					}
				}
			}
		default:
			if v, ok := b.cols[ci].get(i); ok {
				vals = append(vals, parquet.ByteArrayValue(v).Level(0, 1, ci))
			} else {
				vals = append(vals, parquet.NullValue().Level(0, 0, ci))
			}
		}
		if err := flush(false); err != nil {
			return err
		}
	}
	return flush(true)
}

// NewWriter starts a Parquet file of schema s on out.
func NewWriter(out io.Writer, s *Schema, compression string) (*parquet.GenericWriter[any], error) {
	opts, err := WriterOptions(s, compression)
	if err != nil {
		return nil, err
	}
	return parquet.NewGenericWriter[any](out, opts...), nil
}
