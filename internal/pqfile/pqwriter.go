package pqfile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// FileWriter writes Parquet files of a Schema straight from Batches, one
// row group per batch. It knows the schema's few shapes (optional strings,
// optional booleans, required millisecond timestamps, optional lists of
// optional strings), so it encodes column by column over plain slices:
// definition and repetition levels as RLE/bit-packed hybrids, repetitive
// columns with a dictionary, the rest PLAIN, pages compressed with the
// chosen codec (Parquet format v1 data pages, readable by every engine).
type FileWriter struct {
	w       io.Writer
	off     int64
	s       *record.Schema
	codec   compress.Codec
	meta    format.FileMetaData
	leaves  []leaf
	closed  bool
	workers int // encoding goroutines, from the last AppendBatch
	page    PageOptions
	chunks  []chunk
	rgRows  int64 // rows in the open row group

	// The page index (ColumnIndex and OffsetIndex, thrift-encoded) of every
	// column chunk written, row group by row group, written before the
	// footer by Close.
	colIndex, offIndex [][]byte
}

// Page and dictionary bounds of published files. A reader holds one page
// and one dictionary per column it reads, so these bound its memory too.
const (
	DefaultPageBytes = 256 << 10 // values per data page, before compression
	DefaultDictBytes = 24 << 20  // larger dictionaries fall back to PLAIN
	pageRows         = 20000
)

// PageOptions bound the pages and dictionaries of a file. Staging parts use
// smaller ones: the merge keeps one reader per sorted run open at a time.
type PageOptions struct {
	PageBytes int
	DictBytes int
	// PageRows bounds the rows of a page (default 20000). A reader's
	// buffers for a page's levels grow with its rows, and the pages of a
	// mostly-null column hold many rows in few bytes.
	PageRows int
	// ChunkBounds gives the dictionary pages of string columns their
	// chunk's bounds (those of its dictionary) in the column index, rather
	// than their own: valid bounds (the format allows bounds that are not
	// values of the page) for no comparison per value, where nothing
	// skips pages by those columns.
	ChunkBounds bool
}

// StagingPages bound the pages of staging files (the shards' parts and the
// merge's intermediate runs). The merge holds a page, its levels and a
// dictionary per column of every run it reads at once, so these small
// bounds are what lets it read many runs within the worker's memory.
//
// The merge seeks by eventtime only, so their string columns' dictionary
// pages take their chunk's bounds.
var StagingPages = PageOptions{PageBytes: 16 << 10, DictBytes: 128 << 10, PageRows: 2048, ChunkBounds: true}

type leaf struct {
	col  int
	path []string
	part uint8 // of a Map column: 0 the key, 1 the value
}

var magic = []byte("PAR1")

// NewFileWriter starts a Parquet file on w. kv is written as the file's
// key-value metadata.
func NewFileWriter(w io.Writer, s *record.Schema, compression string, kv map[string]string) (*FileWriter, error) {
	codec, err := Codec(compression)
	if err != nil {
		return nil, err
	}
	fw := &FileWriter{w: w, s: s, codec: codec, page: PageOptions{PageBytes: DefaultPageBytes, DictBytes: DefaultDictBytes, PageRows: pageRows}}
	fw.meta.Version = 1
	fw.meta.CreatedBy = CreatedBy()
	fw.meta.Schema = append(fw.meta.Schema, format.SchemaElement{Name: "cloudtrail", NumChildren: thrift.New(int32(len(s.Columns)))})
	str := format.LogicalType{Value: &format.StringType{}}
	for ci, c := range s.Columns {
		switch c.Kind {
		case record.String, record.JSON, record.Const, record.TimeText, record.LocalText:
			fw.meta.Schema = append(fw.meta.Schema, format.SchemaElement{
				Type: thrift.New(format.ByteArray), RepetitionType: thrift.New(format.Optional), Name: c.Name,
				ConvertedType: thrift.New(deprecated.UTF8), LogicalType: str,
			})
			fw.leaves = append(fw.leaves, leaf{ci, []string{c.Name}, 0})
		case record.Bool:
			fw.meta.Schema = append(fw.meta.Schema, format.SchemaElement{
				Type: thrift.New(format.Boolean), RepetitionType: thrift.New(format.Optional), Name: c.Name,
			})
			fw.leaves = append(fw.leaves, leaf{ci, []string{c.Name}, 0})
		case record.TimeUTC, record.TimeLocal:
			e := format.SchemaElement{
				Type: thrift.New(format.Int64), RepetitionType: thrift.New(format.Required), Name: c.Name,
				LogicalType: format.LogicalType{Value: &format.TimestampType{IsAdjustedToUTC: c.Kind == record.TimeUTC, Unit: format.TimeUnit{Value: &format.MilliSeconds{}}}},
			}
			if c.Kind == record.TimeUTC {
				// The legacy annotation implies UTC; a local time has none.
				e.ConvertedType = thrift.New(deprecated.TimestampMillis)
			}
			fw.meta.Schema = append(fw.meta.Schema, e)
			fw.leaves = append(fw.leaves, leaf{ci, []string{c.Name}, 0})
		case record.StringList:
			fw.meta.Schema = append(fw.meta.Schema,
				format.SchemaElement{RepetitionType: thrift.New(format.Optional), Name: c.Name, NumChildren: thrift.New(int32(1)),
					ConvertedType: thrift.New(deprecated.List), LogicalType: format.LogicalType{Value: &format.ListType{}}},
				format.SchemaElement{RepetitionType: thrift.New(format.Repeated), Name: "list", NumChildren: thrift.New(int32(1))},
				format.SchemaElement{Type: thrift.New(format.ByteArray), RepetitionType: thrift.New(format.Optional), Name: "element",
					ConvertedType: thrift.New(deprecated.UTF8), LogicalType: str},
			)
			fw.leaves = append(fw.leaves, leaf{ci, []string{c.Name, "list", "element"}, 0})
		case record.Map:
			// The layout Spark writes and every reader maps to MAP<STRING,STRING>.
			fw.meta.Schema = append(fw.meta.Schema,
				format.SchemaElement{RepetitionType: thrift.New(format.Optional), Name: c.Name, NumChildren: thrift.New(int32(1)),
					ConvertedType: thrift.New(deprecated.Map), LogicalType: format.LogicalType{Value: &format.MapType{}}},
				format.SchemaElement{RepetitionType: thrift.New(format.Repeated), Name: "key_value", NumChildren: thrift.New(int32(2))},
				format.SchemaElement{Type: thrift.New(format.ByteArray), RepetitionType: thrift.New(format.Required), Name: "key",
					ConvertedType: thrift.New(deprecated.UTF8), LogicalType: str},
				format.SchemaElement{Type: thrift.New(format.ByteArray), RepetitionType: thrift.New(format.Optional), Name: "value",
					ConvertedType: thrift.New(deprecated.UTF8), LogicalType: str},
			)
			fw.leaves = append(fw.leaves,
				leaf{ci, []string{c.Name, "key_value", "key"}, 0},
				leaf{ci, []string{c.Name, "key_value", "value"}, 1})
		}
	}
	for range fw.leaves {
		fw.meta.ColumnOrders = append(fw.meta.ColumnOrders, format.ColumnOrder{Value: &format.TypeDefinedOrder{}})
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fw.meta.KeyValueMetadata = append(fw.meta.KeyValueMetadata, format.KeyValue{Key: k, Value: kv[k]})
	}
	if err := fw.write(magic); err != nil {
		return nil, err
	}
	return fw, nil
}

