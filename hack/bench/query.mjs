#!/usr/bin/env node
// Runs SQL in DuckDB, the query engine a user would point at parquetrail's
// output, and prints the rows of the last statement as one JSON array of
// objects:
//
//   node hack/bench/query.mjs "SELECT count(*) AS n FROM read_parquet('out/proc_ymd=*/*.parquet', hive_partitioning = true)"
//   echo "SELECT 1 AS one" | node hack/bench/query.mjs -
//
// Values are DuckDB's JSON forms (getRowObjectsJson): BIGINT, HUGEINT and
// DECIMAL as strings, timestamps as strings ("2026-11-24 00:00:00+00" for
// TIMESTAMPTZ, in UTC), lists as arrays, structs as objects, NULL as null.
// Errors go to stderr with exit status 1. The database is in memory unless
// --db FILE names one; the session time zone is UTC.
//
// Install first: (cd hack/bench && npm ci).

import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { db: { type: 'string', default: ':memory:' } },
});
if (positionals.length !== 1) {
  console.error('usage: node hack/bench/query.mjs [--db FILE] "<SQL>" | -');
  process.exit(2);
}
const sql = positionals[0] === '-' ? fs.readFileSync(0, 'utf8') : positionals[0];

try {
  const instance = await DuckDBInstance.create(values.db);
  const con = await instance.connect();
  await con.run(`SET TimeZone = 'UTC'`);
  const reader = await con.runAndReadAll(sql);
  process.stdout.write(JSON.stringify(reader.getRowObjectsJson()) + '\n');
} catch (err) {
  console.error(`query.mjs: ${err.message}`);
  process.exit(1);
}
