"""The engine-neutral KPI SQL on a real Spark session (issue 16: scale past one machine, shown, not
claimed). ``kpis.SPARK`` renders the same SQL that DuckDB runs; a local Spark (``local[1]``) reads the
same Parquet store the importer wrote and its rows equal DuckDB's row by row: keys, counts and exact
percentiles (Spark ``percentile`` and DuckDB ``quantile_cont`` both interpolate linearly between ranks;
they may differ in the last bits of a double, so floats are compared to 1e-9 relative).

Marked ``spark``: kept out of the default runs; ``scripts/test.sh`` runs it in its own step after
installing ``requirements-spark.txt`` (and Java 17 if missing).
"""

import logging
import math
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from branchops.queueing import kpis, simulate, store

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

from branchops.queueing import spark as S  # noqa: E402  (after the skip: pyspark is optional)

START = date(2026, 3, 30)  # a Monday; the week crosses a month end
END = START + timedelta(days=6)
# "0101" would become the integer 101 with Spark's partition type inference: it must stay a string.
OUTLETS = ["0101", "SZ0102", "SZ0201"]
GROUPS = pa.table({"outlet_code": ["0101", "SZ0102", "SZ0201", "SZ0201"],
                   "sub_branch": ["S1", "S1", "S2", "ALL"]})
ELIGIBLE = ["cash_withdrawal", "cash_deposit", "transfer"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A week of simulated logs of three outlets, stored by the real importer."""
    folder = tmp_path_factory.mktemp("spark")
    results = list(simulate.generate_logs(3, 7, 11, start_date=START, outlet_codes=OUTLETS,
                                          patterns=["peak_queueing", "all_day_queueing", "vip_queueing"]))
    simulate.write_csv([r.tickets for r in results], folder / "tickets.csv")
    simulate.write_csv([r.devices for r in results], folder / "devices.csv")
    tickets = store.import_ticket_files([folder / "tickets.csv"], folder / "store", None).files[0]
    devices = store.import_device_files([folder / "devices.csv"], folder / "store", None).files[0]
    assert tickets.added > 2000 and tickets.rejected == 0 and devices.added > 500
    return folder / "store"


@pytest.fixture(scope="module")
def spark(root):
    logging.getLogger("py4j").setLevel(logging.WARNING)  # its goodbye would log to a closed capture
    session = S.local_session("branchops-test", cores=1)
    S.register_store(session, root)
    yield session
    session.stop()


def same_rows(spark_rows: list[dict], duck: pa.Table) -> None:
    duck_rows = duck.to_pylist()
    assert len(spark_rows) == len(duck_rows) > 0
    for got, want in zip(spark_rows, duck_rows, strict=True):
        assert list(got) == list(want)  # same columns, same order
        for name, value in want.items():
            if isinstance(value, float):
                assert math.isclose(got[name], value, rel_tol=1e-9, abs_tol=1e-9), (name, got, want)
            else:
                assert got[name] == value and type(got[name]) is type(value), (name, got, want)


def test_store_writes_timestamps_spark_reads_without_a_shift(root):
    # Parquet has no second unit: the importer's times land as milliseconds, local wall-clock time
    # without a zone, which Spark reads as TIMESTAMP_NTZ (nanoseconds it could not read at all).
    path = kpis.partition_paths(root, "tickets", ["2026-03"], ["0101"])[0]
    issued = pq.read_metadata(path).schema.column(6)
    assert issued.name == "issued_at" and "timeUnit=milliseconds" in str(issued.logical_type)
    assert "isAdjustedToUTC=false" in str(issued.logical_type)


@pytest.mark.parametrize("grain", ["interval", "day", "week", "total"])
def test_wait_kpis_equal_duckdb_row_by_row(spark, root, grain):
    breakdown = ("customer_tier",) if grain in ("day", "total") else ()
    same_rows(S.wait_kpis(spark, root, START, END, grain=grain, breakdown=breakdown),
              kpis.wait_kpis(root, START, END, grain=grain, breakdown=breakdown, compact=False))


def test_wait_kpis_by_group_category_and_thresholds_equal_duckdb(spark, root):
    th = {"regular": 600, "vip": 180, "private": 240}
    cats = {"cash_withdrawal": "cash", "cash_deposit": "cash", "transfer": "transfer"}
    same_rows(S.wait_kpis(spark, root, START, END, grain="week", mapping=GROUPS, breakdown=("business_type",),
                          thresholds=th, categories=cats),
              kpis.wait_kpis(root, START, END, grain="week", mapping=GROUPS, breakdown=("business_type",),
                             thresholds=th, categories=cats, compact=False))
    same_rows(S.wait_kpis(spark, root, START, END, grain="day", outlets=["0101"]),
              kpis.wait_kpis(root, START, END, grain="day", outlets=["0101"], compact=False))


def test_ops_kpis_equal_duckdb_row_by_row(spark, root):
    same_rows(S.ops_kpis(spark, root, START, END, grain="interval", eligible_types=ELIGIBLE),
              kpis.ops_kpis(root, START, END, grain="interval", eligible_types=ELIGIBLE))
    same_rows(S.ops_kpis(spark, root, START, END, grain="day", mapping=GROUPS),
              kpis.ops_kpis(root, START, END, grain="day", mapping=GROUPS))
