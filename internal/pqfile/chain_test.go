package pqfile

import (
	"bytes"
	"errors"
	"testing"
)

func TestChainKeepsBytesAcrossBlocks(t *testing.T) {
	var c chain
	var want []byte
	// Appends that end exactly at a block's end, span several blocks, and
	// are empty.
	for i, n := range []int{firstBlock - 10, 10, 0, 3*chainBlock + 7, 1, chainBlock} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		c.append(p)
		want = append(want, p...)
		if c.Len() != len(want) {
			t.Fatalf("after %d appends Len = %d, want %d", i+1, c.Len(), len(want))
		}
	}
	var got []byte
	if err := c.each(func(p []byte) error { got = append(got, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("chain gave %d bytes back, not the %d appended in order", len(got), len(want))
	}
	stop := errors.New("stop")
	calls := 0
	if err := c.each(func([]byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("each went on after an error: %d calls, %v", calls, err)
	}
	c.reset()
	if c.Len() != 0 || len(c.blocks) != 0 {
		t.Fatalf("reset chain holds %d bytes in %d blocks", c.Len(), len(c.blocks))
	}
	c.append([]byte("again"))
	got = got[:0]
	_ = c.each(func(p []byte) error { got = append(got, p...); return nil })
	if string(got) != "again" {
		t.Fatalf("a reused chain gave %q", got)
	}
}
