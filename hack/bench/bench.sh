#!/usr/bin/env bash
# The benchmark (make bench): the reference day, converted by parquetrail, by
# DuckDB and by ClickHouse (chDB) on this machine, side by side, with the
# inflate floor beside them.
#
#  1. generates the reference day (go run ./hack/gen --preset reference) into
#     ${PARQUETRAIL_CACHE:-$HOME/.cache/parquetrail}/bench/reference-<seed>,
#     or reuses it when its stamp matches;
#  2. installs DuckDB's Node client (@duckdb/node-api, pinned in
#     package-lock.json) into hack/bench/node_modules with npm ci;
#  3. runs `shard-worker run` on the day (seed columns, eventtime_kst,
#     Asia/Seoul), timed by GNU time -v (wall time, CPU time, peak RSS);
#  4. runs hack/bench/duckdb.mjs, the same job in DuckDB (same files, same
#     columns and types, same window, duplicates dropped, ordered by
#     eventtime, zstd Parquet), timed the same way;
#  5. runs hack/bench/chdb.mjs, the same job in ClickHouse through chDB
#     (npm chdb), timed the same way;
#  6. the inflate floor: every event-log file of the day gunzipped on one
#     core (taskset -c 0) by libdeflate-gunzip (Debian's libdeflate-tools,
#     installed with apt-get when missing and possible; skipped otherwise)
#     and by klauspost/compress (hack/bench/inflate, GOMAXPROCS=1);
#  7. counts the rows each wrote with DuckDB (query.mjs), prints the table and
#     ratios (each engine's wall and CPU time over parquetrail's, parquetrail's
#     CPU over the inflate floor), and writes them to
#     hack/bench/results/latest.json.
#
# GNU time: /usr/bin/time -v measures each tool's process (peak RSS is the
# largest resident set of the process; shard-worker run and node are each
# one process). It is installed with apt-get when missing; without it (and
# without root) the runs are not measured and the script stops.
#
# Both tools use the same late-arrival margin: enough hours after the day's
# end to reach the generator's last late file (from its stamp), unless
# BENCH_LATE_ARRIVAL_HOURS says otherwise.
#
# Environment:
#   PARQUETRAIL_CACHE         cache root (default ~/.cache/parquetrail)
#   BENCH_SEED                generator seed (default 1)
#   BENCH_RECORDS             records of the day (default: the preset's 1,000,000)
#   BENCH_OUT                 where the tools write (default $PARQUETRAIL_CACHE/bench/out)
#   BENCH_LATE_ARRIVAL_HOURS  late-arrival margin for both tools
#   BENCH_SKIP_PARQUETRAIL=1, BENCH_SKIP_DUCKDB=1, BENCH_SKIP_CHDB=1,
#   BENCH_SKIP_FLOOR=1        leave a side out
#   BENCH_DUCKDB_NODEDUP=1    also run DuckDB without dropping duplicates
#   BENCH_ROUNDS=N            run the tools N times in turn (default 1); the
#                             table shows each tool's medians (wall, CPU, RSS)
#   BENCH_STRICT=1            exit non-zero when row counts disagree
#   BENCH_INFLATE=go          shard-worker's pure-Go build (default: libdeflate's
#                             inflate, hack/libdeflate.sh, when it can be had)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
# shellcheck source=hack/bench/worker.sh
source "$here/worker.sh"

cache=${PARQUETRAIL_CACHE:-$HOME/.cache/parquetrail}
seed=${BENCH_SEED:-1}
records=${BENCH_RECORDS:-}
day_dir=$cache/bench/reference-$seed${records:+-$records}
out=${BENCH_OUT:-$cache/bench/out}
rounds=${BENCH_ROUNDS:-1}
results=$here/results/latest.json

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "BENCH_ROUNDS must be a number of rounds from 1 to 99, not $rounds"
command -v go >/dev/null || die "go is not on PATH"
command -v node >/dev/null || die "node is not on PATH (DuckDB runs in Node)"
command -v npm >/dev/null || die "npm is not on PATH"

