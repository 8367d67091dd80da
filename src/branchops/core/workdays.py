"""The bank's working-day calendar: statutory calendar plus the overrides kept in CalendarDay.

Every deadline in BranchOps is computed with these three functions.
"""

from datetime import date

from django.core.cache import cache

from .calendar import WorkingCalendar, is_year_covered

_CACHE_KEY = "core:calendar-overrides:v1"
MIN_SCHEDULE_HOLIDAYS = 5


def _load_overrides() -> dict[date, bool]:
    overrides = cache.get(_CACHE_KEY)
    if overrides is None:
        from .models import CalendarDay

        overrides = dict(CalendarDay.objects.values_list("date", "is_working_day"))
        cache.set(_CACHE_KEY, overrides, 300)
    return overrides


def invalidate_overrides() -> None:
    cache.delete(_CACHE_KEY)


calendar = WorkingCalendar(_load_overrides)


def is_working_day(d: date) -> bool:
    return calendar.is_working_day(d)


def add_working_days(start: date, n: int) -> date:
    return calendar.add_working_days(start, n)


def working_days_between(start: date, end: date) -> int:
    return calendar.working_days_between(start, end)


def uncovered_years(years) -> list[int]:
    """Years neither the statutory package nor the bank's overrides cover (a warning for admins)."""
    # A published schedule has well over five weekday holidays; one local closure is not a schedule.
    from collections import Counter

    entered = Counter(d.year for d, working in _load_overrides().items() if not working and d.weekday() < 5)
    return sorted(y for y in set(years) if not is_year_covered(y) and entered[y] < MIN_SCHEDULE_HOLIDAYS)
