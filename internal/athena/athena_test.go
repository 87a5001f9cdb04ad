package athena

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden are the statements users paste into Athena: one per column set.
var golden = []struct {
	file           string
	set, localTime string
	opts           Options
}{
	{"full.sql", record.Full, "", Options{Location: "s3://example-security-lake/cloudtrail"}},
	{"seed.sql", record.Seed, "eventtime_kst", Options{
		Database: "security", Table: "cloudtrail_kst", Location: "s3://example-security-lake/cloudtrail_parquet/",
		FirstDay: "20240101",
	}},
	{"seed_spark.sql", record.Seed + "+" + record.Spark, "eventtime_kst", Options{
		Database: "security", Table: "cloudtrail_spark", Location: "s3://example-security-lake/cloudtrail_sparkjob/",
		FirstDay: "20240101",
	}},
}

// schema returns the file schema of a golden's set ("seed+spark" for the
// spark types).
func schema(t *testing.T, set, local string) *record.Schema {
	t.Helper()
	set, types, _ := strings.Cut(set, "+")
	s, err := record.NewSchema(set, local)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.FileSchema(types, "20240101")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDDLGolden(t *testing.T) {
	for _, g := range golden {
		t.Run(g.file, func(t *testing.T) {
			got, err := DDL(schema(t, g.set, g.localTime), g.opts)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/athena -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("DDL differs from %s (-golden +got); if the change is intended, run go test ./internal/athena -update:\n%s", path, diff)
			}
		})
	}
}

var (
	columnLine = regexp.MustCompile("^  `([a-z_][a-z0-9_]*)` ([a-z<>,]+?),?$")
	property   = regexp.MustCompile(`^  '([a-z._]+)'='([^']*)',?$`)
)

// parsed is what a DDL statement declares.
type parsed struct {
	columns   [][2]string // name, type
	partition string
	location  string
	props     map[string]string
}

func parse(t *testing.T, ddl string) parsed {
	t.Helper()
	var p parsed
	p.props = map[string]string{}
	lines := strings.Split(strings.TrimSuffix(ddl, "\n"), "\n")
	section := "head"
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "CREATE EXTERNAL TABLE IF NOT EXISTS ") && strings.HasSuffix(l, " ("):
			section = "columns"
		case l == ")":
			section = "body"
		case section == "columns":
			m := columnLine.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("column line %q", l)
			}
			p.columns = append(p.columns, [2]string{m[1], m[2]})
		case strings.HasPrefix(l, "PARTITIONED BY "):
			p.partition = strings.TrimPrefix(l, "PARTITIONED BY ")
		case strings.HasPrefix(l, "LOCATION "):
			p.location = strings.Trim(strings.TrimPrefix(l, "LOCATION "), "'")
		case l == "TBLPROPERTIES (":
			section = "props"
		case section == "props" && l != ");":
			m := property.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("property line %q", l)
			}
			p.props[m[1]] = m[2]
		}
	}
	return p
}

// athenaType is the Athena type of each kind of Parquet column the writer
// produces, as the Athena documentation maps Parquet logical types.
var athenaType = map[record.Kind]string{
	record.String:     "string",
	record.JSON:       "string",
	record.Bool:       "boolean",
	record.TimeUTC:    "timestamp",
	record.TimeLocal:  "timestamp",
	record.StringList: "array<string>",
	record.TimeText:   "string",
	record.LocalText:  "string",
	record.Map:        "map<string,string>",
}

func TestDDLColumnsAreTheSchema(t *testing.T) {
	for _, c := range []struct{ set, local string }{
		{record.Full, ""}, {record.Full, "eventtime_kst"}, {record.Seed, ""}, {record.Seed, "eventtime_kst"},
		{record.Seed + "+" + record.Spark, "eventtime_kst"},
	} {
		s := schema(t, c.set, c.local)
		ddl, err := DDL(s, Options{Location: "s3://lake/prefix"})
		if err != nil {
			t.Fatal(err)
		}
		p := parse(t, ddl)
		var want [][2]string
		for _, col := range s.Columns {
			if col.Kind == record.Const {
				continue // proc_ymd: the partition key
			}
			typ, ok := athenaType[col.Kind]
			if !ok {
				t.Fatalf("column %s has kind %v, which has no Athena type here", col.Name, col.Kind)
			}
			want = append(want, [2]string{col.Name, typ})
		}
		if diff := cmp.Diff(want, p.columns); diff != "" {
			t.Errorf("%s/%s: DDL columns differ from the schema's (-schema +ddl):\n%s", c.set, c.local, diff)
		}
		for _, col := range p.columns {
			if col[0] == "proc_ymd" {
				t.Errorf("%s: proc_ymd is a column and the partition key; Athena refuses that", c.set)
			}
		}
		if p.partition != "(`proc_ymd` string)" {
			t.Errorf("partition %q", p.partition)
		}
		if p.location != "s3://lake/prefix/" {
			t.Errorf("location %q", p.location)
		}
		// Partition projection finds every day without a crawler: the
		// template must name the layout the merge writes.
		for k, v := range map[string]string{
			"projection.enabled":                "true",
			"projection.proc_ymd.type":          "date",
			"projection.proc_ymd.format":        "yyyyMMdd",
			"projection.proc_ymd.interval.unit": "DAYS",
			"storage.location.template":         "s3://lake/prefix/proc_ymd=${proc_ymd}/",
		} {
			if p.props[k] != v {
				t.Errorf("%s = %q, want %q", k, p.props[k], v)
			}
		}
		if !strings.HasPrefix(p.props["projection.proc_ymd.range"], "20130101,") {
			t.Errorf("range %q", p.props["projection.proc_ymd.range"])
		}
	}
	if s, _ := record.NewSchema(record.Seed, "eventtime_kst"); len(s.Columns) != 41 {
		t.Errorf("the seed set has %d columns in the files, want 41 (the seed's 42 less proc_ymd)", len(s.Columns))
	}
}

func TestDDLRefusesBadInput(t *testing.T) {
	s, _ := record.NewSchema(record.Full, "")
	for _, o := range []Options{
		{Location: "lake/prefix"},
		{Location: "https://lake.s3.amazonaws.com/prefix"},
		{Location: "s3://lake/it's"},
		{Location: "s3://lake", Table: "Cloud-Trail"},
		{Location: "s3://lake", Database: "my db"},
		{Location: "s3://lake", FirstDay: "2013-01-01"},
	} {
		if ddl, err := DDL(s, o); err == nil {
			t.Errorf("%+v accepted:\n%s", o, ddl)
		}
	}
}
