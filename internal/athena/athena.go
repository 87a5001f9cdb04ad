// Package athena prints the CREATE EXTERNAL TABLE statement that makes a
// parquetrail destination queryable from Amazon Athena (and the Glue Data
// Catalog), with partition projection on proc_ymd so that new days are
// visible without a crawler or MSCK REPAIR. proc_ymd is a string, here as
// in every engine's documented setup (docs/querying.md).
package athena

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/parquetrail/parquetrail/internal/record"
)

// Options names the table and where its data is.
type Options struct {
	Database string // default "default"
	Table    string // default "cloudtrail"
	// Location is the destination root, s3://bucket[/prefix].
	Location string
	// FirstDay bounds partition projection, YYYYMMDD (default 20130101,
	// CloudTrail's first year); the range ends at NOW.
	FirstDay string
}

var (
	ident = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,127}$`)
	ymd   = regexp.MustCompile(`^\d{8}$`)
)

// DDL returns the statement for the schema's columns.
func DDL(s *record.Schema, o Options) (string, error) {
	if o.Database == "" {
		o.Database = "default"
	}
	if o.Table == "" {
		o.Table = "cloudtrail"
	}
	if o.FirstDay == "" {
		o.FirstDay = "20130101"
	}
	for _, n := range []string{o.Database, o.Table} {
		if !ident.MatchString(n) {
			return "", fmt.Errorf("%q is not a valid Athena name (lowercase letters, digits, underscore)", n)
		}
	}
	if !ymd.MatchString(o.FirstDay) {
		return "", fmt.Errorf("first day %q is not YYYYMMDD", o.FirstDay)
	}
	if !strings.HasPrefix(o.Location, "s3://") || strings.ContainsAny(o.Location, "'\\\n") {
		return "", fmt.Errorf("location %q must be an s3:// URL", o.Location)
	}
	loc := strings.TrimSuffix(o.Location, "/") + "/"

	// proc_ymd of the spark types is in the files too, but a Hive table
	// names a partition column only in PARTITIONED BY, and takes its value
	// from the folder (the Spark job's table did the same).
	var cols []record.Column
	for _, c := range s.Columns {
		if c.Kind != record.Const {
			cols = append(cols, c)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n", o.Database, o.Table)
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, hiveType(c.Kind), sep)
	}
	b.WriteString(")\n")
	b.WriteString("PARTITIONED BY (`proc_ymd` string)\n")
	b.WriteString("STORED AS PARQUET\n")
	fmt.Fprintf(&b, "LOCATION '%s'\n", loc)
	b.WriteString("TBLPROPERTIES (\n")
	props := [][2]string{
		{"projection.enabled", "true"},
		{"projection.proc_ymd.type", "date"},
		{"projection.proc_ymd.format", "yyyyMMdd"},
		{"projection.proc_ymd.range", o.FirstDay + ",NOW"},
		{"projection.proc_ymd.interval", "1"},
		{"projection.proc_ymd.interval.unit", "DAYS"},
		{"storage.location.template", loc + "proc_ymd=${proc_ymd}/"},
		{"parquet.compression", "ZSTD"},
	}
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  '%s'='%s'%s\n", p[0], p[1], sep)
	}
	b.WriteString(");\n")
	return b.String(), nil
}

func hiveType(k record.Kind) string {
	switch k {
	case record.Bool:
		return "boolean"
	case record.TimeUTC, record.TimeLocal:
		return "timestamp"
	case record.StringList:
		return "array<string>"
	case record.Map:
		return "map<string,string>"
	default:
		return "string"
	}
}
