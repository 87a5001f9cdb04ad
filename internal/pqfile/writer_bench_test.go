package pqfile_test

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
)

// BenchmarkWriter writes the same rows with the same options through
// parquetrail's FileWriter and through parquet-go's Writer: the schema of
// the file ours writes (column order, types, optional and repeated
// levels), a dictionary on exactly the column chunks where ours has one,
// the same zstd codec object, 256 KiB pages, one row group. Both start
// from rows already in memory (ours from a Batch, parquet-go from its
// decoded rows of our file), so only the encoding is measured. MB/s is of
// the records' JSON; MB-out is the file's size; cpu-ms/op the process's
// CPU time per file.
//
//	go test -run '^$' -bench Writer -benchmem ./internal/record/
func BenchmarkWriter(b *testing.B) {
	doc := flattentest.BenchDoc(b)
	for _, set := range []string{record.Seed, record.Full} {
		s, err := record.NewSchema(set, "")
		if err != nil {
			b.Fatal(err)
		}
		batch := docBatch(b, doc, s, 1)
		// Ours once, sorted: its file gives parquet-go the schema, the
		// dictionary columns and the rows in the same order.
		var ours bytes.Buffer
		w, err := pqfile.NewFileWriter(&ours, s, "zstd", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.WriteBatch(batch, false, 1); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		schema, rows := parquetGoInput(b, ours.Bytes())
		codec, _ := pqfile.Codec("zstd")
		newParquetGo := func(w io.Writer) *parquet.Writer {
			return parquet.NewWriter(w, schema, parquet.Compression(codec), parquet.PageBufferSize(pqfile.DefaultPageBytes),
				parquet.MaxRowsPerRowGroup(int64(len(rows))+1), parquet.CreatedBy("parquetrail", "bench", ""))
		}
		// The two files hold the same rows (read by Arrow) and the same
		// dictionary columns, or the comparison means nothing.
		var theirs bytes.Buffer
		pw := newParquetGo(&theirs)
		if _, err := pw.WriteRows(rows); err != nil {
			b.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			b.Fatal(err)
		}
		sameFiles(b, ours.Bytes(), theirs.Bytes())

		b.Run(set+"/parquetrail", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			var out countWriter
			cpu0 := flattentest.CPUTime()
			for b.Loop() {
				w, _ := pqfile.NewFileWriter(&out, s, "zstd", nil)
				if err := w.WriteBatch(batch, true, 1); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.n)/float64(b.N)/1e6, "MB-out")
			// CPU time, the measure that holds on a busy machine (GC on
			// other cores included).
			b.ReportMetric(float64(flattentest.CPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		})
		b.Run(set+"/parquet-go", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			var out countWriter
			cpu0 := flattentest.CPUTime()
			for b.Loop() {
				w := newParquetGo(&out)
				if _, err := w.WriteRows(rows); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.n)/float64(b.N)/1e6, "MB-out")
			// CPU time, the measure that holds on a busy machine (GC on
			// other cores included).
			b.ReportMetric(float64(flattentest.CPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

func sameFiles(b *testing.B, ours, theirs []byte) {
	a, err := arrowcheck.Read(ours)
	if err != nil {
		b.Fatal(err)
	}
	t, err := arrowcheck.Read(theirs)
	if err != nil {
		b.Fatal(err)
	}
	if diff := cmp.Diff(a.Rows, t.Rows); diff != "" {
		b.Fatalf("rows (-parquetrail +parquet-go):\n%s", diff)
	}
	dicts := func(f *arrowcheck.File) (out []string) {
		for _, c := range f.Columns(0) {
			if c.Dict {
				out = append(out, c.Name)
			}
		}
		return out
	}
	if diff := cmp.Diff(dicts(a), dicts(t)); diff != "" {
		b.Fatalf("dictionary columns (-parquetrail +parquet-go):\n%s", diff)
	}
}

// parquetGoInput opens a file of ours with parquet-go: its schema, with a
// dictionary on the leaves whose chunk has one, and all its rows.
func parquetGoInput(b *testing.B, data []byte) (*parquet.Schema, []parquet.Row) {
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	dict := map[string]bool{}
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.DictionaryPageOffset != 0 {
				dict[strings.Join(c.MetaData.PathInSchema, ".")] = true
			}
		}
	}
	if len(dict) == 0 {
		b.Fatal("our file has no dictionary column")
	}
	schema := parquet.NewSchema("cloudtrail", withDict(pf.Schema(), nil, dict))
	rr := parquet.NewReader(pf)
	defer rr.Close()
	rows := make([]parquet.Row, pf.NumRows())
	for n := 0; n < len(rows); {
		k, err := rr.ReadRows(rows[n:])
		n += k
		if err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
	}
	for i := range rows {
		rows[i] = rows[i].Clone()
	}
	return schema, rows
}

// orderedGroup is a group node that keeps its fields in the file's order
// (parquet.Group is a map and sorts them by name).
type orderedGroup struct {
	parquet.Node
	fields []parquet.Field
}

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }

// namedField gives a rebuilt node its field's name.
type namedField struct {
	parquet.Node
	f parquet.Field
}

func (n namedField) Name() string                        { return n.f.Name() }
func (n namedField) Value(v reflect.Value) reflect.Value { return n.f.Value(v) }

func withDict(n parquet.Node, path []string, dict map[string]bool) parquet.Node {
	if n.Leaf() {
		if dict[strings.Join(path, ".")] {
			return parquet.Encoded(n, &parquet.RLEDictionary)
		}
		// A file's schema carries an encoding read from the chunk's list,
		// which may be a level encoding (RLE): PLAIN is what ours writes.
		return parquet.Encoded(n, &parquet.Plain)
	}
	g := &orderedGroup{Node: n}
	for _, f := range n.Fields() {
		g.fields = append(g.fields, namedField{withDict(f, append(path[:len(path):len(path)], f.Name()), dict), f})
	}
	return g
}
