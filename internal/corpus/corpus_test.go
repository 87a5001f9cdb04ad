package corpus

import (
	"os"
	"testing"
)

func TestCorpusIsInTheRepository(t *testing.T) {
	for _, p := range []string{"README.md", "records", "edge", "layout", "digest", "licenses"} {
		if _, err := os.Stat(Path(p)); err != nil {
			t.Errorf("corpus: %v", err)
		}
	}
}
