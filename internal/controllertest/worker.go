package controllertest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parquetrail/parquetrail/internal/flatten"
	"github.com/parquetrail/parquetrail/internal/merge"
	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/plan"
	"github.com/parquetrail/parquetrail/internal/store"
	"github.com/parquetrail/parquetrail/internal/trail"
)

// TrailFiles returns event-log objects of a trail for the UTC hours given,
// one file per account, region and hour, delivered at hh:05, keyed as a
// trail keys them under root. Their records are empty: the operator's
// tests look at listing and planning, not at records.
func TrailFiles(root string, accounts, regions []string, hours ...time.Time) map[string][]byte {
	return trailFiles(gzipped(`{"Records":[]}`), root, accounts, regions, hours...)
}

// LargeTrailFiles is TrailFiles with files of size bytes (not gzip), so
// that a day packs into several shards.
func LargeTrailFiles(size int, root string, accounts, regions []string, hours ...time.Time) map[string][]byte {
	return trailFiles(bytes.Repeat([]byte{'x'}, size), root, accounts, regions, hours...)
}

func trailFiles(body []byte, root string, accounts, regions []string, hours ...time.Time) map[string][]byte {
	files := make(map[string][]byte)
	for _, a := range accounts {
		for _, r := range regions {
			for i, h := range hours {
				t := h.UTC().Truncate(time.Hour).Add(5 * time.Minute)
				key := trail.DatePrefix(root, "", a, r, t.Format("2006/01/02")) +
					fmt.Sprintf("%s_CloudTrail_%s_%s_%04dabcd.json.gz", a, r, t.Format("20060102T1504Z"), i)
				files[key] = body
			}
		}
	}
	return files
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// Shard is what a fake flatten worker reports for one shard.
type Shard struct {
	Read, Written, Outside, Malformed, Unreadable int64
}

// Flatten does what the flatten Job's workers leave behind: a result file
// per shard of the plan at planKey in dst, with the counts of shard(i).
func Flatten(ctx context.Context, dst store.Store, planKey string, shard func(i int) Shard) (*plan.Plan, error) {
	p, _, err := plan.Read(ctx, dst, planKey)
	if err != nil {
		return nil, err
	}
	for i := range p.Shards {
		s := shard(i)
		res := flatten.Result{
			Shard: i, Part: plan.PartKey(p.YMD(), p.RunID, i),
			Objects: int64(len(p.Shards[i].Objects)), Bytes: p.Shards[i].Bytes, Unreadable: s.Unreadable,
			Read: s.Read, Written: s.Written, Outside: s.Outside, Malformed: s.Malformed,
		}
		if err := writeJSON(ctx, dst, plan.ResultKey(p.YMD(), p.RunID, i), res); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Merge does what the merge Job leaves behind: the day's manifest with
// files of the given rows, the run's report, and no staging. Its counts
// are the shards' results less duplicates.
func Merge(ctx context.Context, dst store.Store, planKey string, duplicates int64, fileRows ...int64) error {
	p, _, err := plan.Read(ctx, dst, planKey)
	if err != nil {
		return err
	}
	ymd := p.YMD()
	sum := pipeline.Summary{Date: p.Date, TimeZone: p.TimeZone, RunID: p.RunID, Columns: p.Columns, Shards: len(p.Shards)}
	for i := range p.Shards {
		var r flatten.Result
		if err := readJSON(ctx, dst, plan.ResultKey(ymd, p.RunID, i), &r); err != nil {
			return fmt.Errorf("shard %d has no result: %w", i, err)
		}
		sum.Objects.Read += r.Objects
		sum.Objects.Bytes += r.Bytes
		sum.Objects.Unreadable += r.Unreadable
		sum.Records.Read += r.Read
		sum.Records.Outside += r.Outside
		sum.Records.Malformed += r.Malformed
	}
	m := merge.Manifest{Version: 1, RunID: p.RunID, Date: p.Date, TimeZone: p.TimeZone, Parts: len(p.Shards), Duplicates: duplicates}
	for n, rows := range fileRows {
		m.Files = append(m.Files, merge.File{Key: plan.PartitionPrefix(ymd) + merge.FileName(p.RunID, n), Rows: rows, Bytes: rows * 100})
		m.Rows += rows
		sum.OutBytes += rows * 100
	}
	sum.Files = len(m.Files)
	sum.Records.Written = m.Rows
	sum.Records.Duplicates = duplicates
	if sum.Records.Malformed > 0 || sum.Objects.Unreadable > 0 {
		sum.Errors = p.Destination + "/" + plan.ErrorsKey(ymd, p.RunID)
	}
	if err := writeJSON(ctx, dst, plan.ManifestKey(ymd), m); err != nil {
		return err
	}
	if err := writeJSON(ctx, dst, plan.ReportKey(ymd, p.RunID), sum); err != nil {
		return err
	}
	return merge.CleanStaging(ctx, dst, ymd, p.RunID)
}

func writeJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func readJSON(ctx context.Context, st store.Store, key string, v any) error {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return json.NewDecoder(rc).Decode(v)
}