func (fw *FileWriter) write(p []byte) error {
	n, err := fw.w.Write(p)
	fw.off += int64(n)
	return err
}

// SetPageOptions changes the page and dictionary bounds (zero keeps one).
func (fw *FileWriter) SetPageOptions(o PageOptions) {
	if o.PageBytes > 0 {
		fw.page.PageBytes = o.PageBytes
	}
	if o.DictBytes != 0 {
		fw.page.DictBytes = o.DictBytes
	}
	if o.PageRows > 0 {
		fw.page.PageRows = o.PageRows
	}
	if o.ChunkBounds {
		fw.page.ChunkBounds = true
	}
}

// Size is the number of bytes written so far.
func (fw *FileWriter) Size() int64 { return fw.off }

// Rows is the number of rows written so far.
func (fw *FileWriter) Rows() int64 { return fw.meta.NumRows }

// RowGroups is the number of row groups written so far.
func (fw *FileWriter) RowGroups() int { return len(fw.meta.RowGroups) }

// WriteBatch writes the batch as one row group, sorting it by (eventtime,
// eventid) first unless sorted says it already is. Columns are encoded on up
// to workers goroutines.
func (fw *FileWriter) WriteBatch(b *Batch, sorted bool, workers int) error {
	if err := fw.AppendBatch(b, sorted, workers); err != nil {
		return err
	}
	return fw.EndRowGroup()
}

// AppendBatch adds the batch's rows to the open row group (opening one),
// encoding them into pages; the values are not kept, only the pages and
// the dictionaries, so that a row group can hold many batches. Successive
// batches must be in order for the row group to be sorted.
func (fw *FileWriter) AppendBatch(b *Batch, sorted bool, workers int) error {
	if fw.closed {
		return errors.New("parquet writer is closed")
	}
	if b.n == 0 {
		return nil
	}
	if sorted {
		b.identity()
	} else {
		b.Sort()
	}
	if len(fw.chunks) != len(fw.leaves) {
		fw.chunks = make([]chunk, len(fw.leaves))
	}
	fw.workers = workers
	base := fw.rgRows
	err := fw.eachChunk(workers, func(i int) int { return fw.leafBytes(b, fw.leaves[i]) }, func(i int, sc *scratch) error {
		err := fw.encodeColumn(&fw.chunks[i], b, fw.leaves[i], sc, base)
		sc.trim(fw.page)
		return err
	})
	if err != nil {
		return err
	}
	fw.rgRows += int64(b.n)
	return nil
}

// scratches are the encoders' per-goroutine buffers, shared by the file
// writers of a process so that a new file does not grow them again.
var scratches = sync.Pool{New: func() any { return new(scratch) }}

