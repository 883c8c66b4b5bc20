// Canonical rendering of Arrow data decoded by apache-arrow (JS, 14.x, the
// version @lakehouse-rs/flight-sql-client depends on). Values are read from
// the raw buffers, not through Vector.get: get() turns 64-bit timestamps
// into float milliseconds (losing microseconds) and decimals into opaque
// word arrays. Buffers of a sliced Data are already offset by apache-arrow,
// except the validity and boolean bitmaps, which are indexed with data.offset.
// No dictionaries: the Rust client cannot return a dictionary-encoded column
// (jsharness TestRustClientCannotReadDictionaries), so they never get here.

import {
  formatBinary, formatDate, formatDecimal, formatFloat64,
  formatTime, formatTimestamp, load,
} from './render.mjs';

const A = load('apache-arrow');
const { Type, TimeUnit, Precision } = A;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const perSecond = {
  [TimeUnit.SECOND]: 1n, [TimeUnit.MILLISECOND]: 1000n,
  [TimeUnit.MICROSECOND]: 1000000n, [TimeUnit.NANOSECOND]: 1000000000n,
};

// int64At reads a 64-bit integer kept as two int32 words (timestamps, date64).
function int64At(values, i) {
  return (BigInt(values[2 * i + 1]) << 32n) + BigInt(values[2 * i] >>> 0);
}

function bytesAt(data, i) {
  return data.values.subarray(data.valueOffsets[i], data.valueOffsets[i + 1]);
}

// renderer returns the canonical type name of an Arrow type and a function
// (data, i) rendering the value at index i of a Data of that type, NULL included.
export function renderer(type) {
  const [name, render] = nonNull(type);
  return [name, (data, i) => (data.getValid(i) ? render(data, i) : null)];
}

function nonNull(type) {
  switch (type.typeId) {
    case Type.Null: return ['null', () => null];
    case Type.Bool:
      return ['bool', (d, i) => {
        const bit = d.offset + i;
        return ((d.values[bit >> 3] >> (bit & 7)) & 1) === 1;
      }];
    case Type.Int:
      return [`${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`, (d, i) => String(d.values[i])];
    case Type.Float:
      if (type.precision === Precision.SINGLE) return ['float32', (d, i) => formatFloat64(d.values[i])];
      if (type.precision === Precision.DOUBLE) return ['float64', (d, i) => formatFloat64(d.values[i])];
      break;
    case Type.Decimal: {
      const words = type.bitWidth / 32;
      return [`decimal(${type.precision},${type.scale})`, (d, i) => {
        let v = 0n;
        for (let w = words - 1; w >= 0; w--) v = (v << 32n) | BigInt(d.values[words * i + w]);
        return formatDecimal(BigInt.asIntN(type.bitWidth, v), type.scale);
      }];
    }
    case Type.Utf8: return ['string', (d, i) => utf8.decode(bytesAt(d, i))];
    case Type.Binary: return ['binary', (d, i) => formatBinary(bytesAt(d, i))];
    case Type.FixedSizeBinary:
      return ['binary', (d, i) => formatBinary(d.values.subarray(type.byteWidth * i, type.byteWidth * (i + 1)))];
    case Type.Date:
      if (type.unit === A.DateUnit.DAY) return ['date', (d, i) => formatDate(d.values[i])];
      return ['date', (d, i) => {
        const ms = int64At(d.values, i);
        const days = ms / 86400000n - (ms % 86400000n < 0n ? 1n : 0n);
        return formatDate(Number(days));
      }];
    case Type.Time:
      return ['time', (d, i) => formatTime(BigInt(d.values[i]), perSecond[type.unit])];
    case Type.Timestamp: {
      const tz = Boolean(type.timezone);
      return [tz ? 'timestamptz' : 'timestamp', (d, i) => formatTimestamp(int64At(d.values, i), perSecond[type.unit], tz)];
    }
    case Type.List: {
      const [name, item] = renderer(type.children[0].type);
      return [`list<${name}>`, (d, i) => {
        const out = [];
        for (let j = d.valueOffsets[i]; j < d.valueOffsets[i + 1]; j++) out.push(item(d.children[0], j));
        return out;
      }];
    }
    case Type.FixedSizeList: {
      const [name, item] = renderer(type.children[0].type);
      return [`list<${name}>`, (d, i) => {
        const out = [];
        for (let j = type.listSize * i; j < type.listSize * (i + 1); j++) out.push(item(d.children[0], j));
        return out;
      }];
    }
    case Type.Struct: {
      const fields = type.children.map((f) => [f.name, ...renderer(f.type)]);
      return [
        `struct<${fields.map(([n, t]) => `${n}: ${t}`).join(', ')}>`,
        (d, i) => Object.fromEntries(fields.map(([n, , r], k) => [n, r(d.children[k], i)])),
      ];
    }
    case Type.Map: {
      const [kf, vf] = type.children[0].type.children;
      const [kn, kr] = renderer(kf.type);
      const [vn, vr] = renderer(vf.type);
      return [`map<${kn}, ${vn}>`, (d, i) => {
        const entries = d.children[0];
        const out = [];
        for (let j = d.valueOffsets[i]; j < d.valueOffsets[i + 1]; j++) {
          out.push({ key: kr(entries.children[0], j), value: vr(entries.children[1], j) });
        }
        return out;
      }];
    }
  }
  throw new Error(`no canonical rendering for Arrow type ${type}`);
}

// renderTable renders an apache-arrow Table as canonical columns and row batches.
export function renderTable(table) {
  const fields = table.schema.fields;
  const rs = fields.map((f) => renderer(f.type));
  const columns = fields.map((f, c) => ({ name: f.name, type: rs[c][0] }));
  function* rows() {
    for (const batch of table.batches) {
      const out = [];
      for (let i = 0; i < batch.numRows; i++) {
        out.push(rs.map(([, r], c) => r(batch.data.children[c], i)));
      }
      yield out;
    }
  }
  return { columns, rows: rows() };
}
