// Canonical rendering shared by duckdb_query.mjs and flightsql_query.mjs: the
// JavaScript half of integration/jsharness (format.go is the Go half; the two
// must agree byte for byte). The rules are listed in jsharness/result.go.
//
// Packages: Node ignores NODE_PATH for ES module imports, and the npm packages
// live in a cache outside the clone, so load() requires them with
// createRequire by absolute path from, in order: NSCALE_JS_MODULES (a
// node_modules directory), each NODE_PATH entry, then
// ${NSCALE_CACHE:-$HOME/.cache/nscale}/js/node_modules where scripts/tools.sh
// installs them. All three packages used are CommonJS, so require() is enough.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

export function modulesDirs() {
  const dirs = [];
  if (process.env.NSCALE_JS_MODULES) dirs.push(process.env.NSCALE_JS_MODULES);
  for (const d of (process.env.NODE_PATH || '').split(path.delimiter)) if (d) dirs.push(d);
  const cache = process.env.NSCALE_CACHE || path.join(os.homedir(), '.cache', 'nscale');
  dirs.push(path.join(cache, 'js', 'node_modules'));
  return dirs;
}

// load requires an npm package from the first directory that has it.
export function load(name) {
  const dirs = modulesDirs();
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(path.join(p, 'package.json'))) return require(p);
  }
  throw new Error(`npm package ${name} not found in ${dirs.join(', ')}: run scripts/tools.sh or set NSCALE_JS_MODULES`);
}

// formatFloat64 is ECMAScript's Number::toString (shortest round-trip digits,
// the closest and then the even on a tie), except that negative zero keeps its
// sign. A float32 is rendered as the float64 it widens to, as in format.go.
export function formatFloat64(x) {
  if (Object.is(x, -0)) return '-0';
  return String(x); // NaN, Infinity, -Infinity, 0 included
}

// formatDecimal renders the unscaled bigint v with exactly scale fraction digits.
export function formatDecimal(v, scale) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (scale < 0) {
    if (s !== '0') s += '0'.repeat(-scale);
  } else if (scale > 0) {
    if (s.length <= scale) s = '0'.repeat(scale - s.length + 1) + s;
    s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  }
  return neg ? '-' + s : s;
}

function pad(v, width) {
  const s = String(v);
  return s.length < width ? '0'.repeat(width - s.length) + s : s;
}

// formatDate renders days since 1970-01-01 (a Number) as YYYY-MM-DD, proleptic
// Gregorian (H. Hinnant's civil_from_days), like Go's time package.
export function formatDate(days) {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const year = y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
  return `${year}-${pad(m, 2)}-${pad(d, 2)}`;
}

function floorDiv(a, b) {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

// splitUnits splits a bigint count of 1/unitsPerSecond seconds into whole
// seconds and the fraction as 6 digits (9 for nanoseconds).
function splitUnits(v, unitsPerSecond) {
  const secs = floorDiv(v, unitsPerSecond);
  let rem = v - secs * unitsPerSecond;
  let digits = 9;
  if (unitsPerSecond !== 1000000000n) {
    digits = 6;
    rem *= 1000000n / unitsPerSecond;
  }
  return [secs, pad(rem, digits)];
}

function clock(secs) {
  const s = Number(secs);
  return `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}`;
}

// formatTimestamp renders v (bigint, 1/unitsPerSecond s since the epoch) as
// RFC 3339 in UTC, with a Z only for instants (utc true).
export function formatTimestamp(v, unitsPerSecond, utc) {
  const [secs, frac] = splitUnits(BigInt(v), unitsPerSecond);
  const days = floorDiv(secs, 86400n);
  return `${formatDate(Number(days))}T${clock(secs - days * 86400n)}.${frac}${utc ? 'Z' : ''}`;
}

// formatTime renders a time of day as HH:MM:SS.ffffff (9 digits for ns).
export function formatTime(v, unitsPerSecond) {
  const [secs, frac] = splitUnits(BigInt(v), unitsPerSecond);
  return `${clock(secs)}.${frac}`;
}

export function formatBinary(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export async function readRequest() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// writeResult prints {"columns":[...],"rows":[...]} with one row per line,
// in chunks, so a large result never becomes one giant string. Writes to a
// pipe are synchronous on Linux, so nothing is lost at process exit.
export async function writeResult(columns, rowBatches) {
  process.stdout.write(`{"columns":${JSON.stringify(columns)},"rows":[`);
  let first = true;
  for await (const rows of rowBatches) {
    let out = '';
    for (const row of rows) {
      out += (first ? '\n' : ',\n') + JSON.stringify(row);
      first = false;
    }
    if (out) process.stdout.write(out);
  }
  process.stdout.write('\n]}\n');
}

// fail prints one line on stderr and exits 1.
export function fail(message) {
  process.stderr.write(String(message).replace(/\s*\n\s*/g, ' ').trim() + '\n');
  process.exit(1);
}
