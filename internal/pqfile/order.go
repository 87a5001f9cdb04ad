package pqfile

import (
	"bytes"
	"cmp"

	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/record"
)

// The order of rows is total: by eventtime, then eventid (a row without
// one first), and rows equal on both by their content, column by column in
// the schema's order:
//
//   - a null before any value;
//   - times as numbers, booleans false before true, strings and JSON text
//     as byte strings;
//   - lists element by element (a null element before a value), a null
//     list before an empty one, a list before the longer lists it begins.
//
// Rows that compare equal are the same row. So the order of a set of rows
// does not depend on how they were cut into batches and files, and the
// first of the copies of an event in it (the one the merge keeps) is the
// same whatever the layout. Batch.Sort is this order on a batch's rows;
// CompareRows is its content part on rows read from a Parquet file of the
// batch's schema.

// compareContent compares rows x and y of the batch column by column; it
// is the tie-break of rows equal on (eventtime, eventid).
func (b *Batch) compareContent(x, y int32) int {
	for ci := range b.s.Columns {
		c := &b.s.Columns[ci]
		var r int
		switch c.Kind {
		case record.TimeUTC:
			r = cmp.Compare(b.time[x], b.time[y])
		case record.TimeLocal:
			r = cmp.Compare(b.local[x], b.local[y])
		case record.StringList:
			r = b.lists[c.Field-record.FieldResourcesARN].compare(x, y)
		case record.Bool:
			r = compareBools(&b.cols[ci], x, y)
		default: // strings and JSON text; every other column has a cell too
			r = compareCells(&b.cols[ci], x, y)
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

// compareCells compares the cells of rows x and y, a null first.
func compareCells(c *colBuf, x, y int32) int {
	vx, okx := c.get(x)
	vy, oky := c.get(y)
	if okx != oky {
		return nullFirst(okx)
	}
	return bytes.Compare(vx, vy)
}

// compareBools compares boolean cells the way they are written: a value
// starting with 't' is true.
func compareBools(c *colBuf, x, y int32) int {
	vx, okx := c.get(x)
	vy, oky := c.get(y)
	if okx != oky {
		return nullFirst(okx)
	}
	tx := len(vx) > 0 && vx[0] == 't'
	ty := len(vy) > 0 && vy[0] == 't'
	if tx == ty {
		return 0
	}
	return nullFirst(tx) // false first
}

// nullFirst orders two cells of which one is null: x's is valid or not.
func nullFirst(xValid bool) int {
	if xValid {
		return 1
	}
	return -1
}

// compare compares the lists of rows x and y.
func (l *listBuf) compare(x, y int32) int {
	nx, ny := l.count[x], l.count[y]
	if nx < 0 || ny < 0 {
		return cmp.Compare(nx, ny) // a null list (-1) first
	}
	fx, fy := l.first[x], l.first[y]
	for k := int32(0); k < min(nx, ny); k++ {
		if r := compareCells(&l.elems, fx+k, fy+k); r != 0 {
			return r
		}
	}
	return cmp.Compare(nx, ny)
}

// CompareRows compares two rows read from Parquet files of a batch schema
// (values in column order, as parquet-go reads them) by their content, in
// the order above. It is the tie-break of rows equal on (eventtime,
// eventid), which callers compare first.
//
// A value's definition level says what it is: for an optional column 0 is
// null and 1 a value; for a list 0 is a null list, 1 an empty one, 2 a null
// element and 3 an element. Comparing the levels first, then the values,
// value by value, is the content order; where one row's list ends before
// the other's, its next value belongs to a later column.
func CompareRows(a, b parquet.Row) int {
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