// eachChunk calls fn for every column chunk on up to workers goroutines,
// the chunks of greatest weight first so that the workers finish together,
// and returns the errors, each naming its column.
func (fw *FileWriter) eachChunk(workers int, weight func(i int) int, fn func(i int, sc *scratch) error) error {
	workers = max(1, min(workers, len(fw.leaves)))
	order := make([]int, len(fw.leaves))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return weight(y) - weight(x) })
	next := make(chan int, len(order))
	for _, i := range order {
		next <- i
	}
	close(next)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := scratches.Get().(*scratch)
			defer scratches.Put(sc)
			for i := range next {
				if err := fn(i, sc); err != nil && errs[k] == nil {
					errs[k] = fmt.Errorf("column %s: %w", fw.s.Columns[fw.leaves[i].col].Name, err)
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RowGroupRows is the number of rows in the open row group.
func (fw *FileWriter) RowGroupRows() int64 { return fw.rgRows }

// EndRowGroup writes the open row group out (a no-op when it is empty).
func (fw *FileWriter) EndRowGroup() error {
	if fw.rgRows == 0 {
		return nil
	}
	// Dictionary pages are compressed on the workers too: a row group's
	// dictionaries can be megabytes.
	err := fw.eachChunk(fw.workers, func(i int) int { return fw.chunks[i].dictBytes }, func(i int, sc *scratch) error {
		err := fw.finishChunk(&fw.chunks[i], fw.leaves[i], sc)
		sc.trim(fw.page)
		return err
	})
	if err != nil {
		return err
	}
	rg := format.RowGroup{NumRows: fw.rgRows, FileOffset: fw.off, Ordinal: int16(len(fw.meta.RowGroups))}
	for i := range fw.chunks {
		c := &fw.chunks[i]
		base := fw.off
		md := c.meta
		dictLen := int64(c.dict.Len())
		md.DataPageOffset = base + dictLen
		if c.hasDict {
			md.DictionaryPageOffset = base
		}
		if err := c.dict.each(fw.write); err != nil {
			return err
		}
		c.dict.reset()
		if err := c.buf.each(fw.write); err != nil {
			return err
		}
		c.buf.reset()
		ci, oi, err := c.pageIndex(base+dictLen, fw.s.Columns[fw.leaves[i].col].Kind)
		if err != nil {
			return err
		}
		fw.colIndex, fw.offIndex = append(fw.colIndex, ci), append(fw.offIndex, oi)
		rg.Columns = append(rg.Columns, format.ColumnChunk{FileOffset: base, MetaData: md})
		rg.TotalByteSize += md.TotalUncompressedSize
		rg.TotalCompressedSize += md.TotalCompressedSize
		c.open = false
	}
	// Spark's eventtime text does not sort as the times do ("…00.5Z" < "…00Z").
	if ti, ii := fw.leafOf(record.FieldEventTime), fw.leafOf(record.FieldEventID); ti >= 0 && ii >= 0 && fw.s.Types != record.Spark {
		rg.SortingColumns = []format.SortingColumn{{ColumnIdx: int32(ti)}, {ColumnIdx: int32(ii), NullsFirst: true}}
	}
	fw.meta.RowGroups = append(fw.meta.RowGroups, rg)
	fw.meta.NumRows += fw.rgRows
	fw.rgRows = 0
	return nil
}

// finishChunk completes a column chunk's metadata and dictionary page.
func (fw *FileWriter) finishChunk(out *chunk, lf leaf, sc *scratch) error {
	c := &fw.s.Columns[lf.col]
	md := &out.meta
	out.dict.reset()
	out.hasDict = false
	switch c.Kind {
	case record.TimeUTC, record.TimeLocal:
		md.Encoding = []format.Encoding{format.Plain}
		md.Statistics.MinValue = binary.LittleEndian.AppendUint64(nil, uint64(out.lo))
		md.Statistics.MaxValue = binary.LittleEndian.AppendUint64(nil, uint64(out.hi))
		md.Statistics.Min, md.Statistics.Max = md.Statistics.MinValue, md.Statistics.MaxValue
		return nil
	}
	md.Encoding = []format.Encoding{format.RLE, format.Plain}
	md.Statistics.NullCount = out.nulls
	if !out.dictPages {
		return nil
	}
	md.Encoding = append(md.Encoding, format.RLEDictionary)
	size := 0
	for _, e := range out.entries {
		size += 4 + len(e)
	}
	// One allocation for the page, not a doubling per growth.
	sc.vals = slices.Grow(sc.vals[:0], size)
	for _, e := range out.entries {
		sc.vals = binary.LittleEndian.AppendUint32(sc.vals, uint32(len(e)))
		sc.vals = append(sc.vals, e...)
	}
	ph := format.PageHeader{Type: format.DictionaryPage,
		DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: int32(len(out.entries)), Encoding: format.Plain})}
	if err := fw.encodePage(&out.dict, md, &ph, sc.vals, sc); err != nil {
		return err
	}
	out.hasDict = true
	var lo, hi []byte
	bounds := false
	if !out.plainPages {
		// Every value is in the dictionary: its bounds are the chunk's.
		lo, hi = minMax(out.entries)
		bounds = true
		md.Statistics.MinValue, md.Statistics.MaxValue = lo, hi
	}
	for i := range out.pages {
		if p := &out.pages[i]; p.chunkBounds {
			if !bounds {
				lo, hi = minMax(out.entries)
				bounds = true
			}
			p.min, p.max = truncMin(lo), truncMax(hi)
		}
	}
	return nil
}

// leafBytes is the size of the batch's values behind a leaf (0 when they
// are not kept as bytes).
func (fw *FileWriter) leafBytes(b *Batch, l leaf) int {
	c := &fw.s.Columns[l.col]
	if i := b.s.ColumnOf(c.Field); i >= 0 && stored(c.Kind) {
		return b.cols[i].bytes
	}
	return 0
}

// stored says whether a kind's values are a batch column's bytes as they
// are written.
func stored(k record.Kind) bool { return k == record.String || k == record.JSON || k == record.Bool }

func (fw *FileWriter) leafOf(f record.Field) int {
	for i, l := range fw.leaves {
		if fw.s.Columns[l.col].Field == f {
			return i
		}
	}
	return -1
}

// Close writes the footer. It does not close the underlying writer.
func (fw *FileWriter) Close() error {
	if fw.closed {
		return nil
	}
	fw.closed = true
	// The page index sits between the last row group and the footer, all
	// column indexes first, then all offset indexes (as parquet-mr and
	// Arrow write them), so that a reader fetches each kind in one read.
	k := 0
	for r := range fw.meta.RowGroups {
		for c := range fw.meta.RowGroups[r].Columns {
			cc := &fw.meta.RowGroups[r].Columns[c]
			cc.ColumnIndexOffset, cc.ColumnIndexLength = fw.off, int32(len(fw.colIndex[k]))
			if err := fw.write(fw.colIndex[k]); err != nil {
				return err
			}
			k++
		}
	}
	k = 0
	for r := range fw.meta.RowGroups {
		for c := range fw.meta.RowGroups[r].Columns {
			cc := &fw.meta.RowGroups[r].Columns[c]
			cc.OffsetIndexOffset, cc.OffsetIndexLength = fw.off, int32(len(fw.offIndex[k]))
			if err := fw.write(fw.offIndex[k]); err != nil {
				return err
			}
			k++
		}
	}
	fw.colIndex, fw.offIndex = nil, nil
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &fw.meta)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(footer)))
	footer = append(append(footer, n[:]...), magic...)
	return fw.write(footer)
}

