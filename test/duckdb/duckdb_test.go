// Package duckdb reads parquetrail's output with DuckDB, the query engine a
// user would point at it: Hive partitioning on proc_ymd, column types, the
// time columns, the seed column set, and the rows against the summary.
package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/sample"
)

// query runs SQL through hack/bench/query.mjs.
func query(t *testing.T, sql string) []map[string]any {
	t.Helper()
	script := filepath.Join("..", "..", "hack", "bench", "query.mjs")
	if _, err := os.Stat(filepath.Join("..", "..", "hack", "bench", "node_modules", "@duckdb", "node-api")); err != nil {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatalf("DuckDB's Node client is not installed (make duckdb): %v", err)
		}
		t.Skip("DuckDB's Node client is not installed; run make duckdb")
	}
	out, err := exec.Command("node", script, sql).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s\nSQL: %s", err, out, sql)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output %q: %v", out, err)
	}
	return rows
}

func TestDuckDBReadsTheDay(t *testing.T) {
	o := sample.Demo()
	o.Records = 3000
	o.Files = 40
	src := t.TempDir()
	st, err := sample.Generate(context.Background(), o, sample.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	s, err := pipeline.Run(context.Background(), pipeline.Config{
		Source: src, Destination: out, Date: o.Date, TimeZone: o.TimeZone,
		Columns: record.Seed, LocalTimeColumn: "eventtime_kst", Deduplicate: true,
		LateArrival: st.LastDelivery.Sub(st.WindowEnd) + time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	from := fmt.Sprintf("read_parquet('%s/proc_ymd=*/*.parquet', hive_partitioning = true, hive_types = {'proc_ymd': VARCHAR})", filepath.ToSlash(out))

	// The day's partition, and the earlier days that got the late events
	// this run read (docs/late-events.md).
	all := query(t, "SELECT proc_ymd, count(*) AS n, count(DISTINCT eventid) AS ids, min(eventtime) AS lo, max(eventtime) AS hi FROM "+from+" GROUP BY ALL ORDER BY proc_ymd")
	var rows []map[string]any
	var late int64
	for _, r := range all {
		switch ymd := r["proc_ymd"].(string); {
		case ymd == "20261124":
			rows = append(rows, r)
		case ymd < "20261124":
			var n int64
			fmt.Sscan(r["n"].(string), &n)
			late += n
		default:
			t.Errorf("a partition after the day: %v", r)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("partitions: %v", all)
	}
	if s.Late == nil || late != s.Late.Written {
		t.Errorf("earlier partitions hold %d rows, the summary's late events written: %+v", late, s.Late)
	}
	if n := rows[0]["n"].(string); n != fmt.Sprint(s.Records.Written) {
		t.Errorf("DuckDB counts %s rows, the summary %d", n, s.Records.Written)
	}
	lo, _ := time.Parse("2006-01-02 15:04:05-07", rows[0]["lo"].(string))
	hi, _ := time.Parse("2006-01-02 15:04:05-07", rows[0]["hi"].(string))
	if lo.Before(s.WindowStart) || !hi.Before(s.WindowEnd) {
		t.Errorf("eventtime spans [%s, %s], outside the day [%s, %s)", lo, hi, s.WindowStart, s.WindowEnd)
	}

	// The seed's columns in its order, with the types a user's query sees.
	types := query(t, "SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM "+from+")")
	var names []string
	got := map[string]string{}
	for _, r := range types {
		names = append(names, r["name"].(string))
		got[r["name"].(string)] = r["type"].(string)
	}
	seed := "additionaleventdata apiversion awsregion errorcode errormessage eventid eventname eventsource eventtime eventtime_kst eventtype " +
		"eventversion readonly recipientaccountid requestid requestparameters resources_arn resources_accountid resources_type " +
		"responseelements sharedeventid sourceipaddress serviceeventdetails useragent useridentity_accesskeyid useridentity_accountid " +
		"useridentity_arn useridentity_invokedby useridentity_principalid useridentity_sessioncontext_attributes_creationdate " +
		"useridentity_sessioncontext_attributes_mfaauthenticated useridentity_sessioncontext_sessionissuer_accountid " +
		"useridentity_sessioncontext_sessionissuer_arn useridentity_sessioncontext_sessionissuer_principalid " +
		"useridentity_sessioncontext_sessionissuer_type useridentity_sessioncontext_sessionissuer_username useridentity_type " +
		"useridentity_username useridentity_webidfederationdata_federatedprovider useridentity_webidfederationdata_attributes vpcendpointid proc_ymd"
	if diff := cmp.Diff(strings.Fields(seed), names); diff != "" {
		t.Errorf("columns (-seed +duckdb):\n%s", diff)
	}
	for col, want := range map[string]string{
		"eventtime": "TIMESTAMP WITH TIME ZONE", "eventtime_kst": "TIMESTAMP", "readonly": "BOOLEAN",
		"resources_arn": "VARCHAR[]", "requestparameters": "VARCHAR", "eventname": "VARCHAR", "proc_ymd": "VARCHAR",
	} {
		if got[col] != want {
			t.Errorf("column %s is %s in DuckDB, want %s", col, got[col], want)
		}
	}

	// The local column is the UTC instant's wall clock in Asia/Seoul.
	off := query(t, "SELECT count(*) AS n FROM "+from+" WHERE eventtime_kst <> timezone('Asia/Seoul', eventtime)")
	if off[0]["n"] != "0" {
		t.Errorf("%v rows whose eventtime_kst is not eventtime in Asia/Seoul", off[0]["n"])
	}
	// Blobs are JSON a user can take apart.
	js := query(t, "SELECT count(*) AS n FROM "+from+" WHERE requestparameters IS NOT NULL AND json_valid(requestparameters) = false")
	if js[0]["n"] != "0" {
		t.Errorf("%v rows with requestparameters that DuckDB does not read as JSON", js[0]["n"])
	}
	// Rows are stored in eventtime order.
	ord := query(t, "SELECT count(*) AS n FROM (SELECT eventtime < lag(eventtime) OVER (ORDER BY filename, file_row_number) AS back FROM read_parquet('"+
		filepath.ToSlash(out)+"/proc_ymd=*/*.parquet', filename = true, file_row_number = true)) WHERE back")
	if ord[0]["n"] != "0" {
		t.Errorf("%v rows stored before an earlier eventtime", ord[0]["n"])
	}
}
