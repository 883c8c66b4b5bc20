"""pyclients.py: the Python clients data engineers use, against nscale's agent.

    echo '{"queries": [{"client": "adbc", "uri": "grpc://127.0.0.1:N",
                        "token": "nsu_...", "sql": "SELECT ..."}]}' | python pyclients.py

client is one of
  "adbc"    ADBC DB-API (adbc_driver_flightsql.dbapi), cursor.fetch_arrow_table()
  "pandas"  ADBC DB-API, cursor.fetch_df(): a pandas DataFrame
  "flight"  pyarrow.flight: GetFlightInfo with a Flight SQL CommandStatementQuery,
            then DoGet of every endpoint's ticket
and uri is grpc://127.0.0.1:PORT (TCP) or grpc+unix:///path/agent.sock.

Prints {"results": [...]} with one answer per query, in order: the canonical
{"columns": [{"name", "type"}], "rows": [[...]]} of integration/jsharness
(result.go lists the rules; render.mjs and format.go are the other halves),
or {"error": {"code": "Unauthenticated", "message": "...", "raw": "..."}}
with the gRPC code and message the client reports. A pandas answer has
"columns" with names only ("type" is null): a DataFrame has no Arrow types.

The functions marked "docs/clients.md" are copied verbatim from that file,
and integration/python_test.go checks that they still are.
"""

import datetime
import decimal
import json
import math
import re
import sys

# --- docs/clients.md: adbc ---
import adbc_driver_flightsql.dbapi as flightsql


