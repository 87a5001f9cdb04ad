package commit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/store/faultproxy"
	"github.com/parquetrail/parquetrail/internal/store/s3test"
)

const ymd = "20261124"

var part = plan.PartitionPrefix(ymd)

// stores are the two kinds of destination the protocol runs on.
func stores(t *testing.T) map[string]store.Store {
	t.Helper()
	local, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, client := s3test.Start(t)
	s3test.CreateBucket(t, client, "lake")
	return map[string]store.Store{"local": local, "s3": store.NewS3(client, "lake", "cloudtrail/", store.Options{})}
}

func run(n int) string { return fmt.Sprintf("20261201T0000%02dZ-abcdef", n) }

func put(t *testing.T, st store.Store, key, body string) {
	t.Helper()
	w, err := st.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st store.Store, key string) string {
	t.Helper()
	b, _, err := store.ReadVersion(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), prefix, func(o store.Object) error {
		out = append(out, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// stage writes n files of run r to staging and returns the manifest that
// publishes them.
func stage(t *testing.T, st store.Store, r string, n int) []byte {
	t.Helper()
	type file struct {
		Key string `json:"key"`
	}
	m := struct {
		RunID string `json:"runID"`
		Files []file `json:"files"`
	}{RunID: r, Files: []file{}}
	for i := range n {
		name := fmt.Sprintf("part-%s-%05d.parquet", r, i)
		put(t, st, commit.StagedKey(ymd, r, name), r+"/"+name)
		m.Files = append(m.Files, file{Key: part + name})
	}
	b, _ := json.Marshal(m)
	return b
}

// publish runs the whole protocol for run r with n files.
func publish(t *testing.T, st store.Store, r string, n int) (*commit.Result, error) {
	t.Helper()
	ctx := context.Background()
	m := stage(t, st, r, n)
	d, lctx, err := commit.Acquire(ctx, st, ymd, r, commit.Options{TTL: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	defer d.Release(ctx)
	if _, err := d.Recover(lctx); err != nil {
		return nil, err
	}
	res, err := d.Publish(lctx, m)
	commit.RemoveStaging(ctx, st, ymd, r)
	return res, err
}

// day checks that the partition holds exactly the manifest's files (and
// the user's), all of run r, and returns the manifest's run.
func day(t *testing.T, st store.Store, user ...string) string {
	t.Helper()
	var m struct {
		RunID string `json:"runID"`
		Files []struct {
			Key string `json:"key"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(get(t, st, plan.ManifestKey(ymd))), &m); err != nil {
		t.Fatal(err)
	}
	want := append([]string{plan.ManifestKey(ymd)}, user...)
	for _, f := range m.Files {
		want = append(want, f.Key)
		if got, w := get(t, st, f.Key), m.RunID+"/"+path.Base(f.Key); got != w {
			t.Errorf("%s holds %q, want %q", f.Key, got, w)
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, keys(t, st, part)); diff != "" {
		t.Errorf("partition (-want +got):\n%s", diff)
	}
	return m.RunID
}

// noLeftovers: no journal, lease, staging or temporary file remains.
func noLeftovers(t *testing.T, st store.Store) {
	t.Helper()
	for _, k := range keys(t, st, "_parquetrail/") {
		t.Errorf("left behind: %s", k)
	}
}

func TestPublishReplacesOnlyItsOwnFiles(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			user := []string{part + "_SUCCESS", part + "notes.txt", part + "sub/keep.parquet", part + "part-0000.parquet"}
			for _, k := range user {
				put(t, st, k, "the user's")
			}
			// An own-named file no manifest names: a leftover of a run
			// from before the protocol.
			put(t, st, part+"part-20250101T000000Z-0a0b0c-00000.parquet", "orphan")
			if _, err := publish(t, st, run(1), 3); err != nil {
				t.Fatal(err)
			}
			if got := day(t, st, user...); got != run(1) {
				t.Errorf("published run %s, want %s", got, run(1))
			}
			res, err := publish(t, st, run(2), 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := day(t, st, user...); got != run(2) {
				t.Errorf("published run %s, want %s", got, run(2))
			}
			if res.OldRun != run(1) || len(res.Deleted) != 3 {
				t.Errorf("result %+v, want 3 files of %s deleted", res, run(1))
			}
			for _, k := range user {
				if got := get(t, st, k); got != "the user's" {
					t.Errorf("%s = %q", k, got)
				}
			}
			noLeftovers(t, st)
			t.Logf("mixed window of the second switch: %s", res.Mixed)
		})
	}
}

// The operator names its runs after the attempt's start, the
// CloudTrailDay's UID and the attempt (controllers.runID): a rerun's files
// replace the earlier attempt's, and a leftover of an attempt that no
// manifest names is removed, in the current and in the earlier naming
// (without the time).
func TestOperatorRunIDs(t *testing.T) {
	const (
		first  = "20261125T114500Z-842523e47273-1"
		second = "20261125T120000Z-842523e47273-2"
	)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			user := []string{part + "part-0000.parquet", part + "part-842523e47273-x-00000.parquet", part + "part-20261125T114500Z-842523e47273-00000.parquet"}
			for _, k := range user {
				put(t, st, k, "the user's")
			}
			if _, err := publish(t, st, first, 2); err != nil {
				t.Fatal(err)
			}
			put(t, st, part+"part-842523e47273-7-00000.parquet", "leftover of an attempt of the earlier naming")
			put(t, st, part+"part-20261125T113000Z-842523e47273-3-00000.parquet", "leftover of attempt 3")
			res, err := publish(t, st, second, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := day(t, st, user...); got != second {
				t.Errorf("published run %s, want %s", got, second)
			}
			want := []string{
				part + "part-20261125T113000Z-842523e47273-3-00000.parquet",
				part + "part-" + first + "-00000.parquet", part + "part-" + first + "-00001.parquet",
				part + "part-842523e47273-7-00000.parquet",
			}
			if diff := cmp.Diff(want, res.Deleted); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			noLeftovers(t, st)
		})
	}
}

func TestOlderRunCannotReplaceNewer(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := publish(t, st, run(5), 1); err != nil {
				t.Fatal(err)
			}
			_, err := publish(t, st, run(4), 1)
			var se *commit.SupersededError
			if !errors.As(err, &se) || se.Newer != run(5) {
				t.Fatalf("older run: %v, want superseded by %s", err, run(5))
			}
			if got := day(t, st); got != run(5) {
				t.Errorf("day is run %s", got)
			}
			noLeftovers(t, st)
		})
	}
}

// TestConcurrentRuns: two runs take the day at once; exactly one holds it
// and the other fails naming it; the winner publishes.
func TestConcurrentRuns(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			manifests := map[string][]byte{run(1): stage(t, st, run(1), 2), run(2): stage(t, st, run(2), 2)}
			var (
				wg       sync.WaitGroup
				tried    sync.WaitGroup
				mu       sync.Mutex
				winners  []string
				failures []error
			)
			tried.Add(2)
			for r, m := range manifests {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, lctx, err := commit.Acquire(ctx, st, ymd, r, commit.Options{Holder: "test/" + r})
					tried.Done()
					if err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
						return
					}
					defer d.Release(ctx)
					tried.Wait() // hold the day until the other has tried
					if _, err := d.Publish(lctx, m); err != nil {
						t.Errorf("%s: %v", r, err)
					}
					mu.Lock()
					winners = append(winners, r)
					mu.Unlock()
				}()
			}
			wg.Wait()
			if len(winners) != 1 || len(failures) != 1 {
				t.Fatalf("winners %v, failures %v; want one of each", winners, failures)
			}
			var he *commit.HeldError
			if !errors.As(failures[0], &he) || he.Lease.Run != winners[0] || !strings.Contains(failures[0].Error(), "run "+winners[0]) {
				t.Errorf("loser's error %q does not name the winner %s", failures[0], winners[0])
			}
			if got := day(t, st); got != winners[0] {
				t.Errorf("day is run %s, want the winner %s", got, winners[0])
			}
		})
	}
}

// TestExpiredLeaseIsTakenOver: a holder that died blocks the day until its
// lease expires, no longer; a lease of the same run is waited for.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dead := func(r string, expires time.Time) {
				b, _ := json.Marshal(commit.Lease{Run: r, Holder: "host/gone/1", Acquired: time.Now(), Expires: expires})
				put(t, st, commit.LeaseKey(ymd), string(b))
			}
			dead(run(1), time.Now().Add(time.Hour))
			if _, _, err := commit.Acquire(ctx, st, ymd, run(2), commit.Options{}); !errors.As(err, new(*commit.HeldError)) {
				t.Fatalf("live lease: %v, want held", err)
			}
			dead(run(1), time.Now().Add(-time.Second))
			d, _, err := commit.Acquire(ctx, st, ymd, run(2), commit.Options{})
			if err != nil {
				t.Fatalf("expired lease: %v", err)
			}
			d.Release(ctx)
			dead(run(3), time.Now().Add(500*time.Millisecond))
			began := time.Now()
			d, _, err = commit.Acquire(ctx, st, ymd, run(3), commit.Options{})
			if err != nil {
				t.Fatalf("own run's lease: %v", err)
			}
			if waited := time.Since(began); waited < 400*time.Millisecond {
				t.Errorf("took the same run's live lease after %s", waited)
			}
			d.Release(ctx)
			noLeftovers(t, st)
		})
	}
}

// TestRecover: a switch interrupted after the copy-in is undone, one
// interrupted after the manifest is finished.
func TestRecover(t *testing.T) {
	for name, st := range stores(t) {
		for _, committed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/committed=%v", name, committed), func(t *testing.T) {
				ctx := context.Background()
				for _, k := range keys(t, st, "") {
					st.Delete(ctx, k)
				}
				put(t, st, part+"_SUCCESS", "the user's")
				if _, err := publish(t, st, run(1), 2); err != nil {
					t.Fatal(err)
				}
				// Run 2 crashed mid-switch: journal written, files
				// copied in, and (committed) the manifest replaced.
				m := stage(t, st, run(2), 2)
				j := commit.Journal{Version: 1, Run: run(2),
					OldRun:   run(1),
					OldFiles: []string{part + "part-" + run(1) + "-00000.parquet", part + "part-" + run(1) + "-00001.parquet"},
					NewFiles: []string{part + "part-" + run(2) + "-00000.parquet", part + "part-" + run(2) + "-00001.parquet"}}
				jb, _ := json.Marshal(j)
				put(t, st, commit.JournalKey(ymd), string(jb))
				for _, k := range j.NewFiles {
					if err := store.Copy(ctx, st, commit.StagedKey(ymd, run(2), path.Base(k)), k); err != nil {
						t.Fatal(err)
					}
				}
				if committed {
					put(t, st, plan.ManifestKey(ymd), string(m))
				}
				d, lctx, err := commit.Acquire(ctx, st, ymd, run(3), commit.Options{})
				if err != nil {
					t.Fatal(err)
				}
				rec, err := d.Recover(lctx)
				d.Release(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := run(1)
				if committed {
					want = run(2)
				}
				if got := day(t, st, part+"_SUCCESS"); got != want {
					t.Errorf("day is run %s, want %s", got, want)
				}
				if rec.Forward != committed || len(rec.Deleted) != 2 || !slices.Equal(rec.StagingRemoved, []string{run(2)}) {
					t.Errorf("recovery %+v", rec)
				}
				noLeftovers(t, st)
			})
		}
	}
}

// TestManifestPutFails: every PUT of the manifest fails (500) after a good
// day was published: the old day stays whole, the new files go again.
func TestManifestPutFails(t *testing.T) {
	proxy, direct := faultproxy.StartS3(t)
	s3test.CreateBucket(t, direct, "lake")
	st := proxy.Store(t, "s3://lake/cloudtrail", store.Options{MaxAttempts: 2})
	if _, err := publish(t, st, run(1), 2); err != nil {
		t.Fatal(err)
	}
	if err := proxy.SetRules(faultproxy.Rule{Name: "manifest", Method: "PUT", Key: `_manifest\.json$`, Kind: faultproxy.Status, Status: 500}); err != nil {
		t.Fatal(err)
	}
	_, err := publish(t, st, run(2), 3)
	if err == nil || !strings.Contains(err.Error(), "publishing the manifest") || !strings.Contains(err.Error(), "left as it was") {
		t.Fatalf("publish with failing manifest PUTs: %v", err)
	}
	if proxy.Injected("manifest") == 0 {
		t.Fatal("no fault injected")
	}
	proxy.Clear()
	if got := day(t, st); got != run(1) {
		t.Errorf("day is run %s, want the old %s", got, run(1))
	}
	noLeftovers(t, st)
}

func TestSameLocation(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	open := func(url string) store.Store {
		st, err := store.Open(ctx, url, store.Options{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "b"})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	cases := []struct {
		a, b string
		want bool
	}{
		{root + "/src", root + "/dst", false},
		{root + "/src", root + "/src/dst", true},
		{root + "/dst/proc_ymd=20261124/src", root + "/dst", true},
		{root + "/a", root + "/a", true},
		{"s3://b/trail", "s3://b/lake", false},
		{"s3://b/trail", "s3://b/trail/lake", true},
		{"s3://b", "s3://b/lake", true},
		{"s3://b/x", "s3://c/x", false},
		{root + "/x", "s3://b/x", false},
	}
	for _, c := range cases {
		if got := store.SameLocation(open(c.a), open(c.b)); got != c.want {
			t.Errorf("SameLocation(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
