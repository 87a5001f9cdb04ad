// Package arrowcheck reads Parquet files with Apache Arrow's reader — an
// implementation independent of the writer — for tests: rows as
// record.Values, and the file's column metadata.
package arrowcheck

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/parquetrail/parquetrail/internal/record"
)

// File is what a test wants to know of a Parquet file.
type File struct {
	Names  []string
	Rows   []record.Values
	Meta   *metadata.FileMetaData
	Schema *arrow.Schema
}

// Read decodes a whole Parquet file.
func Read(data []byte) (*File, error) {
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	f := &File{Meta: rdr.MetaData(), Schema: tbl.Schema()}
	n := int(tbl.NumRows())
	f.Rows = make([]record.Values, n)
	for i := range f.Rows {
		f.Rows[i] = record.Values{}
	}
	for ci := 0; ci < int(tbl.NumCols()); ci++ {
		col := tbl.Column(ci)
		name := col.Name()
		f.Names = append(f.Names, name)
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				v, err := value(chunk, i)
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", name, err)
				}
				if v != nil {
					f.Rows[row][name] = v
				}
				row++
			}
		}
	}
	return f, nil
}

func value(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), nil
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Timestamp:
		return time.UnixMilli(int64(a.Value(i))).UTC(), nil
	case *array.Map:
		// Keys are strings in every map parquetrail writes.
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys().(*array.String), a.Items()
		out := make(map[string]any, end-start)
		for j := start; j < end; j++ {
			v, err := value(items, int(j))
			if err != nil {
				return nil, err
			}
			out[keys.Value(int(j))] = v
		}
		return out, nil
	case *array.List:
		start, end := a.ValueOffsets(i)
		elems := a.ListValues()
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			v, err := value(elems, int(j))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected arrow type %s", a.DataType())
}

// Column describes one column chunk of a row group.
type Column struct {
	Name      string
	Physical  parquet.Type
	Logical   string
	Codec     string
	Encodings []string
	Dict      bool
}

// Columns returns the column chunks of row group rg.
func (f *File) Columns(rg int) []Column {
	g := f.Meta.RowGroup(rg)
	var out []Column
	for i := 0; i < g.NumColumns(); i++ {
		cc, err := g.ColumnChunk(i)
		if err != nil {
			continue
		}
		col := f.Meta.Schema.Column(i)
		c := Column{
			Name:     col.Path(),
			Physical: col.PhysicalType(),
			Logical:  col.LogicalType().String(),
			Codec:    cc.Compression().String(),
			Dict:     cc.HasDictionaryPage(),
		}
		for _, e := range cc.Encodings() {
			c.Encodings = append(c.Encodings, e.String())
		}
		out = append(out, c)
	}
	return out
}
