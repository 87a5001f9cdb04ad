package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/sample"
)

// chquery runs ClickHouse SQL in chDB through hack/bench/chquery.mjs.
func chquery(t *testing.T, sql string) ([]map[string]any, error) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "hack", "bench", "node_modules", "chdb")); err != nil {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatalf("chDB is not installed (make duckdb): %v", err)
		}
		t.Skip("chDB is not installed; run make duckdb")
	}
	return runNode(t, "chquery.mjs", sql)
}

func runNode(t *testing.T, script, sql string) ([]map[string]any, error) {
	t.Helper()
	cmd := exec.Command("node", filepath.Join("..", "..", "hack", "bench", script), "-")
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("%s: %s", script, ee.Stderr)
		}
		return nil, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("%s output %q: %v", script, out, err)
	}
	return rows, nil
}

// block is one SQL example of a doc.
type block struct {
	doc, engine, sql string
	line             int
}

var fence = regexp.MustCompile("(?m)^```sql (athena|duckdb|clickhouse)\\s*\\n((?s:.*?))^```")

// docBlocks returns the SQL blocks of docs/*.md that name an engine.
func docBlocks(t *testing.T) []block {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	var out []block
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllSubmatchIndex(b, -1) {
			out = append(out, block{
				doc: filepath.Base(f), engine: string(b[m[2]:m[3]]), sql: string(b[m[4]:m[5]]),
				line: strings.Count(string(b[:m[0]]), "\n") + 1,
			})
		}
	}
	return out
}

// isSetup says whether a block defines something later blocks use.
func isSetup(sql string) bool {
	for _, l := range strings.Split(sql, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "--") {
			continue
		}
		return strings.HasPrefix(strings.ToUpper(l), "CREATE ")
	}
	return false
}

// TestDocQueries runs every SQL example of docs/ that names an engine, on
// a generated day written three ways (the typed seed set, the full set,
// and the Spark job's types standing in for the Spark job's own output):
// DuckDB and ClickHouse blocks in DuckDB and chDB, Athena blocks in DuckDB
// with Trino's json_extract_scalar as a macro. Each must return rows.
func TestDocQueries(t *testing.T) {
	blocks := docBlocks(t)
	engines := map[string]int{}
	for _, b := range blocks {
		engines[b.doc+" "+b.engine]++
	}
	for _, want := range []string{"querying.md athena", "querying.md duckdb", "querying.md clickhouse", "migrating.md athena", "migrating.md duckdb", "migrating.md clickhouse"} {
		if engines[want] == 0 {
			t.Errorf("no %s blocks found in docs (found %v)", want, engines)
		}
	}

	o := sample.Demo()
	o.Records = 3000
	o.Files = 40
	src := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, v := range []struct{ dir, cols, types string }{
		{"cloudtrail_parquet", record.Seed, record.Typed},
		{"cloudtrail_full", record.Full, record.Typed},
		{"cloudtrail_sparkjob", record.Seed, record.Spark},
	} {
		if _, err := pipeline.Run(context.Background(), pipeline.Config{
			Source: src, Destination: filepath.Join(root, v.dir), Date: o.Date, TimeZone: o.TimeZone,
			Columns: v.cols, Types: v.types, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
			LateArrival: st.LastDelivery.Sub(st.WindowEnd) + time.Minute,
		}); err != nil {
			t.Fatalf("%s: %v", v.dir, err)
		}
	}
	local := filepath.ToSlash(root) + "/"
	read := func(dir string) string {
		return fmt.Sprintf("read_parquet('%s%s/proc_ymd=*/*.parquet', hive_partitioning = true, hive_types = {'proc_ymd': VARCHAR})", local, dir)
	}
	// The tables the Athena examples name.
	athena := "CREATE SCHEMA security;\n" +
		"CREATE VIEW security.cloudtrail_kst AS SELECT * FROM " + read("cloudtrail_parquet") + ";\n" +
		"CREATE VIEW security.cloudtrail_full AS SELECT * FROM " + read("cloudtrail_full") + ";\n" +
		"CREATE VIEW security.cloudtrail_spark AS SELECT * FROM " + read("cloudtrail_sparkjob") + ";\n" +
		"CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p);\n"

	setup := map[string]string{} // doc+engine → setup blocks so far
	for _, b := range blocks {
		name := fmt.Sprintf("%s:%d %s", b.doc, b.line, b.engine)
		sql := b.sql
		switch b.engine {
		case "duckdb", "athena":
			sql = strings.ReplaceAll(sql, "s3://example-security-lake/", local)
		case "clickhouse":
			sql = strings.ReplaceAll(sql, "s3('https://example-security-lake.s3.amazonaws.com/", "file('"+local)
		}
		key := b.doc + " " + b.engine
		if isSetup(sql) {
			setup[key] += sql + "\n"
			continue
		}
		t.Run(name, func(t *testing.T) {
			full := setup[key] + sql
			var rows []map[string]any
			var err error
			switch b.engine {
			case "athena":
				rows, err = duckRows(t, athena+full)
			case "duckdb":
				rows, err = duckRows(t, full)
			case "clickhouse":
				rows, err = chquery(t, full)
			}
			if err != nil {
				t.Fatalf("%v\nSQL:\n%s", err, full)
			}
			if len(rows) == 0 {
				t.Fatalf("no rows\nSQL:\n%s", full)
			}
			checkComparison(t, rows)
		})
	}
}

