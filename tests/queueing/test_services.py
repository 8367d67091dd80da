"""Importing logs through the services, and the reads the pages and API share."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.queueing import queries, services
from branchops.queueing.models import TicketImport

from .conftest import START


def _import(user, path, kind="tickets"):
    with open(path, "rb") as fh:
        return services.import_uploaded(user, fh, path.name, kind)


def test_import_then_kpis_patterns_staffing_forecast(bank, queue_dir, ticket_csv):
    tickets, devices = ticket_csv()
    sec = bank.users["sec1"]
    batch = _import(sec, tickets)
    assert batch.status == TicketImport.Status.DONE, batch.message
    assert batch.added > 3000 and batch.rejected == 0 and batch.total_rows == batch.added + batch.recalls
    assert _import(sec, devices, "devices").status == TicketImport.Status.DONE
    again = _import(sec, tickets)
    assert again.added == 0 and again.already_stored == batch.added  # nothing twice

    end = date(2026, 4, 5)
    rows = queries.kpi_table(sec, START, end, level="outlet")
    assert {r["unit"] for r in rows} == {bank.o11.code, bank.o12.code, bank.o21.code}
    assert sum(r["arrivals"] for r in rows) == batch.added
    subs = queries.kpi_table(sec, START, end, level="sub_branch")
    assert {r["unit"] for r in subs} == {bank.sb1.code, bank.sb2.code}
    # An outlet's staff see their own outlet only.
    assert [r["unit"] for r in queries.kpi_table(bank.users["staff11"], START, end)] == [bank.o11.code]

    pattern = queries.outlet_pattern(sec, bank.o12, START, end)  # simulated as all-day queueing
    assert "all_day" in pattern.patterns
    staffing = queries.outlet_staffing(sec, bank.o11, date(2026, 3, 30), date(2026, 3, 30))
    assert staffing["rows"] and all(r["needed"] >= 0 for r in staffing["rows"])
    assert max(r["needed"] for r in staffing["rows"]) >= 1
    fc = queries.outlet_forecast(sec, bank.o11, date(2026, 4, 6), weeks=1)
    assert fc is not None and not fc.forecast.empty
    info = fc.outlets[bank.o11.code]
    assert info.noise_floor is not None and info.wape is not None


def test_bad_rows_reported_by_line_and_not_stored(bank, queue_dir, tmp_path):
    header = ("outlet_code,ticket_date,ticket_no,business_type,customer_tier,queue_type,issued_at,called_at,"
              "service_start_at,service_end_at,counter_no,teller_no,outcome\n")
    good = f"{bank.o11.code},2026-03-02,A001,cash_deposit,regular,cash,2026-03-02T09:01:00,2026-03-02T09:05:00," \
           "2026-03-02T09:05:10,2026-03-02T09:09:00,1,T01,served\n"
    unknown = "NOPE,2026-03-02,A002,cash_deposit,regular,cash,2026-03-02T09:02:00,2026-03-02T09:06:00," \
              "2026-03-02T09:06:10,2026-03-02T09:10:00,1,T01,served\n"
    backwards = f"{bank.o11.code},2026-03-02,A003,cash_deposit,regular,cash,2026-03-02T09:03:00," \
                "2026-03-02T09:01:00,2026-03-02T09:06:10,2026-03-02T09:10:00,1,T01,served\n"
    path = tmp_path / "bad.csv"
    path.write_text(header + good + unknown + backwards, encoding="utf-8")
    batch = _import(bank.users["sec1"], path)
    assert batch.status == TicketImport.Status.DONE and batch.added == 1 and batch.rejected == 2
    assert {(e["line"], e["reason"]) for e in batch.errors} >= {(3, "unknown_outlet"), (4, "times_out_of_order")}


def test_import_guards(bank, queue_dir, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("hello")
    with pytest.raises(PermissionDenied):
        _import(bank.users["staff11"], path)
    with pytest.raises(ValidationError) as exc:
        _import(bank.users["sec1"], path)
    assert "file" in exc.value.message_dict
    assert not TicketImport.objects.exists()


def test_a_file_with_a_wrong_header_fails_with_the_column_named(bank, queue_dir, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("outlet_code,ticket_date\nSZ0101,2026-03-02\n", encoding="utf-8")
    batch = _import(bank.users["sec1"], path)
    assert batch.status == TicketImport.Status.FAILED and batch.added == 0
    assert "ticket_no" in batch.message and "缺少" in batch.message  # said in Chinese, naming the column
