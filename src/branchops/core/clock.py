"""The one clock BranchOps reads.

Services, queries, views and model defaults ask this module what time it is — never the system
clock — so tests can freeze it, a whole test run can be moved to another date, and the demo can
record each event at the moment it is meant to have happened. In production it is the system clock.

The setting is process-wide on purpose (not per thread or context): a test's live server answers
from other threads and must see the same time as the test.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from django.utils import timezone

# Exactly one of these moves the clock: a fixed instant, or an offset from the system clock.
_fixed: datetime | None = None
_offset = timedelta(0)


def _system_now() -> datetime:
    return timezone.now()  # the only read of the system clock in BranchOps


def wall_now() -> datetime:
    """The system clock, whatever the core clock says: only for comparing with times that libraries
    stamp themselves (a task worker's start), never for a business date."""
    return _system_now()


def now() -> datetime:
    """The current instant, time-zone aware (UTC)."""
    if _fixed is not None:
        return _fixed
    return _system_now() + _offset


def today() -> date:
    """Today in the branch's time zone (settings.TIME_ZONE)."""
    return timezone.localdate(now())


def localtime() -> datetime:
    return timezone.localtime(now())


def instant(at: date | datetime, hour: int = 10) -> datetime:
    """An aware instant: a date means `hour` o'clock local time that day; a naive datetime is local."""
    if isinstance(at, datetime):
        return at if timezone.is_aware(at) else timezone.make_aware(at)
    return timezone.make_aware(datetime.combine(at, time(hour)))


def is_moved() -> bool:
    return _fixed is not None or _offset != timedelta(0)


def freeze(at: date | datetime) -> None:
    """Stop the clock at `at` until `release()`; a later freeze or travel replaces it."""
    global _fixed, _offset
    _fixed, _offset = instant(at), timedelta(0)


def travel_to(at: date | datetime) -> None:
    """Move the clock so that it reads `at` now and keeps ticking from there."""
    global _fixed, _offset
    _fixed, _offset = None, instant(at) - _system_now()


def release() -> None:
    """Back to the system clock."""
    global _fixed, _offset
    _fixed, _offset = None, timedelta(0)


def _state():
    return _fixed, _offset


def _restore(state) -> None:
    global _fixed, _offset
    _fixed, _offset = state


@contextmanager
def frozen(at: date | datetime):
    """`with clock.frozen(day):` — the clock stands still at `at`, then goes back to what it was."""
    saved = _state()
    freeze(at)
    try:
        yield now()
    finally:
        _restore(saved)


@contextmanager
def travel(at: date | datetime):
    """`with clock.travel(moment):` — the clock reads `at` and ticks on, then goes back to what it was."""
    saved = _state()
    travel_to(at)
    try:
        yield now()
    finally:
        _restore(saved)


def tick(delta: timedelta) -> datetime:
    """Move a frozen or travelled clock forward by `delta` (tests: 'three working days later')."""
    global _fixed, _offset
    if _fixed is not None:
        _fixed = _fixed + delta
    else:
        _offset = _offset + delta
    return now()
