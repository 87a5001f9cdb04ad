package plan

import "github.com/parquetrail/parquetrail/internal/store"

// pack cuts the objects, in their order, into shards of at most target
// bytes (next fit): a shard is closed when the next object would overflow
// it, so an object larger than target gets a shard of its own. Keeping the
// delivery order keeps each shard's events close in time, which the merge
// of the parts profits from. Every shard is non-empty; no objects, no shards.
func pack(objs []listed, target int64) []Shard {
	shards := []Shard{}
	var cur *Shard
	for _, o := range objs {
		if cur == nil || (len(cur.Objects) > 0 && cur.Bytes+o.Size > target) {
			shards = append(shards, Shard{Index: len(shards)})
			cur = &shards[len(shards)-1]
		}
		cur.Objects = append(cur.Objects, o.Object)
		cur.Bytes += o.Size
	}
	return shards
}

// count is len(pack(objs, target)) without building the shards.
func count(objs []listed, target int64) int {
	n := 0
	var bytes int64
	for i, o := range objs {
		if i == 0 || bytes+o.Size > target {
			n++
			bytes = 0
		}
		bytes += o.Size
	}
	return n
}

// targetFor returns the smallest target of at least min bytes that packs
// objs into at most max shards. Next fit never needs more shards for a
// larger target, so the smallest one is found by bisection; a target of
// the total size always gives one shard.
func targetFor(objs []listed, min int64, max int) int64 {
	if count(objs, min) <= max {
		return min
	}
	var total int64
	for _, o := range objs {
		total += o.Size
	}
	lo, hi := min, total // count(lo) > max, count(hi) == 1 <= max
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if count(objs, mid) <= max {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Objects returns every object of the plan, shard after shard.
func (p *Plan) Objects() []store.Object {
	var out []store.Object
	for _, s := range p.Shards {
		out = append(out, s.Objects...)
	}
	return out
}
