package pqfile_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// BenchmarkScanEncode measures scanning plus sorting and encoding row
// groups (zstd) on one goroutine.
func BenchmarkScanEncode(b *testing.B) {
	doc := flattentest.BenchDoc(b)
	for _, set := range []string{record.Seed, record.Full} {
		for _, codec := range []string{"zstd", "snappy", "none"} {
			b.Run(set+"/"+codec, func(b *testing.B) {
				s, _ := record.NewSchema(set, "")
				b.SetBytes(int64(len(doc)))
				var r scan.Reader
				var row record.Row
				batch := pqfile.NewBatch(s, 32<<20)
				var counter countWriter
				defer perCPU(b, len(doc))()
				for i := 0; i < b.N; i++ {
					w, _ := pqfile.NewFileWriter(&counter, s, codec, nil)
					r.Reset(bytes.NewReader(doc), s, scan.ReaderOptions{})
					for {
						if err := r.Next(&row); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
						batch.Append(&row)
					}
					if err := w.WriteBatch(batch, false, 1); err != nil {
						b.Fatal(err)
					}
					batch.Reset()
					w.Close()
				}
				b.ReportMetric(float64(counter.n)/float64(b.N)/1e6, "MB-out")
			})
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

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
