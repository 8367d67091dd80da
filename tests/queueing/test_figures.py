"""Figures that say what they are (issue 16, item 6): exact median and P90 where pages and API show
them (the histograms would say ~30 s where the truth is 6 s), per-tier figures, and outlet days with
tickets outside the business hours flagged."""

from datetime import timedelta

import pytest

from branchops.core import clock
from branchops.queueing import rollup
from branchops.queueing.queries import data_root

from .test_api import HEADER, ok, upload

URL = "/api/v1/queueing/"
pytestmark = pytest.mark.usefixtures("english_messages")


def row(day, no, issued, wait_s, tier="regular", queue="cash"):
    """A served ticket issued at ``issued`` (HH:MM:SS) and called ``wait_s`` seconds later."""
    h, m, s = (int(x) for x in issued.split(":"))
    start = h * 3600 + m * 60 + s
    called, end = start + wait_s, start + wait_s + 120

    def t(sec):
        return f"{day}T{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"

    return (f"SZ0101,{day},{tier[0].upper()}{no:03d},cash_deposit,{tier},{queue},{t(start)},{t(called)},"
            f"{t(called)},{t(end)},1,T01,served\n")


@pytest.fixture
def short_waits(api, bank, queue_dir, tmp_path):
    """Nine regular customers called within seconds (median 6 s), two VIP customers waiting 8 and 10 min;
    one regular ticket drawn at 07:10, before the 08:30 opening."""
    day = clock.today() - timedelta(days=15)
    waits = (5, 6, 6, 6, 6, 7, 8, 9, 10)
    lines = [row(day, n, f"09:{n:02d}:00", w) for n, w in enumerate(waits, 1)]
    lines += [row(day, 1, "10:00:00", 480, "vip", "vip"), row(day, 2, "10:05:00", 600, "vip", "vip")]
    lines.append(row(day, 50, "07:10:00", 6))
    path = tmp_path / "short.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    assert ok(upload(api(bank.users["sec1"]), path), 201)["added"] == 12
    return day


def test_median_is_exact_not_the_histogram_estimate(api, bank, short_waits):
    day = short_waits
    period = {"start": day.isoformat(), "end": day.isoformat()}
    regular = next(r for r in ok(api(bank.users["sec1"]).get(f"{URL}kpis", {**period, "level": "outlet"}))["by_tier"]
                   if r["customer_tier"] == "regular")
    # Exact: ten regular waits 5, 6, 6, 6, 6, 6, 7, 8, 9, 10 → median 6.0 s.
    assert regular["wait_median"] == 6.0 and regular["percentiles"] == "exact"
    assert regular["percentile_resolution_seconds"] == 0
    # The one-minute histogram alone would place it inside the first bin, far from 6 s.
    hist = rollup.rollup_wait_kpis(data_root(), day, day, grain="total", outlets=["SZ0101"],
                                   breakdown=("customer_tier",)).to_pylist()
    estimate = next(r for r in hist if r["customer_tier"] == "regular")["wait_median"]
    assert abs(estimate - 6.0) > 10
    total = ok(api(bank.users["sec1"]).get(f"{URL}kpis", period))["rows"][0]
    assert total["percentiles"] == "exact" and total["wait_median"] == 6.5  # with the VIP waits: 12 values
    page = api(bank.users["sec1"]).get("/queueing/outlets/SZ0101/", {"month": day.strftime("%Y-%m")})
    assert page.status_code == 200
    assert '<td class="text-end" data-figure="median">0.1</td>' in page.content.decode()  # 6 s, no "≈"


def test_per_tier_figures_each_against_its_threshold(api, bank, short_waits):
    day = short_waits
    body = ok(api(bank.users["head11"]).get(f"{URL}kpis", {"start": day.isoformat(), "end": day.isoformat()}))
    tiers = {r["customer_tier"]: r for r in body["by_tier"]}
    assert set(tiers) == {"regular", "vip"}
    assert (tiers["vip"]["arrivals"], tiers["vip"]["overtime"], tiers["vip"]["threshold_minutes"]) == (2, 2, 5)
    assert tiers["vip"]["wait_median"] == 540.0 and tiers["vip"]["overtime_ratio"] == 1.0
    assert (tiers["regular"]["arrivals"], tiers["regular"]["overtime"], tiers["regular"]["threshold_minutes"]) == \
        (10, 0, 15)
    # The outlet of another sub-branch sees none of it.
    other = ok(api(bank.users["staff21"]).get(f"{URL}kpis", {"start": day.isoformat(), "end": day.isoformat()}))
    assert other["by_tier"] == [] and other["rows"] == []
    page = api(bank.users["head11"]).get("/queueing/outlets/SZ0101/", {"month": day.strftime("%Y-%m")})
    assert 'data-tier="vip"' in page.content.decode() and "By customer tier" in page.content.decode()


def test_days_with_tickets_outside_business_hours_are_flagged(api, bank, short_waits):
    day = short_waits
    c = api(bank.users["sec1"])
    body = ok(c.get(f"{URL}outlets/SZ0101/intervals", {"start": day.isoformat(), "end": day.isoformat()}))
    assert body["outside_hours_days"] == [day.isoformat()] and body["business_hours"] == ["08:30", "17:30"]
    assert all(r["percentiles"] == "exact" for r in body["rows"])
    assert "tickets outside business hours" in c.get("/queueing/outlets/SZ0101/",
                                                     {"month": day.strftime("%Y-%m")}).content.decode()
    # Opening at 07:00 instead: nothing to flag.
    ok(c.patch(f"{URL}settings", {"opens_at": "07:00"}, content_type="application/json"))
    body = ok(c.get(f"{URL}outlets/SZ0101/intervals", {"start": day.isoformat(), "end": day.isoformat()}))
    assert body["outside_hours_days"] == []
