package pqfile_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
)

// TestRunReadsSparkFiles: a file of the Spark types (proc_ymd, times as
// text, MAP columns) read back through pqfile.Run into a batch and written
// again with the Spark types is the same file, row for row: what a late
// write does with the day's published files when it rewrites them.
func TestRunReadsSparkFiles(t *testing.T) {
	s, err := record.NewSchema(record.Seed, "eventtime_kst")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.FileSchema(record.Spark, "20250301")
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(s, 1500, 11)
	rng := rand.New(rand.NewSource(5))
	objects := []string{
		`{}`, `{"a":"x"}`, `{"bucketName":"logs","key":"a/b.json","n":1,"flag":true,"none":null}`,
		`{"q":"he said \"hi\"\n\ttab","u":"\u00e9\u4e2d","nested":{"list":[1,{"x":"y"}],"z":null}}`,
		`{"dup":"first","dup":"second"}`, `[1,2]`, `"text"`,
	}
	for _, r := range rows {
		r.Time = r.Time/1000*1000 + int64(rng.Intn(2))*int64(rng.Intn(1000)) // whole seconds and milliseconds
		for _, c := range s.Columns {
			if c.Kind == record.JSON && rng.Intn(4) > 0 {
				r.SetValue(c.Field, []byte(objects[rng.Intn(len(objects))]))
			}
		}
	}
	write := func(b *pqfile.Batch, sorted bool) []byte {
		var buf bytes.Buffer
		w, err := pqfile.NewFileWriter(&buf, fs, pqfile.Zstd, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.SetPageOptions(pqfile.PageOptions{PageBytes: 2048, PageRows: 100})
		if err := w.WriteBatch(b, sorted, 2); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	batch := pqfile.NewBatch(s, 1<<20)
	for _, r := range rows {
		batch.Append(r)
	}
	first := write(batch, false)

	pf, err := parquet.OpenFile(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	maps := 0
	for _, c := range pf.Metadata().RowGroups[0].Columns {
		if path := c.MetaData.PathInSchema; len(path) == 3 && path[1] == "key_value" {
			maps++
		}
	}
	if maps < 8 {
		t.Fatalf("the Spark file has %d map leaves: the test proves little", maps)
	}
	r, err := pqfile.OpenRun(bytes.NewReader(first), pf.Metadata(), 0, s, "spark.parquet")
	if err != nil {
		t.Fatal(err)
	}
	back := pqfile.NewBatch(s, 1<<20)
	appendRest(t, back, r)
	if back.Len() != len(rows) {
		t.Fatalf("read %d rows back, wrote %d", back.Len(), len(rows))
	}
	second := write(back, true)
	want, got := readRows(t, first), readRows(t, second)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("row %d differs after the round trip:\n%v\nwant\n%v", i, got[i], want[i])
		}
	}
	t.Logf("%d rows, %d map leaves, %s", len(rows), maps, fmt.Sprint(len(first), " bytes"))
}