// chunk is one encoded column chunk; offsets in meta are relative to its
// start until the file writer places it.
type chunk struct {
	buf     chain // data pages of the open row group
	dict    chain // its dictionary page, written before them
	meta    format.ColumnMetaData
	hasDict bool

	// State of the open row group, kept across batches.
	open       bool
	table      dictTable
	entries    [][]byte // dictionary values, copies in store
	store      blocks
	useDict    int8 // 0 undecided, 1 dictionary pages, -1 PLAIN pages
	dictPages  bool // some page uses the dictionary
	plainPages bool // some page does not
	dictBytes  int
	plainBytes int
	nulls      int64
	lo, hi     int64 // times

	pages []pageStat // the open row group's data pages, for the page index
}

// scratch is per-goroutine encoding memory, reused across columns.
type scratch struct {
	idx    []int32 // dictionary index per non-null value, in sorted order
	rowIdx []int32 // dictionary index per row, in insertion order
	rep    []uint8
	def    []uint8
	vals   []byte // page values before compression
	page   []byte // page body before compression
	comp   []byte
	hdr    bytes.Buffer
	lo, hi []byte // the open page's bounds
}

// trim drops buffers that a page of one huge value (a record of
// megabytes) grew far beyond the page size, so that they are not kept for
// the pages of ordinary values. The values buffer also builds dictionary
// pages: it keeps up to a dictionary's size (at most keepDict), or every
// row group would allocate (and the kernel zero) its dictionaries anew.
func (sc *scratch) trim(o PageOptions) {
	big := 4*o.PageBytes + 1<<20
	for _, b := range []*[]byte{&sc.vals, &sc.page, &sc.comp} {
		if cap(*b) > big && (b != &sc.vals || cap(*b) > min(o.DictBytes, keepDict)) {
			*b = nil
		}
	}
}

// keepDict bounds the dictionary page an encoder's scratch keeps.
const keepDict = 8 << 20

// values walks the column's cells in sorted row order, calling fn for each
// level entry: v is the value (nil when null), rep and def its levels.
//
// c is a column of the file's schema, which is the batch's or its spark
// form; part picks a Map column's key or value leaf.
func (b *Batch) values(c *record.Column, part uint8, fn func(row int, v []byte, rep, def uint8)) {
	switch c.Kind {
	case record.Const:
		for r := range b.perm {
			fn(r, c.ConstValue, 0, 1)
		}
		return
	case record.TimeText, record.LocalText:
		var buf [32]byte
		src := b.time
		if c.Kind == record.LocalText {
			src = b.local
		}
		for r, i := range b.perm {
			if c.Kind == record.TimeText {
				fn(r, record.AppendEventTime(buf[:0], src[i]), 0, 1)
			} else {
				fn(r, appendLocalText(buf[:0], src[i]), 0, 1)
			}
		}
		return
	case record.Map:
		b.mapValues(c, part, fn)
		return
	case record.StringList:
		l := &b.lists[c.Field-record.FieldResourcesARN]
		for r, i := range b.perm {
			n := l.count[i]
			switch {
			case n < 0:
				fn(r, nil, 0, 0)
			case n == 0:
				fn(r, nil, 0, 1)
			default:
				for k := int32(0); k < n; k++ {
					rep := uint8(1)
					if k == 0 {
						rep = 0
					}
					if v, ok := l.elems.get(l.first[i] + k); ok {
						fn(r, v, rep, 3)
					} else {
						fn(r, nil, rep, 2)
					}
				}
			}
		}
	default:
		cb := &b.cols[b.s.ColumnOf(c.Field)]
		for r, i := range b.perm {
			if v, ok := cb.get(i); ok {
				fn(r, v, 0, 1)
			} else {
				fn(r, nil, 0, 0)
			}
		}
	}
}

// mapValues walks a Map leaf: the batch holds the blob's JSON text, and
// each row is a null map (null, or not an object), an empty map, or its
// top-level members. The key leaf's levels are (rep, 2); the value leaf's
// (rep, 3), or (rep, 2) for a null value.
func (b *Batch) mapValues(c *record.Column, part uint8, fn func(row int, v []byte, rep, def uint8)) {
	cb := &b.cols[b.s.ColumnOf(c.Field)]
	var arena []byte
	var ms []scan.Member
	for r, i := range b.perm {
		v, ok := cb.get(i)
		if ok {
			ms, ok = scan.SplitObject(v, &arena, ms[:0])
		}
		switch {
		case !ok:
			fn(r, nil, 0, 0)
		case len(ms) == 0:
			fn(r, nil, 0, 1)
		default:
			for k, m := range ms {
				rep := uint8(min(k, 1))
				switch {
				case part == 0:
					fn(r, m.K, rep, 2)
				case m.V == nil:
					fn(r, nil, rep, 2)
				default:
					fn(r, m.V, rep, 3)
				}
			}
		}
	}
}

