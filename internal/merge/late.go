package merge

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go"

	"github.com/parquetrail/parquetrail/internal/commit"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/pqfile"
	"github.com/parquetrail/parquetrail/internal/record"
	"github.com/parquetrail/parquetrail/internal/store"
)

// LateFilePrefix is the name prefix of the late files of source day
// sourceYMD: "late-<sourceYMD>-"; the file is then named like a merged
// file of the run that wrote it.
func LateFilePrefix(sourceYMD string) string { return "late-" + sourceYMD + "-" }

// Late merges late records for day target (yyyyMMdd, in p's zone) from
// parts (sorted runs in dst, such as flatten's side parts or an earlier late
// file) into one file staged for target (commit.StagedKey of p's run), named
// LateFilePrefix(sourceYMD)+FileName(p.RunID, 0). It drops repeated events
// when p deduplicates, and, always, the events that the files present
// (keys in dst: what the day holds besides) already have: the same eventid
// and eventtime. The rows of earlier (the late files the new one replaces)
// are kept too, unless the side parts or the present files have their
// event: a file is replaced without losing an event that nothing else in
// the day holds. Rows of earlier without an eventid are not kept (they
// cannot be told apart from the side parts' own). It returns nil when no row
// is left.
func Late(ctx context.Context, dst store.Store, p *plan.Plan, target, sourceYMD string, parts, earlier, present []string) (*plan.File, plan.LateStats, error) {
	var st plan.LateStats
	schema, err := record.NewSchema(p.Columns, p.LocalTimeColumn)
	if err != nil {
		return nil, st, err
	}
	day, err := p.Day()
	if err != nil {
		return nil, st, err
	}
	// The target day's files have the plan's types (proc_ymd is the
	// target's); pqfile.Run reads them back into the parts' rows.
	fileSchema, err := schema.FileSchema(p.Types, target)
	if err != nil {
		return nil, st, err
	}
	var files []store.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(key string) (*run, error) {
		f, err := dst.OpenFile(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", key, err)
		}
		files = append(files, f)
		pf, err := parquet.OpenFile(f, f.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		if err := sameColumns(pf.Schema(), schema); err != nil {
			if sameColumns(pf.Schema(), fileSchema) != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
		return newRun(key, f, pf, schema, allGroups(pf)...), nil
	}
	in := &lateRuns{old: map[*run]bool{}}
	var have runHeap
	defer func() {
		for _, r := range append(in.runHeap, have...) {
			r.close()
		}
	}()
	// Each row group of a part is a sorted run; a present file is one.
	for _, key := range parts {
		all, err := open(key)
		if err != nil {
			return nil, st, err
		}
		for _, g := range all.groups {
			r := *all
			r.groups = []int{g}
			if err := push(&in.runHeap, &r); err != nil {
				return nil, st, err
			}
		}
	}
	for _, key := range earlier {
		r, err := open(key)
		if err != nil {
			return nil, st, err
		}
		in.old[r] = true
		if err := push(&in.runHeap, r); err != nil {
			return nil, st, err
		}
	}
	for _, key := range present {
		r, err := open(key)
		if err != nil {
			return nil, st, err
		}
		if err := push(&have, r); err != nil {
			return nil, st, err
		}
	}
	heap.Init(in)
	heap.Init(&have)

	name := LateFilePrefix(sourceYMD)
	out := &output{ctx: ctx, dst: dst, schema: schema, fileSchema: fileSchema, compression: cmp.Or(p.Compression, pqfile.Zstd),
		prefix: commit.StagedKey(target, p.RunID, name), publishAs: plan.PartitionPrefix(target) + name,
		runID: p.RunID, opts: Options{TargetFileBytes: math.MaxInt64, RowGroupRows: DefaultRowGroupRows,
			RowGroupBytes: DefaultRowGroupBytes, Workers: 1},
		kv: map[string]string{
			"parquetrail.columns":         schema.Set,
			"parquetrail.sorted_by":       "eventtime,eventid",
			"parquetrail.local_time_zone": day.ZoneName(),
			"parquetrail.run":             p.RunID,
			"parquetrail.late_from":       p.Date,
		}}
	defer out.abort()
	var lastID, sideID []byte
	lastTime, haveLast := int64(0), false
	sideTime, haveSide := int64(0), false
	for in.Len() > 0 {
		if (st.In+st.Earlier)&4095 == 0 && ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		r := in.runHeap[0]
		if in.old[r] {
			st.Earlier++
			// The side parts' rows of an event come first (lateRuns.Less):
			// the last of them says whether they have this one.
			keep := r.id != nil && !(haveSide && r.time == sideTime && bytes.Equal(r.id, sideID)) &&
				!(p.Deduplicate && haveLast && r.time == lastTime && bytes.Equal(r.id, lastID))
			if keep {
				found, err := seek(&have, r)
				if err != nil {
					return nil, st, err
				}
				keep = !found
			}
			if keep {
				if err := out.add(r.cur); err != nil {
					return nil, st, err
				}
				st.Kept++
				lastTime, haveLast = r.time, true
				lastID = append(lastID[:0], r.id...)
			}
			if err := in.next(r); err != nil {
				return nil, st, err
			}
			continue
		}
		st.In++
		sideTime, haveSide = r.time, true
		sideID = append(sideID[:0], r.id...)
		if r.id == nil {
			sideID = nil
		}
		switch {
		case p.Deduplicate && r.id != nil && haveLast && r.time == lastTime && bytes.Equal(r.id, lastID):
			st.Duplicates++
		default:
			found, err := seek(&have, r)
			if err != nil {
				return nil, st, err
			}
			if found {
				st.Present++
			} else {
				if err := out.add(r.cur); err != nil {
					return nil, st, err
				}
				st.Written++
			}
			lastTime, haveLast = r.time, true
			lastID = append(lastID[:0], r.id...)
			if r.id == nil {
				lastID = nil
			}
		}
		if err := in.next(r); err != nil {
			return nil, st, err
		}
	}
	if err := out.finish(); err != nil {
		return nil, st, err
	}
	if len(out.files) == 0 {
		return nil, st, nil
	}
	f := out.files[0]
	if f.Rows != st.Written+st.Kept {
		return nil, st, fmt.Errorf("late file %s: %d rows written, %d counted", f.Key, f.Rows, st.Written+st.Kept)
	}
	return &f, st, nil
}

// lateRuns orders the runs of Late: by event, and for one event the side
// parts' rows before those of the files being replaced (old).
type lateRuns struct {
	runHeap
	old map[*run]bool
}

func (h *lateRuns) Less(i, j int) bool {
	a, b := h.runHeap[i], h.runHeap[j]
	if h.old[a] != h.old[b] && a.time == b.time && a.id != nil && b.id != nil && bytes.Equal(a.id, b.id) {
		return !h.old[a]
	}
	return a.less(b)
}

// next moves the top run r to its next row, dropping it when spent.
func (h *lateRuns) next(r *run) error {
	ok, err := r.advance()
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(h, 0)
	} else {
		r.close()
		heap.Pop(h)
	}
	return nil
}

// push adds a run to h when it has a row.
func push(h *runHeap, r *run) error {
	ok, err := r.advance()
	if err != nil {
		return err
	}
	if ok {
		*h = append(*h, r)
	}
	return nil
}

// seek advances the present runs past every row before r's and says
// whether one of them is r's event (a row without an eventid never is).
func seek(have *runHeap, r *run) (bool, error) {
	if r.id == nil {
		return false, nil
	}
	for len(*have) > 0 {
		h := (*have)[0]
		if compareKeys(h, r) >= 0 { // by event, whatever the content
			return h.time == r.time && bytes.Equal(h.id, r.id), nil
		}
		ok, err := h.advance()
		if err != nil {
			return false, err
		}
		if ok {
			heap.Fix(have, 0)
		} else {
			h.close()
			heap.Pop(have)
		}
	}
	return false, nil
}
