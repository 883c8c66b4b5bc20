// duckdb_query.mjs: the SQL oracle of the integration tests.
//
//   echo '{"sql":"SELECT * FROM read_parquet(\'/tmp/x.parquet\')"}' | node duckdb_query.mjs
//
// Runs the statements of "sql" in a fresh in-memory DuckDB (local Parquet,
// CSV and JSON files via read_parquet/read_csv/read_json; no network) and
// prints the last statement's result as {"columns":[{"name","type"}],"rows":[[...]]}
// in the canonical form of integration/jsharness (render.mjs). Any error:
// exit 1 with one line on stderr. Packages are found as render.mjs explains
// (NSCALE_JS_MODULES, NODE_PATH, then the nscale cache).
//
//   echo '{"batch":["SELECT 1","SELECT nope"]}' | node duckdb_query.mjs
//
// runs several queries in one process (see main).

import {
  fail, formatBinary, formatDate, formatDecimal, formatFloat64,
  formatTime, formatTimestamp, load, readRequest, writeResult,
} from './render.mjs';

const duckdb = load('@duckdb/node-api');
const T = duckdb.DuckDBTypeId;

// column returns the canonical type name of a DuckDB type and a function
// rendering one (non-null) value of it.
function column(t) {
  const ints = {
    [T.TINYINT]: 'int8', [T.SMALLINT]: 'int16', [T.INTEGER]: 'int32', [T.BIGINT]: 'int64',
    [T.UTINYINT]: 'uint8', [T.USMALLINT]: 'uint16', [T.UINTEGER]: 'uint32', [T.UBIGINT]: 'uint64',
    [T.HUGEINT]: 'int128', [T.UHUGEINT]: 'uint128',
  };
  if (t.typeId in ints) return [ints[t.typeId], (v) => String(v)];
  // DuckDB's dates and timestamps have ±infinity: spelled as DuckDB casts them to text.
  const finite = (raw, render) => (v) => (v.isFinite ? render(raw(v)) : (raw(v) > 0 ? 'infinity' : '-infinity'));
  switch (t.typeId) {
    case T.SQLNULL: return ['null', () => null];
    case T.BOOLEAN: return ['bool', (v) => v];
    case T.FLOAT: return ['float32', formatFloat64];
    case T.DOUBLE: return ['float64', formatFloat64];
    case T.DECIMAL: return [`decimal(${t.width},${t.scale})`, (v) => formatDecimal(v.value, t.scale)];
    case T.VARCHAR: return ['string', (v) => v];
    case T.ENUM: return ['string', (v) => String(v)];
    case T.BLOB: return ['binary', (v) => formatBinary(v.bytes)];
    case T.UUID: return ['uuid', (v) => v.toString()];
    case T.DATE: return ['date', finite((v) => v.days, formatDate)];
    case T.TIME: return ['time', (v) => formatTime(v.micros, 1000000n)];
    case T.TIME_NS: return ['time', (v) => formatTime(v.nanos, 1000000000n)];
    case T.TIMESTAMP_S: return ['timestamp', finite((v) => v.seconds, (x) => formatTimestamp(x, 1n, false))];
    case T.TIMESTAMP_MS: return ['timestamp', finite((v) => v.millis, (x) => formatTimestamp(x, 1000n, false))];
    case T.TIMESTAMP: return ['timestamp', finite((v) => v.micros, (x) => formatTimestamp(x, 1000000n, false))];
    case T.TIMESTAMP_NS: return ['timestamp', finite((v) => v.nanos, (x) => formatTimestamp(x, 1000000000n, false))];
    case T.TIMESTAMP_TZ: return ['timestamptz', finite((v) => v.micros, (x) => formatTimestamp(x, 1000000n, true))];
    case T.LIST:
    case T.ARRAY: {
      const [name, render] = column(t.valueType);
      return [`list<${name}>`, (v) => v.items.map((x) => (x === null ? null : render(x)))];
    }
    case T.STRUCT: {
      const fields = t.entryNames.map((n, i) => [n, ...column(t.entryTypes[i])]);
      return [
        `struct<${fields.map(([n, name]) => `${n}: ${name}`).join(', ')}>`,
        (v) => Object.fromEntries(fields.map(([n, , render]) => {
          const x = v.entries[n];
          return [n, x === null ? null : render(x)];
        })),
      ];
    }
    case T.MAP: {
      const [kn, kr] = column(t.keyType);
      const [vn, vr] = column(t.valueType);
      return [`map<${kn}, ${vn}>`, (v) => v.entries.map(({ key, value }) => ({
        key: key === null ? null : kr(key), value: value === null ? null : vr(value),
      }))];
    }
  }
  throw new Error(`no canonical rendering for DuckDB type ${t.toString()}; CAST it in the query`);
}

// run executes the statements of sql in a fresh in-memory DuckDB and
// returns the last statement's columns and an async iterable of row batches.
async function run(sql) {
  if (typeof sql !== 'string' || sql.trim() === '') throw new Error('request needs "sql"');
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  // SQL over TIMESTAMP WITH TIME ZONE (casts, date_trunc) then means UTC, as in
  // nscale; without the ICU extension there is no time zone setting to make.
  await con.run("SET TimeZone = 'UTC'").catch(() => {});
  const stmts = await con.extractStatements(sql);
  if (stmts.count === 0) throw new Error('no statement in "sql"');
  for (let i = 0; i < stmts.count - 1; i++) await (await stmts.prepare(i)).run();
  const result = await (await stmts.prepare(stmts.count - 1)).stream();
  const cols = [];
  const renders = [];
  for (let i = 0; i < result.columnCount; i++) {
    const [type, render] = column(result.columnType(i));
    cols.push({ name: result.columnName(i), type });
    renders.push(render);
  }
  async function* rows() {
    for await (const batch of result.yieldRows()) {
      yield batch.map((row) => row.map((v, i) => (v === null ? null : renders[i](v))));
    }
  }
  return [cols, rows()];
}

// With {"batch": ["sql", ...]} the script runs each one in its own fresh
// DuckDB and prints {"results": [{"columns","rows"} | {"error": "..."}, ...]}
// in order, in one process (small results only: they are held in memory).
async function main() {
  const req = await readRequest();
  if (Array.isArray(req.batch)) {
    const results = [];
    for (const sql of req.batch) {
      try {
        const [columns, batches] = await run(sql);
        const rows = [];
        for await (const b of batches) rows.push(...b);
        results.push({ columns, rows });
      } catch (e) {
        results.push({ error: String(e?.message ?? e).replace(/\s*\n\s*/g, ' ').trim() });
      }
    }
    process.stdout.write(JSON.stringify({ results }) + '\n');
    return;
  }
  const [columns, batches] = await run(req.sql);
  await writeResult(columns, batches);
}

main().catch((e) => fail(e?.message ?? e));
