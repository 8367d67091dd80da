"""The working-day calendar on real dates of the 2026 statutory schedule."""

from datetime import date

import pytest

from branchops.core import calendar as cal
from branchops.core import services, workdays


@pytest.fixture(autouse=True)
def _fresh_overrides(db):
    workdays.invalidate_overrides()
    yield
    workdays.invalidate_overrides()


def test_spring_festival_2026_holidays_and_make_up_days():
    # Spring Festival 2026: 15–23 February off; Saturdays 14 and 28 February are working days.
    for day in range(15, 24):
        assert not workdays.is_working_day(date(2026, 2, day)), day
    assert workdays.is_working_day(date(2026, 2, 14))  # Saturday, make-up working day (调休)
    assert workdays.is_working_day(date(2026, 2, 28))  # Saturday, make-up working day
    assert workdays.is_working_day(date(2026, 2, 13))  # Friday before the holiday


def test_national_day_2026():
    for day in range(1, 8):
        assert not workdays.is_working_day(date(2026, 10, day))
    assert workdays.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day
    assert workdays.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert not workdays.is_working_day(date(2026, 10, 11))  # ordinary Sunday


def test_add_working_days_over_spring_festival():
    # Friday 13 Feb + 1 working day is the make-up Saturday 14; the next after it is Tuesday 24.
    assert workdays.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert workdays.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    # Thursday 12 Feb + 2: Friday 13, then (Sat 14 is a make-up day) Saturday 14.
    assert workdays.add_working_days(date(2026, 2, 12), 2) == date(2026, 2, 14)
    # 15 working days from receipt on 9 February 2026 (the complaint decision deadline rule).
    # 10–14 Feb (14th a make-up Saturday), 24–28 Feb (28th too), 2–6 March.
    assert workdays.add_working_days(date(2026, 2, 9), 15) == date(2026, 3, 6)


def test_add_working_days_over_national_day_and_backwards():
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert workdays.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


def test_working_days_between_is_inverse_of_add():
    start = date(2026, 2, 9)
    for n in (0, 1, 5, 15, 30, 60):
        end = workdays.add_working_days(start, n)
        assert workdays.working_days_between(start, end) == n
        assert workdays.working_days_between(end, start) == -n
    assert workdays.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    # Whole of 2026: 261 weekdays, less 19 weekday holidays, plus 6 make-up Saturdays/Sundays.
    assert workdays.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 248


def test_uncovered_year_falls_back_and_overrides_apply():
    assert not cal.is_year_covered(2099)
    # Fallback: weekdays work, weekends and fixed-date statutory holidays do not.
    assert cal.statutory_is_working_day(date(2099, 1, 2))  # Friday
    assert not cal.statutory_is_working_day(date(2099, 1, 1))  # New Year's Day
    assert not cal.statutory_is_working_day(date(2099, 1, 3))  # Saturday
    assert workdays.uncovered_years([2026, 2099]) == [2099]
    services.set_calendar_day(None, date(2099, 1, 3), True, "调休上班")
    services.set_calendar_day(None, date(2099, 1, 5), False, "地方假日")
    assert workdays.is_working_day(date(2099, 1, 3))
    assert not workdays.is_working_day(date(2099, 1, 5))
    # One local closure is not a year's schedule: the warning stays until the holidays are entered.
    assert workdays.uncovered_years([2099]) == [2099]
    for day in (6, 7, 8, 9, 12):
        services.set_calendar_day(None, date(2099, 1, day), False, "春节")
    assert workdays.uncovered_years([2099]) == []


def test_pure_calendar_with_explicit_overrides():
    c = cal.WorkingCalendar({date(2026, 11, 23): False})
    assert not c.is_working_day(date(2026, 11, 23))
    assert c.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 24)
    assert c.next_working_day(date(2026, 11, 22)) == date(2026, 11, 24)


def test_calendar_api(client, bank):
    client.force_login(bank.users["staff11"])
    r = client.get("/api/v1/calendar/add-working-days", {"start": "2026-09-30", "days": 1})
    assert r.status_code == 200 and r.json()["result"] == "2026-10-08"
    r = client.get("/api/v1/calendar/working-day", {"on": "2026-02-14"})
    assert r.json() == {"date": "2026-02-14", "is_working_day": True}
    assert client.get("/api/v1/calendar/add-working-days", {"start": "2026-09-30", "days": 99999}).status_code == 400


def test_calendar_page_names_holidays_and_make_up_days(client, bank):
    client.force_login(bank.users["staff11"])
    html = client.get("/calendar/", {"year": 2026, "month": 10}).content.decode()
    assert "国庆节" in html and "调休上班" in html
