package pqfile

import (
	"bytes"
	"cmp"

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
// Run.CompareContent is its content part on the rows of a staging file.

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
