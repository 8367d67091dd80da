"""Exact queue KPIs (branchops.queueing.kpis) on small hand-made stores; expected values worked out by hand.

Store used by most tests (see ``hand_store``), outlets A1 and A2 on Monday 2025-03-03, B1 on 2025-03-04,
A1 again on 2025-04-01. Times are local; waits in seconds.

A1 2025-03-03
  t1 A001 regular  cash     cash_deposit     09:00:00 called 09:10:00 (600)  served   C1 09:10:30-09:15:30
  t2 A002 regular  cash     cash_withdrawal  09:05:00 called 09:25:01 (1201) served   C2 09:25:01-09:35:01
  t3 V001 vip      vip      wealth           09:10:00 called 09:15:00 (300)  served   C3 09:16:00-09:26:00
  t4 A003 regular  cash     cash_deposit     09:20:00 abandoned (no call)
  t5 A004 private  cash     transfer         09:40:00 called 09:50:00 (600)  transferred C1 09:50:30-09:55:30
  t6 B001 regular  non_cash card             09:45:00 called 09:46:00 (60)   served   C2 09:46:00-09:50:00
  devices 09:05, 09:35, 09:40
A2 2025-03-03
  t7 A001 regular  cash     cash_deposit     10:00:00 called 11:10:00 (4200) served   C1 11:10:00-11:20:00
  t8 B001 vip      non_cash card             11:00:00 called 11:00:00 (0)    served   C2 11:00:00-11:05:00
B1 2025-03-04
  t9  A001 corporate cash   cash_deposit     14:00:00 called 14:20:00 (1200) served   C1 14:20:00-14:25:00
  t10 A002 regular  cash    cash_deposit     14:05:00 abandoned (no later call of its queue)
A1 2025-04-01
  t11 A001 regular  cash    cash_deposit     09:00:00 called 09:01:00 (60)   served   C1 09:01:00-09:03:00
"""

from __future__ import annotations

import os
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from branchops.queueing import kpis as K
from branchops.queueing.schema import DEVICE_SCHEMA, TICKET_SCHEMA

D1, D2, APR = date(2025, 3, 3), date(2025, 3, 4), date(2025, 4, 1)
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
ELIGIBLE = ("cash_deposit", "cash_withdrawal", "transfer")


def ts(day: date, hms: str | None) -> datetime | None:
    if hms is None:
        return None
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(day.year, day.month, day.day, h, m, s)


def ticket(outlet, day, no, tier, queue, btype, issued, called, start, end, counter, outcome):
    return {"outlet_code": outlet, "ticket_date": day, "ticket_no": no, "business_type": btype,
            "customer_tier": tier, "queue_type": queue, "issued_at": ts(day, issued),
            "called_at": ts(day, called), "service_start_at": ts(day, start), "service_end_at": ts(day, end),
            "counter_no": counter, "teller_no": None if counter is None else "T" + counter[1:],
            "outcome": outcome}


def tk(outlet, day, no, tier, queue, btype, times, counter=None, outcome="served"):
    """A ticket from "issued [called start end]" times; a single time is an abandoned ticket."""
    issued, *rest = times.split()
    called, start, end = rest or (None, None, None)
    return ticket(outlet, day, no, tier, queue, btype, issued, called, start, end, counter,
                  outcome if rest else "abandoned")


def device(outlet, day, start, end, dev="D1", txn="cash_deposit"):
    return {"device_id": dev, "outlet_code": outlet, "txn_type": txn, "start_at": ts(day, start),
            "end_at": ts(day, end)}


