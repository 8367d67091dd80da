"""Demo queue data (``build_demo_tickets``): which outlets get which months, idempotence, repair of an
interrupted run, and — on the full demo organisation (slow) — the lean improvement of the branch's
overtime-wait ratio from about 33 % to about 14 % over the year.

The fast tests use the small ``bank`` fixture and come first: the slow ones build the demo organisation
once for the module, inside a transaction rolled back at the end (each test in a savepoint on top).
"""

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.utils import translation

from branchops.demo.data import BRANCH, build_demo
from branchops.demo.queueing import build_demo_tickets, demo_year
from branchops.queueing import kpis, queries, rollup
from branchops.queueing.store import TicketStore

TODAY = date(2026, 11, 15)  # the demo year: November 2025 to October 2026


def test_demo_year():
    assert demo_year(TODAY) == (date(2025, 11, 1), date(2026, 10, 31))
    assert demo_year(date(2026, 1, 1)) == (date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture(autouse=True)
def english():
    """The builder's progress lines are matched in English."""
    with translation.override("en"):
        yield


def rollup_partitions(root) -> set[tuple[str, str]]:
    return {(p.parent.parent.name[6:], p.parent.name[7:]) for p in (root / rollup.DETAIL).glob("month=*/outlet=*/data.parquet")}


def test_months_per_outlet_idempotence_and_repair(bank, settings, tmp_path):
    root = settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    today = date(2026, 4, 15)
    out = StringIO()
    first = build_demo_tickets(stdout=out, today=today, full_year_outlets=1, tail_months=1)
    assert first["status"] == "created" and first["simulated_outlets"] == 3
    assert (first["start"], first["end"], first["tail_start"]) == (date(2025, 4, 1), date(2026, 3, 31), date(2026, 3, 1))
    assert "3 of 3 outlets" in out.getvalue()
    year = kpis.months_between(date(2025, 4, 1), date(2026, 3, 31))
    expected = {(m, bank.o11.code) for m in year} | {("2026-03", bank.o12.code), ("2026-03", bank.o21.code)}
    store = TicketStore(root)
    assert set(store.partitions()) == expected == set(store.partitions("devices")) == rollup_partitions(root)
    assert first["tickets"] == first["added"] > 50_000

    again = build_demo_tickets(today=today, full_year_outlets=1, tail_months=1)
    assert again["status"] == "already present" and again["tickets"] == first["tickets"]

    # An interrupted run: a month never stored and the roll-ups never refreshed. Only that month is
    # simulated again (the same tickets as before), and the roll-ups are made.
    (root / rollup.DETAIL / "month=2025-06" / f"outlet={bank.o11.code}" / "data.parquet").unlink()
    assert store.delete_outlet_month("2026-03", bank.o12.code)
    repaired = build_demo_tickets(today=today, full_year_outlets=1, tail_months=1)
    assert repaired["status"] == "created" and repaired["simulated_outlets"] == 1
    assert repaired["tickets"] == first["tickets"]
    assert set(store.partitions()) == expected == rollup_partitions(root)

    # A month later only the new month is added, for every outlet.
    later = build_demo_tickets(today=date(2026, 5, 3), full_year_outlets=1, tail_months=1)
    assert later["simulated_outlets"] == 3
    assert set(store.partitions()) - expected == {("2026-04", o.code) for o in (bank.o11, bank.o12, bank.o21)}


# ------------------------------------------------------------------------------------- full demo (slow)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-queueing")
    with override_settings(BRANCHOPS_QUEUE_DIR=root), django_db_blocker.unblock():
        with transaction.atomic():
            build_demo()
            yield build_demo_tickets(today=TODAY)
            transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
def test_overtime_wait_ratio_falls_over_the_year(built):
    assert built["status"] == "created" and built["outlets"] == 60 and built["full_year_outlets"] == 12
    leader = get_user_model().objects.get(username="leader")  # sees the whole branch
    start, end = demo_year(TODAY)
    months = queries.kpi_table(leader, start, end, level="branch", grain="month")
    assert [r["unit"] for r in months] == [BRANCH["code"]] * 12
    ratios = [r["overtime_ratio"] for r in months]
    assert 0.29 <= ratios[0] <= 0.37, ratios
    assert 0.10 <= ratios[-1] <= 0.17, ratios
    assert ratios[5] < ratios[0] and ratios[-1] < ratios[5]
    assert sum(r["arrivals"] for r in months) == built["tickets"]

    outlets = queries.kpi_table(leader, start, end, level="outlet", grain="month")
    per_month: dict[date, int] = {}
    for r in outlets:
        per_month[r["period_start"]] = per_month.get(r["period_start"], 0) + 1
    assert per_month[start] == 12 and per_month[date(2026, 9, 1)] == per_month[date(2026, 10, 1)] == 60


@pytest.mark.slow
@pytest.mark.django_db
def test_second_run_adds_nothing(built, settings):
    files = {p: p.stat().st_mtime_ns for p in TicketStore(settings.BRANCHOPS_QUEUE_DIR).root.rglob("*.parquet")}
    out = StringIO()
    again = build_demo_tickets(stdout=out, today=TODAY)
    assert again["status"] == "already present" and again["tickets"] == built["tickets"]
    assert {p: p.stat().st_mtime_ns for p in files} == files
