package pqfile_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// randomRows fills rows of every kind of cell a batch holds: nulls, empty
// strings, repeated values (dictionary pages), unique ones (PLAIN pages),
// values larger than a page, booleans, and lists that are null, empty,
// with null elements or long.
func randomRows(s *record.Schema, n int, seed int64) []*record.Row {
	rng := rand.New(rand.NewSource(seed))
	pick := func(k int) []byte {
		switch r := rng.Intn(20); {
		case r < 4:
			return nil
		case r == 4:
			return []byte{}
		case r < 14:
			return []byte(fmt.Sprintf("common-%d", rng.Intn(k)))
		case r == 19 && rng.Intn(50) == 0:
			return bytes.Repeat([]byte("x"), 40<<10) // larger than a staging page
		default:
			return []byte(fmt.Sprintf("unique-%d-%x", rng.Int63(), rng.Int63()))
		}
	}
	rows := make([]*record.Row, n)
	const t0 = 1_700_000_000_000
	for i := range rows {
		row := new(record.Row)
		row.Reset()
		row.Time = t0 + rng.Int63n(3_600_000)
		row.Local = row.Time + 9*3600*1000
		for _, c := range s.Columns {
			switch c.Kind {
			case record.String, record.JSON:
				row.SetValue(c.Field, pick(8))
			case record.Bool:
				row.SetValue(c.Field, [][]byte{nil, []byte("true"), []byte("false")}[rng.Intn(3)])
			}
		}
		if rng.Intn(3) > 0 {
			row.StartResources()
			for range rng.Intn(6) {
				row.AppendResource([3][]byte{pick(5), pick(3), pick(2)})
			}
		}
		rows[i] = row
	}
	return rows
}

