package pqfile

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/uncompressed"

	"github.com/parquetrail/parquetrail/internal/record"
)

// Compression codecs by name.
const (
	Zstd   = "zstd"
	Snappy = "snappy"
	Gzip   = "gzip"
	None   = "none"
)

// Booleans are kept in a batch as their JSON text.
var litTrue, litFalse = []byte("true"), []byte("false")

var zstdDefault = newZstd(zstd.SpeedDefault)

// Codec returns the Parquet codec for a compression name ("" is zstd).
func Codec(name string) (compress.Codec, error) {
	switch name {
	case "", Zstd:
		return zstdDefault, nil
	case Snappy:
		return snappyCodec{}, nil
	case Gzip:
		return &gzip.Codec{Level: gzip.DefaultCompression}, nil
	case None, "uncompressed":
		return &uncompressed.Codec{}, nil
	}
	return nil, fmt.Errorf("unknown compression %q (want zstd, snappy, gzip or none)", name)
}

// Batch holds flattened rows column by column until they are sorted and
// written as one row group. Its memory is about Size() bytes.
type Batch struct {
	s     *record.Schema
	n     int
	time  []int64
	local []int64
	cols  []colBuf // by schema column; unused for times and lists
	lists [3]listBuf
	size  int
	perm  []int32
	store blocks // the bytes of every string cell
}

// colBuf is one column's cells. Their bytes go into blocks of the batch's
// block store, one block per column at a time, so that a column's values
// lie together (encoding reads them front to back) while the blocks are
// reused from row group to row group instead of growing per column.
type colBuf struct {
	store *blocks
	cur   int32 // block being filled, -1 for none
	spans []span
	bytes int // total length of the column's values
}

type span struct {
	blk int32
	off uint32
	n   int32 // -1 for null
}

const blockSize = 64 << 10

// blocks holds the bytes of a batch's cells.
type blocks struct {
	list [][]byte // in use
	free [][]byte // standard blocks for reuse
	used int      // capacity of the blocks in use
}

func (s *blocks) take(size int) int32 {
	var blk []byte
	if size <= blockSize {
		if n := len(s.free); n > 0 {
			blk, s.free = s.free[n-1][:0], s.free[:n-1]
		} else {
			blk = make([]byte, 0, blockSize)
		}
	} else {
		blk = make([]byte, 0, size) // a value larger than a block gets its own
	}
	s.list = append(s.list, blk)
	s.used += cap(blk)
	return int32(len(s.list) - 1)
}

// copy stores v in the blocks and returns the copy.
func (s *blocks) copy(v []byte) []byte {
	n := len(s.list)
	if n == 0 || len(s.list[n-1])+len(v) > cap(s.list[n-1]) {
		s.take(max(len(v), blockSize))
		n = len(s.list)
	}
	blk := s.list[n-1]
	s.list[n-1] = append(blk, v...)
	return s.list[n-1][len(blk) : len(blk)+len(v) : len(blk)+len(v)]
}

func (s *blocks) reset() {
	for _, blk := range s.list {
		if cap(blk) == blockSize {
			s.free = append(s.free, blk)
		}
	}
	clear(s.list)
	s.list = s.list[:0]
	s.used = 0
}

func (c *colBuf) add(v []byte, valid bool) {
	if !valid {
		c.spans = append(c.spans, span{n: -1})
		return
	}
	st := c.store
	if c.cur < 0 || len(st.list[c.cur])+len(v) > cap(st.list[c.cur]) {
		if len(v) > blockSize/2 {
			k := st.take(len(v))
			st.list[k] = append(st.list[k], v...)
			c.spans = append(c.spans, span{blk: k, n: int32(len(v))})
			c.bytes += len(v)
			return
		}
		c.cur = st.take(blockSize)
	}
	blk := st.list[c.cur]
	c.spans = append(c.spans, span{blk: c.cur, off: uint32(len(blk)), n: int32(len(v))})
	st.list[c.cur] = append(blk, v...)
	c.bytes += len(v)
}

func (c *colBuf) get(i int32) ([]byte, bool) {
	sp := c.spans[i]
	if sp.n < 0 {
		return nil, false
	}
	end := sp.off + uint32(sp.n)
	return c.store.list[sp.blk][sp.off:end:end], true
}

func (c *colBuf) reset() {
	c.spans = c.spans[:0]
	c.bytes = 0
	c.cur = -1
}

