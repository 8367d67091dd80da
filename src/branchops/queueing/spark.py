"""The KPI SQL of ``kpis`` on Apache Spark, over the same Parquet store: what a bank whose history
outgrows one machine runs on its cluster (README: queue analytics, storage and scale).

Pure module (no Django import); pyspark is imported only by the caller who builds the session
(``requirements-spark.txt``; it is not a dependency of the web application).

The store is a Hive-style partitioned table: ``{root}/tickets/month=YYYY-MM/outlet=<code>/data.parquet``.
Spark reads it with partition-type inference off (an outlet code such as ``0101`` stays a string, as in
the files' own ``outlet_code``) and only the ``data.parquet`` files (the importer's journal and undo
records live elsewhere under the root). Timestamps are written by the importer as local wall-clock
times in milliseconds without a zone (Parquet ``TIMESTAMP(MILLIS, isAdjustedToUTC=false)``), which Spark
reads as ``TIMESTAMP_NTZ``: no time-zone shift, whatever the session's zone. Nanosecond timestamps
(another writer's files) are not readable by Spark as timestamps; the importer never writes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from branchops.queueing import kpis
from branchops.queueing.schema import DEVICE_SCHEMA, TICKET_SCHEMA

# Settings the KPI SQL relies on; a cluster's own settings (executors, memory) are the caller's.
SESSION_CONF = {
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.shuffle.partitions": "1",  # local and small; a cluster sets its own
    "spark.default.parallelism": "1",
    # Tiny local queries: compiling generated code and re-planning cost more than they save.
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

_SPARK_TYPES = {"string": "STRING", "date32[day]": "DATE", "timestamp[s]": "TIMESTAMP_NTZ"}


def local_session(app: str = "branchops-kpis", cores: int = 1):
    """A local Spark session (tests, benchmarks, a single server): ``local[cores]``."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(f"local[{int(cores)}]").appName(app)
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    builder = builder.config("spark.driver.memory", "1g")
    return builder.getOrCreate()


def register_store(spark, root: str | os.PathLike) -> None:
    """Register the store's tickets and devices as the views ``tickets`` and ``devices`` (partition
    columns ``month`` and ``outlet``) that ``kpis.SPARK`` names. A kind with no files is an empty view."""
    root = os.fspath(root)
    for kind, schema in (("tickets", TICKET_SCHEMA), ("devices", DEVICE_SCHEMA)):
        base = os.path.join(root, kind)
        if kpis.partition_paths(root, kind, _months(base), None):
            df = (spark.read.option("basePath", base).option("pathGlobFilter", "data.parquet")
                  .option("recursiveFileLookup", "false").parquet(base))
        else:
            cols = ", ".join(f"CAST(NULL AS {_SPARK_TYPES[str(f.type)]}) AS {f.name}" for f in schema)
            df = spark.sql(f"SELECT {cols}, CAST(NULL AS STRING) AS month, CAST(NULL AS STRING) AS outlet "
                           "WHERE 1 = 0")
        df.createOrReplaceTempView(kind)


def _months(base: str) -> list[str]:
    try:
        return sorted(e[len("month="):] for e in os.listdir(base) if e.startswith("month="))
    except FileNotFoundError:
        return []


def _run(spark, sql: str, scope: kpis.Scope) -> list[dict]:
    if scope.mapping is not None:
        spark.createDataFrame(scope.mapping.to_pandas()).createOrReplaceTempView("outlet_map")
    return [row.asDict() for row in spark.sql(sql).collect()]


def wait_kpis(spark, root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
              outlets: Iterable[str] | None = None, mapping=None, breakdown: Sequence[str] = (),
              thresholds: Mapping[str, int] | None = None,
              categories: Mapping[str, str] | None = None) -> list[dict]:
    """``kpis.wait_kpis`` on Spark: the same SQL text (``kpis.SPARK``), rows as dicts in key order."""
    scope = kpis.resolve(start, end, grain, outlets, mapping, breakdown)
    return _run(spark, kpis.wait_sql(os.fspath(root), scope, thresholds, kpis.SPARK, categories=categories), scope)


def ops_kpis(spark, root: str | os.PathLike, start: date, end: date, *, grain: str | None = "day",
             outlets: Iterable[str] | None = None, mapping=None,
             eligible_types: Sequence[str] | None = None) -> list[dict]:
    """``kpis.ops_kpis`` on Spark: the same SQL text (``kpis.SPARK``), rows as dicts in key order."""
    scope = kpis.resolve(start, end, grain, outlets, mapping)
    return _run(spark, kpis.ops_sql(os.fspath(root), scope, eligible_types, kpis.SPARK), scope)
