package commit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/store"
)

// Operator run IDs of two CloudTrailDays (A and B) for one date and
// destination.
const (
	dayA = "842523e47273"
	dayB = "0a1b2c3d4e5f"
)

func opRun(at string, day string, attempt int) string {
	return fmt.Sprintf("20261125T%sZ-%s-%d", at, day, attempt)
}

func TestOlder(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{run(1), run(2), true},
		{run(2), run(1), false},
		{run(1), "20261201T000001Z-fedcba", false}, // same second
		{opRun("110000", dayA, 1), opRun("120000", dayB, 1), true},
		{opRun("120000", dayA, 1), opRun("110000", dayB, 1), false},
		{opRun("120000", dayA, 1), opRun("120000", dayB, 1), false}, // same second, two days
		{opRun("120000", dayA, 1), opRun("120000", dayA, 2), true},  // same second, attempts of one day
		{opRun("120000", dayA, 2), opRun("120000", dayA, 1), false},
		{opRun("110000", dayA, 1), "20261125T120000Z-abcdef", true},
		{dayA + "-1", dayA + "-2", true}, // the earlier naming, one day
		{dayA + "-1", run(1), false},     // no time: not ordered
		{dayA + "-1", opRun("110000", dayA, 2), true},
	}
	for _, tc := range tests {
		if got := commit.Older(tc.a, tc.b); got != tc.want {
			t.Errorf("Older(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRunDay(t *testing.T) {
	var got []string
	for _, r := range []string{opRun("110000", dayA, 12), dayA + "-3", run(1), dayA + "-0", "20261125T110000Z-" + dayA, "x-" + dayA + "-1", ""} {
		got = append(got, commit.RunDay(r))
	}
	want := []string{dayA, dayA, "", "", "", "", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunDay (-want +got):\n%s", diff)
	}
}

// putLease writes a lease as a holder that does not renew it (a killed pod).
func putLease(t *testing.T, st store.Store, r string, expires time.Time) {
	t.Helper()
	b, _ := json.Marshal(commit.Lease{Run: r, Holder: "pod/gone/1", Acquired: time.Now(), Expires: expires})
	put(t, st, commit.LeaseKey(ymd), string(b))
}

// A rerun's merge finds the lease of the attempt the rerun stopped: it waits
// for it to expire instead of failing, once; a holder that still renews, a
// later attempt and another day fail it at once.
func TestEarlierAttemptLeaseIsWaitedFor(t *testing.T) {
	second := opRun("120000", dayA, 2)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			putLease(t, st, opRun("110000", dayA, 1), time.Now().Add(600*time.Millisecond))
			began := time.Now()
			d, _, err := commit.Acquire(ctx, st, ymd, second, commit.Options{TTL: 2 * time.Second})
			if err != nil {
				t.Fatalf("earlier attempt's dead lease: %v", err)
			}
			if waited := time.Since(began); waited < 500*time.Millisecond {
				t.Errorf("took the earlier attempt's live lease after %s", waited)
			}
			d.Release(ctx)

			// The earlier attempt's holder is alive: it renews while the
			// new attempt waits.
			putLease(t, st, opRun("110000", dayA, 1), time.Now().Add(500*time.Millisecond))
			renewed := time.AfterFunc(200*time.Millisecond, func() {
				putLease(t, st, opRun("110000", dayA, 1), time.Now().Add(time.Hour))
			})
			defer renewed.Stop()
			_, _, err = commit.Acquire(ctx, st, ymd, second, commit.Options{TTL: 2 * time.Second})
			var he *commit.HeldError
			if !errors.As(err, &he) || he.Lease.Run != opRun("110000", dayA, 1) {
				t.Errorf("renewed lease of the earlier attempt: %v, want held by it", err)
			}

			for _, holder := range []string{opRun("130000", dayA, 3), opRun("110000", dayB, 1), run(1)} {
				putLease(t, st, holder, time.Now().Add(time.Hour))
				began := time.Now()
				_, _, err := commit.Acquire(ctx, st, ymd, second, commit.Options{TTL: 2 * time.Second})
				if !errors.As(err, &he) || he.Lease.Run != holder || !strings.Contains(err.Error(), "run "+holder) {
					t.Errorf("lease of %s: %v, want held by it", holder, err)
				}
				if waited := time.Since(began); waited > time.Second {
					t.Errorf("lease of %s: waited %s before failing", holder, waited)
				}
			}
			if err := st.Delete(ctx, commit.LeaseKey(ymd)); err != nil {
				t.Fatal(err)
			}
			noLeftovers(t, st)
		})
	}
}

