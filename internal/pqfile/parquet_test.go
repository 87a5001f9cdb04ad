package pqfile_test

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

	"github.com/parquetrail/parquetrail/internal/corpus"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/scan"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
)

func corpusFiles(t *testing.T) []string {
	t.Helper()
	root := corpus.Dir()
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no corpus files under %s", root)
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
	b := pqfile.NewBatch(s, 32<<20)
	want := map[string]int{}
	for _, f := range corpusFiles(t) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := scan.NewReader(fh, s, scan.ReaderOptions{Zone: seoul})
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
	n := b.Len()
	for _, tc := range []struct {
		name  string
		pages pqfile.PageOptions
		split int // batches per row group
	}{
		{"one batch", pqfile.PageOptions{}, 1},
		// Small pages and dictionaries that overflow part-way through a
		// chunk, over row groups of several batches.
		{"several batches", pqfile.PageOptions{PageBytes: 4096, DictBytes: 30000}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := pqfile.NewFileWriter(&buf, s, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			w.SetPageOptions(tc.pages)
			if tc.split == 1 {
				if err := w.WriteBatch(b, false, 2); err != nil {
					t.Fatal(err)
				}
			} else {
				// Sort, then feed the rows in order as separate batches.
				vals := sortedParts(t, s, b, tc.split)
				for _, part := range vals {
					if err := w.AppendBatch(part, true, 2); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.EndRowGroup(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			checkFile(t, s, buf.Bytes(), n, want)
		})
	}
}

// sortedParts splits a batch, in (eventtime, eventid) order, into k batches
// by round trip through Parquet (the only way in from outside the package).
func sortedParts(t testing.TB, s *record.Schema, b *pqfile.Batch, k int) []*pqfile.Batch {
	t.Helper()
	var buf bytes.Buffer
	w, _ := pqfile.NewFileWriter(&buf, s, "none", nil)
	if err := w.WriteBatch(b, false, 1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := pqfile.OpenRun(bytes.NewReader(buf.Bytes()), pf.Metadata(), 0, s, "sorted.parquet")
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*pqfile.Batch, k)
	for i := range parts {
		parts[i] = pqfile.NewBatch(s, 1<<20)
	}
	per := (b.Len() + k - 1) / k
	for got := 0; ; got++ {
		ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		parts[got/per].AppendRun(r)
	}
	return parts
}

func checkFile(t *testing.T, s *record.Schema, data []byte, n int, corpus map[string]int) {
	t.Helper()
	want := map[string]int{}
	for k, v := range corpus {
		want[k] = v
	}
	f, err := arrowcheck.Read(data)
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
	t.Logf("%d rows, %d bytes of Parquet", n, len(data))
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
