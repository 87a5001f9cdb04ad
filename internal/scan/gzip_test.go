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
