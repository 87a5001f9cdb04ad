package scan

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquetrail/parquetrail/internal/corpus"
	"github.com/parquetrail/parquetrail/internal/record"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/problem"
)

// testdata is the repository's corpus of real CloudTrail records.
func testdata(t testing.TB) string {
	t.Helper()
	return corpus.Dir()
}

func corpusFiles(t testing.TB) []string {
	root := testdata(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "licenses" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".json.gz")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readPlain(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		b, err = io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// expected is what encoding/json makes of a file: its records, or that it is
// not a trail document.
type expected struct {
	invalid   bool // not JSON
	noRecords bool // JSON without a Records array
	records   []json.RawMessage
}

func expect(t testing.TB, plain []byte) expected {
	var doc map[string]json.RawMessage
	if !json.Valid(plain) {
		return expected{invalid: true}
	}
	if err := json.Unmarshal(plain, &doc); err != nil {
		return expected{noRecords: true}
	}
	raw, ok := doc["Records"]
	if !ok {
		return expected{noRecords: true}
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(raw, &recs); err != nil {
		return expected{noRecords: true}
	}
	return expected{records: recs}
}

// scanAll reads every row of an object, returning copies of their values.
func scanAll(t testing.TB, s *record.Schema, src io.Reader, zone *time.Location) ([]record.Values, []record.Row, error) {
	t.Helper()
	r := NewReader(src, s, ReaderOptions{Zone: zone, InitialBuffer: 4096})
	var vals []record.Values
	var rows []record.Row
	for {
		var row record.Row
		err := r.Next(&row)
		if err == io.EOF {
			return vals, rows, nil
		}
		if err != nil {
			return vals, rows, err
		}
		rows = append(rows, record.Row{Index: row.Index, Offset: row.Offset, Time: row.Time, Kind: row.Kind, Detail: row.Detail})
		vals = append(vals, s.RowValues(&row))
	}
}

func TestCorpusRebuild(t *testing.T) {
	s, err := record.NewSchema(record.Full, "")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range corpusFiles(t) {
		name := strings.TrimPrefix(f, testdata(t)+"/")
		t.Run(name, func(t *testing.T) {
			plain := readPlain(t, f)
			exp := expect(t, plain)
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			vals, rows, err := scanAll(t, s, fh, nil)
			switch {
			case exp.invalid:
				var p problem.Problem
				if !errors.As(err, &p) || p.Kind != problem.KindInvalidJSON {
					t.Fatalf("invalid JSON file: got %v, want an %s problem", err, problem.KindInvalidJSON)
				}
				return
			case exp.noRecords:
				var p problem.Problem
				if !errors.As(err, &p) || p.Kind != problem.KindNoRecords {
					t.Fatalf("got %v, want a %s problem", err, problem.KindNoRecords)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(exp.records) {
				t.Fatalf("got %d records, want %d", len(rows), len(exp.records))
			}
			total += len(rows)
			for i, rec := range exp.records {
				if rows[i].Index != i {
					t.Errorf("record %d: index %d", i, rows[i].Index)
				}
				if rows[i].Kind != "" {
					// Malformed: must really lack a usable eventTime.
					var m map[string]any
					if json.Unmarshal(rec, &m) == nil {
						if et, ok := m["eventTime"].(string); ok {
							if _, _, ok := parseTime([]byte(et)); ok {
								t.Errorf("record %d: malformed (%s: %s) but eventTime %q parses", i, rows[i].Kind, rows[i].Detail, et)
							}
						}
					}
					continue
				}
				got, err := s.RebuildJSON(vals[i])
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				assertSameJSON(t, i, rec, got)
			}
		})
	}
	if total < 1800 {
		t.Errorf("rebuilt %d records, want the whole corpus (~1,850)", total)
	}
}

func assertSameJSON(t testing.TB, i int, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("record %d rebuilt differently (-want +got):\n%s", i, d)
	}
}

// TestBigRecord grows the window for a record larger than it, and names a
// record larger than the cap as an unreadable object.
func TestBigRecord(t *testing.T) {
	s, _ := record.NewSchema(record.Full, "")
	blob := strings.Repeat(`{"k":"`+strings.Repeat("x", 1000)+`"},`, 3000)
	rec := `{"eventTime":"2024-01-01T00:00:00Z","eventID":"big","requestParameters":[` + blob + `1]}`
	doc := `{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventID":"small"},` + rec + `]}`
	vals, rows, err := func() ([]record.Values, []record.Row, error) {
		r := NewReader(strings.NewReader(doc), s, ReaderOptions{InitialBuffer: 4096, MaxRecordBytes: 8 << 20})
		var vals []record.Values
		var rows []record.Row
		for {
			var row record.Row
			err := r.Next(&row)
			if err == io.EOF {
				return vals, rows, nil
			}
			if err != nil {
				return vals, rows, err
			}
			rows = append(rows, row)
			vals = append(vals, s.RowValues(&row))
		}
	}()
	if err != nil || len(rows) != 2 {
		t.Fatalf("got %d rows, %v", len(rows), err)
	}
	if got := len(vals[1]["requestparameters"].(string)); got < 3000*1000 {
		t.Errorf("requestparameters has %d bytes", got)
	}
	r := NewReader(strings.NewReader(doc), s, ReaderOptions{InitialBuffer: 4096, MaxRecordBytes: 1 << 20})
	var row record.Row
	if err := r.Next(&row); err != nil {
		t.Fatal(err)
	}
	err = r.Next(&row)
	var p problem.Problem
	if !errors.As(err, &p) || p.Kind != problem.KindTooLarge || !strings.Contains(p.Detail, "cap of 1 MiB per record") || p.Record != 1 {
		t.Errorf("record over the cap: got %v", err)
	}
}
