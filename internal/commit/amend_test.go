package commit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
)

// amend adds a late file of run r to the day (retiring remove), keeping
// the manifest's run and its other files.
func amend(t *testing.T, st store.Store, r string, remove ...string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("late-20261125-part-%s-00000.parquet", r)
	put(t, st, commit.StagedKey(ymd, r, name), r+"/"+name)
	d, lctx, err := commit.Acquire(ctx, st, ymd, r, commit.Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release(ctx)
	if err := d.RecoverSwitch(lctx); err != nil {
		t.Fatal(err)
	}
	b, ver, err := store.ReadVersion(ctx, st, plan.ManifestKey(ymd))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var files []any
	for _, f := range m["files"].([]any) {
		if !slices.Contains(remove, f.(map[string]any)["key"].(string)) {
			files = append(files, f)
		}
	}
	m["files"] = append(files, map[string]any{"key": part + name})
	nb, _ := json.Marshal(m)
	if _, err := d.Amend(lctx, ver, nb, []string{part + name}, remove); err != nil {
		t.Fatal(err)
	}
	commit.RemoveStaging(ctx, st, ymd, r)
	return part + name
}

func manifestKeys(t *testing.T, st store.Store) (string, []string) {
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
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Key)
	}
	slices.Sort(out)
	return m.RunID, out
}

func TestAmendAddsReplacesAndIsCarried(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := publish(t, st, run(1), 2); err != nil {
				t.Fatal(err)
			}
			own := []string{part + fmt.Sprintf("part-%s-00000.parquet", run(1)), part + fmt.Sprintf("part-%s-00001.parquet", run(1))}
			first := amend(t, st, run(5))
			second := amend(t, st, run(6), first)
			gotRun, got := manifestKeys(t, st)
			want := append(slices.Clone(own), second)
			slices.Sort(want)
			if gotRun != run(1) {
				t.Errorf("manifest run %s after amending, want %s", gotRun, run(1))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manifest after amending (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sorted(append(slices.Clone(want), plan.ManifestKey(ymd))), sorted(keys(t, st, part))); diff != "" {
				t.Errorf("partition after amending (-want +got):\n%s", diff)
			}
			if got := get(t, st, second); got != run(6)+"/late-20261125-part-"+run(6)+"-00000.parquet" {
				t.Errorf("%s holds %q", second, got)
			}

			// A new run of the day carries the late file it keeps naming.
			ctx := context.Background()
			m := stage(t, st, run(7), 1)
			var mm map[string]any
			json.Unmarshal(m, &mm)
			mm["files"] = append(mm["files"].([]any), map[string]any{"key": second})
			m, _ = json.Marshal(mm)
			d, lctx, err := commit.Acquire(ctx, st, ymd, run(7), commit.Options{TTL: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Recover(lctx); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Publish(lctx, m); err != nil {
				t.Fatal(err)
			}
			d.Release(ctx)
			commit.RemoveStaging(ctx, st, ymd, run(7))
			want = sorted([]string{part + fmt.Sprintf("part-%s-00000.parquet", run(7)), second})
			if _, got := manifestKeys(t, st); !cmp.Equal(want, got) {
				t.Errorf("manifest after the rerun: %v, want %v", got, want)
			}
			if diff := cmp.Diff(sorted(append(want, plan.ManifestKey(ymd))), sorted(keys(t, st, part))); diff != "" {
				t.Errorf("partition after the rerun (-want +got):\n%s", diff)
			}
			noLeftovers(t, st)
		})
	}
}

func TestAmendRefusesOthersFiles(t *testing.T) {
	st := stores(t)["local"]
	if _, err := publish(t, st, run(1), 1); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, lctx, err := commit.Acquire(ctx, st, ymd, run(5), commit.Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release(ctx)
	_, ver, _ := store.ReadVersion(ctx, st, plan.ManifestKey(ymd))
	other := part + "late-20261125-part-" + run(4) + "-00000.parquet"
	m, _ := json.Marshal(map[string]any{"runID": run(1), "files": []any{map[string]any{"key": other}}})
	if _, err := d.Amend(lctx, ver, m, []string{other}, nil); err == nil {
		t.Error("Amend added a file of another run")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
