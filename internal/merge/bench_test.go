package merge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"

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

// BenchmarkDay runs a small day the way local mode does: shards flattened
// two at a time, then the merge; seed columns. It reports MB of JSON per
// second and per CPU-second for the whole.
func BenchmarkDay(b *testing.B) {
	root := flattentest.TestData()
	g, err := flattentest.NewGen(root, 5)
	if err != nil {
		b.Fatal(err)
	}
	src := flattentest.NewMemStore()
	const objects, perObject, shards = 48, 2000, 8
	var keys []string
	for i := 0; i < objects; i++ {
		k := fmt.Sprintf("o/%03d.json.gz", i)
		src.Put(k, flattentest.Gzip(g.Doc(perObject, day.Start.Add(-time.Hour), day.Length()+2*time.Hour)))
		keys = append(keys, k)
	}
	for _, v := range []struct{ name, set, parts string }{
		{"seed", record.Seed, ""}, {"full", record.Full, ""}, {"seed-zstd-parts", record.Seed, pqfile.Zstd},
	} {
		set := v.set
		b.Run(v.name, func(b *testing.B) {
			var jsonBytes int64
			var flattenCPU, mergeCPU time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst := flattentest.NewMemStore()
				p := testPlan("bench", set)
				parts := make([]string, shards)
				c0 := flattentest.CPUTime()
				var eg errgroup.Group
				eg.SetLimit(2)
				var mu sync.Mutex
				for s := 0; s < shards; s++ {
					sh := plan.Shard{Index: s}
					for _, k := range keys[s*objects/shards : (s+1)*objects/shards] {
						sh.Objects = append(sh.Objects, src.Object(k))
					}
					parts[s] = plan.PartKey(day.YMD(), "bench", s)
					eg.Go(func() error {
						res, err := flatten.Shard(context.Background(), src, sh, dst, parts[s], flatten.Options{Day: day, Columns: set, LocalTimeColumn: "eventtime_kst", Workers: 1, PartCompression: v.parts})
						if err == nil {
							mu.Lock()
							jsonBytes += res.JSONBytes
							mu.Unlock()
						}
						return err
					})
				}
				if err := eg.Wait(); err != nil {
					b.Fatal(err)
				}
				c1 := flattentest.CPUTime()
				if _, err := merge.Day(context.Background(), dst, p, parts, merge.Options{}); err != nil {
					b.Fatal(err)
				}
				c2 := flattentest.CPUTime()
				flattenCPU += c1 - c0
				mergeCPU += c2 - c1
			}
			b.ReportMetric(float64(jsonBytes)/1e6/b.Elapsed().Seconds(), "MB/s")
			b.ReportMetric(float64(jsonBytes)/1e6/(flattenCPU+mergeCPU).Seconds(), "MB/cpu-s")
			b.ReportMetric(float64(jsonBytes)/1e6/flattenCPU.Seconds(), "flatten-MB/cpu-s")
			b.ReportMetric(float64(jsonBytes)/1e6/mergeCPU.Seconds(), "merge-MB/cpu-s")
		})
	}
}