// writeFile writes rows as Parquet with schema s, in row groups of
// perGroup rows made of batches of perBatch rows, with page options o.
func writeFile(t *testing.T, s *record.Schema, rows []*record.Row, compression string, o pqfile.PageOptions, perGroup, perBatch int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, compression, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.SetPageOptions(o)
	for g := 0; g < len(rows); g += perGroup {
		group := rows[g:min(g+perGroup, len(rows))]
		for k := 0; k < len(group); k += perBatch {
			batch := pqfile.NewBatch(s, 1<<20)
			for _, r := range group[k:min(k+perBatch, len(group))] {
				batch.Append(r)
			}
			// Sorted per batch: a row group of several batches is then a
			// set of sorted stretches, which the reader does not mind.
			if err := w.AppendBatch(batch, false, 2); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.EndRowGroup(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readRuns reads every row group of data with pqfile.Run, from row start
// of each, into one batch, and writes it out as a file of one row group in
// the order read.
func readRuns(t *testing.T, s *record.Schema, data []byte, start int64, index bool) ([]byte, int) {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := pf.Metadata()
	out := pqfile.NewBatch(s, 1<<20)
	for g := range md.RowGroups {
		r, err := pqfile.OpenRun(bytes.NewReader(data), md, g, s, "test.parquet")
		if err != nil {
			t.Fatal(err)
		}
		if start > 0 {
			var oi []*format.OffsetIndex
			if index {
				if oi, err = pqfile.OffsetIndexes(bytes.NewReader(data), md, g); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.SeekRow(min(start, r.Rows()), oi); err != nil {
				t.Fatal(err)
			}
		}
		appendRest(t, out, r)
	}
	n := out.Len()
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, pqfile.None, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(out, true, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), n
}

// TestRunReadsWhatTheWriterWrote: every row of files of every shape the
// writer makes (both column sets, every codec, many small pages or a few
// large ones, dictionaries that fall back to PLAIN, row groups of several
// batches) comes back through pqfile.Run exactly as parquet-go reads it,
// from the start of each row group or from any row, with the offset index
// or without.
func TestRunReadsWhatTheWriterWrote(t *testing.T) {
	for _, set := range []string{record.Seed, record.Full} {
		s, err := record.NewSchema(set, "")
		if err != nil {
			t.Fatal(err)
		}
		rows := randomRows(s, 3000, 7)
		for _, c := range []struct {
			name        string
			compression string
			pages       pqfile.PageOptions
			group       int
		}{
			{"staging pages, snappy", pqfile.Snappy, pqfile.StagingPages, 1200},
			{"default pages, zstd", pqfile.Zstd, pqfile.PageOptions{}, 3000},
			{"tiny pages and dictionaries, none", pqfile.None, pqfile.PageOptions{PageBytes: 512, DictBytes: 300, PageRows: 7}, 1000},
			{"no dictionaries, gzip", pqfile.Gzip, pqfile.PageOptions{PageBytes: 4096, DictBytes: -1}, 3000},
		} {
			t.Run(set+"/"+c.name, func(t *testing.T) {
				data := writeFile(t, s, rows, c.compression, c.pages, c.group, 500)
				want := readRows(t, data)
				got, n := readRuns(t, s, data, 0, false)
				if n != len(rows) {
					t.Fatalf("read %d rows, wrote %d", n, len(rows))
				}
				equalRows(t, readRows(t, got), want, 0)
				for _, start := range []int64{1, 499, 500, 777, 1199} {
					for _, index := range []bool{true, false} {
						got, _ := readRuns(t, s, data, start, index)
						// Row groups of `group` rows: rows [start, group) of each.
						var tail []parquet.Row
						for g := 0; g < len(want); g += c.group {
							tail = append(tail, want[min(g+int(start), g+c.group, len(want)):min(g+c.group, len(want))]...)
						}
						equalRows(t, readRows(t, got), tail, start)
					}
				}
			})
		}
	}
}

func equalRows(t *testing.T, got, want []parquet.Row, start int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("from row %d: %d rows, want %d", start, len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("from row %d: row %d is\n%v\nwant\n%v", start, i, got[i], want[i])
		}
	}
}

// TestRunCompareContent: Run.CompareContent orders rows as Batch.Sort and
// CompareRows do.
func TestRunCompareContent(t *testing.T) {
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	ordered := orderedRows()
	// One row per row group, so that each is a Run of its own.
	data := rowGroupEach(t, s, ordered, pqfile.PageOptions{PageBytes: 64, PageRows: 3, DictBytes: 256})
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := readRows(t, data)
	runs := make([]*pqfile.Run, len(ordered))
	for i := range runs {
		if runs[i], err = pqfile.OpenRun(bytes.NewReader(data), pf.Metadata(), i, s, "ties.parquet"); err != nil {
			t.Fatal(err)
		}
		if ok, err := runs[i].Next(); !ok || err != nil {
			t.Fatalf("run %d: %v %v", i, ok, err)
		}
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	pairs := 0
	for i := range runs {
		for j := range runs {
			if runs[i].Time() != runs[j].Time() {
				continue
			}
			idi, oki := runs[i].ID()
			idj, okj := runs[j].ID()
			if oki != okj || !bytes.Equal(idi, idj) {
				continue
			}
			pairs++
			if got, want := sign(runs[i].CompareContent(runs[j])), sign(compareRows(want[i], want[j])); got != want {
				t.Errorf("rows %d and %d: CompareContent %d, CompareRows %d", i, j, got, want)
			}
			if i < j && runs[i].CompareContent(runs[j]) > 0 {
				t.Errorf("rows %d < %d in the order, CompareContent says greater", i, j)
			}
		}
	}
	if pairs < 40 {
		t.Fatalf("only %d pairs share (eventtime, eventid)", pairs)
	}
}

// TestRunRefusesOtherWriters: a file with pages this writer does not write
// (parquet-go's v2 data pages) is refused with the file and column named.
func TestRunRefusesOtherWriters(t *testing.T) {
	s, err := record.NewSchema(record.Seed, "")
	if err != nil {
		t.Fatal(err)
	}
	data := writeFile(t, s, randomRows(s, 50, 1), pqfile.Snappy, pqfile.StagingPages, 50, 50)
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, parquet.NewSchema("cloudtrail", withDict(pf.Schema(), nil, nil)), parquet.DataPageVersion(2))
	rows := readRows(t, data)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := pqfile.OpenRun(bytes.NewReader(buf.Bytes()), other.Metadata(), 0, s, "other.parquet")
	if err == nil {
		_, err = r.Next()
	}
	if err == nil || !strings.Contains(err.Error(), "other.parquet: column ") || !strings.Contains(err.Error(), "not one this writer uses") {
		t.Fatalf("a file of v2 pages: %v", err)
	}
}
