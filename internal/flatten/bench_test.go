package flatten_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
)

// BenchmarkShard flattens a shard of 20 gzipped objects of generated
// records (about 50 MB of JSON). Besides wall-clock MB/s it reports MB of
// JSON per CPU-second ("MB/cpu-s"), the throughput per core.
func BenchmarkShard(b *testing.B) {
	g := gen(b)
	st := flattentest.NewMemStore()
	var sh plan.Shard
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("o/%02d.json.gz", i)
		st.Put(key, flattentest.Gzip(g.Doc(2000, badDay.Start, 24*time.Hour)))
		sh.Objects = append(sh.Objects, st.Object(key))
	}
	for _, set := range []string{record.Seed, record.Full} {
		b.Run(set, func(b *testing.B) {
			var jsonBytes int64
			cpu0 := flattentest.CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst := flattentest.NewMemStore()
				res, err := flatten.Shard(context.Background(), st, sh, dst, "p", flatten.Options{Day: badDay, Columns: set})
				if err != nil {
					b.Fatal(err)
				}
				jsonBytes += res.JSONBytes
				if i == 0 {
					b.SetBytes(res.JSONBytes)
				}
			}
			cpu := flattentest.CPUTime() - cpu0
			b.ReportMetric(float64(jsonBytes)/1e6/cpu.Seconds(), "MB/cpu-s")
		})
	}
}