type listBuf struct {
	first []int32 // per row: index of its first element
	count []int32 // per row: elements, -1 for a null list
	elems colBuf
}

// NewBatch returns an empty batch for schema s, with room for about
// reserve bytes of values (it grows past them when it must).
func NewBatch(s *record.Schema, reserve int) *Batch {
	b := &Batch{s: s, cols: make([]colBuf, len(s.Columns))}
	for i := range b.cols {
		b.cols[i].store, b.cols[i].cur = &b.store, -1
	}
	for i := range b.lists {
		b.lists[i].elems.store, b.lists[i].elems.cur = &b.store, -1
	}
	return b
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.n }

// Size estimates the batch's memory in bytes.
func (b *Batch) Size() int { return b.size + b.store.used }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.n, b.size = 0, 0
	b.store.reset()
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
func (b *Batch) Append(r *record.Row) {
	b.time = append(b.time, r.Time)
	b.local = append(b.local, r.Local)
	size := 16
	for ci := range b.s.Columns {
		c := &b.s.Columns[ci]
		switch c.Kind {
		case record.TimeUTC, record.TimeLocal:
		case record.StringList:
			k := c.Field - record.FieldResourcesARN
			l := &b.lists[k]
			l.first = append(l.first, int32(len(l.elems.spans)))
			list, n := r.Resources(c.Field)
			if n < 0 {
				l.count = append(l.count, -1)
				break
			}
			l.count = append(l.count, int32(n))
			for _, e := range list {
				l.elems.add(e, e != nil)
				size += 12
			}
		default:
			v := r.Value(c.Field)
			b.cols[ci].add(v, v != nil)
			size += 12
		}
	}
	b.size += size
	b.n++
}

// Sort orders the rows by (eventtime, eventid), rows without an eventid
// first among equal times, and rows equal on both by their content (see
// order.go): an order that does not depend on the order of Append.
func (b *Batch) Sort() {
	b.perm = b.perm[:0]
	for i := 0; i < b.n; i++ {
		b.perm = append(b.perm, int32(i))
	}
	ids := &b.cols[b.s.ColumnOf(record.FieldEventID)]
	slices.SortStableFunc(b.perm, func(x, y int32) int {
		if c := cmp.Compare(b.time[x], b.time[y]); c != 0 {
			return c
		}
		ix, okx := ids.get(x)
		iy, oky := ids.get(y)
		if okx != oky {
			return nullFirst(okx)
		}
		if c := bytes.Compare(ix, iy); c != 0 {
			return c
		}
		return b.compareContent(x, y)
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

// Times are the rows' eventtimes (ms) in insertion order; the slice is the
// batch's own, valid until Reset.
func (b *Batch) Times() []int64 { return b.time }

// identity makes the row order the insertion order.
func (b *Batch) identity() {
	b.perm = b.perm[:0]
	for i := 0; i < b.n; i++ {
		b.perm = append(b.perm, int32(i))
	}
}

// freeBatches keeps a few batches (and their arenas) for later shards and
// merges of the same process: a fresh arena costs the zeroing of its
// memory, which shows when local mode runs many shards in one process.
var freeBatches struct {
	sync.Mutex
	m map[string][]*Batch
}

const keepBatches = 2

// schemaKey names the schemas whose batches are interchangeable.
func schemaKey(s *record.Schema) string { return s.Set + "/" + s.LocalTimeColumn() }

// GetBatch returns an empty batch for s with room for reserve bytes,
// reusing a free one when there is.
func GetBatch(s *record.Schema, reserve int) *Batch {
	freeBatches.Lock()
	list := freeBatches.m[schemaKey(s)]
	var b *Batch
	if n := len(list); n > 0 {
		b = list[n-1]
		freeBatches.m[schemaKey(s)] = list[:n-1]
	}
	freeBatches.Unlock()
	if b == nil {
		return NewBatch(s, reserve)
	}
	b.s = s
	b.Reset()
	return b
}

// PutBatch gives a batch back for reuse.
func PutBatch(b *Batch) {
	if b == nil {
		return
	}
	freeBatches.Lock()
	defer freeBatches.Unlock()
	if freeBatches.m == nil {
		freeBatches.m = map[string][]*Batch{}
	}
	if list := freeBatches.m[schemaKey(b.s)]; len(list) < keepBatches {
		freeBatches.m[schemaKey(b.s)] = append(list, b)
	}
}