HAND_TICKETS = [
    tk("A1", D1, "A001", "regular", "cash", "cash_deposit", "09:00:00 09:10:00 09:10:30 09:15:30", "C1"),
    tk("A1", D1, "A002", "regular", "cash", "cash_withdrawal", "09:05:00 09:25:01 09:25:01 09:35:01", "C2"),
    tk("A1", D1, "V001", "vip", "vip", "wealth", "09:10:00 09:15:00 09:16:00 09:26:00", "C3"),
    tk("A1", D1, "A003", "regular", "cash", "cash_deposit", "09:20:00"),
    tk("A1", D1, "A004", "private", "cash", "transfer", "09:40:00 09:50:00 09:50:30 09:55:30", "C1",
       "transferred"),
    tk("A1", D1, "B001", "regular", "non_cash", "card", "09:45:00 09:46:00 09:46:00 09:50:00", "C2"),
    tk("A2", D1, "A001", "regular", "cash", "cash_deposit", "10:00:00 11:10:00 11:10:00 11:20:00", "C1"),
    tk("A2", D1, "B001", "vip", "non_cash", "card", "11:00:00 11:00:00 11:00:00 11:05:00", "C2"),
    tk("B1", D2, "A001", "corporate", "cash", "cash_deposit", "14:00:00 14:20:00 14:20:00 14:25:00", "C1"),
    tk("B1", D2, "A002", "regular", "cash", "cash_deposit", "14:05:00"),
    tk("A1", APR, "A001", "regular", "cash", "cash_deposit", "09:00:00 09:01:00 09:01:00 09:03:00", "C1"),
]
HAND_DEVICES = [
    device("A1", D1, "09:05:00", "09:07:00"),
    device("A1", D1, "09:35:00", "09:36:00", "D2", "statement"),
    device("A1", D1, "09:40:00", "09:42:00"),
]
SUB_BRANCH = pa.table({"outlet_code": ["A1", "A2", "B1"], "sub_branch": ["S1", "S1", "S2"]})


def write_store(root, tickets: list[dict], devices: list[dict] = ()) -> list[tuple[str, str]]:
    """Write tickets / devices in the importer's layout (one sorted file per month x outlet)."""
    parts: dict[tuple[str, str, str], list[dict]] = {}
    for t in tickets:
        parts.setdefault(("tickets", t["ticket_date"].strftime("%Y-%m"), t["outlet_code"]), []).append(t)
    for d in devices:
        parts.setdefault(("devices", d["start_at"].strftime("%Y-%m"), d["outlet_code"]), []).append(d)
    for (kind, month, outlet), rows in parts.items():
        if kind == "tickets":
            rows.sort(key=lambda r: (r["ticket_date"], r["issued_at"], r["ticket_no"]))
            schema = TICKET_SCHEMA
        else:
            rows.sort(key=lambda r: (r["start_at"], r["device_id"]))
            schema = DEVICE_SCHEMA
        path = os.path.join(root, kind, f"month={month}", f"outlet={outlet}", "data.parquet")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path + ".tmp-x")
        os.replace(path + ".tmp-x", path)
    return sorted({(m, o) for _, m, o in parts})


