#!/usr/bin/env node
// Prints make bench-scale's table (Markdown) and writes it as JSON. Called by
// scale.sh with the day's stamp and, per W, the folder of its GNU time -v
// files and outputs, its number of shards (flatten indices) and of ranges
// (merge indices, R):
//
//   node scale-report.mjs --stamp S --out results/scale.json [--rss-limit MiB] --run 'W|dir|shards|ranges' ...
//
// Per W: the plan, each flatten index, merge-plan, each merge index and
// publish, each a process on one core (--parallel of them at once): wall, CPU and peak RSS; the flatten
// and merge indices summed up as min/median/max; the critical path plan +
// slowest flatten + merge-plan + slowest merge + publish (wall, and the same
// in CPU seconds), and the speed-up over the first W.
//
// The check: every W's published day (the publish summary and rowdigest's
// reading of each partition) must be the first W's, and the day's rows in
// order. Exits 1 when it is not, after the table and the JSON.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    stamp: { type: 'string' },
    out: { type: 'string' },
    load: { type: 'string', default: '' },
    parallel: { type: 'string', default: '1' },
    'rss-limit': { type: 'string', default: '256' },
    run: { type: 'string', multiple: true, default: [] },
  },
});
const stamp = JSON.parse(fs.readFileSync(args.stamp, 'utf8'));
const rssLimit = Number(args['rss-limit']);
const dayPartition = `proc_ymd=${stamp.options.date.replaceAll('-', '')}`;

function readTime(file) {
  const t = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [k, ...rest] = line.trim().split(': ');
    const v = rest.join(': ');
    if (k === 'User time (seconds)') t.user = Number(v);
    else if (k === 'System time (seconds)') t.sys = Number(v);
    else if (k === 'Maximum resident set size (kbytes)') t.rssMiB = +(Number(v) / 1024).toFixed(1);
    else if (k.startsWith('Elapsed (wall clock) time')) t.wall = v.split(':').map(Number).reduce((a, p) => a * 60 + p, 0);
  }
  t.cpu = +(t.user + t.sys).toFixed(2);
  return { wall: t.wall, cpu: t.cpu, rssMiB: t.rssMiB };
}

function lastJSON(file) {
  const text = fs.readFileSync(file, 'utf8').trim();
  try { return JSON.parse(text); } catch { /* one object per line */ }
  return JSON.parse(text.split('\n').pop());
}

// summary of one figure over the indices: min, median, max.
function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median: +median.toFixed(2), max: s[s.length - 1] };
}
const stats = (procs) => ({ cpu: summary(procs.map((p) => p.cpu)), rssMiB: summary(procs.map((p) => p.rssMiB)), wall: summary(procs.map((p) => p.wall)) });
const sum = (procs, k) => +procs.reduce((a, p) => a + p[k], 0).toFixed(2);

const rows = args.run.map((spec) => {
  const [w, dir, shards, ranges] = spec.split('|');
  const plan = readTime(path.join(dir, 'plan.time'));
  const flatten = [];
  for (let i = 0; i < Number(shards); i++) flatten.push(readTime(path.join(dir, `flatten-${i}.time`)));
  const mergePlan = readTime(path.join(dir, 'merge-plan.time'));
  const planned = fs.readFileSync(path.join(dir, 'merge-plan.out'), 'utf8');
  const bounds = planned.match(/^ranges (\S+)/m)[1];
  const rangeRows = [...planned.matchAll(/^range (\d+): (\S+) to (\S+), (\d+) rows/gm)].map((m) => ({ from: m[2], to: m[3], rows: Number(m[4]) }));
  const merge = [];
  for (let i = 0; i < Number(ranges); i++) {
    const m = { ...readTime(path.join(dir, `merge-${i}.time`)) };
    const said = fs.readFileSync(path.join(dir, `merge-${i}.out`), 'utf8')
      .match(/range \d+: (\d+) rows read, (\d+) written in (\d+) files, (\d+) duplicates/);
    if (said) Object.assign(m, { rowsIn: Number(said[1]), rows: Number(said[2]), files: Number(said[3]), duplicates: Number(said[4]) });
    merge.push(m);
  }
  const publish = readTime(path.join(dir, 'publish.time'));
  const published = lastJSON(path.join(dir, 'publish.json'));
  const digest = JSON.parse(fs.readFileSync(path.join(dir, 'digest.json'), 'utf8'));

  const slowestFlatten = Math.max(...flatten.map((f) => f.wall));
  const slowestMerge = Math.max(...merge.map((m) => m.wall));
  const critical = +(plan.wall + slowestFlatten + mergePlan.wall + slowestMerge + publish.wall).toFixed(2);
  // The same path in CPU seconds: what it would be on idle cores, and what
  // holds when other work shares this machine's.
  const criticalCPU = +(plan.cpu + Math.max(...flatten.map((f) => f.cpu)) + mergePlan.cpu +
    Math.max(...merge.map((m) => m.cpu)) + publish.cpu).toFixed(2);
  const procs = [['plan', plan], ...flatten.map((f, i) => [`flatten ${i}`, f]), ['merge-plan', mergePlan],
    ...merge.map((m, i) => [`merge ${i}`, m]), ['publish', publish]];
  return {
    W: Number(w), R: merge.length, shards: flatten.length, bounds, ranges: rangeRows,
    plan, flatten, flattenCPU: sum(flatten, 'cpu'), flattenStats: stats(flatten), slowestFlattenWall: slowestFlatten,
    mergePlan, merge, mergeCPU: sum(merge, 'cpu'), mergeStats: stats(merge), slowestMergeWall: slowestMerge,
    publish,
    criticalPathSeconds: critical,
    criticalPathCPUSeconds: criticalCPU,
    mergeShareOfCriticalPath: +((mergePlan.wall + slowestMerge + publish.wall) / critical).toFixed(2),
    peakRSSMiB: Math.max(...procs.map(([, p]) => p.rssMiB)),
    overRSSLimit: procs.filter(([, p]) => p.rssMiB > rssLimit).map(([name, p]) => ({ process: name, rssMiB: p.rssMiB })),
    rowsWritten: published?.records?.written ?? null,
    published: {
      records: published.records, objects: published.objects, files: published.files,
      lateEventsWritten: published.lateEvents?.written ?? 0,
    },
    partitions: digest.partitions,
  };
});

