"""spark_read.py: runs the Spark configuration and PySpark code of docs/spark.md.

    echo '{"doc": ".../docs/spark.md", "jar": ".../flight-sql-jdbc-driver.jar",
           "agent": "localhost:PORT", "token_file": ".../ann.token",
           "probes": [...]}' | python spark_read.py

docs/spark.md is the source of what runs, so the page cannot drift from
what is tested:

- its one ```properties block (spark-defaults.conf) configures the
  SparkSession, with two substitutions: the jar path DOC_JAR becomes the
  test's jar and the agent address DOC_AGENT the test agent's. Both must
  appear in the block. The script adds only local[2], no UI and quiet logs.
- every ```python block runs, in page order, in one namespace, as the user
  whose token is in NSCALE_TOKEN_FILE (the script sets it to token_file).
  Each block is named by the word after "python" in its fence
  (```python split); a python block without a name is an error.

It prints one JSON object:

  {"blocks": [{"name", "error", "frames": {var: frame}, "values": {var: int}}],
   "probes": [{"name", "error", "schema", "count"}],
   "jvm_args": [...]}

A block's frames are the DataFrames it bound to names, each the canonical
{"columns", "rows"} of canonical.py (collected with DataFrame.toArrow) plus
"partition" (the Spark partition of each row), "partitions" (how many the
DataFrame has) and "schema" (Spark's own, simpleString). Its values are the
ints it bound (df.count()). error is null, or the exception's text when the
block raised: the blocks after it still run. Probes are the test's own
reads (not the page's): a dbtable or a query, optionally predicates, a
customSchema and a where clause whose count is taken; they report the
error, or Spark's schema and the count.
"""

import contextlib
import json
import os
import re
import sys

from canonical import render_table

DOC_JAR = "/opt/nscale/flight-sql-jdbc-driver.jar"
DOC_AGENT = "localhost:7443"
DRIVER = "org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver"

FENCE = re.compile(r"^```(\S*)[ \t]*(\S*)[ \t]*$")


def fenced_blocks(text):
    """The page's fenced code blocks at column 0: (language, name, code)."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        lang, name, body = m.group(1), m.group(2), []
        i += 1
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"docs: the ```{lang} block is not closed")
        blocks.append((lang, name, "\n".join(body) + "\n"))
        i += 1
    return blocks


def spark_defaults(blocks, jar, agent):
    """The page's spark-defaults.conf as (key, value) pairs, substituted."""
    props = [code for lang, _, code in blocks if lang == "properties"]
    if len(props) != 1:
        raise SystemExit(f"docs: want one ```properties block (spark-defaults.conf), found {len(props)}")
    text = props[0]
    for doc_value in (DOC_JAR, DOC_AGENT):
        if doc_value not in text:
            raise SystemExit(f"docs: spark-defaults.conf does not mention {doc_value}, which the test substitutes")
    text = text.replace(DOC_JAR, jar).replace(DOC_AGENT, agent)
    pairs = []
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        pairs.append((key, value.strip()))
    return pairs


def error_text(e):
    """The exception's message without the JVM's stack frames."""
    lines = [l for l in str(e).split("\n") if not l.lstrip().startswith("at ") and not l.lstrip().startswith("...")]
    return "\n".join(lines)[:8000]


def frame(df):
    from pyspark.sql import functions as F

    schema = df.schema.simpleString()
    table = df.withColumn("__spark_partition", F.spark_partition_id()).toArrow()
    parts = table.column("__spark_partition").to_pylist()
    table = table.drop_columns(["__spark_partition"])
    out = render_table(table)
    out.update({"partition": parts, "partitions": df.rdd.getNumPartitions(), "schema": schema})
    return out


def run_blocks(blocks, ns):
    from pyspark.sql import DataFrame

    out = []
    for lang, name, code in blocks:
        if lang != "python":
            continue
        if not name:
            raise SystemExit("docs: every ```python block needs a name (```python NAME) so that the test can refer to it")
        before = dict(ns)
        result = {"name": name, "error": None, "frames": {}, "values": {}}
        try:
            with contextlib.redirect_stdout(sys.stderr):  # df.show() and the like
                exec(compile(code, f"docs/spark.md ({name})", "exec"), ns)
        except Exception as e:  # the page's code failing is a result, not a crash
            result["error"] = error_text(e)
        try:
            for var, v in ns.items():
                if var.startswith("_") or (var in before and before[var] is v):
                    continue
                if isinstance(v, DataFrame):
                    result["frames"][var] = frame(v)
                elif isinstance(v, int) and not isinstance(v, bool):
                    result["values"][var] = v
        except Exception as e:
            result["error"] = (result["error"] or "") + "\ncollecting the block's DataFrames: " + error_text(e)
        out.append(result)
    return out


def run_probe(spark, url, p):
    r = {"name": p["name"], "error": None, "schema": None, "count": None}
    try:
        if "predicates" in p:
            props = {"driver": DRIVER}
            if "customSchema" in p:
                props["customSchema"] = p["customSchema"]
            df = spark.read.jdbc(url, p["dbtable"], predicates=p["predicates"], properties=props)
        else:
            rd = spark.read.format("jdbc").option("url", url).option("driver", DRIVER)
            for k in ("dbtable", "query", "customSchema"):
                if k in p:
                    rd = rd.option(k, p[k])
            df = rd.load()
        r["schema"] = df.schema.simpleString()
        if "where" in p:
            df = df.where(p["where"])
        r["count"] = df.count()
    except Exception as e:
        r["error"] = error_text(e)
    return r


def main():
    req = json.load(sys.stdin)
    # The JVM inherits file descriptor 1; whatever it or Spark prints goes
    # to stderr, and only the answer to the real stdout.
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    with open(req["doc"], encoding="utf-8") as f:
        blocks = fenced_blocks(f.read())
    conf = spark_defaults(blocks, req["jar"], req["agent"])
    os.environ["NSCALE_TOKEN_FILE"] = req["token_file"]

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName("spark_read.py")
    builder = builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    for k, v in conf:
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        results = run_blocks(blocks, {})
        with open(req["token_file"]) as f:
            url = spark.conf.get("spark.nscale.url") + "&token=" + f.read().strip()
        probes = [run_probe(spark, url, p) for p in req.get("probes") or []]
        jvm = spark.sparkContext._jvm
        args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    finally:
        spark.stop()
    json.dump({"blocks": results, "probes": probes, "jvm_args": args}, answer, ensure_ascii=False)
    answer.close()


if __name__ == "__main__":
    main()
