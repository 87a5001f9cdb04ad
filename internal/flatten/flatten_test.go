package flatten_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/record/arrowcheck"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/window"
)

func corpus(t testing.TB) (*flattentest.MemStore, []string) {
	t.Helper()
	root := flattentest.TestData()
	st := flattentest.NewMemStore()
	if err := st.LoadDir(root); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range st.Keys("") {
		if strings.HasPrefix(k, "licenses/") || !(strings.HasSuffix(k, ".json") || strings.HasSuffix(k, ".json.gz")) {
			continue
		}
		keys = append(keys, k)
	}
	return st, keys
}

func shardOf(st *flattentest.MemStore, keys ...string) plan.Shard {
	sh := plan.Shard{Index: 7}
	for _, k := range keys {
		o := st.Object(k)
		sh.Objects = append(sh.Objects, o)
		sh.Bytes += o.Size
	}
	return sh
}

// everything is a "day" that holds every record of the corpus (2013–2025).
func everything() window.Day {
	return window.Day{Date: "0001-01-01", Zone: time.UTC, Start: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// classify is the independent expectation for one object, made with
// encoding/json: how many records are read, written, outside, malformed,
// and whether the object is unreadable.
type counts struct {
	Read, Written, Outside, Malformed, Unreadable int64
}

func expectCounts(t testing.TB, plain []byte, day window.Day) (counts, []json.RawMessage) {
	var c counts
	if !json.Valid(plain) {
		c.Unreadable = 1
		// Records before the syntax error are read; the corpus's invalid
		// file breaks inside its first record.
		return c, nil
	}
	var doc map[string]json.RawMessage
	var recs []json.RawMessage
	if json.Unmarshal(plain, &doc) != nil || json.Unmarshal(doc["Records"], &recs) != nil || doc["Records"] == nil {
		c.Unreadable = 1
		return c, nil
	}
	var kept []json.RawMessage
	for _, raw := range recs {
		c.Read++
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			c.Malformed++
			continue
		}
		s, ok := m["eventTime"].(string)
		if !ok {
			c.Malformed++
			continue
		}
		// The documented forms: RFC 3339, or ISO 8601 with a space for the
		// "T", with or without a zone (none is UTC).
		var et time.Time
		var err error
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if et, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
				break
			}
		}
		if err != nil {
			c.Malformed++
			continue
		}
		et = et.Truncate(time.Millisecond)
		if et.Before(day.Start) || !et.Before(day.End) {
			c.Outside++
			continue
		}
		c.Written++
		kept = append(kept, raw)
	}
	return c, kept
}

func plainOf(t testing.TB, b []byte) []byte {
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return gunzip(t, b)
	}
	return b
}

func run(t testing.TB, src store.Store, sh plan.Shard, opts flatten.Options) (*plan.ShardResult, *flattentest.MemStore, error) {
	t.Helper()
	dst := flattentest.NewMemStore()
	res, err := flatten.Shard(context.Background(), src, sh, dst, "part.parquet", opts)
	return res, dst, err
}

// TestCorpusPerFile runs every corpus file as a shard of its own, for a
// KST day that cuts through the layout sample, and checks the counts
// against encoding/json's reading.
func TestCorpusPerFile(t *testing.T) {
	st, keys := corpus(t)
	day := window.MustNew("2020-10-01", "Asia/Seoul")
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			raw, _ := st.Get(k)
			want, _ := expectCounts(t, plainOf(t, raw), day)
			res, _, err := run(t, st, shardOf(st, k), flatten.Options{Day: day, Columns: record.Seed, LocalTimeColumn: "eventtime_kst"})
			if err != nil {
				t.Fatal(err)
			}
			got := counts{res.Read, res.Written, res.Outside, res.Malformed, res.Unreadable}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
			if int64(len(res.Problems)) != res.Malformed+res.Unreadable {
				t.Errorf("%d problems named for %d malformed + %d unreadable", len(res.Problems), res.Malformed, res.Unreadable)
			}
			for _, p := range res.Problems {
				if p.Object != k {
					t.Errorf("problem names %q, want %q", p.Object, k)
				}
				switch {
				case strings.HasPrefix(k, "digest/"):
					if p.Kind != problem.KindNoRecords {
						t.Errorf("digest reported as %s, want %s", p.Kind, problem.KindNoRecords)
					}
				case strings.Contains(k, "BadJsonFormat"):
					if p.Kind != problem.KindInvalidJSON || p.Offset <= 0 {
						t.Errorf("invalid JSON reported as %+v", p)
					}
				}
			}
			if res.Objects != 1 || res.Bytes != int64(len(raw)) {
				t.Errorf("objects %d, bytes %d; want 1, %d", res.Objects, res.Bytes, len(raw))
			}
		})
	}
}

