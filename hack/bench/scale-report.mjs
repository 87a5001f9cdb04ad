#!/usr/bin/env node
// Prints make bench-scale's table and writes it as JSON. Called by scale.sh
// with the day's stamp and, per W, the folder of its GNU time -v files:
//
//   node scale-report.mjs --stamp S --out results/scale.json --run 'W|dir|shards' ...
//
// Per W: the plan, each flatten index and the merge (which also commits),
// each a process on one core: wall, CPU and peak RSS; the critical path
// plan + slowest flatten + merge (wall), and the speed-up over the first W.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    stamp: { type: 'string' },
    out: { type: 'string' },
    load: { type: 'string', default: '' },
    run: { type: 'string', multiple: true, default: [] },
  },
});
const stamp = JSON.parse(fs.readFileSync(args.stamp, 'utf8'));

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

const rows = args.run.map((spec) => {
  const [w, dir, shards] = spec.split('|');
  const flatten = [];
  for (let i = 0; i < Number(shards); i++) flatten.push(readTime(path.join(dir, `flatten-${i}.time`)));
  const plan = readTime(path.join(dir, 'plan.time'));
  const merge = readTime(path.join(dir, 'merge.time'));
  let summary = null;
  try { summary = JSON.parse(fs.readFileSync(path.join(dir, 'merge.json'), 'utf8').trim().split('\n').pop()); } catch { /* none */ }
  const slowest = flatten.reduce((a, f) => (f.wall > a.wall ? f : a), flatten[0]);
  const critical = +(plan.wall + slowest.wall + merge.wall).toFixed(2);
  // The same path in CPU seconds: what it would be on idle cores, and what
  // holds when other work shares this machine's.
  const criticalCPU = +(plan.cpu + Math.max(...flatten.map((f) => f.cpu)) + merge.cpu).toFixed(2);
  return {
    W: Number(w), R: 1, plan, flatten, merge,
    flattenCPU: +flatten.reduce((a, f) => a + f.cpu, 0).toFixed(2),
    slowestFlattenWall: slowest.wall,
    criticalPathSeconds: critical,
    criticalPathCPUSeconds: criticalCPU,
    mergeShareOfCriticalPath: +(merge.wall / critical).toFixed(2),
    peakRSSMiB: Math.max(plan.rssMiB, merge.rssMiB, ...flatten.map((f) => f.rssMiB)),
    rowsWritten: summary?.records?.written ?? summary?.Records?.Written ?? null,
  };
});
for (const r of rows) {
  r.speedup = +(rows[0].criticalPathSeconds / r.criticalPathSeconds).toFixed(2);
  r.speedupCPU = +(rows[0].criticalPathCPUSeconds / r.criticalPathCPUSeconds).toFixed(2);
}

const result = {
  when: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, load: args.load },
  day: { records: stamp.stats.records, files: stamp.stats.logFiles, gzipBytes: stamp.stats.gzipBytes, jsonBytes: stamp.stats.jsonBytes, rows: stamp.stats.rows },
  rows,
};
fs.mkdirSync(path.dirname(args.out), { recursive: true });
fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');

const f1 = (v) => v.toFixed(1);
const f2 = (v) => v.toFixed(2);
console.log();
console.log(`Day: ${stamp.stats.records.toLocaleString('en-US')} records, ${stamp.stats.logFiles} files, ` +
  `${(stamp.stats.gzipBytes / 1e6).toFixed(0)} MB json.gz, ${(stamp.stats.jsonBytes / 1e6).toFixed(0)} MB JSON; ` +
  `every process on one core; machine ${os.cpus().length} CPUs, load ${args.load}`);
console.log('(times in seconds; merge includes the commit; R = merge indices)');
console.log();
const head = ['W', 'R', 'plan s', 'flatten CPU-s (sum)', 'slowest flatten s', 'merge s', 'merge CPU-s', 'critical path s', 'speed-up', 'critical path CPU-s', 'speed-up (CPU)', 'merge share', 'max RSS MiB (plan/flatten/merge)'];
const lines = rows.map((r) => [String(r.W), String(r.R), f2(r.plan.wall), f1(r.flattenCPU), f2(r.slowestFlattenWall), f2(r.merge.wall), f1(r.merge.cpu),
  f2(r.criticalPathSeconds), `${f2(r.speedup)}x`, f2(r.criticalPathCPUSeconds), `${f2(r.speedupCPU)}x`, `${Math.round(r.mergeShareOfCriticalPath * 100)}%`,
  `${Math.round(r.plan.rssMiB)}/${Math.round(Math.max(...r.flatten.map((f) => f.rssMiB)))}/${Math.round(r.merge.rssMiB)}`]);
const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
console.log(head.map((h, i) => h.padStart(widths[i])).join('  '));
for (const l of lines) console.log(l.map((c, i) => c.padStart(widths[i])).join('  '));
console.log();
console.log('CPU-s of each flatten index:');
for (const r of rows) console.log(`  W=${String(r.W).padEnd(3)} ${r.flatten.map((f) => f1(f.cpu)).join(' ')}`);
console.log(`\nWritten: ${args.out}`);
