#!/usr/bin/env node
// Prints the benchmark's side-by-side table and writes it as JSON. Called by
// bench.sh with the generator's stamp and, for each tool run, its name, GNU
// time -v output file, output folder and row count:
//
//   node report.mjs --stamp S --out results/latest.json --load "0.12 0.30 0.25" \
//     --run 'parquetrail|time-file[,time-file...]|output-dir|rows|summary-file' --run 'duckdb|...' \
//     --floor 'libdeflate|time-file' --floor 'klauspost/compress|time-file'
//
// A run with several time files (BENCH_ROUNDS) is shown by its medians:
// wall, CPU and peak RSS each the median of the rounds (each round is in the
// JSON). Runs other than parquetrail are compared with it by wall and CPU time;
// floors are one-core inflates of the day's gzip, and parquetrail's CPU time
// is given over each.
// A run whose tool failed has rows "" and is shown as failed.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    stamp: { type: 'string' },
    out: { type: 'string' },
    load: { type: 'string', default: '' },
    'load-after': { type: 'string', default: '' },
    'duckdb-version': { type: 'string', default: '' },
    inflater: { type: 'string', default: '' },
    run: { type: 'string', multiple: true, default: [] },
    floor: { type: 'string', multiple: true, default: [] },
  },
});

const stamp = JSON.parse(fs.readFileSync(args.stamp, 'utf8'));
const day = stamp.stats;

// GNU time -v output → seconds, CPU seconds, peak RSS, exit status.
function readTime(file) {
  const t = {};
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return null; }
  for (const line of text.split('\n')) {
    const [k, ...rest] = line.trim().split(': ');
    const v = rest.join(': ');
    if (k === 'User time (seconds)') t.user = Number(v);
    else if (k === 'System time (seconds)') t.sys = Number(v);
    else if (k === 'Maximum resident set size (kbytes)') t.rssKiB = Number(v);
    else if (k === 'Exit status') t.exit = Number(v);
    else if (k.startsWith('Elapsed (wall clock) time')) {
      const parts = v.split(':').map(Number); // h:mm:ss or m:ss(.cc)
      t.wall = parts.reduce((acc, p) => acc * 60 + p, 0);
    }
  }
  return t;
}

function parquetBytes(dir) {
  let n = 0;
  let files = 0;
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) { n += fs.statSync(p).size; files++; }
    }
  };
  walk(dir);
  return { bytes: n, files };
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

// The rounds' GNU time outputs as one: each figure's median; a failed or
// missing round fails the run.
function readTimes(files) {
  const ts = files.split(',').map(readTime);
  if (ts.some((t) => t === null)) return { t: null, rounds: [] };
  const rounds = ts.map((t) => ({ wallSeconds: t.wall, cpuSeconds: +(t.user + t.sys).toFixed(2), peakRSSMiB: +(t.rssKiB / 1024).toFixed(1), exit: t.exit }));
  const cpu = median(ts.map((t) => t.user + t.sys));
  return {
    t: { wall: median(ts.map((t) => t.wall)), user: cpu, sys: 0, rssKiB: median(ts.map((t) => t.rssKiB)), exit: Math.max(...ts.map((t) => t.exit)) },
    rounds,
  };
}

const runs = args.run.map((spec) => {
  const [tool, timeFiles, outDir, rows, summaryFile] = spec.split('|');
  const { t, rounds } = readTimes(timeFiles);
  const out = parquetBytes(outDir);
  let summary = null;
  try {
    const text = fs.readFileSync(summaryFile, 'utf8').trim();
    try { summary = JSON.parse(text); } catch { summary = JSON.parse(text.split('\n').pop()); }
  } catch { /* none */ }
  const ok = t !== null && t.exit === 0 && rows !== '';
  const r = {
    tool,
    ok,
    wallSeconds: t?.wall ?? null,
    cpuSeconds: t ? +(t.user + t.sys).toFixed(2) : null,
    peakRSSMiB: t ? +(t.rssKiB / 1024).toFixed(1) : null,
    rows: rows === '' ? null : Number(rows),
    outputBytes: out.bytes,
    outputFiles: out.files,
    rounds,
    summary,
  };
  if (ok && r.wallSeconds > 0) {
    r.recordsPerSecond = Math.round(day.records / r.wallSeconds);
    r.jsonMBPerSecond = +(day.jsonBytes / 1e6 / r.wallSeconds).toFixed(1);
  }
  return r;
});