// encodeColumn encodes leaf lf of the batch's rows into out; base is the
// batch's first row in the row group.
func (fw *FileWriter) encodeColumn(out *chunk, b *Batch, lf leaf, sc *scratch, base int64) error {
	c := &fw.s.Columns[lf.col]
	if !out.open {
		out.open = true
		out.buf.reset()
		out.meta = format.ColumnMetaData{PathInSchema: lf.path, Codec: fw.codec.CompressionCodec()}
		out.table.reset()
		out.entries = out.entries[:0]
		out.store.reset()
		out.useDict = -1
		if c.Dict && fw.page.DictBytes > 0 {
			out.useDict = 0
		}
		out.dictPages, out.plainPages = false, false
		out.dictBytes, out.plainBytes, out.nulls = 0, 0, 0
		out.pages = out.pages[:0]
	}
	md := &out.meta
	switch c.Kind {
	case record.TimeUTC, record.TimeLocal:
		return fw.encodeTimes(out, b, c, sc, base)
	case record.Bool:
		md.Type = format.Boolean
	default:
		md.Type = format.ByteArray
	}
	maxDef, maxRep := uint8(1), uint8(0)
	switch {
	case c.Kind == record.StringList, c.Kind == record.Map && lf.part == 1:
		maxDef, maxRep = 3, 1
	case c.Kind == record.Map:
		maxDef, maxRep = 2, 1
	}

	// Look this batch's values up in the chunk's dictionary, adding the new
	// ones (copied: the batch's memory is reused).
	useDict := out.useDict >= 0
	last := int32(-1)
	sc.idx = sc.idx[:0]
	flat := stored(c.Kind)
	add := func(v []byte) (int32, bool) {
		out.plainBytes += len(v) + 4
		if last >= 0 && string(out.entries[last]) == string(v) {
			return last, true
		}
		k, added := out.table.index(v, &out.entries)
		if added {
			out.entries[k] = out.store.copy(v)
			out.dictBytes += len(v) + 4
			if out.dictBytes > fw.page.DictBytes {
				return 0, false
			}
		}
		last = k
		return k, true
	}
	if useDict && flat {
		// In insertion order, which reads the column's blocks in turn; the
		// pages then take each row's index in sorted order.
		cb := &b.cols[b.s.ColumnOf(c.Field)]
		list := b.store.list
		sc.rowIdx = sc.rowIdx[:0]
		for _, sp := range cb.spans[:b.n] {
			if sp.n < 0 {
				sc.rowIdx = append(sc.rowIdx, -1)
				continue
			}
			k, ok := add(list[sp.blk][sp.off : sp.off+uint32(sp.n)])
			if !ok {
				useDict = false
				break
			}
			sc.rowIdx = append(sc.rowIdx, k)
		}
	} else if useDict {
		b.values(c, lf.part, func(_ int, v []byte, _, def uint8) {
			if def != maxDef || !useDict {
				return
			}
			k, ok := add(v)
			if !ok {
				useDict = false
				return
			}
			sc.idx = append(sc.idx, k)
		})
	}
	// A dictionary that is nearly the plain size buys nothing; below that
	// it wins even where compression would find the repeats, because pages
	// are compressed one by one and the repeats lie pages apart. Decided on
	// the row group's first batch; a dictionary that outgrows its bound
	// leaves the rest of the chunk PLAIN.
	if out.useDict == 0 {
		out.useDict = 1
		if !useDict || out.dictBytes > out.plainBytes/10*9 {
			out.useDict, useDict = -1, false
		}
	} else if !useDict {
		out.useDict = -1
	}

	// Data pages, cut at row boundaries.
	sc.rep, sc.def, sc.vals = sc.rep[:0], sc.def[:0], sc.vals[:0]
	var bools []bool
	pageStartRow, nv, pb := 0, 0, 0
	var err error
	// The page's bounds and nulls, for the page index. The bounds are
	// copies: a value's memory may be reused by the next (Map members,
	// formatted times).
	var pageNulls int64
	pageVals := 0
	sc.lo, sc.hi = sc.lo[:0], sc.hi[:0]
	lastK := int32(-1)
	chunkBounds := fw.page.ChunkBounds && flat && c.Kind != record.Bool
	flush := func() {
		if len(sc.def) == 0 || err != nil {
			return
		}
		ps := pageStat{off: out.buf.Len(), firstRow: base + int64(pageStartRow), nulls: pageNulls, null: pageVals == 0}
		switch {
		case ps.null:
		case chunkBounds && useDict:
			ps.chunkBounds = true // set by finishChunk
		default:
			ps.min, ps.max = truncMin(sc.lo), truncMax(sc.hi)
		}
		sc.page = sc.page[:0]
		if maxRep > 0 {
			sc.page = appendLevels(sc.page, sc.rep, 1)
		}
		sc.page = appendLevels(sc.page, sc.def, bits.Len8(maxDef))
		enc := format.Plain
		switch {
		case useDict:
			enc = format.RLEDictionary
			out.dictPages = true
			bw := bits.Len32(uint32(max(len(out.entries)-1, 0)))
			sc.page = append(sc.page, byte(bw))
			sc.page = appendHybrid32(sc.page, sc.idx[nv-countValues(sc.def, maxDef):nv], bw)
		case c.Kind == record.Bool:
			out.plainPages = true
			sc.page = appendBools(sc.page, bools)
		default:
			out.plainPages = true
			sc.page = append(sc.page, sc.vals...)
		}
		ph := format.PageHeader{Type: format.DataPage, DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: int32(len(sc.def)), Encoding: enc, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		})}
		err = fw.encodePage(&out.buf, md, &ph, sc.page, sc)
		ps.size = int32(out.buf.Len() - ps.off)
		out.pages = append(out.pages, ps)
		md.NumValues += int64(len(sc.def))
		sc.rep, sc.def, sc.vals, bools, pb = sc.rep[:0], sc.def[:0], sc.vals[:0], bools[:0], 0
		pageNulls, pageVals, lastK = 0, 0, -1
		sc.lo, sc.hi = sc.lo[:0], sc.hi[:0]
	}
	if useDict && flat {
		sc.idx = sc.idx[:0]
	}
	if flat && c.Kind != record.Bool {
		// A string column: one level per row, no repetition. The loop of
		// the general walk below without its call per cell, and with a
		// dictionary without touching the values at all (a page's bounds
		// are those of the dictionary entries it uses, or with
		// ChunkBounds the whole dictionary's).
		cb := &b.cols[b.s.ColumnOf(c.Field)]
		for row, i := range b.perm {
			if pb >= fw.page.PageBytes || row-pageStartRow >= fw.page.PageRows {
				flush()
				pageStartRow = row
			}
			var v []byte
			k, null := int32(0), false
			if useDict {
				k = sc.rowIdx[i]
				null = k < 0
			} else if sp := cb.spans[i]; sp.n < 0 {
				null = true
			} else {
				end := sp.off + uint32(sp.n)
				v = cb.store.list[sp.blk][sp.off:end:end]
			}
			if null {
				sc.def = append(sc.def, 0)
				out.nulls++
				pageNulls++
				continue
			}
			sc.def = append(sc.def, 1)
			nv++
			pageVals++
			if useDict {
				sc.idx = append(sc.idx, k)
				pb += 4
				if k == lastK || chunkBounds {
					continue
				}
				lastK, v = k, out.entries[k]
			} else {
				sc.vals = binary.LittleEndian.AppendUint32(sc.vals, uint32(len(v)))
				sc.vals = append(sc.vals, v...)
				pb += 4 + len(v)
			}
			if pageVals == 1 {
				bp := boundPrefix(v)
				sc.lo, sc.hi = append(sc.lo[:0], bp...), append(sc.hi[:0], bp...)
			} else {
				sc.lo, sc.hi = lower(sc.lo, v), upper(sc.hi, v)
			}
		}
		flush()
		return err
	}
	b.values(c, lf.part, func(row int, v []byte, rep, def uint8) {
		if rep == 0 && (pb >= fw.page.PageBytes || row-pageStartRow >= fw.page.PageRows) {
			flush()
			pageStartRow = row
		}
		sc.rep = append(sc.rep, rep)
		sc.def = append(sc.def, def)
		if def != maxDef {
			out.nulls++
			pageNulls++
			return
		}
		nv++
		if c.Kind == record.Bool {
			// PLAIN booleans: one byte, 0 or 1, is the bound's form.
			if v[0] == 't' {
				v = one
			} else {
				v = zero
			}
		}
		if pageVals == 0 {
			b := boundPrefix(v)
			sc.lo, sc.hi = append(sc.lo[:0], b...), append(sc.hi[:0], b...)
		}
		pageVals++
		switch {
		case useDict:
			k := int32(0)
			if flat {
				k = sc.rowIdx[b.perm[row]]
				sc.idx = append(sc.idx, k)
			} else {
				k = sc.idx[nv-1]
			}
			// A run of one dictionary value needs one comparison.
			if k != lastK {
				lastK = k
				sc.lo, sc.hi = lower(sc.lo, v), upper(sc.hi, v)
			}
			pb += 4
		case c.Kind == record.Bool:
			bools = append(bools, v[0] == 1)
			sc.lo, sc.hi = lower(sc.lo, v), upper(sc.hi, v)
			pb++
		default:
			sc.lo, sc.hi = lower(sc.lo, v), upper(sc.hi, v)
			sc.vals = binary.LittleEndian.AppendUint32(sc.vals, uint32(len(v)))
			sc.vals = append(sc.vals, v...)
			pb += 4 + len(v)
		}
	})
	flush()
	return err
}

