"""Demo queue data on the full demo organisation (slow): the lean improvement of the branch's
overtime-wait ratio from about 33 % to about 14 % over the year. (Which outlets get which months,
idempotence and repair on the small ``bank``: tests/queueing/test_demo_tickets.py.)
"""

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import translation

from branchops.demo.data import BRANCH
from branchops.demo.queueing import build_demo_tickets, demo_year
from branchops.queueing import queries
from branchops.queueing.store import TicketStore

TODAY = date(2026, 11, 15)  # the demo year: November 2025 to October 2026


@pytest.fixture(autouse=True)
def english():
    """The builder's progress lines are matched in English."""
    with translation.override("en"):
        yield


# ------------------------------------------------------------------------------------- full demo (slow)


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-queueing")
    with override_settings(BRANCHOPS_QUEUE_DIR=root), django_db_blocker.unblock():
        yield build_demo_tickets(today=TODAY)


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
