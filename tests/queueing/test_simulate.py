"""The queue simulator: schema, determinism, queue mechanics, arrival shape and pattern signatures.

Pure engine tests (no database). Statistical assertions use fixed seeds and wide margins.
"""

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from branchops.queueing import simulate as sim
from branchops.queueing.schema import DEVICE_COLUMNS, DEVICE_SCHEMA, TICKET_COLUMNS, TICKET_SCHEMA


def weekdays_only(d: date) -> bool:
    return d.weekday() < 5


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=k) for k in range(n)]


def np_col(t: pa.Table, name: str) -> np.ndarray:
    col = t.column(name)
    if pa.types.is_timestamp(col.type):
        # Nulls become -1 so comparisons stay integer; callers mask them.
        return pc.fill_null(col.cast(pa.int64()), -1).to_numpy()
    return col.to_numpy(zero_copy_only=False)


def waits_min(t: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    called = t.column("called_at").is_valid().to_numpy(zero_copy_only=False)
    return (np_col(t, "called_at") - np_col(t, "issued_at")) / 60, called


def hour_of(t: pa.Table) -> np.ndarray:
    return (np_col(t, "issued_at") % 86400) / 3600


@pytest.fixture(scope="module")
def small() -> sim.SimResult:
    """Five outlets (one per pattern) over two months of 2025."""
    results = list(sim.generate_logs(5, 59, seed=3, start_date=date(2025, 3, 1)))
    return sim.SimResult(pa.concat_tables(r.tickets for r in results), pa.concat_tables(r.devices for r in results))


def one_pattern(pattern: str, n_days: int = 60, seed: int = 1, start: date = date(2025, 3, 3)) -> sim.SimResult:
    profile = sim.make_profile(pattern, "X01")
    return sim.simulate_outlet(profile, days(start, n_days), np.random.default_rng(seed), is_workday=weekdays_only)


# --- Schema and shape ------------------------------------------------------------------------


def test_schemas_exact(small):
    assert small.tickets.schema == TICKET_SCHEMA
    assert tuple(small.tickets.column_names) == TICKET_COLUMNS
    assert small.devices.schema == DEVICE_SCHEMA
    assert tuple(small.devices.column_names) == DEVICE_COLUMNS
    assert small.tickets.num_rows > 30_000 and small.devices.num_rows > 10_000
    assert set(pc.unique(small.tickets["outcome"]).to_pylist()) == {"served", "abandoned", "transferred"}
    assert set(pc.unique(small.tickets["queue_type"]).to_pylist()) == {"cash", "non_cash", "vip", "low_counter"}
    assert set(pc.unique(small.tickets["customer_tier"]).to_pylist()) == {"regular", "vip", "private"}
    assert set(pc.unique(small.tickets["business_type"]).to_pylist()) == set(sim.BUSINESS_TYPES)


def test_ticket_numbers_unique_per_outlet_and_day_with_queue_prefix(small):
    t = small.tickets
    keys = pc.binary_join_element_wise(t["outlet_code"], t["ticket_date"].cast(pa.string()), t["ticket_no"], "|")
    assert pc.count_distinct(keys).as_py() == t.num_rows
    first = pc.utf8_slice_codeunits(t["ticket_no"], 0, 1).to_numpy(zero_copy_only=False)
    queue = np_col(t, "queue_type")
    for q, prefix in sim.TICKET_PREFIX.items():
        assert set(first[queue == q]) == {prefix}
    # Numbering restarts each day and has no gaps: 001, 002, ... per queue.
    day = t.filter(pc.and_(pc.equal(t["outlet_code"], "O0001"), pc.equal(t["ticket_date"], date(2025, 3, 4))))
    cash = sorted(n for n in day["ticket_no"].to_pylist() if n.startswith("A"))
    assert cash[:3] == ["A001", "A002", "A003"] and cash[-1] == f"A{len(cash):03d}"


def test_times_ordered_and_on_ticket_date(small):
    t = small.tickets
    issued, called = np_col(t, "issued_at"), np_col(t, "called_at")
    start, end = np_col(t, "service_start_at"), np_col(t, "service_end_at")
    ok = called >= 0
    assert (issued[ok] <= called[ok]).all()
    assert (called[ok] < start[ok]).all() and (start[ok] - called[ok] <= 60).all()  # a short walk
    assert (start[ok] < end[ok]).all()
    day = t["ticket_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    assert (issued // 86400 == day).all()
    hour = hour_of(t)
    assert hour.min() >= 9 and hour.max() < 17  # tickets only within opening hours
    # Service times are realistic: most within 1–40 min.
    svc = (end[ok] - start[ok]) / 60
    assert 3 < np.median(svc) < 12 and np.quantile(svc, 0.99) < 60


def test_abandoned_rows_have_nulls_and_called_rows_do_not(small):
    t = small.tickets
    abandoned = pc.equal(t["outcome"], "abandoned")
    for col in ("called_at", "service_start_at", "service_end_at", "counter_no", "teller_no"):
        assert pc.all(pc.equal(pc.is_null(t[col]), abandoned)).as_py(), col
    share = pc.mean(abandoned.cast(pa.int8())).as_py()
    assert 0.01 < share < 0.25
    transferred = pc.mean(pc.equal(t["outcome"], "transferred").cast(pa.int8())).as_py()
    assert 0.005 < transferred < 0.03


def test_no_counter_or_teller_serves_two_customers_at_once(small):
    t = small.tickets.filter(pc.is_valid(small.tickets["called_at"]))
    for who in ("counter_no", "teller_no"):
        s = t.sort_by([("outlet_code", "ascending"), ("ticket_date", "ascending"), (who, "ascending"),
                       ("called_at", "ascending")])
        same = ((np_col(s, "outlet_code")[1:] == np_col(s, "outlet_code")[:-1])
                & (np_col(s, "ticket_date")[1:] == np_col(s, "ticket_date")[:-1])
                & (np_col(s, who)[1:] == np_col(s, who)[:-1]))
        assert (np_col(s, "called_at")[1:][same] >= np_col(s, "service_end_at")[:-1][same]).all(), who
    # A teller works at one counter a day, except a relief teller covering lunch.
    pairs = pc.unique(pc.binary_join_element_wise(t["outlet_code"], t["ticket_date"].cast(pa.string()),
                                                  t["teller_no"], t["counter_no"], "|")).to_pylist()
    per_teller: dict[str, int] = {}
    for p in pairs:
        k = p.rsplit("|", 1)[0]
        per_teller[k] = per_teller.get(k, 0) + 1
    assert max(per_teller.values()) <= 2


def test_devices_never_double_booked_and_used_within_hours(small):
    d = small.devices.sort_by([("device_id", "ascending"), ("start_at", "ascending")])
    same = np_col(d, "device_id")[1:] == np_col(d, "device_id")[:-1]
    assert (np_col(d, "start_at")[1:][same] >= np_col(d, "end_at")[:-1][same]).all()
    assert (np_col(d, "end_at") > np_col(d, "start_at")).all()
    txn = set(pc.unique(d["txn_type"]).to_pylist())
    assert txn <= {b for b, bt in sim.BUSINESS_TYPES.items() if bt.device}
    assert all(x.startswith(("O0001-", "O0002-", "O0003-", "O0004-", "O0005-"))
               for x in pc.unique(d["device_id"]).to_pylist())


# --- Determinism and calendar ------------------------------------------------------------------


def test_same_seed_same_output_and_outlets_independent_of_count():
    a = list(sim.generate_logs(3, 20, seed=42, start_date=date(2026, 3, 2)))
    b = list(sim.generate_logs(3, 20, seed=42, start_date=date(2026, 3, 2)))
    for x, y in zip(a, b, strict=True):
        assert x.tickets.equals(y.tickets) and x.devices.equals(y.devices)
    two = list(sim.generate_tickets(2, 20, seed=42, start_date=date(2026, 3, 2)))
    assert two[1].equals(a[1].tickets)
    other = next(sim.generate_tickets(1, 20, seed=43, start_date=date(2026, 3, 2)))
    assert not other.equals(a[0].tickets)
    devices = list(sim.generate_device_logs(3, 20, seed=42, start_date=date(2026, 3, 2)))
    assert devices[2].equals(a[2].devices)


def test_outlet_codes_and_patterns():
    codes = ["400101", "400102", "400103", "400104", "400105", "400106"]
    tables = list(sim.generate_tickets(6, 3, seed=1, start_date=date(2026, 3, 2), outlet_codes=codes))
    assert [t["outlet_code"][0].as_py() for t in tables] == codes
    profiles = sim.outlet_profiles(60, seed=1)
    assert {p.pattern for p in profiles[:5]} == set(sim.PATTERNS)  # every pattern in any five outlets
    assert {p.pattern for p in sim.outlet_profiles(4, 1, patterns=["vip_queueing"])} == {"vip_queueing"}
    with pytest.raises(ValueError):
        list(sim.generate_tickets(2, 3, seed=1, outlet_codes=["X"]))


def test_holidays_closed_dates_and_unknown_years():
    # 2025 Spring Festival (28 Jan – 4 Feb) from chinese_calendar; 26 Jan was a make-up working Sunday.
    t = next(sim.generate_tickets(1, 14, seed=5, start_date=date(2025, 1, 24), patterns=["balanced"],
                                  closed_dates=[date(2025, 2, 5)]))
    open_days = set(t["ticket_date"].to_pylist())
    assert date(2025, 1, 26) in open_days
    assert not open_days & {date(2025, 1, 28) + timedelta(days=k) for k in range(9)}  # incl. closed 5 Feb
    assert date(2025, 2, 6) in open_days
    # 2027 is unknown to chinese_calendar: weekends only (Saturday hours, Sunday closed).
    t = next(sim.generate_tickets(1, 7, seed=5, start_date=date(2027, 1, 1), patterns=["balanced"]))
    open_days = set(t["ticket_date"].to_pylist())
    assert date(2027, 1, 1) in open_days and date(2027, 1, 3) not in open_days
    assert sim.day_status(date(2027, 1, 2)) == "weekend"
    assert sim.day_status(date(2025, 10, 1)) == "holiday"
    assert sim.day_status(date(2025, 10, 4)) == "holiday"  # a Saturday inside National Day
    assert sim.day_status(date(2025, 10, 11)) == "workday"  # make-up working Saturday
    assert sim.day_status(date(2026, 3, 2), is_workday=lambda d: False) == "holiday"
    assert sim.day_status(date(2026, 3, 2), closed_dates={date(2026, 3, 2)}) == "closed"


# --- Arrivals --------------------------------------------------------------------------------


def test_lunch_and_afternoon_peaks_and_weekday_effect():
    r = one_pattern("balanced", n_days=90)
    weekdays = r.tickets.filter(pc.less(pc.day_of_week(r.tickets["ticket_date"]), 5))  # Saturdays open later
    dev = r.devices.filter(pc.less(pc.day_of_week(r.devices["start_at"]), 5))
    arrivals = np.concatenate([hour_of(weekdays), hour_of_devices(dev)])
    per_half_hour = np.histogram(arrivals, bins=np.arange(9, 17.01, 0.5))[0]

    def at(h: float) -> int:
        return per_half_hour[int((h - 9) * 2)]

    assert at(12) > 1.4 * at(10.5) and at(12) > 1.4 * at(14)  # lunch peak
    assert at(15.5) > 1.3 * at(14) and at(15.5) > 1.3 * at(10.5)  # afternoon peak
    assert at(9) > at(10.5)  # the opening bump
    weekday = pc.day_of_week(r.tickets["ticket_date"]).to_numpy()
    per_day = np.bincount(weekday, minlength=5)[:5] / np.bincount(
        pc.day_of_week(pc.unique(r.tickets["ticket_date"])).to_numpy(), minlength=5)[:5]
    assert per_day[0] > 1.08 * per_day[2] and per_day[4] > 1.05 * per_day[2]  # Monday, Friday busier


def hour_of_devices(d: pa.Table) -> np.ndarray:
    # Device session starts are close to arrival (devices rarely have long waits in a balanced outlet).
    return (np_col(d, "start_at") % 86400) / 3600


def test_payday_volume_higher():
    profile = sim.make_profile("balanced", "X01", day_noise=0.05)
    r = sim.simulate_outlet(profile, days(date(2025, 3, 3), 365), np.random.default_rng(9),
                            is_workday=weekdays_only)
    t = r.tickets
    d = t["ticket_date"].to_numpy(zero_copy_only=False)
    dates, counts = np.unique(d, return_counts=True)
    dom = np.array([x.day for x in dates.tolist()])
    wd = np.array([x.weekday() for x in dates.tolist()])
    mid = (wd >= 1) & (wd <= 3)  # compare like with like: Tuesday–Thursday
    payday = mid & np.isin(dom, (10, 25))
    other = mid & ~np.isin(dom, (9, 10, 11, 24, 25, 26))
    assert payday.sum() >= 8
    assert counts[payday].mean() > 1.2 * counts[other].mean()


# --- Queue behaviour -------------------------------------------------------------------------


def test_abandonment_rises_with_wait():
    t = one_pattern("all_day_queueing", n_days=40).tickets
    wait, called = waits_min(t)
    # Group tickets by outlet-day half-hour; congestion of a slot = mean wait of those called.
    slot = np_col(t, "issued_at") // 1800
    _, inv = np.unique(slot, return_inverse=True)
    mean_wait = np.bincount(inv, np.where(called, wait, 0)) / np.maximum(np.bincount(inv, called), 1)
    abandoned = np.bincount(inv, ~called) / np.bincount(inv)
    low, mid, high = mean_wait < 5, (mean_wait >= 10) & (mean_wait < 20), mean_wait >= 30
    assert low.sum() > 20 and mid.sum() > 20 and high.sum() > 20
    assert abandoned[low].mean() < abandoned[mid].mean() < abandoned[high].mean()
    assert abandoned[low].mean() < 0.03 and abandoned[high].mean() > 0.15


def test_vip_queueing_signature():
    t = one_pattern("vip_queueing").tickets
    wait, called = waits_min(t)
    vip = np_col(t, "customer_tier") != "regular"
    assert wait[called & vip].mean() > 3 * wait[called & ~vip].mean()
    assert sim.overtime_ratio(t.filter(pc.not_equal(t["customer_tier"], "regular"))) > 0.6
    # In a balanced outlet VIPs wait less than regular customers.
    b = one_pattern("balanced").tickets
    wait, called = waits_min(b)
    vip = np_col(b, "customer_tier") != "regular"
    assert wait[called & vip].mean() < wait[called & ~vip].mean()


def device_utilisation(r: sim.SimResult, prefix: str) -> float:
    d = r.devices.filter(pc.match_substring(r.devices["device_id"], f"-{prefix}"))
    busy = (np_col(d, "end_at") - np_col(d, "start_at")).sum()
    n_devices = pc.count_distinct(d["device_id"]).as_py()
    open_seconds = pc.count_distinct(r.tickets["ticket_date"]).as_py() * 8 * 3600
    return busy / (n_devices * open_seconds)


def test_self_service_saturation_signature():
    sat, bal = one_pattern("self_service_saturation"), one_pattern("balanced")
    assert device_utilisation(sat, "STM") > 0.8 and device_utilisation(bal, "STM") < 0.4
    # The spill-over: with enough devices, device-capable business leaves the counters.
    capable = pa.array([b for b, bt in sim.BUSINESS_TYPES.items() if bt.device])
    more = sim.make_profile("self_service_saturation", "X01", atms=3, smart_devices=4)
    fixed = sim.simulate_outlet(more, days(date(2025, 3, 3), 60), np.random.default_rng(1), is_workday=weekdays_only)

    def capable_tickets(t: pa.Table) -> int:
        return pc.sum(pc.is_in(t["business_type"], capable).cast(pa.int32())).as_py()

    assert capable_tickets(sat.tickets) > 1.5 * capable_tickets(fixed.tickets)
    assert fixed.devices.num_rows > 1.2 * sat.devices.num_rows
    assert sim.overtime_ratio(sat.tickets) > 2 * sim.overtime_ratio(bal.tickets)
    assert sim.overtime_ratio(fixed.tickets) < 0.9 * sim.overtime_ratio(sat.tickets)


def mean_wait_between(t: pa.Table, h0: float, h1: float) -> float:
    wait, called = waits_min(t)
    h = hour_of(t)
    return float(wait[called & (h >= h0) & (h < h1)].mean())


def test_peak_queueing_waits_only_at_peaks():
    t = one_pattern("peak_queueing").tickets
    assert mean_wait_between(t, 9, 11) < 6
    assert mean_wait_between(t, 12, 13.5) > 20
    assert mean_wait_between(t, 15.5, 17) > 2 * mean_wait_between(t, 9, 11)


def test_all_day_queueing_waits_all_day():
    t = one_pattern("all_day_queueing").tickets
    for h0, h1 in ((10, 11), (12, 13), (14, 15), (15, 17)):
        assert mean_wait_between(t, h0, h1) > 8, (h0, h1)
    assert sim.overtime_ratio(t) > 0.4


def test_balanced_outlet_is_calm():
    t = one_pattern("balanced").tickets
    assert sim.overtime_ratio(t) < 0.15
    assert mean_wait_between(t, 9, 11) < 5


def test_overtime_ratio_thresholds_are_parameters():
    t = one_pattern("peak_queueing", n_days=20).tickets
    assert sim.overtime_ratio(t, 5, 5) > sim.overtime_ratio(t) > sim.overtime_ratio(t, 30, 30)
    assert np.isnan(sim.overtime_ratio(TICKET_SCHEMA.empty_table()))


def test_lean_improvement_over_the_year():
    """The seed document's lean project: branch-wide overtime-wait ratio 33 % → 14 %."""
    tables = list(sim.generate_tickets(12, 365, seed=2026, start_date=date(2025, 1, 1), lean_improvement=True))

    def month(m: int) -> float:
        return sim.overtime_ratio(t.filter(pc.equal(pc.month(t["ticket_date"]), m)) for t in tables)

    first, middle, last = month(1), month(6), month(12)
    assert 0.30 <= first <= 0.36
    assert 0.11 <= last <= 0.17
    assert first > middle > last
    # Without the programme the outlets stay where they were.
    flat = list(sim.generate_tickets(12, 365, seed=2026, start_date=date(2025, 1, 1)))
    dec = sim.overtime_ratio(t.filter(pc.equal(pc.month(t["ticket_date"]), 12)) for t in flat)
    assert dec > 0.28


# --- Writers ---------------------------------------------------------------------------------


def test_write_csv_and_parquet(tmp_path, small):
    t = small.tickets.slice(0, 2000)
    n = sim.write_csv([t.slice(0, 1000), t.slice(1000)], tmp_path / "t.csv")
    assert n == 2000
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(TICKET_COLUMNS)
    assert len(lines) == 2001
    first = lines[1].split(",")
    assert first[0] == "O0001" and first[1] == "2025-03-01"
    assert len(first[6]) == 19 and first[6][10] == "T"  # 2025-03-01T09:15:03
    abandoned = next(line for line in lines[1:] if line.endswith(",abandoned")).split(",")
    assert abandoned[7:12] == ["", "", "", "", ""]
    import pyarrow.csv as pcsv

    back = pcsv.read_csv(tmp_path / "t.csv", convert_options=pcsv.ConvertOptions(column_types=TICKET_SCHEMA))
    assert back.select(["issued_at", "called_at", "ticket_no"]).equals(t.select(["issued_at", "called_at", "ticket_no"]))

    assert sim.write_parquet(iter([t.slice(0, 500), t.slice(500)]), tmp_path / "t.parquet") == 2000
    # Parquet has no second unit: timestamps come back as milliseconds, equal after a cast.
    assert pq.read_table(tmp_path / "t.parquet").cast(TICKET_SCHEMA).equals(t)
    sim.write_csv(small.devices.slice(0, 10), tmp_path / "d.csv")
    assert (tmp_path / "d.csv").read_text().splitlines()[0] == ",".join(DEVICE_COLUMNS)
