"""The demo's queue data builder (``build_demo_tickets``) on the small ``bank``: which outlets get which
months, idempotence, and repair of an interrupted run. (On the full demo organisation, slow:
tests/demo/test_demo_queueing.py.)"""

from datetime import date
from io import StringIO

import pytest
from django.utils import translation

from branchops.demo.queueing import build_demo_tickets, demo_year
from branchops.queueing import kpis, rollup
from branchops.queueing.store import TicketStore


def test_demo_year():
    assert demo_year(date(2026, 11, 15)) == (date(2025, 11, 1), date(2026, 10, 31))
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
