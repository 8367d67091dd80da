"""The month picker and future-dated tickets (issue 16, item 7): every month with data is listed and
labelled as itself, also past the newest 24; tickets dated after today are stored with a warning and
never become the month the pages open on."""

import re
from datetime import date, timedelta

import pytest

from branchops.core import clock

from .test_api import HEADER, ok, upload

URL = "/api/v1/queueing/"
pytestmark = pytest.mark.usefixtures("english_messages")


def line(day: date, no: int) -> str:
    return (f"SZ0101,{day},A{no:03d},cash_deposit,regular,cash,{day}T09:00:00,{day}T09:05:00,{day}T09:05:00,"
            f"{day}T09:09:00,1,T01,served\n")


def months_back(n: int) -> list[date]:
    """The 10th of each of the ``n`` months before this one, newest first."""
    first = clock.today().replace(day=1)
    out = []
    for _ in range(n):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first.replace(day=10))
    return out


def test_month_picker_lists_every_month_with_data_and_labels_old_ones(api, bank, queue_dir, tmp_path):
    days = months_back(30)
    path = tmp_path / "years.csv"
    path.write_text(HEADER + "".join(line(d, n) for n, d in enumerate(days, 1)), encoding="utf-8")
    assert ok(upload(api(bank.users["sec1"]), path), 201)["added"] == 30
    oldest = days[-1].strftime("%Y-%m")
    page = api(bank.users["sec1"]).get("/queueing/", {"month": oldest}).content.decode()
    picker = page[page.index('id="q-month"'):page.index("</select>", page.index('id="q-month"'))]
    listed = re.findall(r'<option value="(\d{4}-\d{2})"', picker)
    assert listed == [d.strftime("%Y-%m") for d in days]  # all 30, newest first
    assert f'<option value="{oldest}" selected>{oldest}</option>' in picker
    # Without a month the page opens on the newest month with data.
    page = api(bank.users["sec1"]).get("/queueing/").content.decode()
    assert f'<option value="{days[0]:%Y-%m}" selected>' in page


def test_future_dated_tickets_warn_and_never_become_the_default_month(api, bank, queue_dir, tmp_path):
    past, future = clock.today() - timedelta(days=40), clock.today() + timedelta(days=40)
    path = tmp_path / "clock.csv"
    path.write_text(HEADER + line(past, 1) + line(future, 2), encoding="utf-8")
    c = api(bank.users["sec1"])
    batch = ok(upload(c, path), 201)
    assert batch["added"] == 2 and batch["status"] == "done"
    assert "1 ticket is dated after today" in batch["message"] and future.isoformat() in batch["message"]
    # The API's and the pages' default period is the past month, not the future one.
    body = ok(c.get(f"{URL}kpis"))
    assert body["start"] == past.replace(day=1).isoformat()
    page = c.get("/queueing/").content.decode()
    assert f'<option value="{past:%Y-%m}" selected>' in page
    assert f'<option value="{future:%Y-%m}">{future:%Y-%m} (after today)</option>' in page
    # A file with nothing in the future says nothing.
    later = tmp_path / "fine.csv"
    later.write_text(HEADER + line(past - timedelta(days=1), 3), encoding="utf-8")
    assert "after today" not in ok(upload(c, later), 201)["message"]
