package merge_test

import (
	"context"
	"testing"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/record"
)

// BenchmarkMerge merges 8 parts of generated rows (each a few sorted row
// groups) and reports rows per second and per CPU-second.
func BenchmarkMerge(b *testing.B) {
	for _, set := range []string{record.Seed, record.Full} {
		b.Run(set, func(b *testing.B) {
			f := newFixture(b, 8, 2500, "bench", set)
			p := testPlan("bench", set)
			b.ResetTimer()
			cpu0 := flattentest.CPUTime()
			var rows int64
			for i := 0; i < b.N; i++ {
				m, err := merge.Day(context.Background(), f.st, p, f.parts, merge.Options{})
				if err != nil {
					b.Fatal(err)
				}
				rows += m.RowsIn
			}
			cpu := flattentest.CPUTime() - cpu0
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
		})
	}
}
