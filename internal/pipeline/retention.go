package pipeline

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
)

// DefaultKeepRuns is how many runs of a day keep their report and error
// files unless the user says otherwise.
const DefaultKeepRuns = 10

// keepRuns turns the plan's setting into a count: 0 is the default, a
// negative number keeps every run.
func keepRuns(n int) int {
	if n == 0 {
		return DefaultKeepRuns
	}
	return n
}

// pruneRuns removes the report and error files of a day's older runs,
// keeping those of the keep most recent runs (by the time their files were
// written) and always the current run's. Run IDs are not ordered by time
// (the operator's are <uid>-<attempt>), so the files' times order them.
// Only files named as parquetrail names them are considered.
func pruneRuns(ctx context.Context, dst store.Store, ymd, current string, keep int) error {
	if keep < 0 {
		return nil
	}
	type runFiles struct {
		id     string
		latest time.Time
		keys   []string
	}
	runs := map[string]*runFiles{}
	for _, pre := range []struct{ key, ext string }{
		{plan.ReportKey(ymd, "x"), ".json"},
		{plan.ErrorsKey(ymd, "x"), ".jsonl"},
	} {
		prefix := strings.TrimSuffix(pre.key, "x"+pre.ext)
		err := dst.List(ctx, prefix, func(o store.Object) error {
			name := strings.TrimPrefix(o.Key, prefix)
			id, ok := strings.CutSuffix(name, pre.ext)
			if !ok || id == "" || strings.Contains(id, "/") {
				return nil // not ours
			}
			r := runs[id]
			if r == nil {
				r = &runFiles{id: id}
				runs[id] = r
			}
			r.keys = append(r.keys, o.Key)
			if o.Modified.After(r.latest) {
				r.latest = o.Modified
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var list []*runFiles
	for _, r := range runs {
		if r.id != current {
			list = append(list, r)
		}
	}
	// Newest first; the current run takes one of the places.
	slices.SortFunc(list, func(a, b *runFiles) int {
		if c := b.latest.Compare(a.latest); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	var drop []string
	for i, r := range list {
		if i >= keep-1 {
			drop = append(drop, r.keys...)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	return dst.Delete(ctx, drop...)
}
