package merge

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/record"
)

// TestMaxRuns: the runs read at once fit the readers' budget, fewer with
// more columns (docs/limits.md quotes these figures).
func TestMaxRuns(t *testing.T) {
	got := map[string]int{}
	for _, set := range []string{record.Full, record.Seed} {
		s, err := record.NewSchema(set, "")
		if err != nil {
			t.Fatal(err)
		}
		got[set] = maxRuns(s)
		if n := got[set] * len(s.Columns) * columnCost; n > runBudget {
			t.Errorf("%s: %d runs take %d bytes, over the %d budget", set, got[set], n, runBudget)
		}
	}
	if diff := cmp.Diff(map[string]int{record.Full: 39, record.Seed: 64}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
