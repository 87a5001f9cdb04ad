package duckdb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/sample"
)

// TestDuckDBSeesIndexesAndStatistics checks what DuckDB exposes of a
// published file's metadata against the page index Arrow decodes: the
// created_by form that keeps string statistics in parquet-mr engines, the
// string columns' statistics, each chunk's first data page where the offset
// index puts it, and filtered counts (on eventtime and on a string column)
// equal to the rows Arrow reads. DuckDB 1.5 prunes by row-group statistics
// and does not expose the column index itself.
func TestDuckDBSeesIndexesAndStatistics(t *testing.T) {
	o := sample.Demo()
	o.Records = 3000
	o.Files = 30
	src := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := pipeline.Run(context.Background(), pipeline.Config{
		Source: src, Destination: out, Date: o.Date, TimeZone: o.TimeZone,
		Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
		LateArrival: st.LastDelivery.Sub(st.WindowEnd) + time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "proc_ymd=*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no Parquet file published")
	}
	path := files[0]
	lit := "'" + filepath.ToSlash(path) + "'"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	fm := query(t, "SELECT created_by FROM parquet_file_metadata("+lit+")")
	if cb, _ := fm[0]["created_by"].(string); !regexp.MustCompile(`^parquetrail version \S+ \(build \S+\)$`).MatchString(cb) {
		t.Errorf("DuckDB reads created_by %q; want parquetrail version <v> (build <sha>)", cb)
	}

	// Arrow's view: each chunk's first page location, and the rows.
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	firstPage := map[string]string{}
	for rg := range rdr.NumRowGroups() {
		rgi, err := rdr.GetPageIndexReader().RowGroup(rg)
		if err != nil {
			t.Fatal(err)
		}
		for c := range rdr.MetaData().Schema.NumColumns() {
			oi, err := rgi.GetOffsetIndex(c)
			if err != nil || oi == nil || len(oi.GetPageLocations()) == 0 {
				t.Fatalf("row group %d column %d: offset index %v: %v", rg, c, oi, err)
			}
			firstPage[fmt.Sprintf("%d/%d", rg, c)] = fmt.Sprint(oi.GetPageLocations()[0].Offset)
		}
	}
	duck := map[string]string{}
	for _, r := range query(t, "SELECT row_group_id AS rg, column_id AS c, data_page_offset AS off FROM parquet_metadata("+lit+")") {
		duck[fmt.Sprintf("%v/%v", r["rg"], r["c"])] = fmt.Sprint(r["off"])
	}
	if diff := cmp.Diff(firstPage, duck); diff != "" {
		t.Errorf("first data page per chunk (-Arrow offset index +DuckDB):\n%s", diff)
	}
	stats := query(t, "SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata("+lit+") WHERE path_in_schema = 'eventname'")
	for _, r := range stats {
		if r["lo"] == nil || r["hi"] == nil {
			t.Errorf("eventname has no min/max statistics in DuckDB: %v", r)
		}
	}

	af, err := arrowcheck.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	name := af.Rows[len(af.Rows)/2]["eventname"].(string)
	mid := af.Rows[len(af.Rows)/2]["eventtime"].(time.Time)
	want := map[string]string{"byname": "0", "bytime": "0"}
	n1, n2 := 0, 0
	for _, r := range af.Rows {
		if r["eventname"] == name {
			n1++
		}
		if !r["eventtime"].(time.Time).Before(mid) {
			n2++
		}
	}
	want["byname"], want["bytime"] = fmt.Sprint(n1), fmt.Sprint(n2)
	// WHERE, not FILTER: the predicates are pushed into the scan, which
	// prunes by the statistics.
	byName := query(t, fmt.Sprintf("SELECT count(*) AS n FROM read_parquet(%s) WHERE eventname = '%s'", lit, name))
	byTime := query(t, fmt.Sprintf("SELECT count(*) AS n FROM read_parquet(%s) WHERE eventtime >= make_timestamptz(%d)", lit, mid.UnixMicro()))
	if diff := cmp.Diff(want, map[string]string{"byname": fmt.Sprint(byName[0]["n"]), "bytime": fmt.Sprint(byTime[0]["n"])}); diff != "" {
		t.Errorf("filtered counts (-Arrow +DuckDB):\n%s", diff)
	}
}
