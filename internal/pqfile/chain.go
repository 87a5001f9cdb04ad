package pqfile

import "sync"

// A chain's first block is small, for the many chunks of mostly-null or
// repetitive columns that hold a few kilobytes; the next ones are large.
const (
	firstBlock = 16 << 10
	chainBlock = 256 << 10
)

var (
	firstBlocks = sync.Pool{New: func() any { b := make([]byte, 0, firstBlock); return &b }}
	chainBlocks = sync.Pool{New: func() any { b := make([]byte, 0, chainBlock); return &b }}
)

// chain holds a column chunk's encoded pages until its row group is
// written: bytes appended to pooled blocks, so that a growing chunk is
// never copied into a bigger buffer (a doubling slice copies and zeroes
// every chunk of every row group about twice) and its memory goes back to
// the pool when the row group is out.
type chain struct {
	blocks []*[]byte
	n      int
}

// Len is the number of bytes held.
func (c *chain) Len() int { return c.n }

// append adds p's bytes, spanning blocks where it must.
func (c *chain) append(p []byte) {
	c.n += len(p)
	for len(p) > 0 {
		k := len(c.blocks)
		if k == 0 {
			c.blocks = append(c.blocks, firstBlocks.Get().(*[]byte))
			k++
		} else if len(*c.blocks[k-1]) == cap(*c.blocks[k-1]) {
			c.blocks = append(c.blocks, chainBlocks.Get().(*[]byte))
			k++
		}
		b := c.blocks[k-1]
		m := min(len(p), cap(*b)-len(*b))
		*b = append(*b, p[:m]...)
		p = p[m:]
	}
}

// each calls fn with the held bytes in order, stopping at its first error.
func (c *chain) each(fn func([]byte) error) error {
	for _, b := range c.blocks {
		if err := fn(*b); err != nil {
			return err
		}
	}
	return nil
}

// reset empties the chain, giving its blocks back to the pool.
func (c *chain) reset() {
	for i, b := range c.blocks {
		*b = (*b)[:0]
		if i == 0 {
			firstBlocks.Put(b)
		} else {
			chainBlocks.Put(b)
		}
		c.blocks[i] = nil
	}
	c.blocks, c.n = c.blocks[:0], 0
}