// The check against the first W, and of each W on its own.
const ref = rows[0];
const recordKeys = ['read', 'written', 'outsideWindow', 'duplicates', 'malformed', 'ownDay', 'late'];
const partitionKeys = ['manifestRows', 'rowsIn', 'duplicates', 'lateRows', 'fileRowsTotal', 'rowsRead', 'nullEventIDs', 'sha256', 'minEventTime', 'maxEventTime'];
for (const r of rows) {
  const diffs = [];
  const own = r.partitions.find((p) => p.name === dayPartition);
  if (!own) diffs.push(`no ${dayPartition} manifest`);
  else {
    if (!own.ordered) diffs.push(`${dayPartition}: rows not in (eventtime, eventid) order`);
    if (own.rowsRead !== own.manifestRows) diffs.push(`${dayPartition}: ${own.rowsRead} rows read, the manifest says ${own.manifestRows}`);
    if (r.rowsWritten !== own.manifestRows) diffs.push(`publish wrote ${r.rowsWritten} rows, the manifest says ${own.manifestRows}`);
  }
  const rangeSum = r.merge.reduce((a, m) => a + (m.rows ?? NaN), 0);
  if (own && rangeSum !== own.manifestRows) diffs.push(`the merge indices wrote ${rangeSum} rows, the manifest says ${own.manifestRows}`);
  if (r !== ref) {
    for (const k of recordKeys) {
      if (r.published.records?.[k] !== ref.published.records?.[k]) diffs.push(`records.${k} ${r.published.records?.[k]} (W=${ref.W}: ${ref.published.records?.[k]})`);
    }
    if (r.published.lateEventsWritten !== ref.published.lateEventsWritten) diffs.push(`late events written ${r.published.lateEventsWritten} (W=${ref.W}: ${ref.published.lateEventsWritten})`);
    const names = (x) => x.partitions.map((p) => p.name).join(' ');
    if (names(r) !== names(ref)) diffs.push(`partitions ${names(r)} (W=${ref.W}: ${names(ref)})`);
    for (const p of r.partitions) {
      const q = ref.partitions.find((x) => x.name === p.name);
      if (!q) continue;
      for (const k of partitionKeys) if (p[k] !== q[k]) diffs.push(`${p.name} ${k} ${p[k]} (W=${ref.W}: ${q[k]})`);
    }
  }
  r.check = { reference: ref.W, same: diffs.length === 0, differences: diffs };
  r.speedup = +(ref.criticalPathSeconds / r.criticalPathSeconds).toFixed(2);
  r.speedupCPU = +(ref.criticalPathCPUSeconds / r.criticalPathCPUSeconds).toFixed(2);
}
const ok = rows.every((r) => r.check.same);
const refOwn = ref.partitions.find((p) => p.name === dayPartition);

const result = {
  when: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, load: args.load },
  processesAtOnce: Number(args.parallel),
  day: { records: stamp.stats.records, files: stamp.stats.logFiles, gzipBytes: stamp.stats.gzipBytes, jsonBytes: stamp.stats.jsonBytes, rows: stamp.stats.rows },
  rssLimitMiB: rssLimit,
  outputSame: ok,
  rows,
};
fs.mkdirSync(path.dirname(args.out), { recursive: true });
fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');

