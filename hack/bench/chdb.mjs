#!/usr/bin/env node
// ClickHouse (chDB, ClickHouse in process) doing parquetrail's job on a
// local trail folder, for the benchmark: the same files as duckdb.mjs
// (select.mjs), Records unnested, flattened to the seed columns with the
// same names, the local day's window kept, duplicates (same eventID and
// eventTime) dropped, ordered by eventtime, one zstd Parquet file written
// to <out>/proc_ymd=YYYYMMDD/chdb.parquet.
//
//   node hack/bench/chdb.mjs --source DIR --out DIR --date YYYY-MM-DD
//        [--time-zone Asia/Seoul] [--local-time-column eventtime_kst]
//        [--late-arrival-hours 1] [--threads N] [--print-sql]
//
// Prints one JSON object like duckdb.mjs's.
//
// Differences from parquetrail's types that remain: ClickHouse arrays are
// never NULL (a record without resources has empty lists), and its
// DateTime64 is always written as a UTC-adjusted timestamp, so the local
// column holds the local wall clock as if it were UTC.

import { Session } from 'chdb';
import fs from 'node:fs';
import os from 'node:os';
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
    threads: { type: 'string' },
    'print-sql': { type: 'boolean', default: false },
  },
});
for (const k of ['source', 'out', 'date']) {
  if (!args[k]) {
    console.error(`chdb.mjs: --${k} is required`);
    process.exit(2);
  }
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(args.date)) {
  console.error('chdb.mjs: --date wants YYYY-MM-DD');
  process.exit(2);
}
if (!/^[a-z_][a-z0-9_]*$/.test(args['local-time-column'])) {
  console.error('chdb.mjs: --local-time-column: lowercase letters, digits and _');
  process.exit(2);
}
const lit = (s) => `'${String(s).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const zone = args['time-zone'];
const marginMs = Number(args['late-arrival-hours']) * 3600e3;

const session = new Session();
const rows = (sql) => session.query(sql, 'JSONEachRow').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
session.query(`SET session_timezone = 'UTC'`);
if (args.threads) session.query(`SET max_threads = ${Number(args.threads)}`);
const [{ version, threads }] = rows(`SELECT version() AS version, getSetting('max_threads') AS threads`);

// The window: [date 00:00, date+1 00:00) in the zone, as UTC instants.
const [w] = rows(`SELECT toUnixTimestamp(toDateTime(${lit(args.date + ' 00:00:00')}, ${lit(zone)})) AS s,
  toUnixTimestamp(toDateTime(${lit(args.date + ' 00:00:00')}, ${lit(zone)}) + INTERVAL 1 DAY) AS e`);
const start = new Date(Number(w.s) * 1e3);
const end = new Date(Number(w.e) * 1e3);

const t0 = performance.now();
const { files, bytes: selectedBytes } = selectFiles(args.source, start, end, marginMs);
const listSeconds = (performance.now() - t0) / 1e3;
if (files.length === 0) {
  console.error(`chdb.mjs: no event-log file for ${args.date} under ${args.source}`);
  process.exit(1);
}
// The files go in as links in one folder, read with a glob: thousands of
// paths would make the statement text huge.
const links = fs.mkdtempSync(path.join(os.tmpdir(), 'parquetrail-chdb-'));
files.forEach((f, i) => fs.symlinkSync(path.resolve(f), path.join(links, `${String(i).padStart(6, '0')}.json.gz`)));

const ymd = args.date.replaceAll('-', '');
const outDir = path.join(args.out, `proc_ymd=${ymd}`);
const outFile = path.join(outDir, 'chdb.parquet');
fs.mkdirSync(outDir, { recursive: true });
fs.rmSync(outFile, { force: true });

// Each file is one {"Records": [...]} object; JSON objects are read into
// the named tuples, blobs (objects) as their JSON text, booleans as text.
const S = 'Nullable(String)';
const structure = `Records Array(Tuple(
  additionalEventData ${S}, apiVersion ${S}, awsRegion ${S}, errorCode ${S}, errorMessage ${S},
  eventID ${S}, eventName ${S}, eventSource ${S}, eventTime ${S}, eventType ${S}, eventVersion ${S},
  readOnly ${S}, recipientAccountId ${S}, requestID ${S}, requestParameters ${S},
  resources Array(Tuple(ARN ${S}, accountId ${S}, type ${S})),
  responseElements ${S}, sharedEventID ${S}, sourceIPAddress ${S}, serviceEventDetails ${S}, userAgent ${S},
  userIdentity Tuple(
    accessKeyId ${S}, accountId ${S}, arn ${S}, invokedBy ${S}, principalId ${S},
    sessionContext Tuple(
      attributes Tuple(creationDate ${S}, mfaAuthenticated ${S}),
      sessionIssuer Tuple(accountId ${S}, arn ${S}, principalId ${S}, type ${S}, userName ${S})),
    type ${S}, userName ${S},
    webIdFederationData Tuple(federatedProvider ${S}, attributes ${S})),
  vpcEndpointId ${S}))`;
const local = args['local-time-column'];
const sql = `INSERT INTO FUNCTION file(${lit(outFile)}, 'Parquet')
SELECT
  r.additionalEventData AS additionaleventdata, r.apiVersion AS apiversion, r.awsRegion AS awsregion,
  r.errorCode AS errorcode, r.errorMessage AS errormessage, r.eventID AS eventid,
  r.eventName AS eventname, r.eventSource AS eventsource,
  t AS eventtime,
  toDateTime64(toString(toTimeZone(t, ${lit(zone)})), 3, 'UTC') AS ${local},
  r.eventType AS eventtype, r.eventVersion AS eventversion,
  if(r.readOnly IS NULL, NULL, lower(r.readOnly) = 'true') AS readonly,
  r.recipientAccountId AS recipientaccountid, r.requestID AS requestid,
  r.requestParameters AS requestparameters,
  arrayMap(x -> x.ARN, r.resources) AS resources_arn,
  arrayMap(x -> x.accountId, r.resources) AS resources_accountid,
  arrayMap(x -> x.type, r.resources) AS resources_type,
  r.responseElements AS responseelements, r.sharedEventID AS sharedeventid,
  r.sourceIPAddress AS sourceipaddress, r.serviceEventDetails AS serviceeventdetails,
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
  r.userIdentity.webIdFederationData.attributes AS useridentity_webidfederationdata_attributes,
  r.vpcEndpointId AS vpcendpointid
