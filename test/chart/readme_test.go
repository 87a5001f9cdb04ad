package chart

import (
	"os/exec"
	"testing"
)

// The chart README's values table is what hack/chartdocs makes of
// values.yaml now.
func TestReadmeValuesTableIsFresh(t *testing.T) {
	cmd := exec.Command("go", "run", "./hack/chartdocs", "-check")
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go run ./hack/chartdocs -check: %v\n%s", err, out)
	}
}
