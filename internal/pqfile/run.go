package pqfile

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/parquetrail/parquetrail/internal/record"
)

// Run reads one row group of a file FileWriter wrote (a shard's part, a
// merge's intermediate run, or a day's published file, which late writes
// read back) a row at a time, straight from its pages into a Batch
// (Batch.AppendRun). It reads only what FileWriter writes (v1 data pages;
// PLAIN or dictionary values; RLE/bit-packed levels) and refuses anything
// else by name. Unlike a generic reader it builds no value per cell: each
// column keeps its decoded page, and a row is a position in each.
//
// A Run holds one page and one dictionary per column: its memory is about
// that of the file's pages (StagingPages bounds those of staging files).
type Run struct {
	s    *record.Schema
	cols []runCol
	rows int64 // of the row group
	next int64 // the row Next moves to
	name string
	comp []byte // the compressed page being read, for every column
	// maps are the value leaves of the Spark types' MAP columns; mapOf
	// gives a batch column's, or -1.
	maps  []runCol
	mapOf []int
	json  []byte // a MAP column's row as JSON

	timeCol, idCol int
}

// runCol is the cursor of one column of a Run.
type runCol struct {
	col            *record.Column
	name           string
	mode           uint8
	chunk          int // the column chunk's index in the row group
	maxDef, maxRep uint8
	codec          compress.Codec
	typ            format.Type

	sr  *io.SectionReader
	br  *bufio.Reader
	dec *thrift.Decoder
	// The column chunk's start and end in the file, and where its data
	// pages start.
	start, end, data int64

	dict    []byte   // the decoded dictionary page's values
	dictOff []uint32 // value k is dict[dictOff[k]+4 : dictOff[k+1]]

	comp     *[]byte // a page's compressed bytes: the Run's one buffer
	page     []byte  // its decompressed bytes
	def, rep []uint8
	idx      []int32  // dictionary indexes of the page's values
	off      []uint32 // or PLAIN byte arrays: value k is page[off[k]+4 : off[k+1]]
	bools    []byte   // or PLAIN booleans, bit-packed
	ints     []byte   // or PLAIN int64s
	times    []int64  // a text time column's values, parsed
	dictPage bool     // the page's values are dictionary indexes

	// The current row: level entries [at, at+n), values [v, v+values).
	at, n, v, values int
}

// readBuffer is the buffered reader of a column chunk: page headers go
// through it, page bodies larger than it bypass it.
const readBuffer = 2 << 10

