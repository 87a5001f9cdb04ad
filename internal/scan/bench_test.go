package scan_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// BenchmarkScan measures the scanner alone (no decompression, no encoding).
func BenchmarkScan(b *testing.B) {
	doc := flattentest.BenchDoc(b)
	for _, set := range []string{record.Seed, record.Full} {
		b.Run(set, func(b *testing.B) {
			s, _ := record.NewSchema(set, "")
			b.SetBytes(int64(len(doc)))
			var r scan.Reader
			var row record.Row
			defer perCPU(b, len(doc))()
			for i := 0; i < b.N; i++ {
				r.Reset(bytes.NewReader(doc), s, scan.ReaderOptions{})
				for {
					if err := r.Next(&row); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// perCPU reports MB of JSON per CPU-second (the throughput of one core,
// whatever else runs on the machine); call the result when done.
func perCPU(b *testing.B, docBytes int) func() {
	b.ResetTimer()
	cpu0 := flattentest.CPUTime()
	return func() {
		cpu := flattentest.CPUTime() - cpu0
		b.ReportMetric(float64(docBytes)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