// TestCorpusLossless flattens the whole corpus as one shard with the full
// column set, reads the part back with Arrow and rebuilds every record.
func TestCorpusLossless(t *testing.T) {
	st, keys := corpus(t)
	day := everything()
	var want counts
	originals := map[string]int{}
	for _, k := range keys {
		raw, _ := st.Get(k)
		c, kept := expectCounts(t, plainOf(t, raw), day)
		want.Read += c.Read
		want.Written += c.Written
		want.Outside += c.Outside
		want.Malformed += c.Malformed
		want.Unreadable += c.Unreadable
		for _, r := range kept {
			originals[canonical(t, r)]++
		}
	}
	res, dst, err := run(t, st, shardOf(st, keys...), flatten.Options{Day: day, RowGroupRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	got := counts{res.Read, res.Written, res.Outside, res.Malformed, res.Unreadable}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if res.Read < 1800 {
		t.Errorf("read %d records, want the corpus", res.Read)
	}
	part, _ := dst.Get("part.parquet")
	if int64(len(part)) != res.PartBytes {
		t.Errorf("part has %d bytes, result says %d", len(part), res.PartBytes)
	}
	f, err := arrowcheck.Read(part)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(f.Rows)) != res.Written {
		t.Fatalf("part holds %d rows, result says %d written", len(f.Rows), res.Written)
	}
	if f.Meta.NumRowGroups() != res.RowGroups || res.RowGroups < 3 {
		t.Errorf("%d row groups in the file, %d in the result (want several of 500 rows)", f.Meta.NumRowGroups(), res.RowGroups)
	}
	s, _ := record.NewSchema(record.Full, "")
	for i, row := range f.Rows {
		b, err := s.RebuildJSON(row)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		c := canonical(t, b)
		if originals[c] == 0 {
			t.Errorf("row %d rebuilt into a record not in the corpus:\n%s", i, b)
			continue
		}
		originals[c]--
	}
	checkRowGroupsSorted(t, f)
}

func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// checkRowGroupsSorted verifies that each row group is ordered by
// (eventtime, eventid).
func checkRowGroupsSorted(t *testing.T, f *arrowcheck.File) {
	t.Helper()
	row := 0
	for rg := 0; rg < f.Meta.NumRowGroups(); rg++ {
		n := int(f.Meta.RowGroup(rg).NumRows())
		for i := row + 1; i < row+n; i++ {
			a, b := f.Rows[i-1], f.Rows[i]
			ta, tb := a["eventtime"].(time.Time), b["eventtime"].(time.Time)
			ia, _ := a["eventid"].(string)
			ib, _ := b["eventid"].(string)
			if ta.After(tb) || ta.Equal(tb) && ia > ib {
				t.Fatalf("row group %d: row %d (%v %s) sorts after row %d (%v %s)", rg, i-1, ta, ia, i, tb, ib)
			}
		}
		row += n
	}
}

// TestSchemaOfPart checks the Parquet the way a reader that is not the
// writer sees it: names and order, types, encodings, codec.
func TestSchemaOfPart(t *testing.T) {
	st, keys := corpus(t)
	seed := strings.Fields(`additionaleventdata apiversion awsregion errorcode errormessage eventid eventname eventsource eventtime eventtime_kst eventtype
    eventversion readonly recipientaccountid requestid requestparameters resources_arn
    resources_accountid resources_type responseelements sharedeventid sourceipaddress
    serviceeventdetails useragent useridentity_accesskeyid useridentity_accountid useridentity_arn
    useridentity_invokedby useridentity_principalid useridentity_sessioncontext_attributes_creationdate
    useridentity_sessioncontext_attributes_mfaauthenticated useridentity_sessioncontext_sessionissuer_accountid
    useridentity_sessioncontext_sessionissuer_arn useridentity_sessioncontext_sessionissuer_principalid
    useridentity_sessioncontext_sessionissuer_type useridentity_sessioncontext_sessionissuer_username
    useridentity_type useridentity_username useridentity_webidfederationdata_federatedprovider
    useridentity_webidfederationdata_attributes vpcendpointid`)
	for _, tc := range []struct {
		columns, local, codec string
		wantCodec             string
	}{
		{record.Seed, "eventtime_kst", "", "SNAPPY"},
		{record.Seed, "eventtime_kst", "zstd", "ZSTD"},
		{record.Full, "", "snappy", "SNAPPY"},
		{record.Full, "", "gzip", "GZIP"},
		{record.Full, "", "none", "UNCOMPRESSED"},
	} {
		t.Run(tc.columns+"/"+tc.wantCodec, func(t *testing.T) {
			res, dst, err := run(t, st, shardOf(st, keys...), flatten.Options{Day: everything(), Columns: tc.columns, LocalTimeColumn: tc.local, PartCompression: tc.codec})
			if err != nil {
				t.Fatal(err)
			}
			part, _ := dst.Get("part.parquet")
			f, err := arrowcheck.Read(part)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := record.NewSchema(tc.columns, tc.local)
			if tc.columns == record.Seed {
				if d := cmp.Diff(seed, f.Names); d != "" {
					t.Errorf("seed columns (-want +got):\n%s", d)
				}
			}
			if d := cmp.Diff(s.Names(), f.Names); d != "" {
				t.Errorf("columns (-want +got):\n%s", d)
			}
			if int64(len(f.Rows)) != res.Written {
				t.Errorf("%d rows, %d written", len(f.Rows), res.Written)
			}
			byName := map[string]arrowcheck.Column{}
			for _, c := range f.Columns(0) {
				byName[strings.SplitN(c.Name, ".", 2)[0]] = c
				if c.Codec != tc.wantCodec {
					t.Errorf("%s: codec %s, want %s", c.Name, c.Codec, tc.wantCodec)
				}
			}
			for _, c := range s.Columns {
				pc, ok := byName[c.Name]
				if !ok {
					t.Errorf("column %s missing from the row group", c.Name)
					continue
				}
				wantPhys, wantLogical := "BYTE_ARRAY", "String"
				switch c.Kind {
				case record.Bool:
					wantPhys, wantLogical = "BOOLEAN", "None"
				case record.TimeUTC:
					wantPhys, wantLogical = "INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)"
				case record.TimeLocal:
					wantPhys, wantLogical = "INT64", "Timestamp(isAdjustedToUTC=false, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)"
				}
				if pc.Physical.String() != wantPhys || pc.Logical != wantLogical {
					t.Errorf("%s: %s %s, want %s %s", c.Name, pc.Physical, pc.Logical, wantPhys, wantLogical)
				}
				// Columns marked for a dictionary fall back to PLAIN when
				// their values hardly repeat; the others never have one.
				if !c.Dict && pc.Dict {
					t.Errorf("%s: dictionary-encoded", c.Name)
				}
			}
			for _, name := range []string{"eventname", "eventsource", "awsregion", "eventtype", "eventversion", "useridentity_type"} {
				if !byName[name].Dict {
					t.Errorf("%s: no dictionary page (encodings %v)", name, byName[name].Encodings)
				}
			}
			// Arrow's view of the nested and time columns.
			for name, want := range map[string]string{
				"eventtime":           "timestamp[ms, tz=UTC]",
				s.LocalTimeColumn():   "timestamp[ms]",
				"readonly":            "bool",
				"resources_arn":       "list<element: utf8, nullable>",
				"resources_accountid": "list<element: utf8, nullable>",
				"eventname":           "utf8",
			} {
				fs, ok := f.Schema.FieldsByName(name)
				if !ok {
					t.Errorf("arrow schema lacks %s", name)
					continue
				}
				if got := fs[0].Type.String(); got != want {
					t.Errorf("%s: arrow type %s, want %s", name, got, want)
				}
			}
		})
	}
}

// TestValues checks chosen records column by column against the JSON.
func TestValues(t *testing.T) {
	st, keys := corpus(t)
	res, dst, err := run(t, st, shardOf(st, keys...), flatten.Options{Day: everything(), LocalTimeColumn: "eventtime_kst"})
	_ = res
	if err != nil {
		t.Fatal(err)
	}
	part, _ := dst.Get("part.parquet")
	f, err := arrowcheck.Read(part)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]record.Values{}
	for _, r := range f.Rows {
		if id, ok := r["eventid"].(string); ok {
			byID[id] = r
		}
	}
	// Walk every record with an eventID of its own and compare columns.
	var recs []map[string]any
	seen := map[string]int{}
	for _, k := range keys {
		raw, _ := st.Get(k)
		var doc struct{ Records []map[string]any }
		if json.Unmarshal(plainOf(t, raw), &doc) != nil {
			continue
		}
		for _, m := range doc.Records {
			if id, ok := m["eventID"].(string); ok {
				seen[id]++
				recs = append(recs, m)
			}
		}
	}
	checked := 0
	{
		for _, m := range recs {
			id, _ := m["eventID"].(string)
			row, ok := byID[id]
			if !ok || seen[id] > 1 {
				continue
			}
			checked++
			for col, path := range map[string][]string{
				"eventname": {"eventName"},
				"awsregion": {"awsRegion"},
				"useridentity_sessioncontext_sessionissuer_username": {"userIdentity", "sessionContext", "sessionIssuer", "userName"},
				"tlsdetails_tlsversion":                              {"tlsDetails", "tlsVersion"},
			} {
				var v any = m
				for _, p := range path {
					mm, _ := v.(map[string]any)
					v = mm[p]
				}
				if s, ok := v.(string); ok && row[col] != s {
					t.Errorf("event %s: %s = %v, want %q", id, col, row[col], s)
				}
			}
			if ro, ok := m["readOnly"]; ok {
				want := ro == true || ro == "true"
				if ro != nil && (ro == true || ro == false || ro == "true" || ro == "false") && row["readonly"] != want {
					t.Errorf("event %s: readonly = %v, want %v (from %v)", id, row["readonly"], want, ro)
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("checked only %d records", checked)
	}
	if res.Written == 0 {
		t.Fatal("nothing written")
	}
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := flattentest.Gunzip(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRangeRows checks the rows per fine range of the result against the
// part's own eventtimes: the merge's plan cuts the day by them.
func TestRangeRows(t *testing.T) {
	g := gen(t)
	day := window.MustNew("2024-05-01", "Asia/Seoul")
	st := flattentest.NewMemStore()
	// Records from before the window to after it; a burst in one second.
	st.Put("a.json.gz", flattentest.Gzip(g.Doc(3000, day.Start.Add(-time.Hour), 26*time.Hour)))
	st.Put("b.json.gz", flattentest.Gzip(g.Doc(500, day.Start.Add(7*time.Hour+3*time.Second), time.Second)))
	res, dst, err := run(t, st, shardOf(st, "a.json.gz", "b.json.gz"), flatten.Options{Day: day, RowGroupRows: 700})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := dst.Get("part.parquet")
	f, err := arrowcheck.Read(part)
	if err != nil {
		t.Fatal(err)
	}
	n := plan.RangeCount(day.Start, day.End)
	want := make([]int64, n)
	for _, row := range f.Rows {
		want[int(row["eventtime"].(time.Time).Sub(day.Start)/plan.RangeWidth)]++
	}
	if diff := cmp.Diff(want, res.RangeRows); diff != "" {
		t.Errorf("rows per range (-part +result):\n%s", diff)
	}
	if n != 288 || res.Written < 3000 || want[7*12] < 500 {
		t.Errorf("%d ranges, %d rows written, %d in the burst's range", n, res.Written, want[7*12])
	}
}
