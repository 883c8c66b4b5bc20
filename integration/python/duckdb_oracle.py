"""duckdb_oracle.py: the SQL oracle of the Spark tests, with the duckdb package.

    echo '{"queries": ["SET TimeZone = '"'"'UTC'"'"'; SELECT 1 AS one"]}' | python duckdb_oracle.py

Runs each text (one or more statements; the last one's result counts) in a
fresh in-memory DuckDB, which reads local Parquet files and nothing else,
and prints {"results": [...]}: per text the canonical {"columns", "rows"} of
canonical.py, or {"error": "<DuckDB's message>"}.
"""

import json
import sys

import duckdb

from canonical import render_table


def answer(sql):
    con = duckdb.connect(":memory:")
    try:
        rel = con.sql(sql)
        if rel is None:
            return {"error": "the last statement returns no result"}
        table = rel.arrow()
        if hasattr(table, "read_all"):  # a RecordBatchReader in newer DuckDB
            table = table.read_all()
        return render_table(table)
    except duckdb.Error as e:
        return {"error": str(e)}
    finally:
        con.close()


def main():
    req = json.load(sys.stdin)
    json.dump({"results": [answer(q) for q in req["queries"]]}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