// countValues counts the level entries that carry a value.
func countValues(def []uint8, maxDef uint8) int {
	n := 0
	for _, d := range def {
		if d == maxDef {
			n++
		}
	}
	return n
}

func minMax(entries [][]byte) (lo, hi []byte) {
	for i, e := range entries {
		if i == 0 || bytes.Compare(e, lo) < 0 {
			lo = e
		}
		if i == 0 || bytes.Compare(e, hi) > 0 {
			hi = e
		}
	}
	return bytes.Clone(lo), bytes.Clone(hi)
}

func (fw *FileWriter) encodeTimes(out *chunk, b *Batch, c *record.Column, sc *scratch, base int64) error {
	md := &out.meta
	md.Type = format.Int64
	src := b.time
	if c.Kind == record.TimeLocal {
		src = b.local
	}
	for k := 0; k < len(b.perm); {
		n := min(len(b.perm)-k, fw.page.PageBytes/8)
		sc.vals = sc.vals[:0]
		lo, hi := src[b.perm[k]], src[b.perm[k]]
		for _, i := range b.perm[k : k+n] {
			t := src[i]
			lo, hi = min(lo, t), max(hi, t)
			sc.vals = binary.LittleEndian.AppendUint64(sc.vals, uint64(t))
		}
		if md.NumValues == 0 {
			out.lo, out.hi = lo, hi
		}
		out.lo, out.hi = min(out.lo, lo), max(out.hi, hi)
		ps := pageStat{off: out.buf.Len(), firstRow: base + int64(k),
			min: binary.LittleEndian.AppendUint64(nil, uint64(lo)), max: binary.LittleEndian.AppendUint64(nil, uint64(hi))}
		ph := format.PageHeader{Type: format.DataPage, DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: int32(n), Encoding: format.Plain, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		})}
		if err := fw.encodePage(&out.buf, md, &ph, sc.vals, sc); err != nil {
			return err
		}
		ps.size = int32(out.buf.Len() - ps.off)
		out.pages = append(out.pages, ps)
		md.NumValues += int64(n)
		k += n
	}
	return nil
}

