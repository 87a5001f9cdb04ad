package record

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is a Parquet zstd codec with small windows. Pages are at most a
// few hundred KiB, so a 1 MiB window loses nothing, while the library's
// default encoders keep 16 MiB of history each: with one encoder per
// encoding goroutine that alone would take a good part of a worker's
// memory budget.
type zstdCodec struct {
	level    zstd.EncoderLevel
	encoders sync.Pool
	decoders sync.Pool
}

func newZstd(level zstd.EncoderLevel) *zstdCodec { return &zstdCodec{level: level} }

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.encoders.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	c.encoders.Put(e)
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.decoders.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
	}
	out, err := d.DecodeAll(src, dst[:0])
	c.decoders.Put(d)
	return out, err
}