// checkComparison holds the side-by-side queries of migrating.md to what
// they must say of two tables written from the same files: no difference.
func checkComparison(t *testing.T, rows []map[string]any) {
	t.Helper()
	for _, r := range rows {
		if side, ok := r["side"]; ok && fmt.Sprint(r["events"]) != "0" {
			t.Errorf("%v: %v events, want 0", side, r["events"])
		}
		if sr, ok := r["spark_rows"]; ok && fmt.Sprint(sr) != fmt.Sprint(r["parquetrail_rows"]) {
			t.Errorf("hour %v: %v rows in the Spark job's table, %v in parquetrail's", r["hour_utc"], sr, r["parquetrail_rows"])
		}
		if si, ok := r["spark_ids"]; ok && fmt.Sprint(si) != fmt.Sprint(r["parquetrail_ids"]) {
			t.Errorf("hour %v: %v ids in the Spark job's table, %v in parquetrail's", r["hour_utc"], si, r["parquetrail_ids"])
		}
	}
}

func duckRows(t *testing.T, sql string) ([]map[string]any, error) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "hack", "bench", "node_modules", "@duckdb", "node-api")); err != nil {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatalf("DuckDB's Node client is not installed (make duckdb): %v", err)
		}
		t.Skip("DuckDB's Node client is not installed; run make duckdb")
	}
	return runNode(t, "query.mjs", sql)
}

// TestDuckDBReadsSparkTypes reads a day of --types spark as the Spark job's
// table: its types, proc_ymd inside the files, and map lookups.
func TestDuckDBReadsSparkTypes(t *testing.T) {
	o := sample.Demo()
	o.Records = 2000
	o.Files = 20
	src := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	s, err := pipeline.Run(context.Background(), pipeline.Config{
		Source: src, Destination: out, Date: o.Date, TimeZone: o.TimeZone,
		Columns: record.Seed, Types: record.Spark, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
		LateArrival: st.LastDelivery.Sub(st.WindowEnd) + time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Without hive partitioning: what the files themselves hold.
	files := fmt.Sprintf("read_parquet('%s/proc_ymd=*/*.parquet', hive_partitioning = false)", filepath.ToSlash(out))
	// The day's own partition; late events of earlier days it read went to
	// theirs, as files of the same types (checked by the DESCRIBE over all).
	day := fmt.Sprintf("read_parquet('%s/proc_ymd=20261124/*.parquet', hive_partitioning = false)", filepath.ToSlash(out))
	types := query(t, "SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM "+files+")")
	got := map[string]string{}
	for i, r := range types {
		got[r["name"].(string)] = r["type"].(string)
		if i == 0 && r["name"] != "proc_ymd" {
			t.Errorf("first column %v, want proc_ymd", r["name"])
		}
	}
	for col, want := range map[string]string{
		"proc_ymd": "VARCHAR", "eventtime": "VARCHAR", "eventtime_kst": "VARCHAR",
		"requestparameters": "MAP(VARCHAR, VARCHAR)", "responseelements": "MAP(VARCHAR, VARCHAR)",
		"serviceeventdetails": "MAP(VARCHAR, VARCHAR)", "useridentity_webidfederationdata_attributes": "MAP(VARCHAR, VARCHAR)",
		"additionaleventdata": "VARCHAR", "readonly": "BOOLEAN", "resources_arn": "VARCHAR[]",
	} {
		if got[col] != want {
			t.Errorf("column %s is %s in DuckDB, want %s", col, got[col], want)
		}
	}
	rows := query(t, "SELECT count(*) AS n, count(DISTINCT proc_ymd) AS days, min(proc_ymd) AS ymd, "+
		"count(*) FILTER (WHERE eventtime_kst LIKE '2026-11-24 %') AS local_day, "+
		"count(requestparameters['bucketName']) AS buckets, "+
		"count(*) FILTER (WHERE strptime(eventtime_kst, '%Y-%m-%d %H:%M:%S') <> date_trunc('second', timezone('Asia/Seoul', eventtime::TIMESTAMPTZ))) AS bad_local "+
		"FROM "+day)
	r := rows[0]
	if r["n"] != fmt.Sprint(s.Records.Written) || r["days"] != "1" || r["ymd"] != "20261124" || r["local_day"] != r["n"] || r["bad_local"] != "0" {
		t.Errorf("spark files: %v; want %d rows of proc_ymd 20261124, all in the local day, eventtime_kst = eventtime in Asia/Seoul", r, s.Records.Written)
	}
	if r["buckets"] == "0" {
		t.Errorf("no row has requestparameters['bucketName']: %v", r)
	}
}
