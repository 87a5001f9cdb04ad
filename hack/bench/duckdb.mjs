#!/usr/bin/env node
// DuckDB doing parquetrail's job on a local trail folder, for the benchmark:
// read one day's CloudTrail json.gz files (the date folders and files the
// day's window needs, selected as parquetrail's planner does), unnest
// Records, flatten them to the seed column set with the same names and types,
// keep the local day's window, drop duplicate eventIDs, order by eventtime
// and write one zstd Parquet file to <out>/proc_ymd=YYYYMMDD/duckdb.parquet.
//
//   node hack/bench/duckdb.mjs --source DIR --out DIR --date YYYY-MM-DD
//        [--time-zone Asia/Seoul] [--local-time-column eventtime_kst]
//        [--late-arrival-hours 1] [--no-dedup] [--threads N]
//        [--memory-limit 20GB] [--temp-directory DIR] [--ignore-errors]
//        [--print-sql]
//
// --ignore-errors passes ignore_errors to read_json, which then skips what it
// cannot read (a file that is not JSON, a record of the wrong shape) without
// saying what; by default such input fails the query.
//
// Prints one JSON object: DuckDB's version, files and bytes read, rows
// written, output bytes, and the seconds spent listing and in the query.

import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectFiles } from './select.mjs';

const { values: args } = parseArgs({
  options: {
    source: { type: 'string' },
    out: { type: 'string' },
    date: { type: 'string' },
    'time-zone': { type: 'string', default: 'UTC' },
    'local-time-column': { type: 'string', default: 'eventtime_local' },
    'late-arrival-hours': { type: 'string', default: '1' },
    'no-dedup': { type: 'boolean', default: false },
    threads: { type: 'string' },
    'memory-limit': { type: 'string' },
    'temp-directory': { type: 'string' },
    'ignore-errors': { type: 'boolean', default: false },
    'print-sql': { type: 'boolean', default: false },
  },
});
for (const k of ['source', 'out', 'date']) {
  if (!args[k]) {
    console.error(`duckdb.mjs: --${k} is required`);
    process.exit(2);
  }
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(args.date)) {
  console.error('duckdb.mjs: --date wants YYYY-MM-DD');
  process.exit(2);
}
if (!/^[a-z_][a-z0-9_]*$/.test(args['local-time-column'])) {
  console.error('duckdb.mjs: --local-time-column: lowercase letters, digits and _');
  process.exit(2);
}
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const zone = args['time-zone'];
const marginMs = Number(args['late-arrival-hours']) * 3600e3;

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();

if (args.threads) await con.run(`SET threads = ${Number(args.threads)}`);
if (args['memory-limit']) await con.run(`SET memory_limit = ${lit(args['memory-limit'])}`);
if (args['temp-directory']) await con.run(`SET temp_directory = ${lit(args['temp-directory'])}`);
const [{ version, threads, memory_limit: memoryLimit }] = await rows(
  `SELECT version() AS version, current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit`);

// The window: [date 00:00, date+1 00:00) in the zone, as UTC instants (ICU).
const [w] = await rows(`SELECT
  epoch_ms((DATE ${lit(args.date)})::TIMESTAMP AT TIME ZONE ${lit(zone)}) AS s,
  epoch_ms((DATE ${lit(args.date)} + 1)::TIMESTAMP AT TIME ZONE ${lit(zone)}) AS e`);
const start = new Date(Number(w.s));
const end = new Date(Number(w.e));

// Listing, as parquetrail's planner does (select.mjs).
const t0 = performance.now();
const { files, bytes: selectedBytes } = selectFiles(args.source, start, end, marginMs);
const listSeconds = (performance.now() - t0) / 1e3;
if (files.length === 0) {
  console.error(`duckdb.mjs: no event-log file for ${args.date} under ${args.source}`);
  process.exit(1);
}

// The seed columns, with the JSON paths they come from. Blobs are read as
// JSON and written as JSON text; readOnly is true or "true" in real logs.
const recordType = `STRUCT(
  "additionalEventData" JSON, "apiVersion" VARCHAR, "awsRegion" VARCHAR,
  "errorCode" VARCHAR, "errorMessage" VARCHAR, "eventID" VARCHAR,
  "eventName" VARCHAR, "eventSource" VARCHAR, "eventTime" VARCHAR,
  "eventType" VARCHAR, "eventVersion" VARCHAR, "readOnly" VARCHAR,
  "recipientAccountId" VARCHAR, "requestID" VARCHAR, "requestParameters" JSON,
  "resources" STRUCT("ARN" VARCHAR, "accountId" VARCHAR, "type" VARCHAR)[],
  "responseElements" JSON, "sharedEventID" VARCHAR, "sourceIPAddress" VARCHAR,
  "serviceEventDetails" JSON, "userAgent" VARCHAR,
  "userIdentity" STRUCT(
    "accessKeyId" VARCHAR, "accountId" VARCHAR, "arn" VARCHAR, "invokedBy" VARCHAR,
    "principalId" VARCHAR,
    "sessionContext" STRUCT(
      "attributes" STRUCT("creationDate" VARCHAR, "mfaAuthenticated" VARCHAR),
      "sessionIssuer" STRUCT("accountId" VARCHAR, "arn" VARCHAR, "principalId" VARCHAR,
                             "type" VARCHAR, "userName" VARCHAR)),
    "type" VARCHAR, "userName" VARCHAR,
    "webIdFederationData" STRUCT("federatedProvider" VARCHAR, "attributes" JSON)),
  "vpcEndpointId" VARCHAR)[]`;

