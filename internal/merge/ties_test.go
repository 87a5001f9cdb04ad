package merge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/record"
)

// tieEvents are records of which many share an eventTime and eventID: some
// as identical copies, some with other content (names, resources, flags,
// fields present or not), among events of their own. names maps the
// eventID of each group whose copies differ only in eventName to those
// names; copies counts the records beyond the first of each (eventTime,
// eventID).
func tieEvents() (recs []map[string]any, names map[string][]string, copies int) {
	names = map[string][]string{}
	at := func(sec int) string {
		return day.Start.Add(3*time.Hour + time.Duration(sec)*time.Second).UTC().Format("2006-01-02T15:04:05Z")
	}
	base := func(id string, sec int) map[string]any {
		return map[string]any{"eventVersion": "1.08", "eventTime": at(sec), "eventID": id,
			"eventSource": "iam.amazonaws.com", "eventName": "GetUser", "awsRegion": "us-east-1"}
	}
	for k := 0; k < 40; k++ {
		sec := k / 4 // several groups share a second
		recs = append(recs, base(fmt.Sprintf("own-%02d", k), sec))

		id := fmt.Sprintf("12345-%02d", k)
		variants := []string{"ListUsers", "CreateAccessKey", "ConsoleLogin", "GetUser"}[:2+k%3]
		names[id] = variants
		for _, n := range variants {
			r := base(id, sec)
			r["eventName"] = n
			recs = append(recs, r)
		}
		copies += len(variants) - 1

		// Copies that differ past eventName: resources, a flag, a field
		// present in one copy only, in a column after eventid.
		id = fmt.Sprintf("doc-%02d", k)
		var other []map[string]any
		for v := 0; v < 6; v++ {
			r := base(id, sec)
			switch v {
			case 1:
				r["resources"] = []any{}
			case 2:
				r["resources"] = []any{map[string]any{"ARN": "arn:aws:s3:::b", "accountId": "111122223333"}}
			case 3:
				r["resources"] = []any{map[string]any{"ARN": "arn:aws:s3:::a"}, map[string]any{"ARN": "arn:aws:s3:::b"}}
			case 4:
				r["readOnly"] = k%2 == 0
			case 5:
				r["requestParameters"] = map[string]any{"userName": fmt.Sprint("u", k)}
			}
			other = append(other, r)
		}
		recs = append(recs, other...)
		copies += len(other) - 1

		// Identical copies, as CloudTrail delivers them.
		id = fmt.Sprintf("same-%02d", k)
		recs = append(recs, base(id, sec), base(id, sec))
		copies++
	}
	return recs, names, copies
}

// layout is a way to cut the records into shards and runs.
type layout struct {
	name       string
	shards     int
	shuffle    int64 // seed; 0 keeps the records' order
	groupRows  int   // rows per row group of a part (0: one group)
	maxRuns    int   // runs merged at once (0: the default)
	reverseOut bool  // parts given to the merge in reverse order
}

// flattenRecords writes recs as one object and flattens it into the part
// of shard s of run runID, row groups of groupRows rows (0: one).
func flattenRecords(t *testing.T, st *flattentest.MemStore, runID string, s int, recs []map[string]any, groupRows int) string {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("logs/%s-%02d.json.gz", runID, s)
	st.Put(key, flattentest.Gzip(doc))
	part := plan.PartKey(day.YMD(), runID, s)
	sh := plan.Shard{Index: s}
	sh.Objects = append(sh.Objects, st.Object(key))
	res, err := flatten.Shard(context.Background(), st, sh, st, part,
		flatten.Options{Day: day, Columns: record.Full, LocalTimeColumn: "eventtime_kst", RowGroupRows: groupRows})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != int64(len(recs)) {
		t.Fatalf("shard %d wrote %d rows of %d records", s, res.Written, len(recs))
	}
	return part
}