# GNU time.
gnu_time=/usr/bin/time
if ! "$gnu_time" --version 2>&1 | grep -q GNU; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing GNU time (apt-get install time)"
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
	fi
	"$gnu_time" --version 2>&1 | grep -q GNU || die "GNU time (/usr/bin/time) is needed: apt-get install time"
fi

# One benchmark at a time: runs share the output folder, and would skew each
# other's timings.
mkdir -p "$cache/bench"
exec 9>"$cache/bench/.lock"
if ! flock -n 9; then
	echo "bench: another benchmark is running; waiting for it" >&2
	flock 9
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/parquetrail-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The day.
say "reference day -> $day_dir"
go build -o "$work/gen" ./hack/gen
"$work/gen" --out "$day_dir" --preset reference --seed "$seed" ${records:+--records "$records"}
stamp=$day_dir/parquetrail-sample.json
read -r date zone margin_h < <(node -e '
	const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const late = (Date.parse(s.stats.lastDelivery) - Date.parse(s.stats.windowEnd)) / 3600e3;
	console.log(s.options.date, s.options.timeZone || "UTC", Math.max(1, Math.ceil(late)));
' "$stamp")
margin_h=${BENCH_LATE_ARRIVAL_HOURS:-$margin_h}
ymd=${date//-/}

# 2. DuckDB's Node client.
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
	say "npm ci (hack/bench)"
	# npm ci refuses a lock file without chdb's optional packages for other
	# platforms (a registry that does not carry them leaves them out); npm
	# install then installs the same pinned versions.
	(cd "$here" && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
		npm install --no-audit --no-fund --no-save --loglevel=error; })
fi
duckdb_version=$(node "$here/query.mjs" "SELECT version() AS v" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].v))')

# Both tools read the day from a warm page cache.
find "$day_dir/AWSLogs" -name '*.json.gz' -exec cat {} + >/dev/null

rm -rf "$out"
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
count_rows() { # folder of proc_ymd=YYYYMMDD → rows in its Parquet files, or ""
	node "$here/query.mjs" "SELECT count(*) AS n FROM read_parquet('$1/proc_ymd=$ymd/*.parquet')" 2>/dev/null |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s)[0].n)}catch{console.log("")}})'
}

# 3-5. The tools, BENCH_ROUNDS times in turn (parquetrail, DuckDB, chDB,
# then again), each into a fresh output folder; the report takes each
# tool's median. Each round's GNU time output is $out/<tool>.time.<round>.
worker_ok=
if [ "${BENCH_SKIP_PARQUETRAIL:-}" != 1 ]; then
	if build_worker "$work/shard-worker"; then
		worker_ok=1
	else
		echo "shard-worker does not build; parquetrail side skipped" >&2
	fi
fi
declare -A times=() rcs=()
timed_run() { # tool, round, command... (stdout to $out/<tool>.json)
	local tool=$1 round=$2
	shift 2
	rm -rf "${out:?}/$tool"
	set +e
	"$gnu_time" -v -o "$out/$tool.time.$round" "$@" >"$out/$tool.json" 2>"$out/$tool.stderr"
	local rc=$?
	set -e
	[ $rc = 0 ] || { echo "$tool failed (exit $rc):" >&2; tail -20 "$out/$tool.stderr" >&2 || true; }
	times[$tool]+="${times[$tool]:+,}$out/$tool.time.$round"
	rcs[$tool]=$((${rcs[$tool]:-0} | rc))
}
# 3. parquetrail.
parquetrail() {
	say "shard-worker run ($date $zone, seed columns, late arrival ${margin_h}h)$1"
	timed_run parquetrail "$2" "$work/shard-worker" run \
		--source "$day_dir" --destination "$out/parquetrail" \
		--date "$date" --time-zone "$zone" --columns seed --local-time-column eventtime_kst \
		--late-arrival "${margin_h}h" --json
}
# 4. DuckDB.
duck() { # name, label, round, extra flags...
	local name=$1 label=$2 round=$3
	shift 3
	say "DuckDB $duckdb_version: $name$label"
	timed_run "$name" "$round" node "$here/duckdb.mjs" \
		--source "$day_dir" --out "$out/$name" --date "$date" --time-zone "$zone" \
		--local-time-column eventtime_kst --late-arrival-hours "$margin_h" \
		--temp-directory "$work/duckdb-tmp" "$@"
}
# 5. ClickHouse (chDB).
chdb() {
	say "ClickHouse (chDB): chdb$1"
	timed_run chdb "$2" node "$here/chdb.mjs" \
		--source "$day_dir" --out "$out/chdb" --date "$date" --time-zone "$zone" \
		--local-time-column eventtime_kst --late-arrival-hours "$margin_h"
}
tools=()
[ -n "$worker_ok" ] && tools+=(parquetrail)
if [ "${BENCH_SKIP_DUCKDB:-}" != 1 ]; then
	tools+=(duckdb)
	[ "${BENCH_DUCKDB_NODEDUP:-}" = 1 ] && tools+=(duckdb-nodedup)
