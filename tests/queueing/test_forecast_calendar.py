"""Forecast calendar coverage (issue 16): a forecast over a year whose public holidays nobody has given
us (chinese-calendar covers up to 2026; the bank enters later schedules as calendar overrides) says so,
in the API and on the outlet page."""

from datetime import date

import pytest

from branchops.core import services as core_services
from branchops.core.workdays import invalidate_overrides
from branchops.queueing import queries

from .test_api import HEADER, upload

URL = "/api/v1/queueing/"
pytestmark = pytest.mark.usefixtures("english_messages")


@pytest.fixture(autouse=True)
def _fresh_overrides():
    """The overrides are cached; a rolled-back test must not leave its entered days in the cache."""
    invalidate_overrides()
    yield
    invalidate_overrides()


def test_a_2027_forecast_warns_until_the_schedule_is_entered(api, bank, queue_dir):
    c = api(bank.users["head11"])
    r = c.get(f"{URL}outlets/SZ0101/forecast", {"start": "2027-01-04", "weeks": "1"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["uncovered_years"] == [2027]
    assert "2027" in body["warnings"][0] and "calendar overrides" in body["warnings"][0]
    # A forecast within a covered year says nothing.
    assert c.get(f"{URL}outlets/SZ0101/forecast", {"start": "2026-03-02"}).json()["uncovered_years"] == []
    # A forecast running from December 2026 into 2027 warns for 2027.
    assert queries.forecast_uncovered_years(date(2026, 12, 28), 2) == [2027]
    # Once the secretariat enters 2027's published holidays as overrides, the warning goes, and those
    # days are closed for the forecast.
    holidays = [date(2027, 2, d) for d in (8, 9, 10, 11, 12)]
    for d in holidays:
        core_services.set_calendar_day(bank.users["admin1"], d, False, "春节")
    assert c.get(f"{URL}outlets/SZ0101/forecast", {"start": "2027-01-04"}).json()["uncovered_years"] == []
    closed, _paydays = queries._calendar_sets(date(2027, 2, 1), date(2027, 2, 28), ())
    assert set(holidays) <= closed and date(2027, 2, 13) not in closed  # a Saturday: closed anyway, not listed


def test_outlet_page_shows_the_coverage_warning(api, login, bank, queue_dir, tmp_path):
    # The year matters here, not today: a ticket on the last day of 2026, the page over that day.
    path = tmp_path / "dec.csv"
    path.write_text(HEADER + "SZ0101,2026-12-31,A001,cash_deposit,regular,cash,2026-12-31T09:00:00,"
                    "2026-12-31T09:05:00,2026-12-31T09:05:00,2026-12-31T09:09:00,1,T01,served\n", encoding="utf-8")
    assert upload(api(bank.users["sec1"]), path).status_code == 201
    page = login(bank.users["head11"]).get("/queueing/outlets/SZ0101/", {"start": "2026-12-31", "end": "2026-12-31"})
    assert page.status_code == 200
    # The page's forecast starts the day after the period: 2027-01-01.
    assert "The public holidays of 2027 are not known yet" in page.content.decode()
