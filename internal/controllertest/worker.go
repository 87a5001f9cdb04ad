package controllertest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"time"

	"github.com/parquetrail/parquetrail/internal/merge"
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
	// RangeRows are the written rows per 5-minute step of the day's
	// window (plan.ShardResult.RangeRows); nil for a worker that does not
	// count them.
	RangeRows []int64
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
		res := plan.ShardResult{
			Shard: i, Part: plan.PartKey(p.YMD(), p.RunID, i),
			Objects: int64(len(p.Shards[i].Objects)), Bytes: p.Shards[i].Bytes, Unreadable: s.Unreadable,
			Read: s.Read, Written: s.Written, Outside: s.Outside, OwnDay: s.Outside, Malformed: s.Malformed,
			RangeRows: s.RangeRows,
		}
		if err := plan.WriteJSON(ctx, dst, plan.ResultKey(p.YMD(), p.RunID, i), res); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Merge does what the merge Job leaves behind: the day's manifest with
// files of the given rows, the run's report, and no staging. The report
// sums the shards' results as the worker does (plan.Report), less
// duplicates.
func Merge(ctx context.Context, dst store.Store, planKey string, duplicates int64, fileRows ...int64) error {
	p, _, err := plan.Read(ctx, dst, planKey)
	if err != nil {
		return err
	}
	day, err := p.Day()
	if err != nil {
		return err
	}
	ymd := day.YMD()
	results := make([]*plan.ShardResult, len(p.Shards))
	for i := range p.Shards {
		results[i] = new(plan.ShardResult)
		if err := plan.ReadJSON(ctx, dst, plan.ResultKey(ymd, p.RunID, i), results[i]); err != nil {
			return fmt.Errorf("shard %d has no result: %w", i, err)
		}
	}
	m := plan.Manifest{Version: 1, RunID: p.RunID, Header: plan.NewHeader(day), Parts: len(p.Shards), Duplicates: duplicates}
	for n, rows := range fileRows {
		m.Files = append(m.Files, plan.File{Key: plan.PartitionPrefix(ymd) + merge.FileName(p.RunID, n), Rows: rows, Bytes: rows * 100})
		m.Rows += rows
	}
	rep := plan.NewReport(p, day)
	rep.AddShards(results)
	rep.AddMerge(&m)
	if rep.Records.Malformed > 0 || rep.Objects.Unreadable > 0 {
		rep.Errors = plan.JoinURL(p.Destination, plan.ErrorsKey(ymd, p.RunID))
	}
	if err := plan.WriteJSON(ctx, dst, plan.ManifestKey(ymd), m); err != nil {
		return err
	}
	if err := plan.WriteJSON(ctx, dst, plan.ReportKey(ymd, p.RunID), rep); err != nil {
		return err
	}
	return merge.CleanStaging(ctx, dst, ymd, p.RunID)
}
