#!/usr/bin/env bash
# The scale-out benchmark (make bench-scale): a generated day run as the
# operator's pods run it, every stage its own process pinned to one core
# (taskset), for W = 1, 2, 4, 8, 16 flatten indices and as many merge
# indices (R = W):
#
#   plan --max-shards W → flatten --index 0..W-1 → merge-plan --indices W
#   (prints the range bounds B) → merge --ranges B --index 0..R-1 → publish
#   --ranges B (joins the ranges, switches the day's files in and writes the
#   manifest)
#
# merge-plan may cut fewer ranges than asked (a range is never cut inside);
# R is the number it cut. Each process is timed by GNU time -v (wall, CPU,
# peak RSS). The flatten indices, then the merge indices, run
# BENCH_SCALE_PARALLEL at a time (default 1: one after another, each alone on
# core 0, as pods on nodes of their own run; on a VM whose two vCPUs slow
# each other, two at once measure that contention, not the pipeline); the
# critical path is what a cluster with a core per pod would see: plan + the
# slowest flatten index + merge-plan + the slowest merge index + publish
# (wall times, and the same sum in CPU seconds). The speed-up is over the
# first W.
#
# Every W's output is checked against the first W's (rowdigest, not timed):
# each partition's manifest counts (rows, duplicates, rows in, late rows),
# the run's records read, written, outside the window and late, and a
# SHA-256 of every published row's (eventtime, eventid) in file order must
# be identical, and the day's rows must be in (eventtime, eventid) order.
# A difference fails the benchmark (exit 1) after the table.
#
# Output: a Markdown table on stdout, every process's figures in
# hack/bench/results/scale.json.
#
# Environment:
#   PARQUETRAIL_CACHE      cache root (default ~/.cache/parquetrail)
#   BENCH_SEED             generator seed (default 1)
#   BENCH_SCALE_RECORDS    records of the day (default 4000000)
#   BENCH_SCALE_WORKERS    the W values, R = W (default "1 2 4 8 16")
#   BENCH_SCALE_PARALLEL   flatten or merge processes at once, each on a core of
#                          its own (default 1; at most nproc)
#   BENCH_SCALE_RSS_MIB    flag a process whose peak RSS is over this (default 256)
#   BENCH_INFLATE=go       shard-worker's pure-Go build (default: libdeflate's inflate
#                          when hack/libdeflate.sh can provide it)
#   BENCH_SCALE_KEEP=1     keep the work folder (each process's time, output and
#                          rowdigest files; the destinations are removed anyway)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
# shellcheck source=hack/bench/worker.sh
source "$here/worker.sh"

cache=${PARQUETRAIL_CACHE:-$HOME/.cache/parquetrail}
seed=${BENCH_SEED:-1}
records=${BENCH_SCALE_RECORDS:-4000000}
workers=${BENCH_SCALE_WORKERS:-1 2 4 8 16}
ncpu=$(nproc)
parallel=${BENCH_SCALE_PARALLEL:-1}
rss_limit=${BENCH_SCALE_RSS_MIB:-256}
day_dir=$cache/bench/reference-$seed-$records
results=$here/results/scale.json

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench-scale: %s\n' "$*" >&2; exit 1; }
[[ $parallel =~ ^[0-9]+$ ]] && [ "$parallel" -ge 1 ] && [ "$parallel" -le "$ncpu" ] ||
	die "BENCH_SCALE_PARALLEL must be 1..$ncpu, not $parallel"
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
/usr/bin/time --version 2>&1 | grep -q GNU || die "GNU time (/usr/bin/time) is needed: apt-get install time"

mkdir -p "$cache/bench"
exec 9>"$cache/bench/.lock"
flock -n 9 || { echo "bench-scale: another benchmark is running; waiting for it" >&2; flock 9; }

work=$(mktemp -d "${TMPDIR:-/tmp}/parquetrail-scale.XXXXXX")
if [ -n "${BENCH_SCALE_KEEP:-}" ]; then
	trap 'echo "bench-scale: kept $work" >&2' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

