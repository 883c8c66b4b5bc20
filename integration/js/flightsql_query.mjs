// flightsql_query.mjs: the Rust Flight SQL client (@lakehouse-rs/flight-sql-client,
// arrow-flight 49 over tonic) as an independent client of nscale's agent.
//
//   echo '{"host":"127.0.0.1","port":N,"token":"...","op":"query","sql":"SELECT ..."}' | node flightsql_query.mjs
//
// op: "query" (default; the client prepares the statement and executes it),
// "getCatalogs", "getDbSchemas" (catalog, dbSchemaFilterPattern), "getTables"
// (catalog, dbSchemaFilterPattern, tableNameFilterPattern, tableTypes,
// includeSchema). token is sent as "authorization: Bearer <token>"; headers
// ({"name":"value"}) are extra request headers; plaintext gRPC only.
//
// Prints the result in the canonical form of integration/jsharness
// (render.mjs). On failure exits 1 with one line on stderr: the server's
// status as "rpc error: code = <Code> desc = <message>" (what Go's
// status.Error prints), seen by status_proxy.mjs because the client itself
// drops it; or "flight sql client: <its message>" when no server status
// explains the failure (e.g. no schema in FlightInfo). "direct": true skips
// the proxy. An error status in the middle of a DoGet stream makes the client
// panic on a runtime thread (its panic message goes to stderr first) and never
// settle its promise: the script then gives up shortly after the proxy saw
// the status. Packages are found as render.mjs explains. "batch" runs several
// queries in one process (see runBatch).

import { renderTable } from './arrow_render.mjs';
import { fail, load, readRequest, writeResult } from './render.mjs';
import { describe, startStatusProxy } from './status_proxy.mjs';

async function fetchIPC(req, client) {
  const opt = (names) => Object.fromEntries(names.filter((n) => req[n] !== undefined && req[n] !== null).map((n) => [n, req[n]]));
  switch (req.op ?? 'query') {
    case 'query':
      if (typeof req.sql !== 'string') throw new Error('op "query" needs "sql"');
      return client.query(req.sql);
    case 'getCatalogs':
      return client.getCatalogs();
    case 'getDbSchemas':
      return client.getDbSchemas(opt(['catalog', 'dbSchemaFilterPattern']));
    case 'getTables':
      return client.getTables(opt(['catalog', 'dbSchemaFilterPattern', 'tableNameFilterPattern', 'tableTypes', 'includeSchema']));
  }
  throw new Error(`unknown op ${JSON.stringify(req.op)}`);
}

// stuckAfter rejects a short while after the server failed a call, for when
// the client panicked instead of rejecting; it normally rejects within ms.
function stuckAfter(failed) {
  return failed.then(() => new Promise((_, reject) => {
    setTimeout(() => reject(new Error('the client did not return after the server failed a call')), 1000).unref();
  }));
}

// runBatch answers {"batch": [{"token","sql"}, ...]} (host, port and direct
// from the request) in one process with one client per token, printing
// {"results": [{"columns","rows"} | {"error": "..."}, ...]} in order. The
// proxy remembers only the first failed status, so the first failure ends
// the batch: the requests after it answer "not run".
async function runBatch(req, host) {
  const { createFlightSqlClient } = load('@lakehouse-rs/flight-sql-client');
  const A = load('apache-arrow');
  const proxy = req.direct ? null : await startStatusProxy(host, req.port);
  const clients = new Map();
  const results = [];
  let failed = null;
  for (const item of req.batch) {
    if (failed) {
      results.push({ error: `not run: an earlier request of the batch failed (${failed})` });
      continue;
    }
    try {
      const token = item.token || '';
      if (!clients.has(token)) {
        clients.set(token, await createFlightSqlClient({
          host: proxy ? '127.0.0.1' : host,
          port: proxy ? proxy.port : req.port,
          tls: false,
          token: token || undefined,
          headers: [],
        }));
      }
      const client = clients.get(token);
      const q = { op: 'query', sql: item.sql };
      const buf = await (proxy ? Promise.race([fetchIPC(q, client), stuckAfter(proxy.failed)]) : fetchIPC(q, client));
      if (buf.length === 0) {
        results.push({ columns: [], rows: [] });
      } else {
        const { columns, rows } = renderTable(A.tableFromIPC(buf));
        results.push({ columns, rows: [...rows].flat() });
      }
    } catch (e) {
      const status = proxy?.failure();
      failed = status ? describe(status) : `flight sql client: ${e?.message ?? e}`;
      results.push({ error: failed });
    }
  }
  proxy?.close();
  // Exit only once the (possibly large) answer is flushed: the native
  // client's runtime may keep the process alive otherwise.
  process.stdout.write(JSON.stringify({ results }) + '\n', () => process.exit(0));
}

async function main() {
  const req = await readRequest();
  if (!Number.isInteger(req.port)) throw new Error('request needs "port"');
  const host = req.host ?? '127.0.0.1';
  if (Array.isArray(req.batch)) {
    await runBatch(req, host);
    return;
  }
  const { createFlightSqlClient } = load('@lakehouse-rs/flight-sql-client');
  const A = load('apache-arrow');
  const proxy = req.direct ? null : await startStatusProxy(host, req.port);
  let buf;
  try {
    const client = await createFlightSqlClient({
      host: proxy ? '127.0.0.1' : host,
      port: proxy ? proxy.port : req.port,
      tls: false,
      token: req.token || undefined,
      headers: Object.entries(req.headers ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    });
    buf = await (proxy ? Promise.race([fetchIPC(req, client), stuckAfter(proxy.failed)]) : fetchIPC(req, client));
  } catch (e) {
    const status = proxy?.failure();
    fail(status ? describe(status) : `flight sql client: ${e?.message ?? e}`);
  }
  proxy?.close();
  if (buf.length === 0) {
    // No bytes at all, not even a schema: nothing to render.
    await writeResult([], []);
  } else {
    const { columns, rows } = renderTable(A.tableFromIPC(buf));
    await writeResult(columns, rows);
  }
  // The native client's runtime may keep the process alive; output is written.
  process.exit(0);
}

main().catch((e) => fail(e?.message ?? e));