// OpenRun opens row group rg of the file read by f, whose metadata is md,
// written with schema s or, for a day's published files of the Spark
// types, with s.FileSchema(record.Spark, ...): then proc_ymd is skipped,
// the times are read back from their text and each MAP column is given
// back as the JSON object of its entries (string values), which the Spark
// writer turns into the same map again. name names the file in errors.
// Call Next for the first row.
func OpenRun(f io.ReaderAt, md *format.FileMetaData, rg int, s *record.Schema, name string) (*Run, error) {
	if rg < 0 || rg >= len(md.RowGroups) {
		return nil, fmt.Errorf("%s: no row group %d", name, rg)
	}
	g := &md.RowGroups[rg]
	r := &Run{s: s, cols: make([]runCol, len(s.Columns)), rows: g.NumRows, name: name,
		timeCol: s.Index("eventtime"), idCol: s.Index("eventid"),
		// Sized once: the cursors are taken by address.
		maps: make([]runCol, 0, len(g.Columns)), mapOf: make([]int, len(s.Columns))}
	for i := range r.mapOf {
		r.mapOf[i] = -1
	}
	found := make([]bool, len(s.Columns))
	for k := range g.Columns {
		cc := &g.Columns[k].MetaData
		path := cc.PathInSchema
		if len(path) == 0 {
			return nil, fmt.Errorf("%s: column chunk %d has no path", name, k)
		}
		ci := s.Index(path[0])
		if ci < 0 {
			if path[0] == record.ProcYMDColumn {
				continue // the Spark types' partition column: the day's, not the row's
			}
			return nil, fmt.Errorf("%s: column %q is not in the %s set", name, path[0], s.Set)
		}
		col := &s.Columns[ci]
		c, mode := &r.cols[ci], native
		switch {
		case len(path) == 3 && path[1] == "key_value" && col.Kind == record.JSON && path[2] == "value":
			if r.mapOf[ci] >= 0 {
				return nil, fmt.Errorf("%s: column %s: two value leaves", name, col.Name)
			}
			r.maps = append(r.maps, runCol{})
			r.mapOf[ci] = len(r.maps) - 1
			c, mode = &r.maps[len(r.maps)-1], mapValue
		case len(path) == 3 && path[1] == "key_value" && col.Kind == record.JSON && path[2] == "key":
			mode = mapKey
		case col.Kind == record.TimeUTC && cc.Type == format.ByteArray:
			mode = timeText
		case col.Kind == record.TimeLocal && cc.Type == format.ByteArray:
			mode = localText
		}
		if mode != mapValue {
			if found[ci] {
				return nil, fmt.Errorf("%s: column %s twice", name, col.Name)
			}
			found[ci] = true
		}
		if err := r.openCol(f, c, col, mode, k, cc); err != nil {
			return nil, err
		}
	}
	for ci, ok := range found {
		if !ok {
			return nil, fmt.Errorf("%s: no column %s", name, s.Columns[ci].Name)
		}
		if (r.cols[ci].mode == mapKey) != (r.mapOf[ci] >= 0) {
			return nil, fmt.Errorf("%s: column %s: a map needs its key and value leaves", name, s.Columns[ci].Name)
		}
	}
	return r, nil
}

// openCol starts cursor c on column chunk k (metadata cc) of batch column
// col, read in the given mode.
func (r *Run) openCol(f io.ReaderAt, c *runCol, col *record.Column, mode uint8, k int, cc *format.ColumnMetaData) error {
	c.comp = &r.comp
	c.col, c.name, c.mode, c.chunk = col, col.Name, mode, k
	switch {
	case mode == timeText || mode == localText:
		c.maxDef, c.typ = 1, format.ByteArray
	case mode == mapKey:
		c.maxDef, c.maxRep, c.typ = 2, 1, format.ByteArray
	case mode == mapValue:
		c.maxDef, c.maxRep, c.typ = 3, 1, format.ByteArray
	case col.Kind == record.TimeUTC || col.Kind == record.TimeLocal:
		c.typ = format.Int64
	case col.Kind == record.StringList:
		c.maxDef, c.maxRep, c.typ = 3, 1, format.ByteArray
	case col.Kind == record.Bool:
		c.maxDef, c.typ = 1, format.Boolean
	case col.Kind == record.String || col.Kind == record.JSON:
		c.maxDef, c.typ = 1, format.ByteArray
	default:
		return fmt.Errorf("%s: column %s: kind %v is not in a batch", r.name, c.name, col.Kind)
	}
	if cc.Type != c.typ {
		return fmt.Errorf("%s: column %s has type %v, want %v", r.name, c.name, cc.Type, c.typ)
	}
	codec, err := codecOf(cc.Codec)
	if err != nil {
		return fmt.Errorf("%s: column %s: %w", r.name, c.name, err)
	}
	c.codec = codec
	c.start, c.data = cc.DataPageOffset, cc.DataPageOffset
	if cc.DictionaryPageOffset > 0 && cc.DictionaryPageOffset < c.start {
		c.start = cc.DictionaryPageOffset
	}
	c.end = c.start + cc.TotalCompressedSize
	c.sr = io.NewSectionReader(f, c.start, cc.TotalCompressedSize)
	c.br = bufio.NewReaderSize(c.sr, readBuffer)
	c.dec = thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(c.br))
	if c.data > c.start {
		if err := c.readDict(); err != nil {
			return r.errorf(c, err)
		}
	}
	c.reset()
	return nil
}

// Modes of a column cursor: a batch column as batches write it, or one of
// the Spark types' forms of it.
const (
	native    uint8 = iota
	timeText        // eventtime as CloudTrail's text
	localText       // the local time as "2006-01-02 15:04:05"
	mapKey          // a MAP column's keys
	mapValue        // and its values
)

