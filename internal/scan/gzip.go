package scan

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Gunzip opens objects that may be gzipped: one that starts with the gzip
// magic is inflated, any other is read as it is. Its decompressor is reused
// from object to object. The zero value is ready to use.
type Gunzip struct {
	zr  *gzip.Reader
	lib *inflater // the libdeflate build's whole-object decompressor
}

// Open returns a reader of src's content: inflated when src starts with the
// gzip magic, src's own bytes otherwise. A read error of src while looking
// at its first bytes is returned as it is; a bad gzip header is returned
// wrapped as "gzip: ...".
func (g *Gunzip) Open(src io.Reader) (io.Reader, error) {
	head, gzipped, err := sniffGzip(src)
	if err != nil || !gzipped {
		return head, err
	}
	out, head, err := g.whole(head)
	if out != nil || err != nil {
		return out, err
	}
	if g.zr == nil {
		g.zr, err = gzip.NewReader(head)
	} else {
		err = g.zr.Reset(head)
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return g.zr, nil
}

// sniffGzip reads src's first two bytes and reports whether they are the
// gzip magic (1f 8b). The reader it returns yields all of src again, those
// bytes included. A source shorter than two bytes is not gzipped.
func sniffGzip(src io.Reader) (io.Reader, bool, error) {
	var magic [2]byte
	n, err := io.ReadFull(src, magic[:])
	head := io.MultiReader(bytes.NewReader(magic[:n]), src)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return head, false, err
	}
	return head, n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, nil
}
