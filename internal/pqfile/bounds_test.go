package pqfile

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// The page bounds kept as prefixes are still bounds of every value: long
// values sharing long prefixes, multi-byte characters at the cut.
func TestBoundPrefixesBoundEveryValue(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "é", "가", "😀", "z"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	for trial := range 2000 {
		common := word(rnd.IntN(80))
		var vals [][]byte
		for range 1 + rnd.IntN(6) {
			vals = append(vals, []byte(common+word(rnd.IntN(60))))
		}
		lo, hi := append([]byte(nil), boundPrefix(vals[0])...), append([]byte(nil), boundPrefix(vals[0])...)
		for _, v := range vals[1:] {
			lo, hi = lower(lo, v), upper(hi, v)
		}
		minB, maxB := truncMin(lo), truncMax(hi)
		if len(minB) > indexValueBytes || len(maxB) > indexValueBytes+utf8MaxForTest {
			t.Fatalf("trial %d: bounds too long: %d, %d bytes", trial, len(minB), len(maxB))
		}
		for _, v := range vals {
			if bytes.Compare(minB, v) > 0 {
				t.Fatalf("trial %d: min %q > value %q", trial, minB, v)
			}
			if bytes.Compare(maxB, v) < 0 {
				t.Fatalf("trial %d: max %q < value %q", trial, maxB, v)
			}
		}
	}
}

const utf8MaxForTest = 4
