package pqfile_test

import (
	"testing"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/record"
)

// BenchmarkSort sorts a batch of generated records (full columns): "once"
// as scanned, "twice" with every record appended twice, so that every row
// has an identical copy (CloudTrail's repeated deliveries) to compare with.
func BenchmarkSort(b *testing.B) {
	doc := flattentest.BenchDoc(b)
	s, _ := record.NewSchema(record.Full, "")
	for _, v := range []struct {
		name   string
		copies int
	}{{"once", 1}, {"twice", 2}} {
		b.Run(v.name, func(b *testing.B) {
			batch := docBatch(b, doc, s, v.copies)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch.Sort()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch.Len()), "ns/row")
		})
	}
}