const by = Object.fromEntries(runs.map((r) => [r.tool, r]));
const pt = by.parquetrail;
const ratios = {};
for (const other of ['duckdb', 'chdb']) {
  const o = by[other];
  if (pt?.ok && o?.ok) {
    ratios[`${other}WallOverParquetrail`] = +(o.wallSeconds / pt.wallSeconds).toFixed(2);
    ratios[`${other}CPUOverParquetrail`] = +(o.cpuSeconds / pt.cpuSeconds).toFixed(2);
    ratios[`parquetrailOutputOver${other[0].toUpperCase()}${other.slice(1)}`] = +(pt.outputBytes / o.outputBytes).toFixed(3);
    ratios[`${other}RSSOverParquetrail`] = +(o.peakRSSMiB / pt.peakRSSMiB).toFixed(2);
  }
}

// The inflate floors: CPU seconds of one core gunzipping the day.
const floors = args.floor.map((spec) => {
  const [tool, timeFile] = spec.split('|');
  const t = readTime(timeFile);
  const f = { tool, ok: t !== null && t.exit === 0, wallSeconds: t?.wall ?? null, cpuSeconds: t ? +(t.user + t.sys).toFixed(2) : null, peakRSSMiB: t ? +(t.rssKiB / 1024).toFixed(1) : null };
  if (f.ok && pt?.ok) f.parquetrailCPUOverFloor = +(pt.cpuSeconds / f.cpuSeconds).toFixed(1);
  return f;
});

const result = {
  when: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadBefore: args.load, loadAfter: args['load-after'] },
  day: {
    dir: path.dirname(args.stamp),
    preset: stamp.preset,
    seed: stamp.options.seed,
    date: stamp.options.date,
    timeZone: stamp.options.timeZone,
    files: day.logFiles,
    records: day.records,
    jsonBytes: day.jsonBytes,
    gzipBytes: day.gzipBytes,
    expectedRows: day.rows,
    inWindowWithDuplicates: day.inWindow,
    generatorVersion: stamp.version,
  },
  duckdbVersion: args['duckdb-version'],
  inflater: args.inflater,
  runs,
  ratios,
  floors,
};
fs.mkdirSync(path.dirname(args.out), { recursive: true });
fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');

// The table.
const cols = runs.map((r) => r.tool);
const fmt = (v, d = 1) => (v === null || v === undefined ? '-' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : String(v));
const lines = [
  ['wall s', (r) => fmt(r.wallSeconds, 2)],
  ['cpu s (user+sys)', (r) => fmt(r.cpuSeconds, 2)],
  ['records/s', (r) => fmt(r.recordsPerSecond, 0)],
  ['JSON MB/s', (r) => fmt(r.jsonMBPerSecond, 1)],
  ['peak RSS MiB', (r) => fmt(r.peakRSSMiB, 0)],
  ['output bytes', (r) => fmt(r.outputBytes, 0)],
  ['output files', (r) => fmt(r.outputFiles, 0)],
  ['rows written', (r) => fmt(r.rows, 0)],
  ['status', (r) => (r.ok ? 'ok' : 'FAILED')],
];
if (runs.some((r) => r.rounds.length > 1)) {
  lines.splice(2, 0, ['wall s by round', (r) => r.rounds.map((x) => fmt(x.wallSeconds, 2)).join(' ')]);
}
const w0 = Math.max(...lines.map(([l]) => l.length));
const widths = runs.map((r) => Math.max(r.tool.length, ...lines.map(([, f]) => f(r).length)));
const row = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padStart(widths[i - 1]))).join('   ');
console.log();
console.log(`Reference day ${stamp.options.date} ${stamp.options.timeZone} (seed ${stamp.options.seed}): ` +
  `${day.logFiles} files, ${day.records.toLocaleString('en-US')} records, ` +
  `${(day.jsonBytes / 1e6).toFixed(0)} MB JSON, ${(day.gzipBytes / 1e6).toFixed(0)} MB json.gz; ` +
  `${day.rows.toLocaleString('en-US')} rows expected`);
