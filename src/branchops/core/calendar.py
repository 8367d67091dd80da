"""The Chinese working-day calendar: statutory holidays and make-up working days (调休).

Pure computation, no Django: deadlines in every module are computed with it.

Conventions (the way SLA rules count "N working days"):
- ``add_working_days(d, n)`` is the n-th working day after ``d``; ``d`` itself is not counted.
  ``n == 0`` returns ``d`` unchanged; a negative ``n`` counts backwards.
- ``working_days_between(a, b)`` counts the working days in ``(a, b]``; negative when ``b < a``.
  So ``add_working_days(a, working_days_between(a, b)) == b`` whenever ``b`` is a working day.

Source of truth, in order: explicit overrides (entered by the bank, e.g. next year's schedule
before the ``chinese-calendar`` package knows it), then ``chinese-calendar``, then for years it
does not cover yet: Monday–Friday minus the fixed-date statutory holidays.
"""

from collections.abc import Callable, Mapping
from datetime import date, timedelta

import chinese_calendar

# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2025 revision); the lunar ones and the
# bridging days of each year's schedule are only known once published, so enter them as overrides.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def _statutory_year_supported(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


_SUPPORTED: dict[int, bool] = {}


def is_year_covered(year: int) -> bool:
    """True when the published statutory schedule of ``year`` is known to chinese-calendar."""
    if year not in _SUPPORTED:
        _SUPPORTED[year] = _statutory_year_supported(year)
    return _SUPPORTED[year]


def statutory_is_working_day(d: date) -> bool:
    if is_year_covered(d.year):
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5 and (d.month, d.day) not in FIXED_HOLIDAYS


def statutory_holiday(d: date) -> str | None:
    """The English name of the statutory holiday that ``d`` belongs to — a day off, or the make-up
    working day moved for it (e.g. "National Day") — or None."""
    if not is_year_covered(d.year):
        return None
    _on_holiday, name = chinese_calendar.get_holiday_detail(d)
    return name


class WorkingCalendar:
    def __init__(self, overrides: Mapping[date, bool] | Callable[[], Mapping[date, bool]] | None = None):
        self._overrides = overrides

    @property
    def overrides(self) -> Mapping[date, bool]:
        o = self._overrides
        if o is None:
            return {}
        return o() if callable(o) else o

    def is_working_day(self, d: date) -> bool:
        overrides = self.overrides
        if d in overrides:
            return overrides[d]
        return statutory_is_working_day(d)

    def add_working_days(self, start: date, n: int) -> date:
        if n == 0:
            return start
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        d = start
        overrides = self.overrides
        while remaining:
            d += step
            if overrides[d] if d in overrides else statutory_is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        if end == start:
            return 0
        if end < start:
            return -self.working_days_between(end, start)
        overrides = self.overrides
        count = 0
        d = start
        while d < end:
            d += timedelta(days=1)
            if overrides[d] if d in overrides else statutory_is_working_day(d):
                count += 1
        return count

    def next_working_day(self, d: date, include_self: bool = True) -> date:
        if include_self and self.is_working_day(d):
            return d
        return self.add_working_days(d, 1)
