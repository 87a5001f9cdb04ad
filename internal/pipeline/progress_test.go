package pipeline_test

import (
	"context"
	"testing"

	"github.com/parquetrail/parquetrail/internal/pipeline"
	"github.com/parquetrail/parquetrail/internal/record"
)

// TestProgress follows a run's progress: folders while planning, records
// and bytes within shards (before any shard has finished), rows while
// merging, each stage ending complete.
func TestProgress(t *testing.T) {
	o := smallDay()
	src, st := generate(t, o)
	c := config(src, t.TempDir(), o, st)
	c.Columns = record.Seed
	c.TargetShardBytes = 4 << 20 // one shard per worker: progress within it
	var got []pipeline.Progress
	c.Progress = func(p pipeline.Progress) { got = append(got, p) }
	s, err := pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]pipeline.Progress{}
	var order []string
	withinShard := false
	for _, p := range got {
		if len(order) == 0 || order[len(order)-1] != p.Stage {
			order = append(order, p.Stage)
		}
		if p.Stage == "flatten" && p.ShardsDone == 0 && p.RecordsRead > 0 && p.BytesRead > 0 {
			withinShard = true
		}
		if prev, ok := last[p.Stage]; ok && (p.RecordsRead < prev.RecordsRead || p.RowsMerged < prev.RowsMerged || p.FoldersListed < prev.FoldersListed) {
			t.Errorf("progress went back: %+v after %+v", p, prev)
		}
		last[p.Stage] = p
	}
	if len(order) != 3 || order[0] != "plan" || order[1] != "flatten" || order[2] != "merge" {
		t.Fatalf("stages %v, want plan, flatten, merge", order)
	}
	if p := last["plan"]; p.FoldersListed == 0 || p.FoldersListed != p.FoldersTotal || p.ObjectsListed != s.Objects.Listed {
		t.Errorf("planning ended at %+v; the day listed %d objects", p, s.Objects.Listed)
	}
	if !withinShard {
		t.Error("no progress within a shard before it finished")
	}
	if p := last["flatten"]; p.ShardsDone != s.Shards || p.RecordsRead != s.Records.Read || p.BytesRead != s.Objects.Bytes || p.BytesTotal != p.BytesRead {
		t.Errorf("flatten ended at %+v; the summary says %d shards, %d records, %d bytes", p, s.Shards, s.Records.Read, s.Objects.Bytes)
	}
	if p := last["merge"]; p.RowsTotal == 0 || p.RowsMerged != p.RowsTotal || p.RowsTotal != s.Records.Written+s.Records.Duplicates {
		t.Errorf("merge ended at %+v; the summary wrote %d and dropped %d", p, s.Records.Written, s.Records.Duplicates)
	}
}
