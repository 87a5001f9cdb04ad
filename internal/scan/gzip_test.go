package scan

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parquetrail/parquetrail/internal/record"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestGunzipOpen: one Gunzip opens a sequence of objects, gzipped or not,
// each to its own content, including objects too short to hold the magic.
func TestGunzipOpen(t *testing.T) {
	docs := [][]byte{
		[]byte(`{"Records":[]}`),
		{},
		{0x1f},
		{0x1f, 0x8a, 'x'},
		[]byte(`{"Records":[{"eventID":"a"}]}`),
	}
	var g Gunzip
	for round, gz := range []bool{false, true, true, false} {
		for i, doc := range docs {
			in := doc
			if gz {
				in = gzipped(t, doc)
			}
			r, err := g.Open(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("round %d, doc %d: %v", round, i, err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("round %d, doc %d: %v", round, i, err)
			}
			if !bytes.Equal(got, doc) {
				t.Errorf("round %d (gzipped %v), doc %d: read %q, want %q", round, gz, i, got, doc)
			}
		}
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestGunzipOpenErrors: a read error before the magic is returned as it is;
// the gzip magic followed by a bad header is a gzip error.
func TestGunzipOpenErrors(t *testing.T) {
	var g Gunzip
	broken := errors.New("connection reset")
	_, err := g.Open(&failingReader{data: []byte{0x1f}, err: broken})
	if err != broken {
		t.Errorf("read error while sniffing: got %v, want it unwrapped", err)
	}
	_, err = g.Open(bytes.NewReader([]byte{0x1f, 0x8b, 0x00, 0x00}))
	if err == nil || !strings.HasPrefix(err.Error(), "gzip: ") {
		t.Errorf("bad gzip header: got %v, want a gzip error", err)
	}
	// A read error inside the object: at Open (inflated whole) or at a
	// later read (streamed), the store's error either way.
	whole := gzipped(t, bytes.Repeat([]byte("record "), 10000))
	r, err := g.Open(&failingReader{data: whole[:len(whole)/2], err: broken})
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, broken) {
		t.Errorf("read error inside the object: got %v, want the source's", err)
	}
}

// TestReaderRefusesSecondGzip: a Reader told its source is decompressed
// already reports a gzip magic at the start as bad input, not inflate it.
func TestReaderRefusesSecondGzip(t *testing.T) {
	doc := []byte(`{"Records":[]}`)
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	var row record.Row
	r := NewReader(bytes.NewReader(gzipped(t, doc)), s, ReaderOptions{Decompressed: true})
	if err := r.Next(&row); err == nil || !strings.Contains(err.Error(), "gzipped twice") {
		t.Errorf("gzip under a decompressed source: got %v", err)
	}
	r.Reset(bytes.NewReader(gzipped(t, doc)), s, ReaderOptions{})
	if err := r.Next(&row); err != io.EOF {
		t.Errorf("gzipped document without records: got %v, want io.EOF", err)
	}
}

// TestGunzipSizesAndFaults: whatever the build's inflater (the libdeflate
// build inflates small objects whole and streams the rest), objects small
// and large, of several gzip members, or damaged, read the same: their
// content, or an error.
func TestGunzipSizesAndFaults(t *testing.T) {
	t.Logf("inflater: %s", Inflater)
	small := []byte(`{"Records":[{"eventID":"a"}]}`)
	noise := make([]byte, 5<<20) // incompressible: over 4 MiB of gzip
	x := uint64(1)
	for i := range noise {
		x = x*6364136223846793005 + 1442695040888963407
		noise[i] = byte(x >> 56)
	}
	zeros := make([]byte, 17<<20) // a trailer size over 16 MiB
	members := append(gzipped(t, small), gzipped(t, []byte(`more`))...)
	for _, c := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"small", gzipped(t, small), small},
		{"empty content", gzipped(t, nil), nil},
		{"large gzip", gzipped(t, noise), noise},
		{"large content", gzipped(t, zeros), zeros},
		{"two members", members, append(append([]byte(nil), small...), "more"...)},
	} {
		var g Gunzip
		for round := range 2 { // and again with the buffers of the first
			r, err := g.Open(bytes.NewReader(c.in))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s, round %d: %v", c.name, round, err)
			}
			if !bytes.Equal(got, c.want) {
				t.Fatalf("%s, round %d: read %d bytes, want %d", c.name, round, len(got), len(c.want))
			}
		}
	}

	// Damage: a flipped byte in the compressed data, a wrong CRC, a
	// trailer size that does not match, a cut-off end.
	base := gzipped(t, bytes.Repeat([]byte(`{"eventID":"abc","eventName":"GetObject"},`), 2000))
	flip := func(at int) []byte {
		b := append([]byte(nil), base...)
		b[at] ^= 0x5a
		return b
	}
	for name, in := range map[string][]byte{
		"flipped data": flip(len(base) / 2),
		"wrong crc":    flip(len(base) - 6),
		"wrong size":   flip(len(base) - 2),
		"cut off":      base[:len(base)-9],
	} {
		var g Gunzip
		r, err := g.Open(bytes.NewReader(in))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}
