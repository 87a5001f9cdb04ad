//go:build libdeflate && cgo

package scan

/*
#cgo LDFLAGS: -l:libdeflate.a
#include <stdlib.h>
#include <libdeflate.h>
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"unsafe"
)

// Inflater names the gzip decompressor of this build.
const Inflater = "libdeflate"

// Objects up to these sizes (gzip, and the content its trailer gives) are
// inflated whole by libdeflate, about twice as fast as a stream; larger
// ones, and anything libdeflate refuses, are streamed (which also names
// the position of a fault).
const (
	wholeIn  = 4 << 20
	wholeOut = 16 << 20
)

type inflater struct {
	d       *C.struct_libdeflate_decompressor
	in, out []byte
}

func newInflater() *inflater {
	f := &inflater{d: C.libdeflate_alloc_decompressor()}
	if f.d == nil {
		return nil
	}
	d := f.d
	runtime.AddCleanup(f, func(d *C.struct_libdeflate_decompressor) { C.libdeflate_free_decompressor(d) }, d)
	return f
}

// whole inflates the gzip stream src in one call when it is small enough:
// it returns a reader of the content, or nil and a reader that yields src
// from its start for streaming.
func (g *Gunzip) whole(src io.Reader) (io.Reader, io.Reader, error) {
	if g.lib == nil {
		if g.lib = newInflater(); g.lib == nil {
			return nil, src, nil
		}
	}
	f := g.lib
	in := f.in[:0]
	for idle := 0; len(in) <= wholeIn; {
		if len(in) == cap(in) {
			in = append(in, 0)[:len(in)]
		}
		n, err := src.Read(in[len(in):cap(in)])
		in = in[:len(in)+n]
		if err == io.EOF {
			break
		}
		if n == 0 && err == nil {
			if idle++; idle == 100 {
				err = io.ErrNoProgress
			}
		} else {
			idle = 0
		}
		if err != nil {
			f.in = in[:0]
			return nil, nil, err
		}
	}
	f.in = in[:0]
	if len(in) > wholeIn || len(in) < 18 {
		return nil, io.MultiReader(bytes.NewReader(in), src), nil
	}
	size := int(binary.LittleEndian.Uint32(in[len(in)-4:]))
	if size > wholeOut {
		return nil, bytes.NewReader(in), nil
	}
	out := f.out[:0]
	if cap(out) < max(size, 1) {
		out = make([]byte, 0, max(size, 1))
	}
	f.out = out
	var inN, outN C.size_t
	res := C.libdeflate_gzip_decompress_ex(f.d, unsafe.Pointer(&in[0]), C.size_t(len(in)),
		unsafe.Pointer(&out[:1][0]), C.size_t(cap(out)), &inN, &outN)
	if res != C.LIBDEFLATE_SUCCESS || int(inN) != len(in) || int(outN) != size {
		// Damaged, several members, or a size the trailer does not give:
		// the stream decompressor reads it and names any fault.
		return nil, bytes.NewReader(in), nil
	}
	return bytes.NewReader(out[:size]), nil, nil
}
