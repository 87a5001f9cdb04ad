package merge_test

import (
	"context"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// TestRunMemoryPerColumn measures what the merge's readers hold: over
// every row of parts flattened from the corpus' records, the largest
// memory of a pqfile.Run per column stays within the merge's columnCost,
// the figure that bounds the runs read at once (maxRuns).
func TestRunMemoryPerColumn(t *testing.T) {
	for _, set := range []string{record.Full, record.Seed} {
		t.Run(set, func(t *testing.T) {
			f := newFixture(t, 2, 6000, "mem", set)
			s, err := record.NewSchema(set, "eventtime_kst")
			if err != nil {
				t.Fatal(err)
			}
			worst, runs := 0, 0
			for _, key := range f.parts {
				file, err := f.st.OpenFile(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				pf, err := parquet.OpenFile(file, file.Size())
				if err != nil {
					t.Fatal(err)
				}
				for g := range pf.Metadata().RowGroups {
					r, err := pqfile.OpenRun(file, pf.Metadata(), g, s, key)
					if err != nil {
						t.Fatal(err)
					}
					runs++
					for {
						ok, err := r.Next()
						if err != nil {
							t.Fatal(err)
						}
						if !ok {
							break
						}
						worst = max(worst, r.Size())
					}
				}
				file.Close()
			}
			per := worst / len(s.Columns)
			t.Logf("%s: %d runs, at most %d bytes per run, %d per column (budget %d)", set, runs, worst, per, merge.ColumnCost)
			if runs < 4 {
				t.Fatalf("only %d runs: the measure means little", runs)
			}
			if per > merge.ColumnCost {
				t.Errorf("a run holds %d bytes per column, over the merge's budget of %d", per, merge.ColumnCost)
			}
		})
	}
}