func codecOf(c format.CompressionCodec) (compress.Codec, error) {
	switch c {
	case format.Snappy:
		return snappyCodec{}, nil
	case format.Zstd:
		return zstdDefault, nil
	case format.Uncompressed:
		return Codec(None)
	case format.Gzip:
		return Codec(Gzip)
	}
	return nil, fmt.Errorf("compression %v is not one this writer uses", c)
}

func (r *Run) errorf(c *runCol, err error) error {
	return fmt.Errorf("%s: column %s: %w", r.name, c.name, err)
}

// Size is about the memory the Run holds, in bytes.
func (r *Run) Size() int {
	n := cap(r.comp) + cap(r.json)
	for _, c := range r.all() {
		n += 8*cap(c.times) + readBuffer + cap(c.dict) + 4*cap(c.dictOff) + cap(c.page) + cap(c.def) + cap(c.rep) + 4*cap(c.idx) + 4*cap(c.off)
	}
	return n
}

// Rows is the number of rows of the row group.
func (r *Run) Rows() int64 { return r.rows }

// SeekRow makes row the one the next call of Next moves to. With the file's
// offset index (oi, per column; nil entries or a nil oi read from the
// start) each column starts at the page holding the row, so the pages
// before it are neither read nor decoded.
func (r *Run) SeekRow(row int64, oi []*format.OffsetIndex) error {
	if row < 0 || row > r.rows {
		return fmt.Errorf("%s: row %d is outside the row group's %d", r.name, row, r.rows)
	}
	for _, c := range r.all() {
		first := int64(0)
		pos := c.data
		if c.chunk < len(oi) && oi[c.chunk] != nil {
			locs := oi[c.chunk].PageLocations
			p := pageOf(locs, row)
			if p >= 0 {
				first, pos = locs[p].FirstRowIndex, locs[p].Offset
			}
		}
		if pos < c.data || pos >= c.end {
			return r.errorf(c, fmt.Errorf("offset index points at %d, outside the chunk's pages [%d, %d)", pos, c.data, c.end))
		}
		if _, err := c.sr.Seek(pos-c.start, io.SeekStart); err != nil {
			return r.errorf(c, err)
		}
		c.br.Reset(c.sr)
		c.reset()
		for k := first; k < row; k++ {
			if err := c.advance(); err != nil {
				return r.errorf(c, err)
			}
		}
	}
	r.next = row
	return nil
}

// OffsetIndexes reads the offset index of every column chunk of row group
// rg of the file read by f (nil where a chunk has none).
func OffsetIndexes(f io.ReaderAt, md *format.FileMetaData, rg int) ([]*format.OffsetIndex, error) {
	if rg < 0 || rg >= len(md.RowGroups) {
		return nil, fmt.Errorf("no row group %d", rg)
	}
	cols := md.RowGroups[rg].Columns
	oi := make([]*format.OffsetIndex, len(cols))
	for i := range cols {
		cc := &cols[i]
		if cc.OffsetIndexLength <= 0 {
			continue
		}
		b := make([]byte, cc.OffsetIndexLength)
		if _, err := f.ReadAt(b, cc.OffsetIndexOffset); err != nil {
			return nil, fmt.Errorf("reading the offset index of column %d: %w", i, err)
		}
		oi[i] = new(format.OffsetIndex)
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), b, oi[i]); err != nil {
			return nil, fmt.Errorf("decoding the offset index of column %d: %w", i, err)
		}
	}
	return oi, nil
}

// pageOf returns the last page whose first row is at most row, or -1.
func pageOf(locs []format.PageLocation, row int64) int {
	i, _ := slices.BinarySearchFunc(locs, row, func(l format.PageLocation, row int64) int { return cmp.Compare(l.FirstRowIndex, row+1) })
	return i - 1
}