// encodePage compresses body and appends its header and bytes to dst.
func (fw *FileWriter) encodePage(dst *chain, md *format.ColumnMetaData, ph *format.PageHeader, body []byte, sc *scratch) error {
	var err error
	sc.comp, err = fw.codec.Encode(sc.comp[:0], body)
	if err != nil {
		return err
	}
	ph.UncompressedPageSize = int32(len(body))
	ph.CompressedPageSize = int32(len(sc.comp))
	sc.hdr.Reset()
	if err := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&sc.hdr)).Encode(ph); err != nil {
		return err
	}
	dst.append(sc.hdr.Bytes())
	dst.append(sc.comp)
	md.TotalUncompressedSize += int64(sc.hdr.Len() + len(body))
	md.TotalCompressedSize += int64(sc.hdr.Len() + len(sc.comp))
	return nil
}

// appendLevels appends levels as a length-prefixed RLE/bit-packed hybrid
// (the v1 data page form).
func appendLevels(dst []byte, levels []uint8, bw int) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendHybrid8(dst, levels, bw)
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

func appendHybrid8(dst []byte, v []uint8, bw int) []byte { return appendHybrid(dst, v, bw) }

func appendHybrid32(dst []byte, v []int32, bw int) []byte { return appendHybrid(dst, v, bw) }

// runLen is the length of the run of values equal to v[i] from i.
func runLen[T uint8 | int32](v []T, i int) int {
	j := i + 1
	for j < len(v) && v[j] == v[i] {
		j++
	}
	return j - i
}

// appendHybrid encodes the values of bit width bw: runs of 8 or more equal
// values as RLE runs, the rest as bit-packed groups of 8.
func appendHybrid[T uint8 | int32](dst []byte, v []T, bw int) []byte {
	n := len(v)
	if bw == 0 {
		if n > 0 {
			dst = binary.AppendUvarint(dst, uint64(n)<<1)
		}
		return dst
	}
	width := (bw + 7) / 8
	for i := 0; i < n; {
		if r := runLen(v, i); r >= 8 {
			dst = binary.AppendUvarint(dst, uint64(r)<<1)
			x := uint32(v[i])
			for k := 0; k < width; k++ {
				dst = append(dst, byte(x>>(8*k)))
			}
			i += r
			continue
		}
		// Bit-packed groups of 8 until a long run starts at a group boundary.
		start := i
		groups := 0
		for i < n && groups < 63 {
			i += 8
			groups++
			if i < n && runLen(v, i) >= 8 {
				break
			}
		}
		dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
		var acc uint64
		nb := 0
		end := min(start+groups*8, n)
		for _, x := range v[start:end] {
			acc |= uint64(uint32(x)) << nb
			nb += bw
			for nb >= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
				nb -= 8
			}
		}
		// The last group's padding: zeros.
		for k := end; k < start+groups*8; k++ {
			nb += bw
			for nb >= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
				nb -= 8
			}
		}
		if nb > 0 {
			dst = append(dst, byte(acc))
		}
	}
	return dst
}

// appendBools appends PLAIN booleans: one bit each, least significant first.
func appendBools(dst []byte, v []bool) []byte {
	for i := 0; i < len(v); i += 8 {
		var x byte
		for k := 0; k < 8 && i+k < len(v); k++ {
			if v[i+k] {
				x |= 1 << k
			}
		}
		dst = append(dst, x)
	}
	return dst
}

// dictTable maps values to dictionary indices: open addressing over the
// entries themselves (no copies of the keys), rebuilt per column chunk.
// Each slot keeps the entry's hash, so that most probes that miss are told
// apart without comparing bytes.
type dictTable struct {
	slots []dictSlot
	n     int
}

type dictSlot struct {
	hash uint32
	idx  int32 // entry index + 1; 0 is empty
}

func (t *dictTable) reset() {
	if len(t.slots) == 0 {
		t.slots = make([]dictSlot, 1024)
	} else if t.n > 0 {
		clear(t.slots)
	}
	t.n = 0
}

// hashValue mixes the length and up to 24 bytes from the start, middle and
// end of v: dictionary values (names, ARNs, agents) differ somewhere in
// those, and hashing every byte of long values costs more than the rare
// extra comparison.
func hashValue(v []byte) uint64 {
	n := len(v)
	h := uint64(n) * 0x9E3779B97F4A7C15
	switch {
	case n >= 8:
		a := binary.LittleEndian.Uint64(v)
		m := binary.LittleEndian.Uint64(v[(n-8)/2:])
		z := binary.LittleEndian.Uint64(v[n-8:])
		h ^= mix(a ^ 0xA0761D6478BD642F)
		h ^= mix(m^0xE7037ED1A0B428DB) * 31
		h ^= mix(z ^ 0x8EBC6AF09C88C6E3)
	case n > 0:
		var x uint64
		for i, c := range v {
			x |= uint64(c) << (8 * i)
		}
		h ^= mix(x ^ 0xA0761D6478BD642F)
	}
	return mix(h)
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xFF51AFD7ED558CCD
	x ^= x >> 33
	x *= 0xC4CEB9FE1A85EC53
	x ^= x >> 33
	return x
}

// index returns v's entry, appending it to entries when it is new.
func (t *dictTable) index(v []byte, entries *[][]byte) (int32, bool) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow(*entries)
	}
	h := hashValue(v)
	tag := uint32(h >> 32)
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for {
		s := t.slots[i]
		if s.idx == 0 {
			k := int32(len(*entries))
			*entries = append(*entries, v)
			t.slots[i] = dictSlot{tag, k + 1}
			t.n++
			return k, true
		}
		if s.hash == tag {
			if e := (*entries)[s.idx-1]; string(e) == string(v) {
				return s.idx - 1, false
			}
		}
		i = (i + 1) & mask
	}
}