@pytest.fixture
def hand_store(tmp_path):
    write_store(tmp_path, HAND_TICKETS, HAND_DEVICES)
    return tmp_path


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def one(table: pa.Table, **where) -> dict:
    found = [r for r in rows(table) if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


# ------------------------------------------------------------------------------------------ wait KPIs
def test_interval_grain_outlet(hand_store, con):
    t = K.wait_kpis(hand_store, *MARCH, grain="interval", outlets=["A1"], con=con)
    assert [(r["period_start"], r["interval_idx"]) for r in rows(t)] == [(D1, 18), (D1, 19)]
    i18 = one(t, interval_idx=18)
    assert i18 == pytest.approx({
        "period_start": D1, "interval_idx": 18, "outlet_code": "A1", "arrivals": 4, "served": 3,
        "transferred": 0, "abandoned": 1, "called": 3, "abandon_rate": 0.25, "wait_mean": 2101 / 3,
        "wait_median": 600.0,
        "wait_p90": 600 + 0.8 * 601, "wait_max": 1201, "overtime": 1, "overtime_ratio": 1 / 3,
        "service_mean": 500.0})
    i19 = one(t, interval_idx=19)
    counts = (i19["arrivals"], i19["served"], i19["transferred"], i19["abandoned"], i19["called"])
    assert counts == (2, 1, 1, 0, 2)
    assert (i19["wait_mean"], i19["wait_median"], i19["wait_p90"]) == (330.0, 330.0, pytest.approx(546.0))
    # t5 is private (threshold 300 s): 600 s is over; t6 regular 60 s is not.
    assert (i19["overtime"], i19["overtime_ratio"], i19["service_mean"]) == (1, 0.5, 270.0)
    assert t.schema.field("interval_idx").type == pa.int16()


def test_day_week_month_total_grains(hand_store, con):
    day = K.wait_kpis(hand_store, *MARCH, grain="day", con=con)
    assert [(r["period_start"], r["outlet_code"]) for r in rows(day)] == [(D1, "A1"), (D1, "A2"), (D2, "B1")]
    a1 = one(day, outlet_code="A1")
    # waits 60, 300, 600, 600, 1201
    assert a1 == pytest.approx({
        "period_start": D1, "outlet_code": "A1", "arrivals": 6, "served": 4, "transferred": 1, "abandoned": 1,
        "called": 5, "abandon_rate": 1 / 6, "wait_mean": 2761 / 5, "wait_median": 600.0,
        "wait_p90": 600 + 0.6 * 601, "wait_max": 1201, "overtime": 2, "overtime_ratio": 0.4,
        "service_mean": 2040 / 5})
    a2 = one(day, outlet_code="A2")
    assert (a2["called"], a2["wait_mean"], a2["wait_median"], a2["wait_p90"], a2["overtime"]) == \
        (2, 2100.0, 2100.0, pytest.approx(3780.0), 1)
    # B1: the unknown tier "corporate" takes the regular threshold: 1200 > 900.
    b1 = one(day, outlet_code="B1")
    assert (b1["arrivals"], b1["called"], b1["overtime"], b1["overtime_ratio"], b1["abandon_rate"]) == \
        (2, 1, 1, 1.0, 0.5)

    week = K.wait_kpis(hand_store, *MARCH, grain="week", con=con)
    assert {r["period_start"] for r in rows(week)} == {D1}  # Tue 03-04 falls in the ISO week of Mon 03-03
    spring = (date(2025, 3, 1), date(2025, 4, 30))
    month = K.wait_kpis(hand_store, *spring, grain="month", outlets=["A1"], con=con)
    assert [(r["period_start"], r["arrivals"]) for r in rows(month)] == [(date(2025, 3, 1), 6), (APR, 1)]
    total = K.wait_kpis(hand_store, *spring, grain="total", outlets=["A1"], con=con)
    assert total.column_names[0] == "outlet_code"
    r = one(total, outlet_code="A1")
    # waits 60, 60, 300, 600, 600, 1201: median (300 + 600) / 2, P90 rank 4.5
    assert (r["arrivals"], r["called"], r["wait_median"]) == (7, 6, 450.0)
    assert r["wait_p90"] == pytest.approx(900.5)
    assert K.wait_kpis(hand_store, *MARCH, grain=None, con=con).column_names == total.column_names


def test_group_mapping(hand_store, con):
    t = K.wait_kpis(hand_store, *MARCH, grain="day", mapping=SUB_BRANCH, con=con)
    assert t.column_names[:2] == ["period_start", "sub_branch"]
    s1 = one(t, period_start=D1, sub_branch="S1")
    # A1 + A2: waits 0, 60, 300, 600, 600, 1201, 4200
    assert s1 == pytest.approx({
        "period_start": D1, "sub_branch": "S1", "arrivals": 8, "served": 6, "transferred": 1, "abandoned": 1,
        "called": 7, "abandon_rate": 1 / 8, "wait_mean": 6961 / 7, "wait_median": 600.0,
        "wait_p90": 1201 + 0.4 * 2999, "wait_max": 4200, "overtime": 3, "overtime_ratio": 3 / 7,
        "service_mean": 2940 / 7})
    assert one(t, sub_branch="S2")["arrivals"] == 2
    # An outlet may sit in several groups; outlets outside the mapping are left out.
    overlap = pa.table({"outlet_code": ["A1", "A1", "A2"], "cluster": ["X", "Y", "X"]})
    t = K.wait_kpis(hand_store, *MARCH, grain="total", mapping=overlap, con=con)
    assert [(r["cluster"], r["arrivals"]) for r in rows(t)] == [("X", 8), ("Y", 6)]
    # A pandas mapping works too, and an outlets filter narrows it.
    t = K.wait_kpis(hand_store, *MARCH, grain="total", mapping=SUB_BRANCH.to_pandas(), outlets=["A2"],
                    con=con)
    assert [(r["sub_branch"], r["arrivals"]) for r in rows(t)] == [("S1", 2)]
    with pytest.raises(ValueError):
        K.wait_kpis(hand_store, *MARCH, mapping=pa.table({"outlet_code": ["A1"]}), con=con)
    with pytest.raises(ValueError):
        K.wait_kpis(hand_store, *MARCH, mapping=pa.table({"outlet_code": ["A1"], "x; drop": ["S"]}), con=con)


def test_thresholds_per_tier(hand_store, con):
    t = K.wait_kpis(hand_store, *MARCH, grain="total", outlets=["A1"], thresholds={"regular": 600, "vip": 60},
                    con=con)
    # regular: 600 (not over 600), 1201 (over), 60 (not); vip 300 > 60; private keeps 300: 600 > 300.
    assert (one(t)["overtime"], one(t)["overtime_ratio"]) == (3, 0.6)
    t = K.wait_kpis(hand_store, *MARCH, grain="total", outlets=["A1"], thresholds={"regular": 1200}, con=con)
    assert one(t)["overtime"] == 2  # 1201 > 1200 (regular) and 600 > 300 (private)
    for bad in ({"regular": 901}, {"vip": 0}, {"vip": 7260}, {"regular": 90.5}):
        with pytest.raises(ValueError):
            K.wait_kpis(hand_store, *MARCH, thresholds=bad, con=con)


def test_breakdowns(hand_store, con):
    t = K.wait_kpis(hand_store, *MARCH, grain="day", outlets=["A1"], breakdown=("customer_tier",), con=con)
    assert [(r["customer_tier"], r["arrivals"], r["called"]) for r in rows(t)] == \
        [("private", 1, 1), ("regular", 4, 3), ("vip", 1, 1)]
    reg = one(t, customer_tier="regular")
    assert (reg["wait_mean"], reg["wait_median"], reg["overtime"]) == (1861 / 3, 600.0, 1)
    t = K.wait_kpis(hand_store, *MARCH, grain="total", outlets=["A1"],
                    breakdown=("business_type", "customer_tier"), con=con)
    dep = one(t, business_type="cash_deposit", customer_tier="regular")
    assert (dep["arrivals"], dep["called"], dep["abandoned"], dep["wait_mean"]) == (2, 1, 1, 600.0)
    with pytest.raises(ValueError):
        K.wait_kpis(hand_store, *MARCH, breakdown=("queue_type",), con=con)


# ------------------------------------------------------------------------------------------- ops KPIs
def test_ops_interval(hand_store, con):
    t = K.ops_kpis(hand_store, *MARCH, grain="interval", outlets=["A1"], eligible_types=ELIGIBLE, con=con)
    i18, i19 = one(t, interval_idx=18), one(t, interval_idx=19)
    # busy: C1 300 + C2 299 (09:25:01-09:30) + C3 600 in i18; C2 301 + C1 300 + C2 240 in i19.
    assert (i18["busy_seconds"], i18["counter_seconds"]) == (1199, 3 * 1800)
    assert i18["utilisation"] == pytest.approx(1199 / 5400)
    assert (i19["busy_seconds"], i19["counter_seconds"]) == (841, 2 * 1800)
    # Queue: 2 at 09:05 and again 09:10-09:15 (t1 leaves as t3 arrives); t4 gave up (no time it left:
    # never counted), so t5 and t6 make 2 at 09:45 — the peak counts customers who were called.
    assert (i18["peak_queue"], i19["peak_queue"]) == (2, 2)
    # Devices by start time; eligible = served tickets of eligible types (t1, t2; t5 was transferred).
    assert (i18["device_txns"], i18["eligible_tickets"]) == (1, 2)
    assert i18["migration_rate"] == pytest.approx(1 / 3)
    assert (i19["device_txns"], i19["eligible_tickets"], i19["migration_rate"]) == (2, 0, 1.0)


def test_ops_queue_spans_idle_interval(hand_store, con):
    t = K.ops_kpis(hand_store, *MARCH, grain="interval", outlets=["A2"], con=con)
    # t7 waits 10:00-11:10: intervals 20, 21 (no event at all) and 22; t8 (wait 0) never queues.
    got = [(r["interval_idx"], r["peak_queue"], r["busy_seconds"], r["counter_seconds"]) for r in rows(t)]
    assert got == [(20, 1, 0, 0), (21, 1, 0, 0), (22, 1, 900, 3600)]
    assert one(t, interval_idx=20)["utilisation"] is None
    b1 = K.ops_kpis(hand_store, *MARCH, grain="day", outlets=["B1"], con=con)
    assert one(b1)["peak_queue"] == 1  # t10 had no later call of its queue: not counted


def test_peak_queue_is_a_served_customers_figure_across_a_gap(tmp_path, con):
    """Issue 16: abandoners kept counting until the next call, across a multi-hour gap (315 where served
    customers peaked at ~15). The peak counts the customers who were called, each until their call."""
    from branchops.queueing import rollup as R

    served = [tk("G1", D1, f"A{n:03d}", "regular", "cash", "cash_deposit",
                 f"09:{n:02d}:00 09:{30 + n:02d}:00 09:{30 + n:02d}:00 09:{31 + n:02d}:00", "C1") for n in range(15)]
    # 300 tickets drawn 11:00–11:59 and given up: the log has no time they left.
    gave_up = [tk("G1", D1, f"X{n:03d}", "regular", "cash", "cash_deposit", f"11:{n // 5:02d}:{n % 5 * 10:02d}")
               for n in range(300)]
    # The next call comes three hours later.
    late = [tk("G1", D1, "A900", "regular", "cash", "cash_deposit", "15:00:00 15:01:00 15:01:00 15:05:00", "C1")]
    parts = write_store(tmp_path, served + gave_up + late)
    day = one(K.ops_kpis(tmp_path, *MARCH, grain="day", outlets=["G1"], con=con))
    assert day["peak_queue"] == 15  # 09:14, before the first call at 09:30
    by_slot = {r["interval_idx"]: r["peak_queue"] for r in rows(
        K.ops_kpis(tmp_path, *MARCH, grain="interval", outlets=["G1"], con=con))}
    assert by_slot[18] == 15 and all(by_slot.get(i, 0) == 0 for i in range(22, 30))  # no queue 11:00–15:00
    R.refresh(tmp_path, parts)
    assert one(R.rollup_ops_kpis(tmp_path, *MARCH, grain="day", outlets=["G1"]))["peak_queue"] == 15


def test_ops_grains_and_groups(hand_store, con):
    day = K.ops_kpis(hand_store, *MARCH, grain="day", eligible_types=ELIGIBLE, con=con)
    a1 = one(day, outlet_code="A1")
    assert (a1["busy_seconds"], a1["counter_seconds"], a1["peak_queue"], a1["device_txns"],
            a1["eligible_tickets"], a1["migration_rate"]) == (2040, 9000, 2, 3, 2, 0.6)
    s = K.ops_kpis(hand_store, *MARCH, grain="day", mapping=SUB_BRANCH, con=con)
    s1 = one(s, sub_branch="S1")
    # Sums over A1 + A2; peak is the largest outlet peak; all served tickets are eligible by default.
    assert (s1["busy_seconds"], s1["counter_seconds"], s1["peak_queue"], s1["eligible_tickets"]) == \
        (2940, 12600, 2, 6)
    none = K.ops_kpis(hand_store, *MARCH, grain="total", outlets=["A1"], eligible_types=(), con=con)
    assert (one(none)["eligible_tickets"], one(none)["migration_rate"]) == (0, 1.0)


def test_kpis_joins_wait_and_ops(hand_store, con):
    t = K.kpis(hand_store, *MARCH, grain="interval", outlets=["A2"], con=con)
    assert t.column_names == ["period_start", "interval_idx", "outlet_code", *K.WAIT_COLUMNS, *K.OPS_COLUMNS]
    idle = one(t, interval_idx=21)  # queue only: counts 0, means null
    assert (idle["arrivals"], idle["called"], idle["wait_mean"], idle["peak_queue"]) == (0, 0, None, 1)
    assert [r["interval_idx"] for r in rows(t)] == [20, 21, 22]


# -------------------------------------------------------------------------------- pruning and the store
def test_partition_pruning(hand_store, con):
    march_a1 = os.path.join(hand_store, "tickets", "month=2025-03", "outlet=A1", "data.parquet")
    assert K.partition_paths(hand_store, "tickets", ["2025-03"], ["A1"]) == [march_a1]
    assert len(K.partition_paths(hand_store, "tickets", ["2025-03"], None)) == 3
    assert K.partition_paths(hand_store, "tickets", ["2025-05"], None) == []
    scope = K.resolve(D1, D1, "day", ["A1"], None)
    sql = K.wait_sql(os.fspath(hand_store), scope)
    assert march_a1 in sql and "outlet=A2" not in sql and "month=2025-04" not in sql
    # Files outside the outlet / month asked for are never opened: corrupt ones do not matter.
    for month, outlet in (("2025-03", "ZZ"), ("2025-05", "A1")):
        bad = os.path.join(hand_store, "tickets", f"month={month}", f"outlet={outlet}")
        os.makedirs(bad)
        with open(os.path.join(bad, "data.parquet"), "wb") as f:
            f.write(b"not parquet")
    # An importer's temporary file next to the data is ignored too.
    with open(march_a1 + ".tmp-1234", "wb") as f:
        f.write(b"half written")
    t = K.wait_kpis(hand_store, *MARCH, grain="total", outlets=["A1"], con=con)
    assert one(t)["arrivals"] == 6
    t = K.wait_kpis(hand_store, *MARCH, grain="total", mapping=SUB_BRANCH, con=con)
    assert [r["arrivals"] for r in rows(t)] == [8, 2]
    with pytest.raises(Exception):  # noqa: B017 - a whole-month query does open the corrupt file
        K.wait_kpis(hand_store, *MARCH, grain="total", con=con)
    with pytest.raises(ValueError):
        K.wait_kpis(hand_store, *MARCH, outlets=["../A1"], con=con)


def test_date_filter_and_empty(hand_store, con):
    t = K.wait_kpis(hand_store, D2, D2, grain="day", con=con)
    assert [r["outlet_code"] for r in rows(t)] == ["B1"]
    empty = K.kpis(hand_store, date(2024, 1, 1), date(2024, 1, 31), grain="day", con=con)
    assert empty.num_rows == 0
    assert empty.column_names == ["period_start", "outlet_code", *K.WAIT_COLUMNS, *K.OPS_COLUMNS]
    assert K.wait_kpis(hand_store, *MARCH, outlets=[], con=con).num_rows == 0
    assert K.wait_kpis(hand_store, *MARCH, grain="week", con=None).num_rows == 3  # own connection


def test_month_chunking_gives_the_same_rows(hand_store, con):
    scope = K.resolve(date(2025, 3, 2), date(2025, 4, 30), "day", None, None)
    parts = K.month_scopes(scope)
    assert [(s.start, s.end, s.months) for s in parts] == [
        (date(2025, 3, 2), date(2025, 3, 31), ["2025-03"]),
        (date(2025, 4, 1), date(2025, 4, 30), ["2025-04"])]
    assert len(K.month_scopes(K.resolve(date(2025, 3, 2), date(2025, 4, 30), "week", None, None))) == 1
    t = K.wait_kpis(hand_store, date(2025, 3, 2), date(2025, 4, 30), grain="day", con=con)
    assert [(r["period_start"], r["outlet_code"]) for r in rows(t)] == \
        [(D1, "A1"), (D1, "A2"), (D2, "B1"), (APR, "A1")]


def test_other_dialects_render_ansi_sql(hand_store):
    scope = K.resolve(D1, D2, "week", ["A1", "A2"], SUB_BRANCH)
    spark = K.wait_sql("/data", scope, None, K.SPARK)
    assert "percentile(wait_s, array(0.5, 0.9))" in spark and "wait_q[1]" in spark
    assert "timestampdiff(SECOND, issued_at, called_at)" in spark
    assert "FROM tickets WHERE month IN ('2025-03') AND outlet IN ('A1', 'A2')" in spark
    trino = K.ops_sql("/data", scope, ELIGIBLE, K.TRINO)
    assert "FROM devices WHERE month IN ('2025-03')" in trino and "date_diff('second'" in trino
    assert "approx_percentile(wait_s, ARRAY[0.5, 0.9])" in K.wait_sql("/data", scope, None, K.TRINO)
    for sql in (spark, trino):
        for duck_only in ("read_parquet", "::", "GROUP BY ALL", "//", "quantile_cont", "epoch("):
            assert duck_only not in sql
