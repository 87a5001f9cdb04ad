package plan

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

// TestContractRoundTrip writes each file of the contract with WriteJSON and
// reads it back with ReadJSON, and checks the JSON names the operator and
// older files use: the header is flat (date, timeZone, windowStart,
// windowEnd at the top level), not nested.
func TestContractRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day := window.MustNew("2026-03-08", "America/New_York") // 23 hours
	p := &Plan{Version: Version, RunID: "20260309T050000Z-abcdef", Date: day.Date, TimeZone: "America/New_York", Columns: "full",
		Shards: []Shard{{Index: 0}, {Index: 1}}}
	res := []*ShardResult{
		{Shard: 0, Objects: 3, Bytes: 300, Read: 10, Written: 7, Outside: 2, OwnDay: 2, Malformed: 1},
		{Shard: 1, Objects: 1, Bytes: 100, Unreadable: 1, Read: 5, Written: 5},
	}
	m := &Manifest{Version: 1, RunID: p.RunID, Header: NewHeader(day), Rows: 10, Duplicates: 2,
		Files: []File{{Key: "proc_ymd=20260308/a.parquet", Rows: 10, Bytes: 1000}}}
	rep := NewReport(p, day)
	rep.AddShards(res)
	rep.AddMerge(m)
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	wantRecords := Records{Read: 15, Written: 10, Outside: 2, OwnDay: 2, Duplicates: 2, Malformed: 1}
	if diff := cmp.Diff(wantRecords, rep.Records); diff != "" {
		t.Errorf("report records (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		key       string
		v, into   any
		wantNames []string
	}{
		{ResultKey("20260308", p.RunID, 0), res[0], new(ShardResult), []string{"read", "outside", "malformed", "unreadable"}},
		{FailureKey("20260308", p.RunID, 1), &Failure{Result: res[1], Error: "k: record 3 (byte 9): malformed-record"}, new(Failure), []string{"result", "error"}},
		{ManifestKey("20260308"), m, new(Manifest), []string{"runID", "date", "timeZone", "windowStart", "windowEnd", "rows", "duplicates", "files"}},
		{ReportKey("20260308", p.RunID), rep, new(Report), []string{"runID", "date", "timeZone", "windowStart", "windowEnd", "objects", "records", "stages"}},
	} {
		t.Run(tt.key, func(t *testing.T) {
			if err := WriteJSON(ctx, st, tt.key, tt.v); err != nil {
				t.Fatal(err)
			}
			if err := ReadJSON(ctx, st, tt.key, tt.into); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.v, tt.into); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			var top map[string]json.RawMessage
			if err := ReadJSON(ctx, st, tt.key, &top); err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.wantNames {
				if _, ok := top[n]; !ok {
					t.Errorf("%s has no top-level %q", tt.key, n)
				}
			}
			if _, ok := top["Header"]; ok {
				t.Errorf("%s nests the header", tt.key)
			}
		})
	}

	if err := ReadJSON(ctx, st, "missing.json", new(Report)); !store.IsNotExist(err) {
		t.Errorf("ReadJSON of a missing key = %v, want a not-exist error", err)
	}
}

func TestPlanDay(t *testing.T) {
	for _, tt := range []struct {
		date, zone string
		wantHours  float64
		wantErr    bool
	}{
		{"2026-03-08", "America/New_York", 23, false},
		{"2026-11-01", "America/New_York", 25, false},
		{"2026-11-24", "Asia/Seoul", 24, false},
		{"2026-11-24", "Local", 0, true},
		{"2026-02-30", "UTC", 0, true},
	} {
		d, err := (&Plan{Date: tt.date, TimeZone: tt.zone}).Day()
		if (err != nil) != tt.wantErr {
			t.Errorf("Day(%s %s) error = %v, want error %v", tt.date, tt.zone, err, tt.wantErr)
			continue
		}
		if err == nil && d.End.Sub(d.Start).Hours() != tt.wantHours {
			t.Errorf("Day(%s %s) = [%v, %v), want %v hours", tt.date, tt.zone, d.Start, d.End, tt.wantHours)
		}
	}
}