say "day: $records records -> $day_dir"
go build -o "$work/gen" ./hack/gen
"$work/gen" --out "$day_dir" --preset reference --seed "$seed" --records "$records"
stamp=$day_dir/parquetrail-sample.json
read -r date zone margin_h < <(node -e '
	const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const late = (Date.parse(s.stats.lastDelivery) - Date.parse(s.stats.windowEnd)) / 3600e3;
	console.log(s.options.date, s.options.timeZone || "UTC", Math.max(1, Math.ceil(late)));
' "$stamp")
build_worker "$work/shard-worker"
say "shard-worker inflates with $inflater"
sw=$work/shard-worker
go build -o "$work/rowdigest" ./hack/bench/rowdigest
find "$day_dir/AWSLogs" -name '*.json.gz' -exec cat {} + >/dev/null # warm page cache

timed() { # core, time file, command...
	local core=$1 tf=$2
	shift 2
	taskset -c "$core" /usr/bin/time -v -o "$tf" "$@"
}

# indices STAGE N DIR COMMAND...: runs COMMAND --index i for i in 0..N-1,
# BENCH_SCALE_PARALLEL at a time, each on a core of its own (index i waits
# for index i-parallel, which held the same core), timed into
# DIR/STAGE-i.time with its output in DIR/STAGE-i.out and .err. Fails, once
# every started index has ended, when one of them failed.
indices() {
	local stage=$1 n=$2 dir=$3 i p
	shift 3
	local pids=() idx=()
	for ((i = 0; i < n; i++)); do
		timed $((i % parallel % ncpu)) "$dir/$stage-$i.time" "$@" --index "$i" \
			>"$dir/$stage-$i.out" 2>"$dir/$stage-$i.err" &
		pids+=($!)
		idx+=("$i")
		if [ ${#pids[@]} -ge "$parallel" ]; then
			if ! wait "${pids[0]}"; then
				tail -5 "$dir/$stage-${idx[0]}.err" >&2
				wait "${pids[@]:1}" || true # let the others end before the work folder goes
				return 1
			fi
			pids=("${pids[@]:1}")
			idx=("${idx[@]:1}")
		fi
	done
	local failed=0
	for ((i = 0; i < ${#pids[@]}; i++)); do
		wait "${pids[$i]}" || { tail -5 "$dir/$stage-${idx[$i]}.err" >&2; failed=1; }
	done
	return "$failed"
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
	indices flatten "$shards" "$tdir" "$sw" flatten --destination "$dst" --plan "$key" --quiet ||
		die "a flatten index failed at W=$w (see above)"

	timed 0 "$tdir/merge-plan.time" "$sw" merge-plan --destination "$dst" --plan "$key" --indices "$w" \
		>"$tdir/merge-plan.out" 2>"$tdir/merge-plan.err" ||
		{ cat "$tdir/merge-plan.err" >&2; die "merge-plan failed at W=$w"; }
	bounds=$(awk '$1 == "ranges" {print $2}' "$tdir/merge-plan.out" | head -1)
	[ -n "$bounds" ] || die "merge-plan printed no ranges at W=$w"
	commas=${bounds//[^,]/}
	ranges=${#commas}
	[ "$ranges" = "$w" ] || echo "bench-scale: W=$w: merge-plan cut $ranges ranges" >&2
	indices merge "$ranges" "$tdir" "$sw" merge --destination "$dst" --plan "$key" --ranges "$bounds" --quiet ||
		die "a merge index failed at W=$w (see above)"
	timed 0 "$tdir/publish.time" "$sw" publish --destination "$dst" --plan "$key" --ranges "$bounds" --json \
		>"$tdir/publish.json" 2>"$tdir/publish.err" ||
		{ tail -5 "$tdir/publish.err" >&2; die "publish failed at W=$w"; }

	# What was published, for the check against the first W (not timed).
	"$work/rowdigest" "$dst" >"$tdir/digest.json" || die "reading back the published day failed at W=$w"
	args+=(--run "$w|$tdir|$shards|$ranges")
	rm -rf "$dst"
done

node "$here/scale-report.mjs" --stamp "$stamp" --out "$results" --load "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--parallel "$parallel" --rss-limit "$rss_limit" "${args[@]}"
