package flatten

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestRowGroupBytesFor(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, c := range []struct {
		limit  int64
		shards int
		want   int
	}{
		{math.MaxInt64, 1, DefaultRowGroupBytes}, // no limit: the default
		{192 << 20, 1, DefaultRowGroupBytes},     // a pod's one shard: 2 batches of 32 MiB in 96 MiB
		{192 << 20, 2, 24 << 20},                 // two shards: 4 batches in 96 MiB
		{192 << 20, 16, minRowGroupBytes},        // never below the floor
		{512 << 20, 2, DefaultRowGroupBytes},     // never above the default
		{16 << 20, 2, minRowGroupBytes},
	} {
		debug.SetMemoryLimit(c.limit)
		if got := RowGroupBytesFor(c.shards); got != c.want {
			t.Errorf("limit %d, %d shards: %d bytes per batch, want %d", c.limit, c.shards, got, c.want)
		}
	}
}
