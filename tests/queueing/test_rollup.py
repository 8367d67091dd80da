"""Roll-ups (branchops.queueing.rollup): contents worked out by hand, and answers equal to the exact engine.

Uses the hand-made store of test_kpis (see its docstring) and a seeded random store of a few thousand
tickets for the exact-vs-roll-up comparisons.
"""

from __future__ import annotations

import math
import os
import threading
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from branchops.queueing import kpis as K
from branchops.queueing import rollup as R

from .test_kpis import (
    D1,
    ELIGIBLE,
    HAND_DEVICES,
    HAND_TICKETS,
    MARCH,
    SUB_BRANCH,
    one,
    rows,
    ticket,
    write_store,
)

PCT = ("wait_median", "wait_p90")


@pytest.fixture
def hand(tmp_path, con):
    parts = write_store(tmp_path, HAND_TICKETS, HAND_DEVICES)
    R.refresh(tmp_path, parts, con=con)
    return tmp_path


def hms(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%H:%M:%S")


def random_tickets(seed: int, outlets: list[str], days: list[date], per_day: int = 60) -> list[dict]:
    """Tickets with random waits (0..7200 s, so percentiles stay within a minute), tiers, types, outcomes."""
    rng = np.random.default_rng(seed)
    out = []
    tiers = ["regular", "regular", "regular", "vip", "private"]
    types = ["cash_deposit", "card", "transfer", "wealth"]
    for outlet in outlets:
        for day in days:
            n = int(rng.integers(per_day // 2, per_day * 3 // 2))
            secs = np.sort(rng.integers(8 * 3600 + 1800, 17 * 3600, n))
            for i, sec in enumerate(secs):
                tier = tiers[rng.integers(len(tiers))]
                queue = "vip" if tier != "regular" else ("cash" if rng.random() < 0.5 else "non_cash")
                issued = datetime(day.year, day.month, day.day) + timedelta(seconds=int(sec))
                u = rng.random()
                outcome = "abandoned" if u < 0.06 else "transferred" if u > 0.96 else "served"
                wait = int(min(rng.lognormal(6.2, 0.9), 7200))
                if rng.random() < 0.05:
                    wait = int(rng.integers(0, 4))
                if rng.random() < 0.03:
                    wait = int(rng.choice([60, 300, 600, 900, 901, 1200]))  # exact threshold edges
                service = int(rng.integers(30, 2400))
                called = None if outcome == "abandoned" else issued + timedelta(seconds=wait)
                start = None if called is None else called + timedelta(seconds=int(rng.integers(0, 40)))
                end = None if start is None else start + timedelta(seconds=service)
                counter = None if called is None else f"C{rng.integers(1, 6)}"
                btype = types[rng.integers(len(types))]
                out.append(ticket(outlet, day, f"{queue[0].upper()}{i:04d}", tier, queue, btype, hms(issued),
                                  hms(called), hms(start), hms(end), counter, outcome))
    return out


@pytest.fixture(scope="module")
def rand(tmp_path_factory):
    root = tmp_path_factory.mktemp("rand")
    days = [date(2025, 5, 26) + timedelta(i) for i in range(12)]  # spans May and June, ISO weeks 22-24
    tickets = random_tickets(11, ["R1", "R2", "R3"], days)
    rng = np.random.default_rng(5)
    devices = []
    for outlet in ("R1", "R3"):
        for day in days:
            for sec in np.sort(rng.integers(9 * 3600, 17 * 3600, 15)):
                start = datetime(day.year, day.month, day.day) + timedelta(seconds=int(sec))
                devices.append({"device_id": "D1", "outlet_code": outlet, "txn_type": "card",
                                "start_at": start, "end_at": start + timedelta(seconds=90)})
    parts = write_store(root, tickets, devices)
    c = K.connect()
    R.refresh(root, parts, con=c)
    c.close()
    return root


def assert_same(exact: pa.Table, approx: pa.Table, pct_tol: float = 60.0) -> None:
    """Same rows and columns; counts and ratios equal; percentiles within pct_tol seconds."""
    assert exact.column_names == approx.column_names
    assert exact.num_rows == approx.num_rows
    for name in exact.column_names:
        a, b = exact.column(name).to_pylist(), approx.column(name).to_pylist()
        if name in PCT:
            for x, y in zip(a, b, strict=True):
                assert (x is None) == (y is None)
                if x is not None:
                    assert abs(x - y) <= pct_tol, (name, x, y)
        elif exact.schema.field(name).type == pa.float64():
            for x, y in zip(a, b, strict=True):
                assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-12), (name, x, y)
        else:
            assert a == b, name


# ------------------------------------------------------------------------------------ contents by hand
def test_detail_rollup_by_hand(hand):
    path = hand / "rollup" / "month=2025-03" / "outlet=A1" / "data.parquet"
    t = pq.read_table(path)
    assert t.column_names[:5] == list(R.DETAIL_KEYS)
    assert t.schema == R.SCHEMAS[R.DETAIL]
    keyed = {(r["interval_idx"], r["business_type"], r["customer_tier"]): r for r in t.to_pylist()}
    assert sorted(keyed) == [(18, "cash_deposit", "regular"), (18, "cash_withdrawal", "regular"),
                             (18, "wealth", "vip"), (19, "card", "regular"), (19, "transfer", "private")]
    dep = keyed[(18, "cash_deposit", "regular")]
    got = (dep["arrivals"], dep["served"], dep["abandoned"], dep["called"], dep["wait_sum"], dep["wait_max"])
    assert got == (2, 1, 1, 1, 600, 600)
    # Bins: 0 <= 60 s, k in (60k, 60k + 60]: 600 -> 9, 1201 -> 20, 300 -> 4, 60 -> 0; sparse lists.
    def bins(r):
        return dict(zip(r["hist_bins"], r["hist_counts"], strict=True))
    assert bins(dep) == {9: 1}
    assert dep["hist_bins"] == [9] and keyed[(18, "cash_deposit", "regular")]["hist_counts"] == [1]
    assert bins(keyed[(18, "cash_withdrawal", "regular")]) == {20: 1}
    assert bins(keyed[(18, "wealth", "vip")]) == {4: 1}
    assert bins(keyed[(19, "card", "regular")]) == {0: 1}
    assert keyed[(19, "transfer", "private")]["transferred"] == 1
    ops = pq.read_table(hand / "rollup_ops" / "month=2025-03" / "outlet=A1" / "data.parquet").to_pylist()
    assert [(r["interval_idx"], r["counters_open"], r["busy_seconds"], r["peak_queue"], r["device_txns"])
            for r in ops] == [(18, 3, 1199, 2, 1), (19, 2, 841, 2, 2)]  # peak: called customers
    # Served tickets per business type (t5 was transferred, t4 abandoned: not served).
    assert [sorted(zip(r["served_types"], r["served_counts"], strict=True)) for r in ops] == \
        [[("cash_deposit", 1), ("cash_withdrawal", 1), ("wealth", 1)], [("card", 1)]]
    a2 = pq.read_table(hand / "rollup" / "month=2025-03" / "outlet=A2" / "data.parquet").to_pylist()
    assert [(r["interval_idx"], bins(r)) for r in a2] == [(20, {69: 1}), (22, {0: 1})]


def test_compacts_by_hand(hand):
    day = pq.read_table(hand / "rollup_day" / "month=2025-03" / "data.parquet").to_pylist()
    assert [(r["outlet_code"], r["ticket_date"]) for r in day][:1] == [("A1", D1)]
    assert sum(r["arrivals"] for r in day) == 10 and sum(r["called"] for r in day) == 8
    month = pq.read_table(hand / "rollup_month" / "month=2025-03" / "data.parquet").to_pylist()
    assert {r["month_start"] for r in month} == {date(2025, 3, 1)}
    a1 = [r for r in month if r["outlet_code"] == "A1" and r["business_type"].startswith("cash")]
    # Summed histograms: the 600 s waits (t1, deposit) and 1201 s (t2, withdrawal), bins ascending.
    assert [(r["business_type"], r["hist_bins"], r["hist_counts"]) for r in a1] == \
        [("cash_deposit", [9], [1]), ("cash_withdrawal", [20], [1])]
    assert pq.read_schema(hand / "rollup_month" / "month=2025-03" / "data.parquet") == R.SCHEMAS[R.MONTH]
    tiers = pq.read_table(hand / "rollup_month_tier" / "month=2025-03" / "data.parquet").to_pylist()
    a1_regular = [r for r in tiers if (r["outlet_code"], r["customer_tier"]) == ("A1", "regular")]
    # A1's regular waits: 60 s (bin 0), 600 s (bin 9), 1201 s (bin 20).
    got = [(r["arrivals"], r["hist_bins"], r["hist_counts"]) for r in a1_regular]
    assert got == [(4, [0, 9, 20], [1, 1, 1])]
    opsm = pq.read_table(hand / "rollup_ops_month" / "month=2025-03" / "data.parquet").to_pylist()
    assert [(r["outlet_code"], r["month_start"], r["counters_open"], r["peak_queue"]) for r in opsm] == \
        [("A1", date(2025, 3, 1), 5, 2), ("A2", date(2025, 3, 1), 2, 1), ("B1", date(2025, 3, 1), 1, 1)]
    opsd = pq.read_table(hand / "rollup_ops_day" / "month=2025-03" / "data.parquet").to_pylist()
    assert [(r["outlet_code"], r["counters_open"], r["busy_seconds"], r["peak_queue"], r["device_txns"])
            for r in opsd] == [("A1", 5, 2040, 2, 3), ("A2", 2, 900, 1, 0), ("B1", 1, 300, 1, 0)]
    assert not list(hand.rglob("*.tmp"))  # atomic writes leave nothing behind


def test_hist_quantiles():
    hist = np.zeros((3, R.BINS), np.int64)
    hist[0, 9] = 1  # one wait in (540, 600]
    hist[1, [0, 4, 20]] = 1  # <= 60, (240, 300], (1200, 1260]
    med, p90 = R.hist_quantiles(hist, np.array([600.0, 1201.0, np.nan]), (0.5, 0.9))
    assert med[0] == p90[0] == 600.0  # a single value is the known maximum
    assert med[1] == 270.0  # the middle of its bin
    assert p90[1] == pytest.approx(270 + 0.8 * (1201 - 270))
    assert math.isnan(med[2]) and math.isnan(p90[2])


# ------------------------------------------------------------------------------------ roll-up == exact
@pytest.mark.parametrize("grain", ["interval", "day", "week", "month", "total"])
def test_hand_rollup_equals_exact(hand, con, grain):
    for mapping in (None, SUB_BRANCH):
        exact = K.kpis(hand, *MARCH, grain=grain, mapping=mapping, eligible_types=ELIGIBLE, con=con)
        rolled = R.rollup_kpis(hand, *MARCH, grain=grain, mapping=mapping, eligible_types=ELIGIBLE, con=con)
        assert_same(exact, rolled)
    one_outlet = R.rollup_kpis(hand, *MARCH, grain=grain, outlets=["A1"], con=con)
    assert set(one_outlet.column("outlet_code").to_pylist()) == {"A1"}


def test_hand_rollup_values(hand, con):
    t = R.rollup_wait_kpis(hand, *MARCH, grain="day", outlets=["A1"], con=con)
    r = one(t)
    got = (r["arrivals"], r["called"], r["overtime"], r["overtime_ratio"], r["wait_mean"], r["wait_max"])
    assert got == (6, 5, 2, 0.4, 2761 / 5, 1201)
    # Percentiles from the bins: waits 60 | 300 | 600 600 | 1201 land in w000, w004, w009 x2, w020.
    assert abs(r["wait_median"] - 600) <= 60 and abs(r["wait_p90"] - 960.6) <= 60


@pytest.mark.parametrize("grain", ["interval", "day", "week", "month", "total"])
def test_random_rollup_equals_exact(rand, con, grain):
    start, end = date(2025, 5, 1), date(2025, 6, 30)
    mapping = pa.table({"outlet_code": ["R1", "R2", "R3", "R3"], "cluster": ["K1", "K1", "K2", "K1"]})
    for m in (None, mapping):
        exact = K.kpis(rand, start, end, grain=grain, mapping=m, eligible_types=("card", "transfer"), con=con)
        rolled = R.rollup_kpis(rand, start, end, grain=grain, mapping=m, eligible_types=("card", "transfer"),
                               con=con)
        assert exact.num_rows > 0
        assert_same(exact, rolled)
    for breakdown in (("customer_tier",), ("business_type", "customer_tier")):
        exact = K.wait_kpis(rand, start, end, grain=grain, breakdown=breakdown, con=con)
        assert_same(exact, R.rollup_wait_kpis(rand, start, end, grain=grain, breakdown=breakdown, con=con))


@pytest.mark.parametrize("minutes", [1, 5, 10, 15, 20, 120])
def test_overtime_exact_for_any_whole_minute_threshold(rand, con, minutes):
    th = {"regular": minutes * 60, "vip": max(60, minutes * 60 - 240), "private": 120}
    start, end = date(2025, 5, 26), date(2025, 6, 6)  # not month-aligned: day compact
    exact = K.wait_kpis(rand, start, end, grain="day", thresholds=th, con=con)
    assert_same(exact, R.rollup_wait_kpis(rand, start, end, grain="day", thresholds=th, con=con))
    exact = K.wait_kpis(rand, date(2025, 6, 1), date(2025, 6, 30), grain="total", thresholds=th, con=con)
    assert_same(exact, R.rollup_wait_kpis(rand, date(2025, 6, 1), date(2025, 6, 30), grain="total",
                                          thresholds=th, con=con))


def test_levels(rand, con):
    june = (date(2025, 6, 1), date(2025, 6, 30))
    assert R.choose_level(K.resolve(*june, "month", None, None)) == R.MONTH_TIER
    assert R.choose_level(K.resolve(*june, "total", None, None, ("business_type",))) == R.MONTH
    assert R.choose_level(K.resolve(*june, "total", None, None), business_type=True) == R.MONTH
    assert R.choose_level(K.resolve(date(2025, 6, 2), june[1], "total", None, None)) == R.DAY
    assert R.choose_level(K.resolve(*june, "week", None, None)) == R.DAY
    assert R.choose_level(K.resolve(*june, "interval", None, None)) == R.DETAIL
    exact = K.wait_kpis(rand, *june, grain="total", mapping=SUB_BRANCH.slice(0, 0), con=con)
    assert exact.num_rows == 0
    exact = K.wait_kpis(rand, *june, grain="month", con=con)
    for level in (R.DETAIL, R.DAY, R.MONTH, R.MONTH_TIER):
        assert_same(exact, R.rollup_wait_kpis(rand, *june, grain="month", level=level, con=con))
    with pytest.raises(ValueError):
        R.rollup_wait_kpis(rand, date(2025, 6, 2), june[1], grain="total", level=R.MONTH, con=con)
    with pytest.raises(ValueError):
        R.rollup_wait_kpis(rand, *june, grain="total", level=R.MONTH_TIER, breakdown=("business_type",))
    # The compacts can be rebuilt from the partition roll-ups alone, with the same answers.
    assert R.recompact(rand, ["2025-06"])["months"] == 1
    assert_same(exact, R.rollup_wait_kpis(rand, *june, grain="month", con=con))


@pytest.mark.parametrize("grain", ["month", "total"])
def test_whole_branch_reads_the_all_outlet_compacts(rand, con, grain):
    months = (date(2025, 5, 1), date(2025, 6, 30))
    branch = pa.table({"outlet_code": ["R1", "R2", "R3", "R9"], "branch": ["SZ"] * 4})  # R9: no data
    for table in (R.MONTH_ALL, R.OPS_MONTH_ALL):
        assert R._whole(str(rand), table, K.resolve(*months, grain, None, branch)) is not None
    whole = R.rollup_kpis(rand, *months, grain=grain, mapping=branch, con=con)
    assert whole.num_rows and whole.column("branch").to_pylist()[0] == "SZ"
    assert_same(K.kpis(rand, *months, grain=grain, mapping=branch, con=con), whole)
    # Not every outlet of the store in the group, or more than one group: the per-outlet compacts.
    for mapping in (branch.slice(0, 2), pa.table({"outlet_code": ["R1", "R2", "R3"], "branch": ["SZ", "SZ", "GZ"]})):
        scope = K.resolve(*months, grain, None, mapping)
        assert R._whole(str(rand), R.MONTH_ALL, scope) is None
        assert R._whole(str(rand), R.OPS_MONTH_ALL, scope) is None
        assert_same(K.kpis(rand, *months, grain=grain, mapping=mapping, con=con),
                    R.rollup_kpis(rand, *months, grain=grain, mapping=mapping, con=con))


# ------------------------------------------------------------------------------------------- refreshing
def test_refresh_replaced_and_removed_partitions(tmp_path, con):
    parts = write_store(tmp_path, HAND_TICKETS, HAND_DEVICES)
    R.refresh(tmp_path, parts, con=con)
    # The importer rewrites A2 with one more ticket, and B1's partition disappears.
    extra = ticket("A2", D1, "A002", "regular", "cash", "cash_deposit", "10:10:00", "10:40:00", "10:40:00",
                   "10:45:00", "C1", "served")
    a2 = [t for t in HAND_TICKETS if t["outlet_code"] == "A2"] + [extra]
    write_store(tmp_path, a2)
    os.remove(tmp_path / "tickets" / "month=2025-03" / "outlet=B1" / "data.parquet")
    stats = R.refresh(tmp_path, [("2025-03", "A2"), ("2025-03", "B1")], con=con)
    assert (stats["partitions"], stats["months"]) == (2, 1)
    assert not (tmp_path / "rollup" / "month=2025-03" / "outlet=B1" / "data.parquet").exists()
    for grain in ("interval", "day", "total"):
        assert_same(K.kpis(tmp_path, *MARCH, grain=grain, con=con),
                    R.rollup_kpis(tmp_path, *MARCH, grain=grain, con=con))
    t = R.rollup_wait_kpis(tmp_path, *MARCH, grain="total", con=con)
    assert [(r["outlet_code"], r["arrivals"]) for r in rows(t)] == [("A1", 6), ("A2", 3)]
    # rebuild() recomputes everything from the store and agrees.
    assert R.rebuild(tmp_path, con=con)["partitions"] == 3  # A1, A2 in March (B1's roll-up gone), A1 in April
    assert_same(K.kpis(tmp_path, *MARCH, grain="day", con=con),
                R.rollup_kpis(tmp_path, *MARCH, grain="day", con=con))
    with pytest.raises(ValueError):
        R.refresh(tmp_path, [("2025-3", "A1")], con=con)


def test_concurrent_refreshes_of_one_month(tmp_path):
    tickets = random_tickets(3, [f"P{i}" for i in range(6)], [date(2025, 7, 1), date(2025, 7, 2)], per_day=20)
    parts = write_store(tmp_path, tickets)
    errors = []

    def work(chunk):
        try:
            R.refresh(tmp_path, chunk)  # each thread: its own connection
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=([p],)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    july = (date(2025, 7, 1), date(2025, 7, 31))
    c = K.connect()
    try:
        # Every outlet reached the month compacts despite the interleaving.
        assert_same(K.kpis(tmp_path, *july, grain="total", con=c),
                    R.rollup_kpis(tmp_path, *july, grain="total", con=c))
    finally:
        c.close()


def test_outlet_with_only_abandoned_tickets(tmp_path, con):
    # No service, no queue (no later call), no devices: the rows still exist, with zero figures.
    lone = [ticket("C1", D1, "A001", "regular", "cash", "cash_deposit", "10:00:00", None, None, None, None,
                   "abandoned")]
    R.refresh(tmp_path, write_store(tmp_path, lone), con=con)
    for grain in ("interval", "day", "total"):
        exact = K.kpis(tmp_path, *MARCH, grain=grain, con=con)
        assert exact.num_rows == 1 and one(exact)["arrivals"] == 1 and one(exact)["busy_seconds"] == 0
        assert_same(exact, R.rollup_kpis(tmp_path, *MARCH, grain=grain, con=con))
