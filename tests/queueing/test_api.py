"""The queueing API: upload and read back the simulated logs (KPIs, heat-map, pattern, staffing,
forecast, imports), scope (an outlet sees its own, 404 alike for hidden and missing), permissions,
and input it cannot use (400 naming the field, nothing written)."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from branchops.core import services as core_services
from branchops.queueing.models import TicketImport

from .conftest import START

URL = "/api/v1/queueing/"
END = date(2026, 4, 5)  # the simulated five weeks: 2026-03-02 … 2026-04-05
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}
FIGURES = {"arrivals", "served", "abandoned", "abandon_rate", "wait_mean", "wait_median", "wait_p90",
           "overtime_ratio", "service_mean", "utilisation", "peak_queue", "migration_rate"}

HEADER = ("outlet_code,ticket_date,ticket_no,business_type,customer_tier,queue_type,issued_at,called_at,"
          "service_start_at,service_end_at,counter_no,teller_no,outcome\n")

# Some assertions below match the English wording of messages.
pytestmark = pytest.mark.usefixtures("english_messages")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def invalid(response, field):
    """400 naming the field."""
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert field in detail and detail[field], detail
    return detail[field]


def upload(client, path, kind="tickets"):
    with open(path, "rb") as fh:
        return client.post(f"{URL}imports", {"file": fh, "kind": kind})


def units(response):
    return sorted(r["unit"] for r in ok(response)["rows"])


def test_upload_then_read_kpis_and_outlet_figures(api, bank, queue_dir, ticket_csv):
    b = bank
    tickets, devices = ticket_csv()
    c = api(b.users["sec1"])
    batch = ok(upload(c, tickets), 201)
    assert batch["status"] == "done" and batch["kind"] == "tickets", batch["message"]
    assert batch["added"] > 3000 and batch["rejected"] == 0 and batch["errors"] == []
    assert batch["uploaded_by"]["username"] == "sec1" and batch["institution"]["code"] == b.branch.code
    assert ok(upload(c, devices, "devices"), 201)["status"] == "done"

    # The imports, newest first, paginated; one with its rows.
    page = ok(c.get(f"{URL}imports", {"page_size": 1}))
    assert page["count"] == 2 and [i["kind"] for i in page["items"]] == ["devices"]
    assert ok(c.get(f"{URL}imports/{batch['id']}"))["added"] == batch["added"]

    # KPIs per outlet over the period, with the definitions that make "overtime".
    kpis = ok(c.get(f"{URL}kpis", PERIOD))
    assert (kpis["start"], kpis["end"], kpis["level"], kpis["grain"]) == (
        START.isoformat(), END.isoformat(), "outlet", "total")
    rows = kpis["rows"]
    assert sorted(r["unit"] for r in rows) == ["SZ0101", "SZ0102", "SZ0201"]
    assert sum(r["arrivals"] for r in rows) == batch["added"]
    assert FIGURES <= set(rows[0]) and rows[0]["unit_name"] and rows[0]["period_start"] is None
    ratios = [r["overtime_ratio"] for r in rows]
    assert ratios == sorted(ratios, reverse=True)  # worst first
    d = kpis["definitions"]
    assert d["thresholds_minutes"] == {"regular": 15, "vip": 5, "private": 5} and d["time_unit"] == "seconds"
    assert any("15 min" in t["text"] for t in d["terms"])
    assert units(c.get(f"{URL}kpis", {**PERIOD, "level": "sub_branch"})) == ["SZ01", "SZ02"]
    assert units(c.get(f"{URL}kpis", {**PERIOD, "level": "cluster"})) == ["C01"]
    assert units(c.get(f"{URL}kpis", {**PERIOD, "within": b.sb1.pk})) == ["SZ0101", "SZ0102"]
    weeks = ok(c.get(f"{URL}kpis", {**PERIOD, "level": "branch", "grain": "week"}))["rows"]
    assert len(weeks) == 5 and {r["unit"] for r in weeks} == {"SZ"} and weeks[0]["period_start"] == "2026-03-02"
    halves = ok(c.get(f"{URL}kpis", {"start": "2026-03-02", "end": "2026-03-02", "grain": "interval"}))["rows"]
    assert halves and all(r["period_start"] == "2026-03-02" and 0 <= r["interval_idx"] < 48 for r in halves)
    assert {r["slot"] for r in halves if r["interval_idx"] == 19} <= {"09:30"}
    # Without dates: the newest month with data.
    latest = ok(c.get(f"{URL}kpis"))
    assert (latest["start"], latest["end"]) == ("2026-04-01", "2026-04-30")

    # Scope: an outlet's staff see their own outlet; a sub-branch its outlets.
    assert units(api(b.users["staff11"]).get(f"{URL}kpis", PERIOD)) == ["SZ0101"]
    assert units(api(b.users["sb1mgr"]).get(f"{URL}kpis", PERIOD)) == ["SZ0101", "SZ0102"]
    c = api(b.users["staff11"])
    for part in ("intervals", "pattern", "staffing", "forecast"):
        hidden, missing = c.get(f"{URL}outlets/SZ0201/{part}"), c.get(f"{URL}outlets/NOPE/{part}")
        assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    assert ok(c.get(f"{URL}outlets/SZ0101/intervals", PERIOD))["outlet"]["code"] == "SZ0101"
    invalid(c.get(f"{URL}kpis", {**PERIOD, "within": b.sb2.pk}), "within")

    # One outlet: the heat-map, the pattern, staffing and the forecast.
    c = api(b.users["sec1"])
    heat = ok(c.get(f"{URL}outlets/SZ0101/intervals", PERIOD))
    assert heat["outlet"]["code"] == "SZ0101" and heat["definitions"]["thresholds_minutes"]["regular"] == 15
    cells = heat["rows"]
    assert cells and FIGURES <= set(cells[0]) and {"date", "interval_idx", "slot"} <= set(cells[0])
    assert sum(r["arrivals"] or 0 for r in cells) == next(r["arrivals"] for r in rows if r["unit"] == "SZ0101")

    pattern = ok(c.get(f"{URL}outlets/SZ0102/pattern", PERIOD))  # simulated as all-day queueing
    assert "all_day" in [p["code"] for p in pattern["patterns"]] and all(p["label"] for p in pattern["patterns"])
    assert pattern["queueing_slots"] and 0 < pattern["ratio"] <= 1 and pattern["rules"]["ratio"] == 0.2
    assert "add_counters" in [m["code"] for m in pattern["measures"]]

    staffing = ok(c.get(f"{URL}outlets/SZ0101/staffing", {"start": "2026-03-30", "end": "2026-03-30"}))
    assert staffing["model"] in ("erlang_c", "erlang_a") and staffing["target"]["wait_minutes"] == 10
    first = staffing["rows"][0]
    assert set(first) == {"date", "interval_idx", "slot", "arrivals", "service_mean", "needed", "capped", "open",
                          "gap"}
    assert all(r["date"] == "2026-03-30" and r["gap"] == r["needed"] - r["open"] for r in staffing["rows"])
    assert max(r["needed"] for r in staffing["rows"]) >= 1

    fc = ok(c.get(f"{URL}outlets/SZ0101/forecast", {"start": "2026-04-06", "weeks": 1}))
    assert fc["weeks"] == 1 and fc["message"] == ""
    fit = fc["forecast"]
    assert fit["method"] in ("baseline", "mstl", "ets") and fit["wape"] is not None and fit["noise_floor"] > 0
    assert fit["rows"] and {r["date"] for r in fit["rows"]} <= {f"2026-04-{d:02d}" for d in range(6, 13)}
    assert sum(r["forecast"] for r in fit["rows"]) > 0
    early = ok(c.get(f"{URL}outlets/SZ0101/forecast", {"start": "2026-03-05"}))  # three days of history
    assert early["forecast"] is None and early["weeks"] == 2 and "history" in early["message"]

    # A personal token reads the same as the session.
    _token, raw = core_services.create_api_token(b.users["staff11"], "script")
    assert units(Client().get(f"{URL}kpis", PERIOD, HTTP_AUTHORIZATION=f"Bearer {raw}")) == ["SZ0101"]


def test_upload_reports_bad_rows_by_line(api, bank, queue_dir, tmp_path):
    good = "SZ0101,2026-03-02,A001,cash_deposit,regular,cash,2026-03-02T09:01:00,2026-03-02T09:05:00," \
           "2026-03-02T09:05:10,2026-03-02T09:09:00,1,T01,served\n"
    unknown = "NOPE,2026-03-02,A002,cash_deposit,regular,cash,2026-03-02T09:02:00,2026-03-02T09:06:00," \
              "2026-03-02T09:06:10,2026-03-02T09:10:00,1,T01,served\n"
    backwards = "SZ0101,2026-03-02,A003,cash_deposit,regular,cash,2026-03-02T09:03:00,2026-03-02T09:01:00," \
                "2026-03-02T09:06:10,2026-03-02T09:10:00,1,T01,served\n"
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + good + unknown + backwards, encoding="utf-8")
    c = api(bank.users["sec1"])
    batch = ok(upload(c, path), 201)
    assert batch["status"] == "done" and batch["file_name"] == "bad.csv"
    assert batch["added"] == 1 and batch["rejected"] == 2
    by_line = {e["line"]: e for e in batch["errors"]}
    assert by_line[3]["reason"] == "unknown_outlet" and by_line[3]["reason_label"] == "unknown outlet"
    assert by_line[3]["value"] == "NOPE" and by_line[3]["field"]
    assert by_line[4]["reason"] == "times_out_of_order" and by_line[4]["reason_label"] == "times out of order"
    assert ok(c.get(f"{URL}imports/{batch['id']}"))["errors"] == batch["errors"]
    assert ok(c.get(f"{URL}kpis", {"start": "2026-03-02", "end": "2026-03-02"}))["rows"][0]["arrivals"] == 1
    # Another outlet's staff do not see the branch's import: the same 404 as a missing one.
    c = api(bank.users["staff21"])
    assert ok(c.get(f"{URL}imports"))["count"] == 0
    hidden, missing = c.get(f"{URL}imports/{batch['id']}"), c.get(f"{URL}imports/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()


def test_input_it_cannot_use_is_400_naming_the_field(api, bank, queue_dir, tmp_path):
    c = api(bank.users["sec1"])
    assert invalid(c.get(f"{URL}kpis", {**PERIOD, "level": "province"}), "level") == [
        "Choose one of: outlet, cluster, sub_branch, branch."]
    invalid(c.get(f"{URL}kpis", {**PERIOD, "grain": "hour"}), "grain")
    assert invalid(c.get(f"{URL}kpis", {"start": "2026-04-05", "end": "2026-03-02"}), "start") == [
        "The start must not be after the end."]
    invalid(c.get(f"{URL}kpis", {"start": "2025-01-01", "end": "2026-03-02"}), "end")  # over 366 days
    invalid(c.get(f"{URL}kpis", {"start": "2026-02-30", "end": "2026-03-02"}), "start")
    invalid(c.get(f"{URL}kpis", {"start": "2026-03-02"}), "end")
    invalid(c.get(f"{URL}kpis", {**PERIOD, "within": "x"}), "within")
    every = c.get(f"{URL}kpis", {"start": "2026-04-05", "end": "2026-03-02", "level": "x", "grain": "y"})
    assert set(every.json()["detail"]) == {"start", "level", "grain"}  # every field's problem at once
    invalid(c.get(f"{URL}outlets/SZ0101/intervals", {"start": "2026-04-05", "end": "2026-03-02"}), "start")
    invalid(c.get(f"{URL}outlets/SZ0101/pattern", {"start": "tomorrow", "end": "2026-03-02"}), "start")
    invalid(c.get(f"{URL}outlets/SZ0101/staffing", {"start": "2026-04-05", "end": "2026-03-02"}), "start")
    assert invalid(c.get(f"{URL}outlets/SZ0101/forecast", {"weeks": 9}), "weeks") == ["Between 1 and 4 weeks."]
    invalid(c.get(f"{URL}outlets/SZ0101/forecast", {"weeks": 0}), "weeks")
    invalid(c.get(f"{URL}outlets/SZ0101/forecast", {"weeks": "two"}), "weeks")

    # A bad file, no file, or an unknown kind: refused before anything is stored.
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "notes.txt" in invalid(upload(c, text), "file")[0]
    invalid(c.post(f"{URL}imports", {"kind": "tickets"}), "file")
    csv = tmp_path / "t.csv"
    csv.write_text(HEADER)
    invalid(upload(c, csv, kind="cars"), "kind")
    assert not TicketImport.objects.exists()
    assert not (queue_dir / "uploads").exists() or not any((queue_dir / "uploads").iterdir())


def test_permissions(api, bank, queue_dir):
    gets = [f"{URL}kpis", f"{URL}outlets/SZ0101/intervals", f"{URL}outlets/SZ0101/pattern",
            f"{URL}outlets/SZ0101/staffing", f"{URL}outlets/SZ0101/forecast", f"{URL}imports", f"{URL}imports/1"]
    anonymous = Client()
    for url in gets:
        assert anonymous.get(url).status_code == 401, url
    assert anonymous.post(f"{URL}imports", {"kind": "tickets"}).status_code == 401

    # Signed in without a place in the bank: no permission to read the queue figures.
    nobody = get_user_model().objects.create_user("nobody", "nobody@example.com", "Test-pass-2026!")
    c = api(nobody)
    for url in gets:
        r = c.get(url)
        assert r.status_code == 403 and r.json()["detail"] == "You do not have permission to do this.", url
    file = SimpleUploadedFile("t.csv", HEADER.encode())
    assert c.post(f"{URL}imports", {"file": file, "kind": "tickets"}).status_code == 403

    # Outlet staff read their figures but may not import.
    c = api(bank.users["staff11"])
    assert c.get(f"{URL}kpis").status_code == 200
    file = SimpleUploadedFile("t.csv", HEADER.encode())
    assert c.post(f"{URL}imports", {"file": file, "kind": "tickets"}).status_code == 403
    assert not TicketImport.objects.exists()
