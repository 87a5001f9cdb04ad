package pqfile_test

import (
	"bytes"
	"cmp"
	"math/rand"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// tieRow is a record of the order test: an eventtime (seconds past t0), an
// eventid (nil for none) and a few other cells.
type tieRow struct {
	sec       int64
	id        []byte
	region    []byte
	name      []byte
	readOnly  []byte
	extra     []byte   // additionaleventdata, the first column
	unmapped  []byte   // the last column
	resources [][]byte // ARNs; nil elements are null; see hasRes
	hasRes    bool
}

func (r tieRow) row(t0 int64) *record.Row {
	var row record.Row
	row.Reset()
	row.Time = t0 + r.sec*1000
	row.Local = row.Time + 9*3600*1000
	row.SetValue(record.FieldEventID, r.id)
	row.SetValue(record.FieldAWSRegion, r.region)
	row.SetValue(record.FieldEventName, r.name)
	row.SetValue(record.FieldReadOnly, r.readOnly)
	row.SetValue(record.FieldAdditionalEventData, r.extra)
	row.SetValue(record.FieldUnmapped, r.unmapped)
	if r.hasRes {
		row.StartResources()
		for _, arn := range r.resources {
			row.AppendResource([3][]byte{arn, nil, []byte("AWS::S3::Bucket")})
		}
	}
	return &row
}

func b(s string) []byte { return []byte(s) }

// orderedRows are rows in the documented order: by eventtime, eventid (none
// first), then, for equal (eventtime, eventid), column by column with a
// null before any value, false before true and a list before the longer
// lists it begins. Each group of one eventid varies one thing.
func orderedRows() []tieRow {
	return []tieRow{
		{sec: -1, id: b("z"), name: b("Earlier")},
		// No eventid: before every eventid, ordered by content.
		{sec: 0, name: b("A")},
		{sec: 0, name: b("B")},
		{sec: 0, id: b(""), name: b("A")},
		// A string column: null, empty, values.
		{sec: 0, id: b("a"), name: b("Same")},
		{sec: 0, id: b("a"), name: b("Same"), region: b("")},
		{sec: 0, id: b("a"), name: b("Same"), region: b("eu-west-1")},
		{sec: 0, id: b("a"), name: b("Same"), region: b("us-east-1")},
		// A boolean column.
		{sec: 0, id: b("b"), readOnly: nil},
		{sec: 0, id: b("b"), readOnly: b("false")},
		{sec: 0, id: b("b"), readOnly: b("true")},
		// A list column: null, empty, a null element, elements.
		{sec: 0, id: b("c")},
		{sec: 0, id: b("c"), hasRes: true},
		{sec: 0, id: b("c"), hasRes: true, resources: [][]byte{nil}},
		{sec: 0, id: b("c"), hasRes: true, resources: [][]byte{b("arn:a")}},
		{sec: 0, id: b("c"), hasRes: true, resources: [][]byte{b("arn:a"), b("arn:b")}},
		{sec: 0, id: b("c"), hasRes: true, resources: [][]byte{b("arn:b")}},
		// The first column decides before the last.
		{sec: 0, id: b("d"), unmapped: b(`{"x":1}`)},
		{sec: 0, id: b("d"), extra: b(`{}`)},
		// Identical copies stay side by side.
		{sec: 0, id: b("e"), name: b("Copy"), extra: b(`{"k":"v"}`)},
		{sec: 0, id: b("e"), name: b("Copy"), extra: b(`{"k":"v"}`)},
		{sec: 0, id: b("e"), name: b("Copy"), extra: b(`{"k":"w"}`)},
		{sec: 1, id: b("a"), name: b("Later")},
	}
}

// writeRows writes rows as one row group, sorted by Batch.Sort or in the
// order given, and reads them back.
func writeRows(t *testing.T, s *record.Schema, rows []tieRow, sort bool) []parquet.Row {
	t.Helper()
	const t0 = 1_700_000_000_000
	batch := pqfile.NewBatch(s, 1<<20)
	for _, r := range rows {
		batch.Append(r.row(t0))
	}
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(batch, !sort, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return readRows(t, buf.Bytes())
}

// readRows reads every row of a Parquet file, in order.
func readRows(t *testing.T, data []byte) []parquet.Row {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []parquet.Row
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 16)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				out = append(out, r.Clone())
			}
			if err != nil {
				break
			}
		}
		rows.Close()
	}
	return out
}