const f1 = (v) => v.toFixed(1);
const f2 = (v) => v.toFixed(2);
const mmm = (s, f) => `${f(s.min)}/${f(s.median)}/${f(s.max)}`;
const mib = (v) => String(Math.round(v));
console.log();
console.log(`Day: ${stamp.stats.records.toLocaleString('en-US')} records, ${stamp.stats.logFiles} files, ` +
  `${(stamp.stats.gzipBytes / 1e6).toFixed(0)} MB json.gz, ${(stamp.stats.jsonBytes / 1e6).toFixed(0)} MB JSON; ` +
  `every process on one core, ${args.parallel === '1' ? 'one at a time' : `${args.parallel} at a time`}; ` +
  `machine ${os.cpus().length} CPUs, load ${args.load}.`);
console.log(`Times in seconds. W flatten indices, R merge indices (merge-plan cuts at most W ranges); min/med/max over the indices; ` +
  `critical path = plan + slowest flatten + merge-plan + slowest merge + publish; speed-up over W=${ref.W}, R=${ref.R}.`);
console.log();
const head = ['W', 'R', 'plan s (CPU-s)', 'flatten CPU-s min/med/max', 'flatten RSS MiB min/med/max', 'slowest flatten s',
  'merge-plan s', 'merge CPU-s min/med/max', 'merge RSS MiB min/med/max', 'slowest merge s', 'publish s (CPU-s)',
  'critical path s', 'speed-up', 'critical path CPU-s', 'speed-up (CPU)', 'peak RSS MiB', 'output'];
const lines = rows.map((r) => [String(r.W), String(r.R), `${f2(r.plan.wall)} (${f2(r.plan.cpu)})`,
  mmm(r.flattenStats.cpu, f1), mmm(r.flattenStats.rssMiB, mib), f2(r.slowestFlattenWall),
  f2(r.mergePlan.wall), mmm(r.mergeStats.cpu, f1), mmm(r.mergeStats.rssMiB, mib), f2(r.slowestMergeWall),
  `${f2(r.publish.wall)} (${f2(r.publish.cpu)})`,
  f2(r.criticalPathSeconds), `${f2(r.speedup)}x`, f2(r.criticalPathCPUSeconds), `${f2(r.speedupCPU)}x`,
  r.overRSSLimit.length ? `**${mib(r.peakRSSMiB)}** (over ${rssLimit})` : mib(r.peakRSSMiB),
  r === ref ? 'reference' : r.check.same ? `same as W=${ref.W}` : '**DIFFERS**']);
const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const right = (i) => i < head.length - 1;
const cell = (c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]));
console.log(`| ${head.map(cell).join(' | ')} |`);
console.log(`|${widths.map((w, i) => (right(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`);
for (const l of lines) console.log(`| ${l.map(cell).join(' | ')} |`);
console.log();
if (refOwn) {
  console.log(`Output: ${refOwn.manifestRows.toLocaleString('en-US')} rows in ${dayPartition} (generator: ${stamp.stats.rows.toLocaleString('en-US')}` +
    `${refOwn.manifestRows === stamp.stats.rows ? '' : ', DIFFERENT'}), ${refOwn.duplicates} duplicates dropped, ` +
    `${ref.published.records?.read?.toLocaleString('en-US')} records read, ${ref.published.lateEventsWritten} late events; ` +
    `(eventtime, eventid) SHA-256 ${refOwn.sha256.slice(0, 16)}…`);
}
for (const r of rows) {
  if (r === ref) continue;
  console.log(`  W=${r.W}: ${r.check.same ? `identical to W=${ref.W}` : `DIFFERS from W=${ref.W}: ${r.check.differences.join('; ')}`}`);
}
if (!ref.check.same) console.log(`  W=${ref.W}: ${ref.check.differences.join('; ')}`);
const over = rows.flatMap((r) => r.overRSSLimit.map((o) => `W=${r.W} ${o.process} ${mib(o.rssMiB)} MiB`));
console.log(over.length ? `Over ${rssLimit} MiB: ${over.join(', ')}` : `Every process under ${rssLimit} MiB (peak ${mib(Math.max(...rows.map((r) => r.peakRSSMiB)))} MiB).`);
console.log();
console.log('CPU-s of each flatten index, and of each merge index (rows of its range as merge-plan planned them):');
for (const r of rows) {
  console.log(`  W=${String(r.W).padEnd(3)} flatten ${r.flatten.map((f) => f1(f.cpu)).join(' ')}`);
  console.log(`  R=${String(r.R).padEnd(3)} merge   ${r.merge.map((m, i) => `${f1(m.cpu)}${r.ranges[i] ? ` (${r.ranges[i].rows})` : ''}`).join(' ')}`);
}
console.log(`\nWritten: ${args.out}`);
if (!ok) {
  console.error('bench-scale: the published day differs between W values (see above)');
  process.exit(1);
}