// Next moves to the next row; it returns false after the last.
func (r *Run) Next() (bool, error) {
	if r.next >= r.rows {
		return false, nil
	}
	// Plain loops, not all(): this runs for every row.
	for _, cols := range [2][]runCol{r.cols, r.maps} {
		for i := range cols {
			if err := cols[i].advance(); err != nil {
				return false, r.errorf(&cols[i], fmt.Errorf("row %d: %w", r.next, err))
			}
		}
	}
	r.next++
	return true, nil
}

// all lists every column cursor: the batch columns' and the MAP columns'
// value leaves.
func (r *Run) all() []*runCol {
	out := make([]*runCol, 0, len(r.cols)+len(r.maps))
	for _, cols := range [2][]runCol{r.cols, r.maps} {
		for i := range cols {
			out = append(out, &cols[i])
		}
	}
	return out
}

// Time is the current row's eventtime (ms).
func (r *Run) Time() int64 { return r.cols[r.timeCol].int64() }

// ID is the current row's eventid; ok is false when it is null.
func (r *Run) ID() (id []byte, ok bool) { return r.cols[r.idCol].bytes() }

// advance moves the column to its next row's level entries and values.
func (c *runCol) advance() error {
	c.at += c.n
	c.v += c.values
	if c.maxDef == 0 { // a required value: no levels
		if c.v >= len(c.ints)/8 {
			if err := c.readPage(); err != nil {
				return err
			}
			if len(c.ints) == 0 {
				return fmt.Errorf("empty page")
			}
		}
		c.values = 1
		return nil
	}
	if c.at >= len(c.def) {
		if err := c.readPage(); err != nil {
			return err
		}
		if len(c.def) == 0 {
			return fmt.Errorf("empty page")
		}
	}
	c.n, c.values = 1, 0
	if c.maxRep > 0 {
		for c.at+c.n < len(c.rep) && c.rep[c.at+c.n] != 0 {
			c.n++
		}
	}
	for _, d := range c.def[c.at : c.at+c.n] {
		if d == c.maxDef {
			c.values++
		}
	}
	return nil
}

// reset forgets the column's page: the next advance reads one.
func (c *runCol) reset() {
	c.at, c.n, c.v, c.values = 0, 0, 0, 0
	c.def, c.rep, c.ints = c.def[:0], c.rep[:0], nil
}

// int64 is the current row's value of a time column (ms), 0 for a null
// text time.
func (c *runCol) int64() int64 {
	switch {
	case c.mode == native:
		return int64(binary.LittleEndian.Uint64(c.ints[8*c.v:]))
	case c.values == 0:
		return 0
	}
	return c.times[c.v]
}

// bytes is the current row's value of an optional byte-array column.
func (c *runCol) bytes() ([]byte, bool) {
	if c.values == 0 {
		return nil, false
	}
	return c.value(c.v), true
}

// value is the page's k-th non-null value (byte arrays).
func (c *runCol) value(k int) []byte {
	if c.dictPage {
		i := c.idx[k]
		return c.dict[c.dictOff[i]+4 : c.dictOff[i+1]]
	}
	return c.page[c.off[k]+4 : c.off[k+1]]
}

// boolean is the page's k-th non-null boolean.
func (c *runCol) boolean(k int) bool { return c.bools[k>>3]>>(k&7)&1 == 1 }

// header reads the next page header.
func (c *runCol) header() (*format.PageHeader, error) {
	ph := new(format.PageHeader)
	if err := c.dec.Decode(ph); err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading a page header: %w", err)
	}
	if ph.CompressedPageSize < 0 || ph.UncompressedPageSize < 0 {
		return nil, fmt.Errorf("page header with negative sizes")
	}
	return ph, nil
}

// body reads and decompresses the body of the page of header ph.
func (c *runCol) body(ph *format.PageHeader) error {
	comp := slices.Grow((*c.comp)[:0], int(ph.CompressedPageSize))[:ph.CompressedPageSize]
	*c.comp = comp
	if _, err := io.ReadFull(c.br, comp); err != nil {
		return fmt.Errorf("reading a page: %w", err)
	}
	var err error
	c.page, err = c.codec.Decode(c.page[:0], comp)
	if err != nil {
		return fmt.Errorf("decompressing a page: %w", err)
	}
	if len(c.page) != int(ph.UncompressedPageSize) {
		return fmt.Errorf("page of %d bytes decompressed to %d", ph.UncompressedPageSize, len(c.page))
	}
	return nil
}

