package pqfile_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/scan"
)

// sparkFile writes recs (JSON records) as a published file of the spark
// types and reads it back with Arrow.
func sparkFile(t *testing.T, recs ...string) *arrowcheck.File {
	t.Helper()
	s, err := record.NewSchema(record.Seed, "eventtime_kst")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.FileSchema(record.Spark, "20240501")
	if err != nil {
		t.Fatal(err)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	r := scan.NewReader(strings.NewReader(`{"Records":[`+strings.Join(recs, ",")+`]}`), s, scan.ReaderOptions{Zone: seoul})
	b := pqfile.NewBatch(s, 1<<20)
	for {
		var row record.Row
		if err := r.Next(&row); err != nil {
			break
		}
		if row.Kind != "" {
			t.Fatalf("record %d: %s %s", row.Index, row.Kind, row.Detail)
		}
		b.Append(&row)
	}
	var buf bytes.Buffer
	w, err := pqfile.NewFileWriter(&buf, fs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(b, false, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := arrowcheck.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSparkSchema checks the file schema of the spark types against the
// exact types of the Spark job's table, as an independent reader sees them.
func TestSparkSchema(t *testing.T) {
	f := sparkFile(t, `{"eventTime":"2024-05-01T10:00:00Z","eventName":"GetObject","readOnly":true}`)
	str := arrow.BinaryTypes.String
	mapType := arrow.MapOf(str, str) // map<utf8, utf8, items_nullable>
	list := arrow.ListOfField(arrow.Field{Name: "element", Type: str, Nullable: true})
	special := map[string]arrow.DataType{
		"requestparameters":                           mapType,
		"responseelements":                            mapType,
		"serviceeventdetails":                         mapType,
		"useridentity_webidfederationdata_attributes": mapType,
		"readonly":                                    arrow.FixedWidthTypes.Boolean,
		"resources_arn":                               list,
		"resources_accountid":                         list,
		"resources_type":                              list,
	}
	// Every other column is a string: proc_ymd, eventtime, eventtime_kst
	// included.
	s, _ := record.NewSchema(record.Seed, "eventtime_kst")
	want := []string{"proc_ymd utf8"}
	for _, n := range s.Names() {
		tp := arrow.DataType(str)
		if d, ok := special[n]; ok {
			tp = d
		}
		want = append(want, n+" "+tp.String())
	}
	var got []string
	for _, fd := range f.Schema.Fields() {
		got = append(got, fd.Name+" "+fd.Type.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("columns and types (-want +got):\n%s", d)
	}
	// The Parquet leaves Spark writes for a MAP<STRING,STRING>.
	var paths []string
	for _, c := range f.Columns(0) {
		if strings.HasPrefix(c.Name, "requestparameters") {
			paths = append(paths, c.Name+" "+c.Logical)
		}
	}
	if d := cmp.Diff([]string{"requestparameters.key_value.key String", "requestparameters.key_value.value String"}, paths); d != "" {
		t.Errorf("map leaves (-want +got):\n%s", d)
	}
}

// TestSparkValues checks what the spark types hold, row by row.
func TestSparkValues(t *testing.T) {
	f := sparkFile(t,
		`{"eventTime":"2024-05-01T10:00:00Z","eventID":"a","requestParameters":{"bucketName":"b","key":"k\"1","x":{"y": [1, 2]},"n":null,"i":2,"bucketName":"dup"}}`,
		`{"eventTime":"2024-05-01T10:00:00.250Z","eventID":"b","requestParameters":{},"responseElements":"not an object"}`,
		`{"eventTime":"2024-05-01T15:30:01Z","eventID":"c","userIdentity":{"webIdFederationData":{"attributes":{"cognito:amr":"[\"authenticated\"]"}}},"serviceEventDetails":{"k":true}}`,
	)
	want := []map[string]any{
		{"eventtime": "2024-05-01T10:00:00Z", "eventtime_kst": "2024-05-01 19:00:00",
			"requestparameters": map[string]any{"bucketName": "b", "key": `k"1`, "x": `{"y":[1,2]}`, "n": nil, "i": "2"}},
		{"eventtime": "2024-05-01T10:00:00.250Z", "eventtime_kst": "2024-05-01 19:00:00",
			"requestparameters": map[string]any{}},
		{"eventtime": "2024-05-01T15:30:01Z", "eventtime_kst": "2024-05-02 00:30:01",
			"useridentity_webidfederationdata_attributes": map[string]any{"cognito:amr": `["authenticated"]`},
			"serviceeventdetails":                         map[string]any{"k": "true"}},
	}
	if len(f.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(f.Rows), len(want))
	}
	cols := []string{"eventtime", "eventtime_kst", "requestparameters", "responseelements", "serviceeventdetails", "useridentity_webidfederationdata_attributes"}
	for i, row := range f.Rows {
		if row["proc_ymd"] != "20240501" {
			t.Errorf("row %d: proc_ymd %v", i, row["proc_ymd"])
		}
		got := map[string]any{}
		for _, c := range cols {
			if v, ok := row[c]; ok {
				got[c] = v
			}
		}
		if d := cmp.Diff(want[i], got); d != "" {
			t.Errorf("row %d (-want +got):\n%s", i, d)
		}
	}
}

func TestFileSchemaErrors(t *testing.T) {
	full, _ := record.NewSchema(record.Full, "")
	seed, _ := record.NewSchema(record.Seed, "")
	for _, tc := range []struct {
		s     *record.Schema
		types string
		ymd   string
		want  string
	}{
		{full, record.Spark, "20240501", `types "spark" need the "seed" column set`},
		{seed, "hive", "20240501", `unknown types "hive"`},
		{seed, record.Spark, "2024-05-01", `proc_ymd "2024-05-01" is not YYYYMMDD`},
	} {
		_, err := tc.s.FileSchema(tc.types, tc.ymd)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FileSchema(%s, %q, %q) = %v, want %q", tc.s.Set, tc.types, tc.ymd, err, tc.want)
		}
	}
	if fs, err := full.FileSchema(record.Typed, "20240501"); err != nil || fs != full {
		t.Errorf("typed FileSchema = %v, %v; want the schema itself", fs, err)
	}
}