// publishWith runs the protocol for run r with n files and lease options o.
func publishWith(t *testing.T, st store.Store, r string, n int, o commit.Options) error {
	t.Helper()
	ctx := context.Background()
	m := stage(t, st, r, n)
	defer commit.RemoveStaging(ctx, st, ymd, r)
	d, lctx, err := commit.Acquire(ctx, st, ymd, r, o)
	if err != nil {
		return err
	}
	defer d.Release(ctx)
	if _, err := d.Recover(lctx); err != nil {
		return err
	}
	_, err = d.Publish(lctx, m)
	return err
}

// Two CloudTrailDays for one date and destination: whichever publishes
// first keeps the day. The later-started day does not replace the earlier
// one's output while that day exists (it is among its rivals); the
// earlier-started one does not replace a newer run's (superseded). Both
// refusals are bad input, which no retry fixes. A day that is not a rival
// (deleted) is replaced.
func TestFirstOfTwoDaysKeepsTheDay(t *testing.T) {
	a1, b1 := opRun("110000", dayA, 1), opRun("120000", dayB, 1)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := publishWith(t, st, a1, 1, commit.Options{Rivals: []string{dayB}}); err != nil {
				t.Fatal(err)
			}
			err := publishWith(t, st, b1, 2, commit.Options{Rivals: []string{"ffffffffffff", dayA}})
			var re *commit.RivalError
			if !errors.As(err, &re) || re.Other != a1 || !errors.Is(err, problem.ErrBadInput) || problem.ExitCode(err) != 3 {
				t.Fatalf("later day after the earlier published: %v, want refused naming %s (exit 3)", err, a1)
			}
			if got := day(t, st); got != a1 {
				t.Errorf("day is run %s, want %s", got, a1)
			}
			// A merge learns it before doing its work.
			ctx := context.Background()
			d, lctx, err := commit.Acquire(ctx, st, ymd, b1, commit.Options{Rivals: []string{dayA}})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.MayReplace(lctx); !errors.As(err, &re) || re.Other != a1 {
				t.Errorf("MayReplace: %v, want refused naming %s", err, a1)
			}
			d.Release(ctx)

			// B publishes once A is gone; then A's older attempt is refused.
			if err := publishWith(t, st, b1, 2, commit.Options{}); err != nil {
				t.Fatalf("day B with A deleted: %v", err)
			}
			err = publishWith(t, st, a1, 1, commit.Options{Rivals: []string{dayB}})
			var se *commit.SupersededError
			if !errors.As(err, &se) || se.Newer != b1 || problem.ExitCode(err) != 3 {
				t.Fatalf("earlier day after the later published: %v, want superseded by %s (exit 3)", err, b1)
			}
			if got := day(t, st); got != b1 {
				t.Errorf("day is run %s, want %s", got, b1)
			}
			// A rerun of B (same day part) replaces B's own output.
			if err := publishWith(t, st, opRun("130000", dayB, 2), 1, commit.Options{Rivals: []string{dayA}}); err != nil {
				t.Fatalf("rerun of B: %v", err)
			}
			noLeftovers(t, st)
		})
	}
}

// The holder removes the staging of its own day's earlier attempts and of
// older shard-worker runs, never that of another CloudTrailDay's attempt,
// which may still be flattening.
func TestRecoverKeepsOtherDaysStaging(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			other, local := opRun("100000", dayB, 1), "20261125T090000Z-abcdef"
			for _, r := range []string{opRun("100000", dayA, 1), other, local} {
				stage(t, st, r, 1)
			}
			d, lctx, err := commit.Acquire(ctx, st, ymd, opRun("120000", dayA, 2), commit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := d.Recover(lctx)
			d.Release(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{local, opRun("100000", dayA, 1)}, rec.StagingRemoved); diff != "" {
				t.Errorf("staging removed (-want +got):\n%s", diff)
			}
			want := []string{commit.StagedKey(ymd, other, "part-"+other+"-00000.parquet")}
			if diff := cmp.Diff(want, keys(t, st, "_parquetrail/")); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
			commit.RemoveStaging(ctx, st, ymd, other)
		})
	}
}
