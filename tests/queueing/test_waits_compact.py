"""The month compact of the tickets (kpis.build_waits): same exact KPIs as the partitions, never stale."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from branchops.queueing import kpis as K
from branchops.queueing import rollup as R

from .test_kpis import write_store
from .test_rollup import random_tickets

DAYS = [date(2025, 5, 27) + timedelta(i) for i in range(8)]  # May and June
START, END = DAYS[0], DAYS[-1]
OUTLETS = ["Q1", "Q2", "Q3", "Q4"]


@pytest.fixture
def store(tmp_path, con):
    parts = write_store(tmp_path, random_tickets(23, OUTLETS, DAYS, per_day=40))
    R.refresh(tmp_path, parts, con=con)
    return tmp_path


def both(root, con, **kw):
    return (K.wait_kpis(root, START, END, con=con, **kw),
            K.wait_kpis(root, START, END, con=con, compact=False, **kw))


def test_refresh_builds_a_current_compact_per_month(store):
    for month in ("2025-05", "2025-06"):
        assert K.waits_fresh(store, month)
        table = pq.read_table(K.waits_path(store, month))
        assert table.schema.remove_metadata() == K.WAITS_SCHEMA
        tickets = pq.read_table(K.partition_paths(store, "tickets", [month], None))
        assert table.num_rows == tickets.num_rows
        codes = table.column("outlet_code").to_pylist()
        assert codes == sorted(codes)  # row groups prune on the outlet
    scope = K.resolve(START, END, "day", None, None)
    assert all(K.use_compact(store, s) for s in K.month_scopes(scope))
    # a few outlets read their own partitions
    assert not K.use_compact(store, K.resolve(START, END, "day", ["Q1"], None))


@pytest.mark.parametrize("grain", K.GRAINS)
def test_compact_and_partitions_give_the_same_rows(store, con, grain):
    for breakdown in ((), ("business_type",), ("customer_tier",)):
        a, b = both(store, con, grain=grain, breakdown=breakdown)
        assert a.num_rows and a.equals(b)
    mapping = pa.table({"outlet_code": ["Q1", "Q2", "Q3"], "cluster": ["east", "east", "west"]})
    a, b = both(store, con, grain=grain, mapping=mapping, thresholds={"regular": 600})
    assert a.num_rows and a.equals(b)


def test_a_changed_or_removed_partition_is_read_from_the_partitions(store, con):
    before = K.wait_kpis(store, START, END, grain="total", con=con)
    # The importer rewrites Q2's June partition with fewer tickets; no refresh has run yet.
    june = [t for t in random_tickets(23, OUTLETS, DAYS, per_day=40)
            if t["outlet_code"] == "Q2" and t["ticket_date"] >= date(2025, 6, 1)]
    write_store(store, june[: len(june) // 2])
    assert not K.waits_fresh(store, "2025-06") and K.waits_fresh(store, "2025-05")
    a, b = both(store, con, grain="total")
    assert a.equals(b) and not a.equals(before)
    os.remove(store / "tickets" / "month=2025-06" / "outlet=Q3" / "data.parquet")
    a, b = both(store, con, grain="day")
    assert a.equals(b)
    assert not pc.any(pc.and_(pc.equal(a.column("outlet_code"), "Q3"),
                              pc.greater_equal(a.column("period_start"),
                                               pa.scalar(date(2025, 6, 1))))).as_py()
    # The refresh after the import brings the compact up to date again.
    R.refresh(store, [("2025-06", "Q2"), ("2025-06", "Q3")], con=con)
    assert K.waits_fresh(store, "2025-06")
    a, b = both(store, con, grain="day")
    assert a.equals(b)


def test_a_month_without_tickets_loses_its_compact(store, con):
    for outlet in OUTLETS:
        os.remove(store / "tickets" / "month=2025-06" / f"outlet={outlet}" / "data.parquet")
    assert K.build_waits(store, "2025-06", con) == 0
    assert not os.path.exists(K.waits_path(store, "2025-06"))
    assert not K.waits_fresh(store, "2025-06")
