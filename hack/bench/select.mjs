// The day's log files, selected as parquetrail's planner selects them, for
// the engines the benchmark runs beside it (duckdb.mjs, chdb.mjs): the UTC
// date folders from the window's start through its end plus the
// late-arrival margin; event-log files only
// (…/CloudTrail/<region>/YYYY/MM/DD/*_CloudTrail_*.json.gz); a file named
// for a minute before the window's start, or delivered after the end plus
// the margin, holds none of the day's events.

import fs from 'node:fs';
import path from 'node:path';

// selectFiles returns { files, bytes } under source for the window
// [start, end) (Dates) and a margin in milliseconds.
export function selectFiles(source, start, end, marginMs) {
  const folders = [];
  for (let d = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
    d <= end.getTime() + marginMs; d += 86400e3) {
    folders.push(new Date(d).toISOString().slice(0, 10).replaceAll('-', '/'));
  }
  const ls = (p) => { try { return fs.readdirSync(p); } catch { return []; } };
  const accountDirs = [];
  const logs = path.join(source, 'AWSLogs');
  for (const e of ls(logs)) {
    if (/^\d{12}$/.test(e)) accountDirs.push(path.join(logs, e));
    else if (/^o-[a-z0-9]+$/.test(e)) {
      for (const a of ls(path.join(logs, e))) if (/^\d{12}$/.test(a)) accountDirs.push(path.join(logs, e, a));
    }
  }
  const startMinute = Math.floor(start.getTime() / 60e3) * 60e3;
  const files = [];
  let bytes = 0;
  for (const acct of accountDirs.sort()) {
    const ct = path.join(acct, 'CloudTrail');
    for (const region of ls(ct).sort()) {
      for (const f of folders) {
        const dir = path.join(ct, region, f);
        for (const name of ls(dir).sort()) {
          const m = /_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]+\.json\.gz$/.exec(name);
          if (!m) continue;
          const at = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
          if (at < startMinute || at > end.getTime() + marginMs) continue;
          const p = path.join(dir, name);
          files.push(p);
          bytes += fs.statSync(p).size;
        }
      }
    }
  }
  return { files, bytes };
}
