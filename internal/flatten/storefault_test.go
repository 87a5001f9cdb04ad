package flatten_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/flatten/flattentest"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/faultproxy"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

// s3Shard puts three gzipped documents in a loopback S3 bucket and returns
// the proxy in front of it, a store through the proxy and the listed shard.
func s3Shard(t *testing.T, opts store.Options) (*faultproxy.Proxy, store.Store, plan.Shard) {
	t.Helper()
	p, direct := faultproxy.StartS3(t)
	s3test.CreateBucket(t, direct, "trail")
	g := gen(t)
	for i, k := range []string{"a/1.json.gz", "b/2.json.gz", "c/3.json.gz"} {
		s3test.PutObject(t, direct, "trail", k, flattentest.Gzip(g.Doc(300+100*i, badDay.Start, 24*time.Hour)))
	}
	st := p.Store(t, "s3://trail", opts)
	sh := plan.Shard{Index: 3}
	if err := st.List(context.Background(), "", func(o store.Object) error {
		sh.Objects = append(sh.Objects, o)
		sh.Bytes += o.Size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return p, st, sh
}

var quick = store.Options{MaxAttempts: 3, MaxBackoff: 10 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}

// Faults the store recovers from change nothing in the result.
func TestStoreFaultsRecovered(t *testing.T) {
	p, st, sh := s3Shard(t, quick)
	clean, _, err := run(t, st, sh, flatten.Options{Day: badDay, OnMalformed: flatten.Fail})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []faultproxy.Rule{
		{Kind: faultproxy.Reset, AfterBytes: 2000, Count: 2},
		{Kind: faultproxy.ShortBody, AfterBytes: 5000, Count: 2},
		{Kind: faultproxy.StallBody, AfterBytes: 3000, Count: 1},
		{Kind: faultproxy.Status, Status: 503, Share: 0.5},
	} {
		t.Run(r.Kind.String(), func(t *testing.T) {
			p.ResetCounters()
			r.Method, r.Key = "GET", `\.json\.gz$`
			if err := p.SetRules(r); err != nil {
				t.Fatal(err)
			}
			res, _, err := run(t, st, sh, flatten.Options{Day: badDay, OnMalformed: flatten.Fail})
			if err != nil {
				t.Fatalf("shard failed: %v", err)
			}
			if p.Injected(r.Kind.String()) == 0 {
				t.Error("no fault was injected")
			}
			type counts struct{ Objects, Read, Written, Unreadable, Bytes int64 }
			want := counts{clean.Objects, clean.Read, clean.Written, 0, clean.Bytes}
			got := counts{res.Objects, res.Read, res.Written, res.Unreadable, res.Bytes}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result (-clean +faulted):\n%s", diff)
			}
		})
	}
}

// A store that fails for good on one object fails the shard as a store
// error: never an unreadable object, never bad input, whatever the policy.
func TestStoreFaultIsNotBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   faultproxy.Rule
		policy string
		// listed changes the listed size of the faulted object.
		listed int64
	}{
		{"reset every GET, fail policy", faultproxy.Rule{Kind: faultproxy.Reset, AfterBytes: 100}, flatten.Fail, 0},
		{"reset every GET, report policy", faultproxy.Rule{Kind: faultproxy.Reset, AfterBytes: 100}, flatten.Report, 0},
		{"short body every GET", faultproxy.Rule{Kind: faultproxy.ShortBody, AfterBytes: 1000}, flatten.Fail, 0},
		{"stall every GET", faultproxy.Rule{Kind: faultproxy.StallBody, AfterBytes: 1000}, flatten.Fail, 0},
		{"body shorter than listed", faultproxy.Rule{}, flatten.Fail, +1000},
		{"body longer than listed", faultproxy.Rule{}, flatten.Report, -10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, st, sh := s3Shard(t, quick)
			const key = "b/2.json.gz"
			if tc.rule.Kind != 0 {
				tc.rule.Method, tc.rule.Key = "GET", "^"+key+"$"
				if err := p.SetRules(tc.rule); err != nil {
					t.Fatal(err)
				}
			}
			sh.Objects[1].Size += tc.listed
			res, dst, err := run(t, st, sh, flatten.Options{Day: badDay, OnMalformed: tc.policy})
			if err == nil {
				t.Fatal("shard succeeded")
			}
			if errors.Is(err, problem.ErrBadInput) {
				t.Errorf("error %v is bad input", err)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name %s", err, key)
			}
			if strings.Contains(err.Error(), problem.KindUnreadable) || res.Unreadable != 0 || len(res.Problems) != 0 {
				t.Errorf("store fault counted as a problem: %v, unreadable %d, problems %v", err, res.Unreadable, res.Problems)
			}
			if _, ok := dst.Get("part.parquet"); ok {
				t.Error("a failed shard committed its part")
			}
		})
	}
}
