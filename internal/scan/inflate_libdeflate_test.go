//go:build libdeflate && cgo

package scan

import (
	"bytes"
	"testing"
)

// TestWholeInflate: the libdeflate build inflates an object of modest size
// in one call and streams those over its bounds.
func TestWholeInflate(t *testing.T) {
	var g Gunzip
	small := gzipped(t, []byte(`{"Records":[]}`))
	if out, _, err := g.whole(bytes.NewReader(small)); out == nil || err != nil {
		t.Fatalf("a small object was not inflated whole: %v", err)
	}
	big := gzipped(t, make([]byte, wholeOut+1))
	if out, next, err := g.whole(bytes.NewReader(big)); out != nil || next == nil || err != nil {
		t.Fatalf("an object over %d bytes was inflated whole (%v)", wholeOut, err)
	}
}
