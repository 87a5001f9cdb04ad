#!/usr/bin/env node
// Runs SQL in ClickHouse (chDB, ClickHouse in process) and prints the rows
// of the last statement as one JSON array of objects, like query.mjs does
// for DuckDB:
//
//   node hack/bench/chquery.mjs "SELECT count() AS n FROM file('out/proc_ymd=*/*.parquet', Parquet)"
//   echo "SELECT 1 AS one" | node hack/bench/chquery.mjs -
//
// Statements are separated by a ';' at the end of a line and run in one
// session, so a CREATE VIEW is seen by the statements after it. Values are
// ClickHouse's JSONEachRow forms (64-bit integers as strings). The session
// time zone is UTC. Errors go to stderr with exit status 1.
//
// Install first: (cd hack/bench && npm ci).

import { Session } from 'chdb';
import fs from 'node:fs';

const args = process.argv.slice(2);
if (args.length !== 1) {
  console.error('usage: node hack/bench/chquery.mjs "<SQL>" | -');
  process.exit(2);
}
const sql = args[0] === '-' ? fs.readFileSync(0, 'utf8') : args[0];
const statements = sql
  .split(/;[ \t]*(?:\r?\n|$)/)
  .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
  .filter((s) => s !== '');

const session = new Session();
try {
  session.query(`SET session_timezone = 'UTC'`);
  let out = '';
  for (const s of statements) {
    out = session.query(s, 'JSONEachRow');
  }
  const rows = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  process.stdout.write(JSON.stringify(rows) + '\n');
} catch (err) {
  console.error(`chquery.mjs: ${err.message}`);
  process.exitCode = 1;
} finally {
  session.close();
}
