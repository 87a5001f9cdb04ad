package flatten_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/problem"
)

// TestCaps: an object beyond a cap (records, decompressed bytes, one
// record's bytes) is bad input named with the object and the cap, counted
// as unreadable like any object that cannot be read to its end; the good
// object beside it is read whole, and so are the records before the cap.
func TestCaps(t *testing.T) {
	g := gen(t)
	big := g.Record(nil, badDay.Start.Add(time.Hour), "big-1")
	big = append(big[:len(big)-1:len(big)-1], `,"extra":"`+strings.Repeat("x", 300<<10)+`"}`...)
	bigDoc := `{"Records":[` + string(g.Record(nil, badDay.Start, "small-1")) + "," + string(big) + `]}`
	type want struct {
		Read, Unreadable int64
		Problem          problem.Problem
	}
	cases := []struct {
		name   string
		doc    []byte
		opts   flatten.Options
		detail string // in the problem's detail
		want   want
	}{
		{
			name:   "records per object",
			doc:    g.Doc(50, badDay.Start, time.Hour),
			opts:   flatten.Options{MaxObjectRecords: 20},
			detail: "more than the cap of 20 records per object",
			want:   want{Read: 20 + 10, Unreadable: 1, Problem: problem.Problem{Object: "x/capped.json.gz", Record: 20, Kind: problem.KindTooLarge}},
		},
		{
			name:   "decompressed bytes per object",
			doc:    g.Doc(3000, badDay.Start, time.Hour), // about 4 MB of JSON
			opts:   flatten.Options{MaxObjectBytes: 1 << 20},
			detail: "exceeds the cap of 1 MiB per object",
			want:   want{Unreadable: 1, Problem: problem.Problem{Object: "x/capped.json.gz", Kind: problem.KindTooLarge}},
		},
		{
			name:   "bytes per record",
			doc:    []byte(bigDoc),
			opts:   flatten.Options{MaxRecordBytes: 256 << 10},
			detail: "larger than the cap of 256 KiB",
			want:   want{Read: 1 + 10, Unreadable: 1, Problem: problem.Problem{Object: "x/capped.json.gz", Record: 1, Kind: problem.KindTooLarge}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := flattentest.NewMemStore()
			st.Put("a/good.json.gz", flattentest.Gzip(g.Doc(10, badDay.Start, time.Hour)))
			st.Put("x/capped.json.gz", flattentest.Gzip(tc.doc))
			opts := tc.opts
			opts.Day, opts.OnMalformed = badDay, flatten.Report
			res, _, err := run(t, st, shardOf(st, "a/good.json.gz", "x/capped.json.gz"), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 {
				t.Fatalf("problems %+v, want one", res.Problems)
			}
			p := res.Problems[0]
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name the cap (%q)", p.Detail, tc.detail)
			}
			got := want{Read: res.Read, Unreadable: res.Unreadable, Problem: problem.Problem{Object: p.Object, Record: p.Record, Kind: p.Kind}}
			if tc.want.Read == 0 {
				// Where the byte cap stops depends on the window; only its
				// bounds are fixed.
				if res.Read < 10 || res.Read >= 10+3000 {
					t.Errorf("read %d records", res.Read)
				}
				got.Read, got.Problem.Record = 0, 0
				tc.want.Problem.Record = 0
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if err := res.Check(); err != nil {
				t.Error(err)
			}

			// Under the fail policy the cap fails the shard as bad input.
			opts.OnMalformed = flatten.Fail
			_, _, err = run(t, st, shardOf(st, "a/good.json.gz", "x/capped.json.gz"), opts)
			if !errors.Is(err, problem.ErrBadInput) || !strings.Contains(err.Error(), "x/capped.json.gz") || !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("fail policy: got %v, want bad input naming the object and the cap", err)
			}
		})
	}
}

// TestGzipOnce: gzip is detected at an object's start and inflated once.
// An object gzipped twice is not a JSON document after one inflation: it is
// reported as such at once, without inflating the inner layer (a small one
// can hold millions of records).
func TestGzipOnce(t *testing.T) {
	g := gen(t)
	doc := g.Doc(2000, badDay.Start, time.Hour)
	st := flattentest.NewMemStore()
	st.Put("a/once.json.gz", flattentest.Gzip(doc))
	st.Put("b/twice.json.gz", flattentest.Gzip(flattentest.Gzip(doc)))
	res, _, err := run(t, st, shardOf(st, "a/once.json.gz", "b/twice.json.gz"), flatten.Options{Day: badDay})
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Read, Unreadable, JSONBytes int64 }
	if diff := cmp.Diff(counts{2000, 1, int64(len(doc))}, counts{res.Read, res.Unreadable, res.JSONBytes}); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if len(res.Problems) != 1 {
		t.Fatalf("problems %+v", res.Problems)
	}
	p := res.Problems[0]
	if p.Object != "b/twice.json.gz" || p.Kind != problem.KindInvalidJSON || p.Offset != 0 || !strings.Contains(p.Detail, "gzipped twice") {
		t.Errorf("double gzip reported as %+v", p)
	}
}