def query_arrow(uri, token, sql):
    """Runs sql as the token's user; returns a pyarrow.Table."""
    headers = {"adbc.flight.sql.authorization_header": "Bearer " + token}
    with flightsql.connect(uri, db_kwargs=headers, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
# --- end ---


# --- docs/clients.md: pandas ---
def query_pandas(uri, token, sql):
    """Runs sql as the token's user; returns a pandas.DataFrame."""
    headers = {"adbc.flight.sql.authorization_header": "Bearer " + token}
    with flightsql.connect(uri, db_kwargs=headers, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_df()
# --- end ---


# --- docs/clients.md: flight ---
import pyarrow as pa
import pyarrow.flight as flight


def _field(number, payload):
    """One length-delimited protobuf field: key, varint length, bytes."""
    out, n = bytearray([number << 3 | 2]), len(payload)
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def statement_query(sql):
    """The Flight SQL command for sql: a google.protobuf.Any {type_url = 1,
    value = 2} holding a CommandStatementQuery {query = 1}."""
    type_url = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"
    return _field(1, type_url) + _field(2, _field(1, sql.encode("utf-8")))


def query_flight(uri, token, sql):
    """Runs sql as the token's user with pyarrow.flight; returns a pyarrow.Table."""
    options = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer " + token.encode())])
    with flight.FlightClient(uri) as client:
        descriptor = flight.FlightDescriptor.for_command(statement_query(sql))
        info = client.get_flight_info(descriptor, options)
        # The agent serves every endpoint itself, on this connection.
        tables = [client.do_get(ep.ticket, options).read_all() for ep in info.endpoints]
        return pa.concat_tables(tables) if tables else info.schema.empty_table()
# --- end ---


# Canonical rendering (the Python half of integration/jsharness).

def ecma_float(x):
    """ECMAScript's Number::toString of a float64 (shortest round-trip digits),
    with negative zero kept as "-0", as format.go's formatFloat."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0")
    exp += len(digits) - len(ds)
    k, n = len(ds), len(ds) + exp  # value = 0.ds * 10^n
    if k <= n <= 21:
        s = ds + "0" * (n - k)
    elif 0 < n <= 21:
        s = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * -n + ds
    else:
        e = n - 1
        es = ("+" if e >= 0 else "-") + str(abs(e))
        s = ds + "e" + es if k == 1 else ds[0] + "." + ds[1:] + "e" + es
    return "-" + s if sign else s


def type_name(t):
    """The canonical type name of an Arrow type (jsharness TypeName)."""
    if pa.types.is_dictionary(t):
        return type_name(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return type_name(t.storage_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return {"halffloat": "float16", "float": "float32", "double": "float64"}.get(str(t), str(t))
    if pa.types.is_decimal(t):
        return "decimal(%d,%d)" % (t.precision, t.scale)
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
        return "map<%s, %s>" % (type_name(t.key_type), type_name(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        return "list<%s>" % type_name(t.value_type)
    if pa.types.is_struct(t):
        return "struct<%s>" % ", ".join("%s: %s" % (f.name, type_name(f.type)) for f in t)
    raise ValueError("no canonical rendering for Arrow type %s" % t)


def _decimal(d, scale):
    return format(d.quantize(decimal.Decimal(1).scaleb(-scale)), "f")


def _utc(ts, nanos):
    """An aware datetime (or pandas Timestamp) as RFC 3339 in UTC, 6 fraction
    digits, or 9 for a nanosecond column."""
    u = ts.astimezone(datetime.timezone.utc)
    frac = "%06d" % u.microsecond
    if nanos:
        frac += "%03d" % getattr(u, "nanosecond", 0)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z"


def _naive(ts, nanos):
    frac = "%06d" % ts.microsecond
    if nanos:
        frac += "%03d" % getattr(ts, "nanosecond", 0)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + frac


def render_arrow(t, v):
    """The canonical value of v, a Python value pyarrow gave for type t."""
    if v is None:
        return None
    if pa.types.is_dictionary(t):
        return render_arrow(t.value_type, v)
    if pa.types.is_boolean(t):
        return bool(v)
    if pa.types.is_integer(t):
        return str(v)
    if pa.types.is_floating(t):
        return ecma_float(float(v))
    if pa.types.is_decimal(t):
        return _decimal(v, t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return v
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        import base64
        return base64.b64encode(v).decode("ascii")
    if pa.types.is_date(t):
        return v.isoformat()
    if pa.types.is_time(t):
        nanos = t.unit == "ns"
        frac = "%06d" % v.microsecond + ("%03d" % getattr(v, "nanosecond", 0) if nanos else "")
        return v.strftime("%H:%M:%S.") + frac
    if pa.types.is_timestamp(t):
        return _utc(v, t.unit == "ns") if t.tz else _naive(v, t.unit == "ns")
    if pa.types.is_map(t):
        return [{"key": render_arrow(t.key_type, k), "value": render_arrow(t.item_type, x)} for k, x in v]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        return [render_arrow(t.value_type, x) for x in v]
    if pa.types.is_struct(t):
        return {f.name: render_arrow(f.type, v.get(f.name)) for f in t}
    raise ValueError("no canonical rendering for Arrow type %s" % t)


def render_table(table):
    """A pyarrow.Table as canonical columns and rows, from the Python values
    pyarrow converts each cell to (what a user of to_pylist gets)."""
    columns = [{"name": f.name, "type": type_name(f.type)} for f in table.schema]
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    types = [f.type for f in table.schema]
    rows = [[render_arrow(types[c], cols[c][r]) for c in range(len(cols))] for r in range(table.num_rows)]
    return {"columns": columns, "rows": rows}


def render_pandas_value(v, nanos):
    """The canonical value of a pandas cell, from its own Python or numpy
    type: a DataFrame keeps no Arrow type, so NULL is None, NaN or NaT (an
    integer column with NULLs is float64 in pandas: its whole floats render
    as the integers, "3"), decimals keep their scale, timestamps are UTC."""
    import numpy as np
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else ecma_float(float(v))
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, str):
        return v
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        return _utc(v, nanos) if v.tzinfo is not None else _naive(v, nanos)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: render_pandas_value(x, nanos) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [render_pandas_value(x, nanos) for x in v]
    raise ValueError("no canonical rendering for pandas value %r (%s)" % (v, type(v).__name__))


def render_frame(df):
    columns = [{"name": str(c), "type": None} for c in df.columns]
    cols = []
    for c in df.columns:
        s = df[c]
        nanos = getattr(s.dtype, "unit", None) == "ns"
        cols.append([render_pandas_value(v, nanos) for v in s.tolist()])
    rows = [[col[r] for col in cols] for r in range(len(df))]
    return {"columns": columns, "rows": rows, "dtypes": [str(df[c].dtype) for c in df.columns]}


# Errors: the gRPC code and message, as each client reports them.

# gRPC status codes by number (ADBC's vendor_code) and by the phrase Arrow's
# Flight client puts in its messages ("gRPC returned <phrase> error").
GRPC_CODES = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
              "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
              "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
              "Unauthenticated"]
FLIGHT_PHRASES = {
    "cancelled": "Canceled", "unknown": "Unknown", "invalid argument": "InvalidArgument",
    "deadline exceeded": "DeadlineExceeded", "not found": "NotFound", "already exists": "AlreadyExists",
    "permission denied": "PermissionDenied", "unauthorized": "PermissionDenied",
    "resource exhausted": "ResourceExhausted",
    "precondition failed": "FailedPrecondition", "aborted": "Aborted", "out of range": "OutOfRange", "out-of-range": "OutOfRange",
    "not implemented": "Unimplemented", "unimplemented": "Unimplemented", "internal": "Internal", "unavailable": "Unavailable",
    "data loss": "DataLoss", "unauthenticated": "Unauthenticated",
}
FLIGHT_ERROR = re.compile(r"(?:gRPC|Flight) returned (.+?) error, with message: (.*?)(?:\. gRPC client debug context:|\. Client context:|\. Detail:|$)", re.S)
ADBC_ERROR = re.compile(r"^[A-Z_]+: \[FlightSQL\] (.*) \((\w+); \w+\)(?:\. Vendor code: -?\d+)?$", re.S)


def describe_error(client, e):
    """The gRPC code and the server's message of a client's exception: from
    the phrase pyarrow.flight puts in its text, or from ADBC's vendor_code
    (the gRPC code's number) and its "[FlightSQL] message (Code; Call)"."""
    raw = str(e)
    out = {"code": None, "message": raw, "raw": raw, "exception": type(e).__name__}
    if client == "flight":
        m = FLIGHT_ERROR.search(raw)
        if m:
            out["code"], out["message"] = FLIGHT_PHRASES.get(m.group(1), m.group(1)), m.group(2)
        return out
    m = ADBC_ERROR.match(raw.strip())
    if m:
        out["code"], out["message"] = m.group(2), m.group(1)
    code = getattr(e, "vendor_code", None)
    if isinstance(code, int) and 0 <= code < len(GRPC_CODES):
        out["code"] = GRPC_CODES[code]
    return out


def answer(q):
    client, uri, token, sql = q["client"], q["uri"], q.get("token", ""), q["sql"]
    try:
        if client == "adbc":
            return render_table(query_arrow(uri, token, sql))
        if client == "pandas":
            return render_frame(query_pandas(uri, token, sql))
        if client == "flight":
            return render_table(query_flight(uri, token, sql))
        raise ValueError("unknown client %r" % client)
    except (flight.FlightError, pa.ArrowException, flightsql.Error) as e:
        return {"error": describe_error(client, e)}


def main():
    req = json.load(sys.stdin)
    results = [answer(q) for q in req["queries"]]
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