func (t *dictTable) grow(entries [][]byte) {
	t.slots = make([]dictSlot, 2*len(t.slots))
	mask := uint64(len(t.slots) - 1)
	for k, e := range entries {
		h := hashValue(e)
		i := h & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = dictSlot{uint32(h >> 32), int32(k) + 1}
	}
}

// pageStat is what the page index records of one data page.
type pageStat struct {
	off      int   // in the chunk's data pages
	size     int32 // header and compressed body
	firstRow int64 // in the row group
	nulls    int64
	null     bool   // no value, only nulls
	min, max []byte // PLAIN form without length; strings truncated
	// chunkBounds: a dictionary page whose bounds are its dictionary's
	// (PageOptions.ChunkBounds), set when the dictionary is complete.
	chunkBounds bool
}

var zero, one = []byte{0}, []byte{1}

// boundPrefix is as much of v as a bound needs: indexValueBytes and one
// more character, cut at a character boundary. The page's bounds are kept
// as such prefixes, so that a record of megabytes is never copied whole:
// the least prefix cut to indexValueBytes is a lower bound of every value;
// the greatest is a value itself when it is no longer than indexValueBytes
// (a longer value's prefix is longer, so it sorts below it unless it is
// smaller earlier), else truncMax makes an upper bound of it.
func boundPrefix(v []byte) []byte {
	if len(v) <= indexValueBytes+utf8.UTFMax {
		return v
	}
	cut := indexValueBytes + utf8.UTFMax
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// lower and upper keep the smaller and the larger of bound and v's
// boundPrefix (in bound's memory).
func lower(bound, v []byte) []byte {
	v = boundPrefix(v)
	if bytes.Compare(v, bound) < 0 {
		return append(bound[:0], v...)
	}
	return bound
}

func upper(bound, v []byte) []byte {
	v = boundPrefix(v)
	if bytes.Compare(v, bound) > 0 {
		return append(bound[:0], v...)
	}
	return bound
}

// indexValueBytes bounds a string bound in the column index, as parquet-mr's
// default truncation does: the blobs' JSON text would otherwise make the
// index as large as a page.
const indexValueBytes = 64

// truncMin is a copy of v cut to indexValueBytes at a character boundary:
// a prefix is never greater than the value.
func truncMin(v []byte) []byte {
	if len(v) <= indexValueBytes {
		return bytes.Clone(v)
	}
	cut := indexValueBytes
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return bytes.Clone(v[:cut])
}

// truncMax is v cut to indexValueBytes with its last character incremented,
// so that it stays an upper bound and valid UTF-8; v whole when no shorter
// bound exists (or v is not UTF-8).
func truncMax(v []byte) []byte {
	if len(v) <= indexValueBytes || !utf8.Valid(v) {
		return bytes.Clone(v)
	}
	cut := indexValueBytes
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	p := bytes.Clone(v[:cut])
	for len(p) > 0 {
		r, size := utf8.DecodeLastRune(p)
		p = p[:len(p)-size]
		next := r + 1
		if next == 0xD800 { // surrogates are not characters
			next = 0xE000
		}
		if next <= utf8.MaxRune {
			return utf8.AppendRune(p, next)
		}
	}
	return bytes.Clone(v)
}

// pageIndex encodes the chunk's ColumnIndex and OffsetIndex; at is the
// file offset of its first data page.
func (c *chunk) pageIndex(at int64, kind record.Kind) (ci, oi []byte, err error) {
	var cx format.ColumnIndex
	var ox format.OffsetIndex
	asc, desc := true, true
	var prev *pageStat
	for i := range c.pages {
		p := &c.pages[i]
		ox.PageLocations = append(ox.PageLocations, format.PageLocation{Offset: at + int64(p.off), CompressedPageSize: p.size, FirstRowIndex: p.firstRow})
		cx.NullPages = append(cx.NullPages, p.null)
		cx.NullCounts = append(cx.NullCounts, p.nulls)
		if p.null {
			cx.MinValues, cx.MaxValues = append(cx.MinValues, []byte{}), append(cx.MaxValues, []byte{})
			continue
		}
		cx.MinValues, cx.MaxValues = append(cx.MinValues, p.min), append(cx.MaxValues, p.max)
		if prev != nil {
			lo, hi := compareBound(kind, prev.min, p.min), compareBound(kind, prev.max, p.max)
			asc = asc && lo <= 0 && hi <= 0
			desc = desc && lo >= 0 && hi >= 0
		}
		prev = p
	}
	switch {
	case asc:
		cx.BoundaryOrder = format.Ascending
	case desc:
		cx.BoundaryOrder = format.Descending
	}
	if ci, err = thrift.Marshal(new(thrift.CompactProtocol), &cx); err != nil {
		return nil, nil, err
	}
	oi, err = thrift.Marshal(new(thrift.CompactProtocol), &ox)
	return ci, oi, err
}

// compareBound orders two bounds of a column the way its type sorts.
func compareBound(kind record.Kind, a, b []byte) int {
	if kind == record.TimeUTC || kind == record.TimeLocal {
		x, y := int64(binary.LittleEndian.Uint64(a)), int64(binary.LittleEndian.Uint64(b))
		return cmp.Compare(x, y)
	}
	return bytes.Compare(a, b)
}

// appendLocalText appends a wall-clock time (ms as if UTC) the way the Spark
// job's date_format(..., "yyyy-MM-dd HH:mm:ss") wrote it: whole seconds.
func appendLocalText(dst []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, "2006-01-02 15:04:05")
}
