package pqfile_test

import (
	"bytes"
	"testing"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// BenchmarkEncode writes the benchmark document's rows (seed columns, one
// batch) as a staging part (snappy, staging pages) and as a day's file
// (zstd, default pages) on one goroutine: the two encodes every row goes
// through.
//
//	go test -run '^$' -bench Encode ./internal/pqfile/
func BenchmarkEncode(b *testing.B) {
	doc := flattentest.BenchDoc(b)
	s, err := record.NewSchema(record.Seed, "eventtime_kst")
	if err != nil {
		b.Fatal(err)
	}
	// In (eventtime, eventid) order as added, as the merge's batches are,
	// so that every write encodes the rows in the order a sort gives.
	batch := sortedParts(b, s, docBatch(b, doc, s, 1), 1)[0]
	for _, c := range []struct {
		name, codec string
		pages       pqfile.PageOptions
	}{{"part", pqfile.Snappy, pqfile.StagingPages}, {"day", pqfile.Zstd, pqfile.PageOptions{}}} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < b.N; i++ {
				buf.Reset()
				w, err := pqfile.NewFileWriter(&buf, s, c.codec, nil)
				if err != nil {
					b.Fatal(err)
				}
				w.SetPageOptions(c.pages)
				if err := w.WriteBatch(batch, true, 1); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/1e6, "MB")
			b.ReportMetric(float64(batch.Len()), "rows")
		})
	}
}