FROM (
  SELECT r, parseDateTime64BestEffortOrNull(r.eventTime, 3, 'UTC') AS t
  FROM file(${lit(links + '/*.json.gz')}, 'JSONEachRow', ${lit(structure)})
  ARRAY JOIN Records AS r
)
WHERE t >= fromUnixTimestamp64Milli(${start.getTime()}, 'UTC') AND t < fromUnixTimestamp64Milli(${end.getTime()}, 'UTC')
ORDER BY eventtime
LIMIT 1 BY eventid, eventtime
SETTINGS input_format_json_read_objects_as_strings = 1, input_format_json_read_bools_as_strings = 1,
  input_format_json_read_numbers_as_strings = 1, input_format_skip_unknown_fields = 1,
  input_format_json_ignore_unknown_keys_in_named_tuple = 1,
  input_format_json_defaults_for_missing_elements_in_named_tuple = 1,
  output_format_parquet_compression_method = 'zstd'`;
if (args['print-sql']) console.error(sql);

let querySeconds;
try {
  const t1 = performance.now();
  session.query(sql);
  querySeconds = (performance.now() - t1) / 1e3;
} finally {
  fs.rmSync(links, { recursive: true, force: true });
}
const [{ n }] = rows(`SELECT count() AS n FROM file(${lit(outFile)}, 'Parquet')`);
session.close();

console.log(JSON.stringify({
  tool: 'chdb',
  chdbVersion: version,
  threads: Number(threads),
  windowStart: start.toISOString(),
  windowEnd: end.toISOString(),
  lateArrivalHours: marginMs / 3600e3,
  dedup: true,
  files: files.length,
  selectedBytes,
  rows: Number(n),
  output: outFile,
  outputBytes: fs.statSync(outFile).size,
  listSeconds,
  querySeconds,
}));