// TestSortTies: Batch.Sort puts rows in the documented order whatever the
// order they were appended in, and compareRows agrees with it on rows read
// back from Parquet.
func TestSortTies(t *testing.T) {
	for _, set := range []string{record.Full, record.Seed} {
		t.Run(set, func(t *testing.T) {
			s, err := record.NewSchema(set, "")
			if err != nil {
				t.Fatal(err)
			}
			ordered := orderedRows()
			if set == record.Seed {
				// The seed set has no unmapped column.
				ordered = slicesWithout(ordered, func(r tieRow) bool { return r.unmapped != nil })
			}
			want := writeRows(t, s, ordered, false)
			if len(want) != len(ordered) {
				t.Fatalf("read %d rows back, wrote %d", len(want), len(ordered))
			}
			rng := rand.New(rand.NewSource(1))
			for round := 0; round < 30; round++ {
				shuffled := append([]tieRow(nil), ordered...)
				if round == 1 {
					for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
						shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
					}
				} else if round > 1 {
					rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				}
				got := writeRows(t, s, shuffled, true)
				for i := range want {
					if !got[i].Equal(want[i]) {
						t.Fatalf("round %d: row %d is %v, want %v", round, i, got[i], want[i])
					}
				}
			}

			// compareRows on rows that Batch.Sort ranks by content (equal on
			// eventtime and eventid): strictly increasing, zero for copies.
			timeCol, idCol := s.Index("eventtime"), s.Index("eventid")
			sameKey := func(x, y parquet.Row) bool {
				return x[timeCol].Int64() == y[timeCol].Int64() && x[idCol].IsNull() == y[idCol].IsNull() &&
					bytes.Equal(x[idCol].ByteArray(), y[idCol].ByteArray())
			}
			ties := 0
			for i := range want {
				for j := i + 1; j < len(want); j++ {
					if !sameKey(want[i], want[j]) {
						continue
					}
					ties++
					c, back := compareRows(want[i], want[j]), compareRows(want[j], want[i])
					switch {
					case want[i].Equal(want[j]):
						if c != 0 || back != 0 {
							t.Errorf("rows %d and %d are copies, compareRows says %d and %d", i, j, c, back)
						}
					case c >= 0 || back <= 0:
						t.Errorf("rows %d < %d in the sort, compareRows says %d (and %d reversed):\n%v\n%v", i, j, c, back, want[i], want[j])
					}
				}
			}
			if ties < 20 {
				t.Fatalf("only %d pairs of rows share (eventtime, eventid); the test would prove little", ties)
			}
		})
	}
}

func slicesWithout(rows []tieRow, drop func(tieRow) bool) []tieRow {
	var out []tieRow
	for _, r := range rows {
		if !drop(r) {
			out = append(out, r)
		}
	}
	return out
}

// TestSortTiesThroughBatches: rows read from Parquet into a batch
// (Batch.AppendRun, as the merge's output does) keep their order when the
// batch is sorted again, and a batch sorted from rows read back in reverse
// gives the same rows: the order survives the round trip the merge's
// intermediate files take.
func TestSortTiesThroughBatches(t *testing.T) {
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	ordered := orderedRows()
	want := writeRows(t, s, ordered, false)
	// One row group per row, read back last first.
	one := rowGroupEach(t, s, ordered, pqfile.PageOptions{})
	pf, err := parquet.OpenFile(bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	batch := pqfile.NewBatch(s, 1<<20)
	for g := len(ordered) - 1; g >= 0; g-- {
		r, err := pqfile.OpenRun(bytes.NewReader(one), pf.Metadata(), g, s, "rows.parquet")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := r.Next(); !ok || err != nil {
			t.Fatalf("row group %d: %v %v", g, ok, err)
		}
		batch.AppendRun(r)
	}
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(batch, false, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readRows(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("row %d is %v, want %v", i, got[i], want[i])
		}
	}
}

// rowGroupEach writes rows in order, one row group each, with page options o.
func rowGroupEach(t *testing.T, s *record.Schema, rows []tieRow, o pqfile.PageOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, s, pqfile.Snappy, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.SetPageOptions(o)
	for _, r := range rows {
		b := pqfile.NewBatch(s, 1<<10)
		b.Append(r.row(1_700_000_000_000))
		if err := w.WriteBatch(b, true, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compareRows compares two rows read from Parquet files of a batch schema
// (values in column order, as parquet-go reads them) by their content, in
// the order above. It is the tie-break of rows equal on (eventtime,
// eventid), which callers compare first.
//
// A value's definition level says what it is: for an optional column 0 is
// null and 1 a value; for a list 0 is a null list, 1 an empty one, 2 a null
// element and 3 an element. Comparing the levels first, then the values,
// value by value, is the content order; where one row's list ends before
// the other's, its next value belongs to a later column.
func compareRows(a, b parquet.Row) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		va, vb := &a[i], &b[i]
		if ca, cb := va.Column(), vb.Column(); ca != cb {
			return cmp.Compare(cb, ca) // a's list ended first when ca > cb
		}
		if r := cmp.Compare(va.DefinitionLevel(), vb.DefinitionLevel()); r != 0 {
			return r
		}
		if r := compareValues(va, vb); r != 0 {
			return r
		}
	}
	return cmp.Compare(len(a), len(b))
}

// compareValues compares two values of one column at the same definition
// level (both null or neither).
func compareValues(a, b *parquet.Value) int {
	if a.IsNull() || b.IsNull() {
		return cmp.Compare(nullRank(a), nullRank(b))
	}
	ka, kb := a.Kind(), b.Kind()
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case parquet.Boolean:
		x, y := a.Boolean(), b.Boolean()
		if x == y {
			return 0
		}
		if x {
			return 1
		}
		return -1
	case parquet.Int32:
		return cmp.Compare(a.Int32(), b.Int32())
	case parquet.Int64:
		return cmp.Compare(a.Int64(), b.Int64())
	case parquet.Float:
		return cmp.Compare(a.Float(), b.Float())
	case parquet.Double:
		return cmp.Compare(a.Double(), b.Double())
	}
	return bytes.Compare(a.Bytes(), b.Bytes())
}

func nullRank(v *parquet.Value) int {
	if v.IsNull() {
		return 0
	}
	return 1
}