// readDict reads the column chunk's dictionary page.
func (c *runCol) readDict() error {
	ph, err := c.header()
	if err != nil {
		return err
	}
	dh, ok := ph.DictionaryPageHeader.Get()
	if ph.Type != format.DictionaryPage || !ok {
		return fmt.Errorf("first page is a %v, not the dictionary", ph.Type)
	}
	if e := dh.Encoding; e != format.Plain && e != format.PlainDictionary {
		return fmt.Errorf("dictionary encoding %v is not one this writer uses", e)
	}
	if err := c.body(ph); err != nil {
		return err
	}
	c.dict, c.page = c.page, c.dict // keep the dictionary; reuse the old one's memory for pages
	c.dictOff, err = plainOffsets(c.dictOff[:0], c.dict, int(dh.NumValues))
	if err != nil {
		return fmt.Errorf("dictionary: %w", err)
	}
	return nil
}

// plainOffsets returns the offsets of n PLAIN byte arrays in b (see
// runCol.off).
func plainOffsets(off []uint32, b []byte, n int) ([]uint32, error) {
	p := uint32(0)
	for range n {
		if int(p)+4 > len(b) {
			return nil, io.ErrUnexpectedEOF
		}
		off = append(off, p)
		p += 4 + binary.LittleEndian.Uint32(b[p:])
		if int(p) > len(b) || p < off[len(off)-1] {
			return nil, io.ErrUnexpectedEOF
		}
	}
	return append(off, p), nil
}

// readPage reads and decodes the next data page.
func (c *runCol) readPage() error {
	ph, err := c.header()
	if err != nil {
		return err
	}
	h, ok := ph.DataPageHeader.Get()
	if ph.Type != format.DataPage || !ok {
		return fmt.Errorf("page type %v is not one this writer uses", ph.Type)
	}
	if err := c.body(ph); err != nil {
		return err
	}
	n := int(h.NumValues)
	b := c.page
	c.at, c.v = 0, 0
	c.n, c.values = 0, 0
	if c.maxRep > 0 {
		if c.rep, b, err = levels(c.rep[:0], b, n, 1); err != nil {
			return fmt.Errorf("repetition levels: %w", err)
		}
		if n > 0 && c.rep[0] != 0 {
			return fmt.Errorf("page starts inside a row")
		}
	}
	values := n
	if c.maxDef > 0 {
		if c.def, b, err = levels(c.def[:0], b, n, bits.Len8(c.maxDef)); err != nil {
			return fmt.Errorf("definition levels: %w", err)
		}
		values = 0
		for _, d := range c.def {
			if d == c.maxDef {
				values++
			}
		}
	}
	c.dictPage = false
	switch {
	case h.Encoding == format.RLEDictionary || h.Encoding == format.PlainDictionary:
		if c.dictOff == nil {
			return fmt.Errorf("dictionary page missing")
		}
		if len(b) < 1 {
			return io.ErrUnexpectedEOF
		}
		bw := int(b[0])
		if bw > 32 {
			return fmt.Errorf("dictionary index width %d", bw)
		}
		if c.idx, _, err = hybrid(c.idx[:0], b[1:], values, bw); err != nil {
			return fmt.Errorf("dictionary indexes: %w", err)
		}
		for _, k := range c.idx {
			if k < 0 || int(k) >= len(c.dictOff)-1 {
				return fmt.Errorf("dictionary index %d out of %d values", k, len(c.dictOff)-1)
			}
		}
		c.dictPage = true
	case h.Encoding != format.Plain:
		return fmt.Errorf("encoding %v is not one this writer uses", h.Encoding)
	case c.typ == format.Int64:
		if len(b) < 8*values {
			return io.ErrUnexpectedEOF
		}
		c.ints = b[:8*values]
	case c.typ == format.Boolean:
		if len(b) < (values+7)/8 {
			return io.ErrUnexpectedEOF
		}
		c.bools = b
	default:
		base := len(c.page) - len(b)
		if c.off, err = plainOffsets(c.off[:0], b, values); err != nil {
			return err
		}
		for k := range c.off {
			c.off[k] += uint32(base)
		}
	}
	if c.maxDef == 0 {
		c.def, c.rep = c.def[:0], c.rep[:0]
	}
	if c.mode == timeText || c.mode == localText {
		c.times = c.times[:0]
		for k := range values {
			t, err := parseTimeText(c.mode, c.value(k))
			if err != nil {
				return err
			}
			c.times = append(c.times, t)
		}
	}
	return nil
}

