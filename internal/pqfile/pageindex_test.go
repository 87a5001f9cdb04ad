package pqfile_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
)

// pageIndexFile writes n generated records as two row groups of small
// pages (so that most chunks have several) and returns the file.
func pageIndexFile(t *testing.T, set string, n int, chunkBounds bool) []byte {
	t.Helper()
	g, err := flattentest.NewGen(flattentest.TestData(), 7)
	if err != nil {
		t.Fatal(err)
	}
	s, err := record.NewSchema(set, "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, "zstd", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.SetPageOptions(pqfile.PageOptions{PageBytes: 8 << 10, ChunkBounds: chunkBounds})
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	batch := func(k int) *pqfile.Batch { // the k-th quarter of the day
		doc := g.Doc(n/4, from.Add(time.Duration(k)*6*time.Hour), 6*time.Hour)
		return docBatch(t, doc, s, 1)
	}
	// The first row group is one batch; the second three, appended (the
	// page index's row numbers then run across batches).
	if err := w.WriteBatch(batch(0), false, 2); err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 4; k++ {
		if err := w.AppendBatch(batch(k), false, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndRowGroup(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPageIndex reads the page index back with Arrow's reader: every
// column chunk has one, its offset index lists the chunk's data pages
// end to end (the same count as the pages found by walking the chunk),
// and its column index holds each page's null count and bounds, checked
// against the rows of the page as Arrow decodes them. With ChunkBounds
// (staging files) the dictionary pages of string columns have their
// chunk's bounds: not the page's own, but bounds of its values all the
// same.
func TestPageIndex(t *testing.T) {
	for _, set := range []string{record.Seed, record.Full} {
		for _, chunkBounds := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunkbounds=%v", set, chunkBounds), func(t *testing.T) {
				testPageIndex(t, set, chunkBounds)
			})
		}
	}
}

func testPageIndex(t *testing.T, set string, chunkBounds bool) {
	data := pageIndexFile(t, set, 4000, chunkBounds)
	f, err := arrowcheck.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	md := rdr.MetaData()
	if md.NumRowGroups() != 2 {
		t.Fatalf("row groups = %d, want 2", md.NumRowGroups())
	}
	pir := rdr.GetPageIndexReader()
	firstRow := 0
	multiPage, wider := 0, 0
	for rg := range md.NumRowGroups() {
		rgm := md.RowGroup(rg)
		rgi, err := pir.RowGroup(rg)
		if err != nil {
			t.Fatalf("row group %d: page index: %v", rg, err)
		}
		rgr := rdr.RowGroup(rg)
		for c := range rgm.NumColumns() {
			col := md.Schema.Column(c)
			name := col.Path()
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.GetColumnIndexLocation() == nil || cc.GetOffsetIndexLocation() == nil {
				t.Fatalf("row group %d column %s: no page index location in the footer", rg, name)
			}
			ci, err := rgi.GetColumnIndex(c)
			if err != nil || ci == nil {
				t.Fatalf("row group %d column %s: column index: %v", rg, name, err)
			}
			oi, err := rgi.GetOffsetIndex(c)
			if err != nil || oi == nil {
				t.Fatalf("row group %d column %s: offset index: %v", rg, name, err)
			}
			locs := oi.GetPageLocations()
			if got, want := len(locs), dataPages(t, rgr, c); got != want {
				t.Errorf("row group %d column %s: offset index has %d pages, the chunk %d", rg, name, got, want)
			}
			if len(locs) > 1 {
				multiPage++
			}
			// The pages lie end to end from the first data page to
			// the chunk's end, and start on rows in order from 0.
			at := cc.DataPageOffset()
			end := cc.FileOffset() + cc.TotalCompressedSize()
			if !cc.HasDictionaryPage() {
				end = cc.DataPageOffset() + cc.TotalCompressedSize()
			}
			for i, l := range locs {
				if l.Offset != at {
					t.Errorf("row group %d column %s page %d: offset %d, want %d", rg, name, i, l.Offset, at)
				}
				at += int64(l.CompressedPageSize)
				if i == 0 && l.FirstRowIndex != 0 || i > 0 && l.FirstRowIndex <= locs[i-1].FirstRowIndex {
					t.Errorf("row group %d column %s page %d: first row %d", rg, name, i, l.FirstRowIndex)
				}
			}
			if at != end {
				t.Errorf("row group %d column %s: pages end at %d, the chunk at %d", rg, name, at, end)
			}
			if diff := cmp.Diff(len(locs), len(ci.GetNullPages())); diff != "" || !ci.IsSetNullCounts() {
				t.Errorf("row group %d column %s: column index pages (-offset index +column index):\n%s", rg, name, diff)
			}
			if col.MaxRepetitionLevel() > 0 {
				continue // bounds are checked on the flat columns
			}
			n := int(rgm.NumRows())
			for i, l := range locs {
				next := n
				if i+1 < len(locs) {
					next = int(locs[i+1].FirstRowIndex)
				}
				if checkPage(t, rg, i, name, col.PhysicalType(), f.Rows[firstRow+int(l.FirstRowIndex):firstRow+next], ci, i, chunkBounds && cc.HasDictionaryPage() && col.PhysicalType() == parquet.Types.ByteArray) {
					wider++
				}
			}
			if name == "eventtime" && ci.GetBoundaryOrder() != metadata.Ascending {
				t.Errorf("row group %d: eventtime boundary order %v, want ascending", rg, ci.GetBoundaryOrder())
			}
		}
		firstRow += int(rgm.NumRows())
	}
	if multiPage == 0 {
		t.Fatal("no column chunk has more than one page: the test checks nothing")
	}
	if chunkBounds && wider == 0 {
		t.Error("ChunkBounds: every page has its own bounds, none its chunk's")
	}
}

// dataPages counts the data pages of a column chunk by walking it.
func dataPages(t *testing.T, rgr *file.RowGroupReader, c int) int {
	t.Helper()
	pr, err := rgr.GetColumnPageReader(c)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for pr.Next() {
		if pr.Page().Type() != 2 { // not the dictionary page
			n++
		}
	}
	if err := pr.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkPage compares a page's entry of the column index with its rows:
// the bounds are the page's own, or with loose bounds of its values.
// It says whether the bounds are wider than the page's own values.
func checkPage(t *testing.T, rg, page int, name string, typ parquet.Type, rows []record.Values, ci metadata.ColumnIndex, i int, loose bool) (wider bool) {
	t.Helper()
	var nulls int64
	var lo, hi []byte
	for _, r := range rows {
		v, ok := r[name]
		if !ok {
			nulls++
			continue
		}
		var b []byte
		switch v := v.(type) {
		case string:
			b = []byte(v)
		case bool:
			b = []byte{0}
			if v {
				b = []byte{1}
			}
		case time.Time:
			b = binary.LittleEndian.AppendUint64(nil, uint64(v.UnixMilli()))
		default:
			t.Fatalf("column %s: unexpected value %T", name, v)
		}
		if lo == nil || less(typ, b, lo) {
			lo = b
		}
		if hi == nil || less(typ, hi, b) {
			hi = b
		}
	}
	where := func() string { return fmt.Sprintf("row group %d column %s page %d", rg, name, page) }
	if got := ci.GetNullCounts()[i]; got != nulls {
		t.Errorf("%s: null count %d, want %d", where(), got, nulls)
	}
	if got, want := ci.GetNullPages()[i], lo == nil; got != want {
		t.Fatalf("%s: null page %v, want %v", where(), got, want)
	}
	if lo == nil {
		return false
	}
	gotLo, gotHi := ci.GetMinValues()[i], ci.GetMaxValues()[i]
	if loose {
		if len(gotLo) > 64 || len(gotHi) > 64 || less(typ, lo, gotLo) || less(typ, gotHi, hi) {
			t.Errorf("%s: bounds [%q, %q] do not hold the page's [%q, %q]", where(), gotLo, gotHi, lo, hi)
		}
		return len(lo) <= 64 && !bytes.Equal(gotLo, lo) || len(hi) <= 64 && !bytes.Equal(gotHi, hi)
	}
	// Long strings are truncated: the bound is a prefix of the minimum, and
	// not below the maximum; short ones are exact.
	if len(lo) <= 64 && !bytes.Equal(gotLo, lo) || len(lo) > 64 && !bytes.HasPrefix(lo, gotLo) || len(gotLo) > 64 {
		t.Errorf("%s: min %q, want %q", where(), gotLo, lo)
	}
	if len(hi) <= 64 && !bytes.Equal(gotHi, hi) || len(hi) > 64 && (bytes.Compare(gotHi, hi) < 0 || len(gotHi) > 64) {
		t.Errorf("%s: max %q, want %q", where(), gotHi, hi)
	}
	return false
}

func less(typ parquet.Type, a, b []byte) bool {
	if typ == parquet.Types.Int64 {
		return int64(binary.LittleEndian.Uint64(a)) < int64(binary.LittleEndian.Uint64(b))
	}
	return bytes.Compare(a, b) < 0
}
