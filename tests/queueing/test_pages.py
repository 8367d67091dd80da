"""The queue pages: dashboard with drill-down, outlet page, imports with rejected rows; scope."""

import pytest
from django.urls import reverse

from branchops.queueing import services

MONTH = "2026-03"


@pytest.fixture
def loaded(bank, queue_dir, ticket_csv):
    tickets, devices = ticket_csv()
    for path, kind in ((tickets, "tickets"), (devices, "devices")):
        with open(path, "rb") as fh:
            services.import_uploaded(bank.users["sec1"], fh, path.name, kind)
    return bank


def test_dashboard_ranks_and_drills_down(loaded, login):
    b = loaded
    client = login(b.users["sec1"])
    response = client.get(reverse("queueing:dashboard"), {"month": MONTH})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {r["unit"] for r in rows} == {b.sb1.code, b.sb2.code}
    assert [r["overtime_ratio"] for r in rows] == sorted((r["overtime_ratio"] for r in rows), reverse=True)
    html = response.content.decode()
    assert "客户超时等候占比" in html or "超时等候占比" in html  # the definition is stated
    # Drill down into a sub-branch: its outlets, each linking to its own page.
    sub = next(r for r in rows if r["unit"] == b.sb1.code)
    response = client.get(reverse("queueing:dashboard") + sub["url"])
    assert {r["unit"] for r in response.context["rows"]} == {b.o11.code, b.o12.code}
    assert all(r["url"].startswith(reverse("queueing:outlet", args=[r["unit"]])) for r in response.context["rows"])
    # By cluster: the 1+N cluster opens its outlets.
    response = client.get(reverse("queueing:dashboard"), {"month": MONTH, "level": "cluster"})
    [cluster] = response.context["rows"]
    assert cluster["unit"] == b.cluster.code
    response = client.get(reverse("queueing:dashboard") + cluster["url"])
    assert {r["unit"] for r in response.context["rows"]} == {b.o11.code, b.o12.code}
    # The same table as xlsx.
    response = client.get(reverse("queueing:dashboard"), {"month": MONTH, "level": "outlet", "format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_outlet_page_shows_pattern_staffing_and_forecast(loaded, login):
    b = loaded
    client = login(b.users["sec1"])
    response = client.get(reverse("queueing:outlet", args=[b.o12.code]), {"month": MONTH})
    assert response.status_code == 200
    ctx = response.context
    assert "all_day" in ctx["pattern"].patterns  # o12 is simulated as all-day queueing
    assert ctx["staffing"]["rows"] and ctx["heat"]["wait"]
    # An all-day queue with too few counters: windows to open, each on a weekday and a stretch of time.
    assert any(p["change"] > 0 for p in ctx["proposals"])
    assert all(p["start"] < p["end"] or p["end"] == "00:00" for p in ctx["proposals"])
    assert ctx["forecast"] is not None and ctx["forecast_info"].noise_floor is not None
    assert 'data-pattern="all_day"' in response.content.decode()
    response = client.get(reverse("queueing:outlet", args=[b.o12.code]), {"month": MONTH, "format": "xlsx"})
    assert response.status_code == 200


def test_scope_outlet_staff_see_their_outlet_only(loaded, login):
    b = loaded
    client = login(b.users["staff11"])
    response = client.get(reverse("queueing:dashboard"), {"month": MONTH, "level": "outlet"})
    assert [r["unit"] for r in response.context["rows"]] == [b.o11.code]
    assert client.get(reverse("queueing:outlet", args=[b.o11.code]), {"month": MONTH}).status_code == 200
    assert client.get(reverse("queueing:outlet", args=[b.o21.code]), {"month": MONTH}).status_code == 404
    # Outlet staff read the figures but cannot import.
    response = client.get(reverse("queueing:imports"))
    assert response.status_code == 200 and not response.context["can_import"]
    assert client.post(reverse("queueing:imports"), {"kind": "tickets"}).status_code == 403


def test_upload_reports_rejected_rows_by_line(bank, queue_dir, login, tmp_path):
    client = login(bank.users["sec1"])
    header = ("outlet_code,ticket_date,ticket_no,business_type,customer_tier,queue_type,issued_at,called_at,"
              "service_start_at,service_end_at,counter_no,teller_no,outcome\n")
    rows = (f"{bank.o11.code},2026-03-02,A001,cash_deposit,regular,cash,2026-03-02T09:01:00,2026-03-02T09:05:00,"
            "2026-03-02T09:05:10,2026-03-02T09:09:00,1,T01,served\n"
            "NOPE,2026-03-02,A002,cash_deposit,regular,cash,2026-03-02T09:02:00,,,,,,abandoned\n")
    path = tmp_path / "day.csv"
    path.write_text(header + rows, encoding="utf-8")
    with open(path, "rb") as fh:
        response = client.post(reverse("queueing:imports"), {"kind": "tickets", "file": fh})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    batch = page.context["batch"]
    assert batch.added == 1 and batch.rejected == 1
    assert 'data-line="3" data-reason="unknown_outlet"' in page.content.decode()
    listing = client.get(reverse("queueing:imports"))
    assert "day.csv" in listing.content.decode()
    # A wrong file type is refused with a message, nothing recorded.
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    with open(bad, "rb") as fh:
        response = client.post(reverse("queueing:imports"), {"kind": "tickets", "file": fh}, follow=True)
    assert ".csv" in response.content.decode()


def test_empty_state_without_data(bank, queue_dir, login):
    response = login(bank.users["sec1"]).get(reverse("queueing:dashboard"))
    assert response.status_code == 200 and response.context["rows"] == []