fi
[ "${BENCH_SKIP_CHDB:-}" != 1 ] && tools+=(chdb)
for ((round = 1; round <= rounds; round++)); do
	label=""
	[ "$rounds" -gt 1 ] && label=", round $round of $rounds"
	for tool in "${tools[@]}"; do
		case $tool in
		parquetrail) parquetrail "$label" "$round" ;;
		duckdb) duck duckdb "$label" "$round" ;;
		duckdb-nodedup) duck duckdb-nodedup "$label" "$round" --no-dedup ;;
		chdb) chdb "$label" "$round" ;;
		esac
	done
done
runs=()
for tool in "${tools[@]}"; do
	rows=""
	[ "${rcs[$tool]}" = 0 ] && rows=$(count_rows "$out/$tool")
	runs+=(--run "$tool|${times[$tool]}|$out/$tool/proc_ymd=$ymd|$rows|$out/$tool.json")
done

# 6. The inflate floor, on one core.
floors=()
if [ "${BENCH_SKIP_FLOOR:-}" != 1 ]; then
	pin=()
	command -v taskset >/dev/null && pin=(taskset -c 0)
	(cd "$day_dir" && find AWSLogs -name '*_CloudTrail_*.json.gz' -print0) >"$work/logs.list"
	if ! command -v libdeflate-gunzip >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing libdeflate-tools (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdeflate-tools >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdeflate-tools >/dev/null 2>&1; } ||
			echo "bench: libdeflate-tools is not installable here; its floor is left out" >&2
	fi
	if command -v libdeflate-gunzip >/dev/null; then
		say "inflate floor: libdeflate-gunzip, one core"
		(cd "$day_dir" && "${pin[@]}" "$gnu_time" -v -o "$out/libdeflate.time" \
			sh -c 'xargs -0 libdeflate-gunzip -c <"$1" >/dev/null' sh "$work/logs.list") &&
			floors+=(--floor "libdeflate|$out/libdeflate.time")
	fi
	say "inflate floor: klauspost/compress, one core"
	go build -o "$work/inflate" ./hack/bench/inflate
	GOMAXPROCS=1 "${pin[@]}" "$gnu_time" -v -o "$out/klauspost.time" "$work/inflate" "$day_dir" >"$out/klauspost.json" &&
		floors+=(--floor "klauspost/compress|$out/klauspost.time")
fi

# 7. The table.
set +e
node "$here/report.mjs" --stamp "$stamp" --out "$results" --load "$load_before" \
	--load-after "$(cut -d' ' -f1-3 /proc/loadavg)" --duckdb-version "$duckdb_version" --inflater "${inflater:-}" "${runs[@]}" "${floors[@]}"
rc=$?
set -e
if [ $rc = 3 ] && [ "${BENCH_STRICT:-}" != 1 ]; then
	rc=0
fi
exit $rc
