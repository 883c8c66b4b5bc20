"""canonical.py: a pyarrow Table in the canonical form of integration/jsharness.

render_table(table) returns {"columns": [{"name", "type"}], "rows": [[...]]}
with the rules of integration/jsharness/result.go (format.go and render.mjs
are the other halves): NULL null, bool true/false, integers and decimals as
strings (a decimal with exactly its scale's fraction digits), floats as the
shortest round-trip digits in ECMAScript's layout, strings as is, binary as
base64, dates YYYY-MM-DD, timestamps 2024-01-02T03:04:05.000006 with a Z
when they have a time zone (rendered in UTC), lists as arrays, structs as
objects. Column types are the canonical names (int64, decimal(12,2),
string, date, timestamptz, struct<a: int32, b: string>, ...).

spark_read.py renders Spark's DataFrames (DataFrame.toArrow) and
duckdb_oracle.py DuckDB's answers with it, so both sides of a comparison go
through one rendering.
"""

import base64
import datetime
import decimal

import pyarrow as pa

_EPOCH_DATE = datetime.date(1970, 1, 1)
_EPOCH = datetime.datetime(1970, 1, 1)
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_PER_SECOND = {"s": 1, "ms": 1000, "us": 1000000, "ns": 1000000000}


def type_name(t):
    """The canonical name of the Arrow type t."""
    if pa.types.is_dictionary(t):
        return type_name(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return type_name(t.storage_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return str(t)  # int8 ... uint64
    if pa.types.is_float32(t):
        return "float32"
    if pa.types.is_float64(t):
        return "float64"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_map(t):
        return f"map<{type_name(t.key_type)}, {type_name(t.item_type)}>"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{t.field(i).name}: {type_name(t.field(i).type)}" for i in range(t.num_fields)) + ">"
    raise ValueError(f"no canonical rendering for Arrow type {t}")


def ecma_float(x):
    """x with the shortest round-trip digits in ECMAScript's Number layout."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0")
    exp += len(digits) - len(ds)
    k, n = len(ds), len(ds) + exp  # the value is 0.ds * 10^n
    if k <= n <= 21:
        out = ds + "0" * (n - k)
    elif 0 < n <= 21:
        out = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * -n + ds
    else:
        e = n - 1
        out = (ds if k == 1 else ds[0] + "." + ds[1:]) + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return ("-" if sign else "") + out


def _decimal(v, scale):
    q = v.quantize(decimal.Decimal(1).scaleb(-scale))
    if q == 0:
        q = abs(q)
    return format(q, "f")


def _timestamp(units, per_second, zoned):
    secs, frac = divmod(units, per_second)
    digits = 9 if per_second == 1000000000 else 6
    frac = frac * (1000000 // per_second) if digits == 6 else frac
    days, clock = divmod(secs, 86400)
    day = _EPOCH_DATE + datetime.timedelta(days=days)
    s = f"{day.isoformat()}T{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}.{frac:0{digits}d}"
    return s + "Z" if zoned else s


def _units(v, t):
    """A timestamp value of type t (datetime, or pandas Timestamp for ns) as
    an integer count of t's unit since the epoch."""
    if hasattr(v, "value") and t.unit == "ns":  # pandas.Timestamp
        return int(v.value)
    base = _EPOCH_UTC if v.tzinfo is not None else _EPOCH
    micros = (v - base) // datetime.timedelta(microseconds=1)
    per = _PER_SECOND[t.unit]
    return micros * per // 1000000 if per >= 1000000 else micros // (1000000 // per)


def render_value(v, t):
    """One Python value (as pyarrow's to_pylist gives it) of Arrow type t."""
    if v is None:
        return None
    if pa.types.is_dictionary(t):
        return render_value(v, t.value_type)
    if pa.types.is_boolean(t):
        return bool(v)
    if pa.types.is_integer(t):
        return str(int(v))
    if pa.types.is_floating(t):
        return ecma_float(float(v))
    if pa.types.is_decimal(t):
        return _decimal(v, t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return v
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return base64.b64encode(v).decode("ascii")
    if pa.types.is_date(t):
        return v.isoformat()
    if pa.types.is_timestamp(t):
        return _timestamp(_units(v, t), _PER_SECOND[t.unit], bool(t.tz))
    if pa.types.is_time(t):
        micros = ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond
        return f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{micros % 1000000:06d}"
    if pa.types.is_map(t):
        return [{"key": render_value(k, t.key_type), "value": render_value(x, t.item_type)} for k, x in v]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        return [render_value(x, t.value_type) for x in v]
    if pa.types.is_struct(t):
        return {t.field(i).name: render_value(v.get(t.field(i).name), t.field(i).type) for i in range(t.num_fields)}
    raise ValueError(f"no canonical rendering for Arrow type {t}")


def render_table(table):
    """The canonical {"columns", "rows"} of a pyarrow Table."""
    columns = [{"name": f.name, "type": type_name(f.type)} for f in table.schema]
    data = [table.column(i).to_pylist() for i in range(table.num_columns)]
    types = [f.type for f in table.schema]
    rows = [[render_value(data[c][r], types[c]) for c in range(table.num_columns)] for r in range(table.num_rows)]
    return {"columns": columns, "rows": rows}
