package pqfile_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// docBatch scans a CloudTrail document into a new batch of schema s, each
// record appended copies times.
func docBatch(tb testing.TB, doc []byte, s *record.Schema, copies int) *pqfile.Batch {
	tb.Helper()
	b := pqfile.NewBatch(s, 64<<20)
	r := scan.NewReader(bytes.NewReader(doc), s, scan.ReaderOptions{})
	var row record.Row
	for {
		if err := r.Next(&row); err == io.EOF {
			return b
		} else if err != nil {
			tb.Fatal(err)
		}
		for range copies {
			b.Append(&row)
		}
	}
}

// appendRest appends the rows of r from its position on to b.
func appendRest(tb testing.TB, b *pqfile.Batch, r *pqfile.Run) {
	tb.Helper()
	for {
		ok, err := r.Next()
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			return
		}
		b.AppendRun(r)
	}
}