const ymd = args.date.replaceAll('-', '');
const outDir = path.join(args.out, `proc_ymd=${ymd}`);
const outFile = path.join(outDir, 'duckdb.parquet');
fs.mkdirSync(outDir, { recursive: true });
fs.rmSync(outFile, { force: true });

// Duplicates (same eventID and eventTime, parquetrail's key) are dropped after flattening, keeping any one
// copy (copies are identical); records without an eventID are all kept.
// This form is DuckDB's cheapest here: a window over the flat rows without
// an ORDER BY inside the partition (deduplicating on the nested structs, or
// with DISTINCT ON, costs more).
const dedup = args['no-dedup'] ? '' :
  `QUALIFY eventid IS NULL OR row_number() OVER (PARTITION BY eventid, eventtime) = 1`;
const sql = `COPY (
  SELECT * FROM (
    SELECT
      r.additionalEventData::VARCHAR AS additionaleventdata,
      r.apiVersion AS apiversion,
      r.awsRegion AS awsregion,
      r.errorCode AS errorcode,
      r.errorMessage AS errormessage,
      r.eventID AS eventid,
      r.eventName AS eventname,
      r.eventSource AS eventsource,
      t AS eventtime,
      timezone(${lit(zone)}, t)::TIMESTAMP_MS AS ${args['local-time-column']},
      r.eventType AS eventtype,
      r.eventVersion AS eventversion,
      TRY_CAST(r.readOnly AS BOOLEAN) AS readonly,
      r.recipientAccountId AS recipientaccountid,
      r.requestID AS requestid,
      r.requestParameters::VARCHAR AS requestparameters,
      list_transform(r.resources, x -> x."ARN") AS resources_arn,
      list_transform(r.resources, x -> x."accountId") AS resources_accountid,
      list_transform(r.resources, x -> x."type") AS resources_type,
      r.responseElements::VARCHAR AS responseelements,
      r.sharedEventID AS sharedeventid,
      r.sourceIPAddress AS sourceipaddress,
      r.serviceEventDetails::VARCHAR AS serviceeventdetails,
      r.userAgent AS useragent,
      r.userIdentity.accessKeyId AS useridentity_accesskeyid,
      r.userIdentity.accountId AS useridentity_accountid,
      r.userIdentity.arn AS useridentity_arn,
      r.userIdentity.invokedBy AS useridentity_invokedby,
      r.userIdentity.principalId AS useridentity_principalid,
      r.userIdentity.sessionContext.attributes.creationDate AS useridentity_sessioncontext_attributes_creationdate,
      r.userIdentity.sessionContext.attributes.mfaAuthenticated AS useridentity_sessioncontext_attributes_mfaauthenticated,
      r.userIdentity.sessionContext.sessionIssuer.accountId AS useridentity_sessioncontext_sessionissuer_accountid,
      r.userIdentity.sessionContext.sessionIssuer.arn AS useridentity_sessioncontext_sessionissuer_arn,
      r.userIdentity.sessionContext.sessionIssuer.principalId AS useridentity_sessioncontext_sessionissuer_principalid,
      r.userIdentity.sessionContext.sessionIssuer.type AS useridentity_sessioncontext_sessionissuer_type,
      r.userIdentity.sessionContext.sessionIssuer.userName AS useridentity_sessioncontext_sessionissuer_username,
      r.userIdentity.type AS useridentity_type,
      r.userIdentity.userName AS useridentity_username,
      r.userIdentity.webIdFederationData.federatedProvider AS useridentity_webidfederationdata_federatedprovider,
      r.userIdentity.webIdFederationData.attributes::VARCHAR AS useridentity_webidfederationdata_attributes,
      r.vpcEndpointId AS vpcendpointid
    FROM (
      SELECT r, TRY_CAST(r.eventTime AS TIMESTAMPTZ) AS t
      FROM (
        SELECT unnest(Records) AS r
        FROM read_json(getvariable('files'), format = 'unstructured',
                       columns = {Records: '${recordType.replaceAll("'", "''")}'},
                       maximum_object_size = 268435456${args['ignore-errors'] ? ', ignore_errors = true' : ''})
      )
    )
    WHERE t >= make_timestamptz(${start.getTime()}::BIGINT * 1000) AND t < make_timestamptz(${end.getTime()}::BIGINT * 1000)
  )
  ${dedup}
  ORDER BY eventtime
) TO ${lit(outFile)} (FORMAT parquet, COMPRESSION zstd)`;
if (args['print-sql']) console.error(sql);

// The file list goes in as a variable: thousands of paths would make the
// statement text huge.
await con.run(`SET VARIABLE files = [${files.map(lit).join(',')}]`);
const t1 = performance.now();
await con.run(sql);
const querySeconds = (performance.now() - t1) / 1e3;
const [{ n }] = await rows(`SELECT count(*)::BIGINT AS n FROM read_parquet(${lit(outFile)})`);

console.log(JSON.stringify({
  tool: 'duckdb',
  duckdbVersion: version,
  threads: Number(threads),
  memoryLimit,
  windowStart: start.toISOString(),
  windowEnd: end.toISOString(),
  lateArrivalHours: marginMs / 3600e3,
  dedup: !args['no-dedup'],
  files: files.length,
  selectedBytes,
  rows: Number(n),
  output: outFile,
  outputBytes: fs.statSync(outFile).size,
  listSeconds,
  querySeconds,
}));
