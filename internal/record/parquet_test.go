package record_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
)

func corpus(t *testing.T) []string {
	t.Helper()
	root := "/work/shared/testdata/cloudtrail"
	if _, err := os.Stat("../../../shared/testdata/cloudtrail"); err == nil {
		root = "../../../shared/testdata/cloudtrail"
	}
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no shared test data")
	}
	return files
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestParquetRoundTrip writes every well-formed corpus record through a
// Batch to Parquet, reads it back with Arrow and rebuilds each record.
func TestParquetRoundTrip(t *testing.T) {
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	b := record.NewBatch(s, 32<<20)
	want := map[string]int{}
	for _, f := range corpus(t) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := record.NewReader(fh, s, record.ReaderOptions{Zone: seoul})
		var recs []json.RawMessage
		if plain := readAll(t, f); plain != nil {
			var doc struct{ Records []json.RawMessage }
			if json.Unmarshal(plain, &doc) == nil {
				recs = doc.Records
			}
		}
		for {
			var row record.Row
			err := r.Next(&row)
			if err != nil {
				break
			}
			if row.Kind != "" {
				continue
			}
			b.Append(&row)
			want[canonical(t, recs[row.Index])]++
		}
		fh.Close()
	}
	var buf bytes.Buffer
	w, err := record.NewFileWriter(&buf, s, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := b.Len()
	if err := w.WriteBatch(b, false, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := arrowcheck.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s.Names(), f.Names); d != "" {
		t.Errorf("column names (-want +got):\n%s", d)
	}
	if len(f.Rows) != n {
		t.Fatalf("read %d rows, wrote %d", len(f.Rows), n)
	}
	var prev time.Time
	for i, row := range f.Rows {
		et := row["eventtime"].(time.Time)
		if et.Before(prev) {
			t.Errorf("row %d: eventtime %v before %v", i, et, prev)
		}
		prev = et
		loc := row["eventtime_local"].(time.Time)
		if d := loc.Sub(et); d != 9*time.Hour {
			t.Errorf("row %d: local time %v is %v from %v, want +9h", i, loc, d, et)
		}
		got, err := s.RebuildJSON(row)
		if err != nil {
			t.Fatal(err)
		}
		c := canonical(t, got)
		if want[c] == 0 {
			t.Errorf("row %d rebuilt into a record that is not in the corpus:\n%s", i, got)
			continue
		}
		want[c]--
	}
	t.Logf("%d rows, %d bytes of Parquet", n, buf.Len())
}

func readAll(t *testing.T, path string) []byte {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b, _ := io.ReadAll(fh)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return plainGz(t, b)
	}
	return b
}

func plainGz(t *testing.T, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
