"""The core clock: what it reads, how tests move it, and that nothing else in BranchOps reads the time."""

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from branchops.core import clock
from branchops.core.models import TimelineEntry
from branchops.org import services as org
from branchops.org.models import Institution, Level

from ..conftest import SHIFTED_DAYS, run_day

SRC = Path(__file__).resolve().parents[2] / "src" / "branchops"
# Reads of the system clock. `time.monotonic()` and `time.perf_counter()` (durations) are allowed.
SYSTEM_CLOCK = re.compile(
    r"timezone\.now\b|timezone\.localdate\(\)|timezone\.localtime\(\)|\bdate\.today\(|\bdatetime\.now\("
    r"|\bdatetime\.utcnow\(|\bauto_now(_add)?\s*=\s*True|\btime\.time\(\)"
)


def test_nothing_but_the_core_clock_reads_the_system_clock():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts or path == SRC / "core" / "clock.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SYSTEM_CLOCK.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not offenders, "read the time through branchops.core.clock:\n" + "\n".join(offenders)


def test_the_run_starts_at_ten_on_the_run_day(run_clock):
    assert run_clock == run_day() == clock.today()
    local = clock.localtime()
    assert (local.hour, local.minute) == (10, 0)
    assert clock.now().tzinfo is not None


def test_frozen_stands_still_and_restores():
    before = clock.now()
    with clock.frozen(date(2026, 2, 17)) as at:
        assert clock.today() == date(2026, 2, 17)
        assert clock.now() == at == clock.now()
        assert timezone.localtime(at).hour == 10
        clock.tick(timedelta(days=1, hours=2))
        assert clock.localtime() == timezone.localtime(at) + timedelta(days=1, hours=2)
    assert clock.today() == run_day() and clock.now() >= before


def test_travel_ticks_and_a_naive_time_is_local():
    with clock.travel(datetime(2028, 2, 29, 23, 59, 59)):
        first = clock.now()
        assert clock.today() == date(2028, 2, 29)
        assert clock.now() >= first  # still running
        clock.tick(timedelta(seconds=2))
        assert clock.today() == date(2028, 3, 1)


def test_release_goes_back_to_the_system_clock():
    clock.release()
    assert not clock.is_moved()
    assert abs(clock.now() - clock.wall_now()) < timedelta(seconds=5)
    clock.freeze(date(2027, 6, 30))
    assert clock.is_moved() and clock.today() == date(2027, 6, 30)


def test_records_timeline_and_history_carry_the_clocks_time(bank):
    with clock.frozen(datetime(2026, 2, 17, 9, 30)) as at:
        outlet = org.save_institution(bank.users["admin1"], code="SZ0103", name="福田新网点", level=Level.OUTLET,
                                      parent=bank.sb1)
        assert outlet.created_at == outlet.updated_at == at
        assert outlet.history.latest().history_date == at
        assert TimelineEntry.objects.filter(object_id=str(outlet.pk)).latest("id").created_at == at
    with clock.frozen(datetime(2026, 3, 2, 15, 0)) as later:
        org.save_institution(bank.users["admin1"], instance=outlet, name="福田新网点（迁址）")
    outlet = Institution.objects.get(pk=outlet.pk)
    assert (outlet.created_at, outlet.updated_at) == (at, later)
    assert outlet.history.latest().history_date == later


@pytest.mark.date_sensitive
def test_date_sensitive_tests_run_on_each_shifted_day(clock_day):
    assert clock.today() == (clock_day or run_day())
    assert clock_day is None or clock_day.isoformat() in SHIFTED_DAYS


@pytest.mark.clock_at("2026-02-17")
def test_a_pinned_test_runs_on_its_day():
    assert clock.today() == date(2026, 2, 17)