// mergeLayout flattens recs as l says and merges the parts.
func mergeLayout(t *testing.T, recs []map[string]any, l layout, dedup bool) (*plan.Manifest, []record.Values) {
	t.Helper()
	recs = slices.Clone(recs)
	if l.shuffle != 0 {
		rand.New(rand.NewSource(l.shuffle)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	}
	st := flattentest.NewMemStore()
	runID := "ties"
	var parts []string
	for s := 0; s < l.shards; s++ {
		var mine []map[string]any
		for i := s; i < len(recs); i += l.shards {
			mine = append(mine, recs[i])
		}
		parts = append(parts, flattenRecords(t, st, runID, s, mine, l.groupRows))
	}
	if l.reverseOut {
		slices.Reverse(parts)
	}
	p := testPlan(runID, record.Full)
	p.Deduplicate = dedup
	m, err := merge.Day(context.Background(), st, p, parts, merge.Options{MaxRuns: l.maxRuns})
	if err != nil {
		t.Fatal(err)
	}
	return m, readDay(t, &fixture{st: st}, m)
}

// TestMergeTiesAnyLayout: copies of an event (same eventTime and eventID)
// with other content come out the same whatever the shards, row groups,
// merge levels and order of the parts: the copy kept is the least in
// content order (of copies that differ only in eventName, the first name),
// and without deduplication every copy is there in one order.
func TestMergeTiesAnyLayout(t *testing.T) {
	recs, names, copies := tieEvents()
	layouts := []layout{
		{name: "one shard", shards: 1},
		{name: "one shard, shuffled", shards: 1, shuffle: 7},
		{name: "5 shards of row groups of 7, 2 runs at a time", shards: 5, shuffle: 1, groupRows: 7, maxRuns: 2},
		{name: "3 shards, reversed", shards: 3, shuffle: 2, groupRows: 50, reverseOut: true},
		{name: "8 shards of row groups of 3, 3 runs at a time", shards: 8, shuffle: 3, groupRows: 3, maxRuns: 3},
	}
	for _, dedup := range []bool{true, false} {
		t.Run(fmt.Sprint("dedup=", dedup), func(t *testing.T) {
			var want []record.Values
			for i, l := range layouts {
				m, rows := mergeLayout(t, recs, l, dedup)
				if m.RowsIn != int64(len(recs)) {
					t.Fatalf("%s: %d rows in, %d records", l.name, m.RowsIn, len(recs))
				}
				wantDups := int64(0)
				if dedup {
					wantDups = int64(copies)
				}
				if m.Duplicates != wantDups || m.Rows != int64(len(recs))-wantDups {
					t.Errorf("%s: %d rows, %d duplicates; want %d, %d", l.name, m.Rows, m.Duplicates, int64(len(recs))-wantDups, wantDups)
				}
				if l.maxRuns > 0 && m.Runs <= l.maxRuns {
					t.Errorf("%s: %d runs; the layout should need intermediate merges", l.name, m.Runs)
				}
				if i == 0 {
					want = rows
					continue
				}
				if diff := cmp.Diff(want, rows); diff != "" {
					t.Fatalf("%s differs from %s (-%s +%s):\n%s", l.name, layouts[0].name, layouts[0].name, l.name, diff)
				}
			}
			if !dedup {
				return
			}
			kept := map[string][]string{}
			for _, r := range want {
				id, _ := r["eventid"].(string)
				if _, ok := names[id]; ok {
					kept[id] = append(kept[id], r["eventname"].(string))
				}
			}
			for id, variants := range names {
				if first := slices.Min(variants); !slices.Equal(kept[id], []string{first}) {
					t.Errorf("%s: kept %v of %v, want %s", id, kept[id], variants, first)
				}
			}
		})
	}
}

// TestLateTies: a late record is present in the day when the day holds its
// event (eventTime and eventID), whether the day's copy comes before or
// after it in content order.
func TestLateTies(t *testing.T) {
	st := flattentest.NewMemStore()
	rec := func(id string, sec int, name string) map[string]any {
		return map[string]any{"eventVersion": "1.08", "eventID": id, "eventName": name, "eventSource": "iam.amazonaws.com",
			"eventTime": day.Start.Add(2*time.Hour + time.Duration(sec)*time.Second).UTC().Format("2006-01-02T15:04:05Z")}
	}
	present := flattenRecords(t, st, "day", 0, []map[string]any{
		rec("e1", 0, "Alpha"), rec("e2", 1, "Zeta"), rec("e4", 3, "Alpha"),
	}, 0)
	side := flattenRecords(t, st, "side", 0, []map[string]any{
		rec("e1", 0, "Zeta"),  // after the day's copy
		rec("e2", 1, "Alpha"), // before it
		rec("e3", 2, "Alpha"), // not in the day
		rec("e4", 3, "Alpha"), // the same record
	}, 0)
	p := testPlan("late", record.Full)
	f, st2, err := merge.Late(context.Background(), st, p, day.YMD(), "20240502", []string{side}, nil, []string{present})
	if err != nil {
		t.Fatal(err)
	}
	if want := (plan.LateStats{In: 4, Written: 1, Present: 3}); st2 != want {
		t.Errorf("late stats %+v, want %+v", st2, want)
	}
	if f == nil || f.Rows != 1 {
		t.Fatalf("late file %+v, want one row", f)
	}
}