console.log(`Machine: ${result.machine.cpus} CPUs, ${result.machine.memGiB} GiB; load average before ${args.load || '?'}, after ${args['load-after'] || '?'}` +
  (args['duckdb-version'] ? `; DuckDB ${args['duckdb-version']}` : '') +
  (args.inflater ? `; shard-worker inflates with ${args.inflater}` : ''));
console.log('(records/s and MB/s: the whole day\'s records and JSON bytes over wall time)');
const nRounds = Math.max(...runs.map((r) => r.rounds.length), 0);
if (nRounds > 1) {
  console.log(`(${nRounds} rounds, the tools in turn; each figure is the median of its rounds)`);
}
console.log();
console.log(row(['', ...cols]));
for (const [label, f] of lines) console.log(row([label, ...runs.map(f)]));
console.log();
for (const [other, label] of [['duckdb', 'DuckDB'], ['chdb', 'chDB']]) {
  if (ratios[`${other}WallOverParquetrail`] === undefined) continue;
  const cap = `${other[0].toUpperCase()}${other.slice(1)}`;
  console.log(`${label} wall / parquetrail wall:`.padEnd(36) + `${ratios[`${other}WallOverParquetrail`]}x   (target: at least 3x)`);
  console.log(`${label} cpu / parquetrail cpu:`.padEnd(36) + `${ratios[`${other}CPUOverParquetrail`]}x`);
  console.log(`parquetrail output / ${label} output:`.padEnd(36) + `${ratios[`parquetrailOutputOver${cap}`]}   (target: at most 1)`);
  console.log(`${label} RSS / parquetrail RSS:`.padEnd(36) + `${ratios[`${other}RSSOverParquetrail`]}x   (target: parquetrail under 256 MiB)`);
}
if (floors.length > 0) {
  console.log();
  console.log(`Inflate floor (the day's ${(day.gzipBytes / 1e6).toFixed(0)} MB of gzip on one core):`);
  for (const f of floors) {
    console.log(`  ${f.tool.padEnd(20)} ${f.ok ? `${fmt(f.cpuSeconds, 2)} CPU-s, ${fmt(f.wallSeconds, 2)} s wall` : 'FAILED'}` +
      (f.parquetrailCPUOverFloor !== undefined ? `; parquetrail's run takes ${f.parquetrailCPUOverFloor}x its CPU` : ''));
  }
}
// A run named *-nodedup keeps duplicates: it should write every in-window
// record, and is left out of the comparison between tools.
const keepsDups = (r) => r.tool.endsWith('nodedup');
let bad = false;
for (const r of runs) {
  const want = keepsDups(r) ? day.inWindow : day.rows;
  const what = keepsDups(r) ? 'records (duplicates included)' : 'distinct events';
  if (r.ok && r.rows !== want) {
    bad = true;
    console.log(`\n!!! ${r.tool} wrote ${r.rows} rows; the generator says the window holds ${want} ${what} !!!`);
  }
}
const okRuns = runs.filter((r) => r.ok && !keepsDups(r));
if (okRuns.length > 1 && new Set(okRuns.map((r) => r.rows)).size > 1) {
  bad = true;
  console.log(`\n!!! ROW COUNTS DIFFER: ${okRuns.map((r) => `${r.tool} ${r.rows}`).join(', ')} !!!`);
}
const load1 = Number((args.load || '0').split(' ')[0]);
if (load1 > 1) {
  console.log(`\nNote: the load average was ${load1} before the runs; other work on this machine inflates wall times (compare cpu s).`);
}
console.log(`\nWritten: ${args.out}`);
process.exit(bad ? 3 : 0);