// parseTimeText reads a time back from its Spark types' text (see
// record.AppendEventTime and appendLocalText).
func parseTimeText(mode uint8, v []byte) (int64, error) {
	layout := time.RFC3339
	if mode == localText {
		layout = "2006-01-02 15:04:05"
	}
	t, err := time.ParseInLocation(layout, string(v), time.UTC)
	if err != nil {
		return 0, fmt.Errorf("time %q: %w", v, err)
	}
	return t.UnixMilli(), nil
}

// levels decodes n levels of bit width bw, length-prefixed (v1 data
// pages), from b; it returns them and the rest of b.
func levels(dst []uint8, b []byte, n, bw int) ([]uint8, []byte, error) {
	if len(b) < 4 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	size := int(binary.LittleEndian.Uint32(b))
	if size > len(b)-4 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	dst, _, err := hybrid(dst, b[4:4+size], n, bw)
	return dst, b[4+size:], err
}

// hybrid decodes n values of bit width bw of the RLE/bit-packed hybrid
// encoding from b (levels into uint8s, dictionary indexes into int32s).
func hybrid[T uint8 | int32](dst []T, b []byte, n, bw int) ([]T, []byte, error) {
	width := (bw + 7) / 8
	for len(dst) < n {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, nil, io.ErrUnexpectedEOF
		}
		b = b[k:]
		if h&1 == 0 { // an RLE run
			run := int(h >> 1)
			if len(b) < width {
				return nil, nil, io.ErrUnexpectedEOF
			}
			var v uint32
			for i := range width {
				v |= uint32(b[i]) << (8 * i)
			}
			b = b[width:]
			for range min(run, n-len(dst)) {
				dst = append(dst, T(v))
			}
			continue
		}
		groups := int(h >> 1)
		size := groups * bw // bytes: 8 values of bw bits per group
		if len(b) < size {
			return nil, nil, io.ErrUnexpectedEOF
		}
		var acc uint64
		nb := 0
		p := 0
		mask := uint64(1)<<bw - 1
		for range groups * 8 {
			for nb < bw {
				acc |= uint64(b[p]) << nb
				p++
				nb += 8
			}
			if len(dst) < n {
				dst = append(dst, T(acc&mask))
			}
			acc >>= bw
			nb -= bw
		}
		b = b[size:]
	}
	return dst, b, nil
}

// AppendRun appends the current row of r, a run of the batch's schema.
func (b *Batch) AppendRun(r *Run) {
	size := 16
	var t, lt int64
	for ci := range b.s.Columns {
		c := &r.cols[ci]
		switch c.col.Kind {
		case record.TimeUTC:
			t = c.int64()
		case record.TimeLocal:
			lt = c.int64()
		case record.StringList:
			l := &b.lists[c.col.Field-record.FieldResourcesARN]
			l.first = append(l.first, int32(len(l.elems.spans)))
			switch def := c.def[c.at]; def {
			case 0:
				l.count = append(l.count, -1)
			case 1:
				l.count = append(l.count, 0)
			default:
				v := c.v
				for _, d := range c.def[c.at : c.at+c.n] {
					if d == 3 {
						l.elems.add(c.value(v), true)
						v++
						size += 12
					} else {
						l.elems.add(nil, false)
					}
				}
				l.count = append(l.count, int32(c.n))
			}
		case record.Bool:
			switch {
			case c.values == 0:
				b.cols[ci].add(nil, false)
			case c.boolean(c.v):
				b.cols[ci].add(litTrue, true)
			default:
				b.cols[ci].add(litFalse, true)
			}
			size += 12
		default:
			v, ok := r.cell(ci)
			b.cols[ci].add(v, ok)
			if ok {
				size += 12
			}
		}
	}
	b.time = append(b.time, t)
	b.local = append(b.local, lt)
	b.size += size
	b.n++
}

