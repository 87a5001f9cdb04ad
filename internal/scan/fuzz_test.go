package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/parquetrail/parquetrail/internal/corpus"
	"github.com/parquetrail/parquetrail/internal/record"

	"github.com/parquetrail/parquetrail/internal/problem"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `"a\u00e9\ud83d\ude00"`, `-0.5e+10`, `{"a":[1,{"b":null}],"c":"\n"}`, `{"a" : [ true , false ] }`, `[1,]`, `{"a":1,}`, "\"\x01\"", `01`, `1.`, `"\x"`, `{"eventTime":"2020-01-01T00:00:00Z","eventId":"x"}`} {
		f.Add([]byte(s))
	}
	root := corpus.Dir()
	for _, name := range []string{"edge/SerializerTestFileNewFieldAtRandomPlaces.json", "edge/SerializerAllFieldsNull.json", "records/awsdocs/aws-kms-developer-guide.json", "edge/SerializerTestFileBadJsonFormat.json"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue
		}
		var doc struct{ Records []json.RawMessage }
		if json.Unmarshal(b, &doc) == nil {
			for i, r := range doc.Records {
				if i < 4 {
					f.Add([]byte(r))
				}
			}
		} else {
			f.Add(b[:min(len(b), 2000)])
		}
	}
}

// FuzzSkip checks that the scanner and encoding/json agree on what is
// valid JSON, and that compaction matches json.Compact.
func FuzzSkip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		l := lexer{b: data, eof: true}
		l.ws()
		ws, err := l.skip(0)
		start := 0
		for start < len(data) && (data[start] == ' ' || data[start] == '\t' || data[start] == '\n' || data[start] == '\r') {
			start++
		}
		end := l.i
		l.ws()
		valid := err == nil && l.i == len(data)
		if want := json.Valid(data); valid != want {
			t.Fatalf("scanner says valid=%v (err %v), encoding/json %v, for %q", valid, err, want, data)
		}
		if !valid {
			return
		}
		var want bytes.Buffer
		json.Compact(&want, data)
		got := appendCompact(nil, data[start:end])
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compact %q: got %q, want %q", data, got, want.Bytes())
		}
		if !ws && !bytes.Equal(data[start:end], want.Bytes()) {
			t.Fatalf("%q has whitespace the scanner did not report", data)
		}
	})
}

// FuzzReader wraps the input as a record of a trail document, streams it
// through a Reader one byte at a time with a tiny window, and checks
// validity against encoding/json and the rebuild of every record.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	s, _ := record.NewSchema(record.Full, "")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := append(append([]byte(`{"Records":[`), data...), `]}`...)
		var recs []json.RawMessage
		var parsed struct{ Records *[]json.RawMessage }
		parsed.Records = &recs
		valid := json.Valid(doc) && json.Unmarshal(doc, &parsed) == nil
		r := NewReader(iotest.OneByteReader(bytes.NewReader(doc)), s, ReaderOptions{InitialBuffer: 16})
		n := 0
		for {
			var row record.Row
			err := r.Next(&row)
			if err == io.EOF {
				break
			}
			if err != nil {
				var p problem.Problem
				if !errors.As(err, &p) || p.Kind != problem.KindInvalidJSON {
					t.Fatalf("unexpected error %v", err)
				}
				if valid {
					t.Fatalf("valid document %q reported %v", doc, err)
				}
				return
			}
			if !valid {
				continue
			}
			if n >= len(recs) {
				t.Fatalf("more records than encoding/json finds in %q", doc)
			}
			if row.Kind == "" && !hasDupKeys(recs[n]) {
				got, err := s.RebuildJSON(s.RowValues(&row))
				if err != nil {
					t.Fatal(err)
				}
				var a, b any
				json.Unmarshal(recs[n], &a)
				json.Unmarshal(got, &b)
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if !bytes.Equal(ja, jb) {
					t.Fatalf("record %s rebuilt as %s", recs[n], got)
				}
			}
			n++
		}
		if !valid {
			t.Fatalf("invalid document %q read without error", doc)
		}
		if n != len(recs) {
			t.Fatalf("read %d records, encoding/json %d", n, len(recs))
		}
	})
}

// hasDupKeys reports whether any object in v repeats a key (encoding/json
// keeps the last; a rebuilt record may keep another).
func hasDupKeys(v []byte) bool {
	d := json.NewDecoder(bytes.NewReader(v))
	var walk func() bool
	walk = func() bool {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, _ := d.Token()
				ks, _ := k.(string)
				if seen[ks] {
					return true
				}
				seen[ks] = true
				if walk() {
					return true
				}
			}
			d.Token()
		case json.Delim('['):
			for d.More() {
				if walk() {
					return true
				}
			}
			d.Token()
		}
		return false
	}
	return walk()
}
