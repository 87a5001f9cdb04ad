#!/usr/bin/env bash
# The scale-out benchmark (make bench-scale): a generated day run as the
# operator's pods run it, every stage its own process pinned to one core
# (taskset), for W = 1, 2, 4, 8, 16 flatten indices:
#
#   plan (--max-shards W) → flatten --index 0..W-1 → merge (which also
#   commits: switches the day's files in and writes the manifest)
#
# Each process is timed by GNU time -v (wall, CPU, peak RSS). The flatten
# indices run BENCH_SCALE_PARALLEL at a time (default: the machine's cores),
# each on a core of its own; the critical path is what a cluster with a core
# per pod would see: plan + the slowest flatten index + merge (wall times).
# The merge is one index today (R = 1): a range-split merge is future work.
#
# Environment:
#   PARQUETRAIL_CACHE      cache root (default ~/.cache/parquetrail)
#   BENCH_SEED             generator seed (default 1)
#   BENCH_SCALE_RECORDS    records of the day (default 4000000)
#   BENCH_SCALE_WORKERS    the W values (default "1 2 4 8 16")
#   BENCH_SCALE_PARALLEL   flatten processes at once (default: nproc)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

cache=${PARQUETRAIL_CACHE:-$HOME/.cache/parquetrail}
seed=${BENCH_SEED:-1}
records=${BENCH_SCALE_RECORDS:-4000000}
workers=${BENCH_SCALE_WORKERS:-1 2 4 8 16}
ncpu=$(nproc)
parallel=${BENCH_SCALE_PARALLEL:-$ncpu}
day_dir=$cache/bench/reference-$seed-$records
results=$here/results/scale.json

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench-scale: %s\n' "$*" >&2; exit 1; }
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
/usr/bin/time --version 2>&1 | grep -q GNU || die "GNU time (/usr/bin/time) is needed: apt-get install time"

mkdir -p "$cache/bench"
exec 9>"$cache/bench/.lock"
flock -n 9 || { echo "bench-scale: another benchmark is running; waiting for it" >&2; flock 9; }

work=$(mktemp -d "${TMPDIR:-/tmp}/parquetrail-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "day: $records records -> $day_dir"
go build -o "$work/gen" ./hack/gen
"$work/gen" --out "$day_dir" --preset reference --seed "$seed" --records "$records"
stamp=$day_dir/parquetrail-sample.json
read -r date zone margin_h < <(node -e '
	const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const late = (Date.parse(s.stats.lastDelivery) - Date.parse(s.stats.windowEnd)) / 3600e3;
	console.log(s.options.date, s.options.timeZone || "UTC", Math.max(1, Math.ceil(late)));
' "$stamp")
CGO_ENABLED=0 go build -trimpath -o "$work/shard-worker" ./shard-worker
sw=$work/shard-worker
find "$day_dir/AWSLogs" -name '*.json.gz' -exec cat {} + >/dev/null # warm page cache

timed() { # core, time file, command...
	local core=$1 tf=$2
	shift 2
	taskset -c "$core" /usr/bin/time -v -o "$tf" "$@"
}

args=()
for w in $workers; do
	say "W = $w"
	dst=$work/dst-$w
	tdir=$work/times-$w
	mkdir -p "$tdir"
	timed 0 "$tdir/plan.time" "$sw" plan --source "$day_dir" --destination "$dst" --date "$date" --time-zone "$zone" \
		--columns seed --local-time-column eventtime_kst --late-arrival "${margin_h}h" \
		--shard-size 1 --max-shards "$w" --quiet >"$tdir/plan.out" 2>"$tdir/plan.err" ||
		{ cat "$tdir/plan.err" >&2; die "plan failed at W=$w"; }
	key=$(awk '$1 == "plan" {print $2}' "$tdir/plan.err" "$tdir/plan.out" | head -1)
	shards=$(awk '$1 == "shards" {print $2}' "$tdir/plan.err" "$tdir/plan.out" | head -1)
	[ -n "$key" ] || die "no plan key at W=$w"
	[ "$shards" = "$w" ] || echo "bench-scale: W=$w planned $shards shards" >&2
	pids=()
	for ((i = 0; i < shards; i++)); do
		timed $((i % parallel % ncpu)) "$tdir/flatten-$i.time" "$sw" flatten --destination "$dst" --plan "$key" --index "$i" --quiet \
			>"$tdir/flatten-$i.out" 2>"$tdir/flatten-$i.err" &
		pids+=($!)
		if [ ${#pids[@]} -ge "$parallel" ]; then
			wait "${pids[0]}" || die "flatten index failed at W=$w (see $tdir)"
			pids=("${pids[@]:1}")
		fi
	done
	for p in "${pids[@]}"; do wait "$p" || die "flatten index failed at W=$w"; done
	timed 0 "$tdir/merge.time" "$sw" merge --destination "$dst" --plan "$key" --json --quiet >"$tdir/merge.json" 2>"$tdir/merge.err" ||
		{ tail -5 "$tdir/merge.err" >&2; die "merge failed at W=$w"; }
	args+=(--run "$w|$tdir|$shards")
	rm -rf "$dst"
done

node "$here/scale-report.mjs" --stamp "$stamp" --out "$results" --load "$(cut -d' ' -f1-3 /proc/loadavg)" "${args[@]}"