// cell is the current row's value of byte-array batch column ci as a
// batch holds it; ok is false for null. A MAP column's is the JSON object
// of its entries, in r.json until the next call.
func (r *Run) cell(ci int) ([]byte, bool) {
	c := &r.cols[ci]
	if c.mode != mapKey {
		return c.bytes()
	}
	switch c.def[c.at] {
	case 0:
		return nil, false
	case 1:
		return append(r.json[:0], "{}"...), true
	}
	vc := &r.maps[r.mapOf[ci]]
	if vc.n != c.n {
		// The leaves of one map have the same entries; a file where they
		// differ is damaged, and reads as an empty object rather than
		// pairing keys with the wrong values.
		return append(r.json[:0], "{}"...), true
	}
	j := append(r.json[:0], '{')
	v := vc.v
	for e := range c.n {
		if e > 0 {
			j = append(j, ',')
		}
		j = appendJSONString(j, c.value(c.v+e))
		j = append(j, ':')
		if vc.def[vc.at+e] == 3 {
			j = appendJSONString(j, vc.value(v))
			v++
		} else {
			j = append(j, "null"...)
		}
	}
	r.json = append(j, '}')
	return r.json, true
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, every other byte as it is.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, ch := range s {
		switch {
		case ch == '"' || ch == '\\':
			dst = append(dst, '\\', ch)
		case ch < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&15])
		default:
			dst = append(dst, ch)
		}
	}
	return append(dst, '"')
}

// RowBytes is about the memory the current row takes in a batch.
func (r *Run) RowBytes() int {
	n := 16
	for _, cols := range [2][]runCol{r.cols, r.maps} {
		for i := range cols {
			c := &cols[i]
			if c.typ != format.ByteArray {
				continue
			}
			for k := c.v; k < c.v+c.values; k++ {
				n += 12 + len(c.value(k))
			}
		}
	}
	return n
}

// CompareContent compares the current rows of two runs of one schema by
// their content, in the order of Batch.Sort (see order.go): the tie-break
// of rows equal on (eventtime, eventid).
func (r *Run) CompareContent(o *Run) int {
	for i := range r.cols {
		x, y := &r.cols[i], &o.cols[i]
		var c int
		switch x.col.Kind {
		case record.TimeUTC, record.TimeLocal:
			c = cmp.Compare(x.int64(), y.int64())
		case record.StringList:
			c = compareListRows(x, y)
		case record.Bool:
			if c = cmp.Compare(x.values, y.values); c == 0 && x.values > 0 {
				c = compareBool(x.boolean(x.v), y.boolean(y.v))
			}
		default:
			vx, okx := r.cell(i)
			vy, oky := o.cell(i)
			if c = compareBool(okx, oky); c == 0 {
				c = bytes.Compare(vx, vy)
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

// compareListRows compares the current lists of two list columns: a null
// list first, then an empty one, then element by element (a null element
// first), a list before the longer ones it begins.
func compareListRows(x, y *runCol) int {
	dx, dy := x.def[x.at], y.def[y.at]
	if dx < 2 || dy < 2 {
		return cmp.Compare(min(dx, 2), min(dy, 2))
	}
	vx, vy := x.v, y.v
	for k := range min(x.n, y.n) {
		ex, ey := x.def[x.at+k], y.def[y.at+k]
		if ex != ey {
			return cmp.Compare(ex, ey)
		}
		if ex == 3 {
			if c := bytes.Compare(x.value(vx), y.value(vy)); c != 0 {
				return c
			}
			vx++
			vy++
		}
	}
	return cmp.Compare(x.n, y.n)
}
