"""`branchops queue import|rollup` and `branchops demo tickets`."""

import csv
import shutil
from datetime import date, timedelta
from io import StringIO

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from branchops.queueing import queries, rollup, simulate
from branchops.queueing.models import TicketImport
from branchops.queueing.schema import DEVICE_COLUMNS, TICKET_COLUMNS
from branchops.queueing.store import TicketStore

from .conftest import START


def run(*args):
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args):
    out, err = StringIO(), StringIO()
    with translation.override("en"), pytest.raises(CommandError) as exc:
        call_command(*args, stdout=out, stderr=err)
    return exc.value, out.getvalue(), err.getvalue()


@pytest.fixture
def small_csv(bank, tmp_path):
    """Two days of the bank's three outlets as CSV, line 5 with an unknown outlet."""
    codes = [bank.o11.code, bank.o12.code, bank.o21.code]
    results = list(simulate.generate_logs(3, 2, 3, start_date=START, outlet_codes=codes))
    path = tmp_path / "tickets.csv"
    simulate.write_csv([r.tickets for r in results], path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = "NOPE" + lines[4][lines[4].index(","):]
    path.write_text("".join(lines), encoding="utf-8")
    devices = tmp_path / "devices.csv"
    simulate.write_csv([r.devices for r in results], devices)
    return path, devices, len(lines) - 1


def stored_tickets(root) -> int:
    store = TicketStore(root)
    return sum(store.read_partition(m, o).num_rows for m, o in store.partitions())


def test_import_reports_the_bad_row_stores_the_rest_and_records_the_import(bank, queue_dir, small_csv, client):
    path, _devices, rows = small_csv
    error, out, err = run_failing("queue", "import", str(path))
    assert error.returncode == 1
    assert "line 5, outlet_code: unknown outlet: “NOPE”" in err
    assert f"{path}: rows read {rows}," in out and "rejected 1" in out
    assert "tickets.csv" in err  # the progress bar, on stderr

    batch = TicketImport.objects.get()
    assert batch.status == TicketImport.Status.DONE and batch.uploaded_by is None
    assert batch.institution == bank.branch and batch.file_name == "tickets.csv"
    assert batch.kind == TicketImport.Kind.TICKETS and batch.finished_at is not None
    assert batch.rejected == 1 and batch.total_rows == rows
    assert batch.added == rows - 1 - batch.recalls
    assert batch.errors == [{"line": 5, "field": "outlet_code", "reason": "unknown_outlet", "value": "NOPE"}]
    assert stored_tickets(queue_dir) == batch.added
    assert list(queries.imports(bank.users["sec1"])) == [batch]  # in the branch's import history
    client.force_login(bank.users["sec1"])
    assert "tickets.csv" in client.get(reverse("queueing:imports")).content.decode()
    assert "NOPE" in client.get(reverse("queueing:import", args=[batch.pk])).content.decode()
    # The roll-ups were refreshed: the KPIs see every stored ticket.
    kpis = queries.kpi_table(bank.users["sec1"], START, START + timedelta(days=1), level="branch")
    assert [r["arrivals"] for r in kpis] == [batch.added]

    error, out, err = run_failing("queue", "import", "--quiet", str(path))
    again = TicketImport.objects.order_by("-pk").first()
    assert again.pk != batch.pk and again.added == 0 and again.already_stored == batch.added
    assert out == "" and "line 5" in err and "tickets.csv:" in err
    assert stored_tickets(queue_dir) == batch.added


def test_import_lists_at_most_fifty_rejected_rows(bank, queue_dir, small_csv):
    path, _devices, rows = small_csv
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in range(1, 61):
        lines[i] = "NOPE" + lines[i][lines[i].index(","):]
    path.write_text("".join(lines), encoding="utf-8")
    _error, _out, err = run_failing("queue", "import", str(path))
    listed = [line for line in err.splitlines() if line.startswith("  line ")]
    assert len(listed) == 50 and listed[0].startswith("  line 2,") and listed[-1].startswith("  line 51,")
    assert "  … and 10 more" in err


def test_missing_file_imports_nothing(bank, queue_dir, small_csv, tmp_path):
    path, _devices, _rows = small_csv
    missing = tmp_path / "nowhere.csv"
    error, _out, _err = run_failing("queue", "import", str(path), str(missing))
    assert str(missing) in str(error)
    assert not TicketImport.objects.exists() and not (queue_dir / "tickets").exists()
    error, _out, _err = run_failing("queue", "import", str(tmp_path))
    assert str(tmp_path) in str(error)


def test_unreadable_file_is_a_failed_import(bank, queue_dir, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    error, _out, err = run_failing("queue", "import", str(path))
    assert error.returncode == 1 and "wrong.csv: not imported: A column is missing: outlet_code" in err
    assert TicketImport.objects.get().status == TicketImport.Status.FAILED


def test_device_logs(bank, queue_dir, small_csv):
    _tickets, devices, _rows = small_csv
    rows = len(devices.read_text(encoding="utf-8").splitlines()) - 1
    out, _err = run("queue", "import", "--kind", "devices", str(devices))
    batch = TicketImport.objects.get()
    assert batch.kind == TicketImport.Kind.DEVICES and batch.status == TicketImport.Status.DONE
    assert batch.added == batch.total_rows == rows > 0
    assert f"added {batch.added}," in out and "rejected 0" in out
    store = TicketStore(queue_dir)
    assert {o for _m, o in store.partitions("devices")} == {bank.o11.code, bank.o12.code, bank.o21.code}


def test_rollup_rebuild(bank, queue_dir, small_csv):
    path, _devices, _rows = small_csv
    run_failing("queue", "import", str(path))
    detail = queue_dir / rollup.DETAIL
    assert detail.exists()
    shutil.rmtree(detail)
    out, _err = run("queue", "rollup", "--month", START.strftime("%Y-%m"))
    assert "partitions (outlet × month) 3, months 1," in out
    assert detail.exists()
    error, _out, _err = run_failing("queue", "rollup", "--month", "2026-13")
    assert "2026-13" in str(error)


def test_demo_tickets_to_csv(db, tmp_path):
    out_path = tmp_path / "sim.csv"
    out, _err = run("demo", "tickets", "--outlets", "2", "--days", "3", "--seed", "5", "--start", "2026-03-02",
                    "--out", str(out_path))
    with open(out_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == TICKET_COLUMNS
        codes = {row[0] for row in reader}
    assert codes == {"O0001", "O0002"}  # no outlets in the database: generated codes
    devices = tmp_path / "sim-devices.csv"
    with open(devices, newline="", encoding="utf-8") as fh:
        assert tuple(next(csv.reader(fh))) == DEVICE_COLUMNS
    assert f"written to {out_path} and {devices}" in out and not list(tmp_path.glob(".*"))  # no temporary file left

    parquet = tmp_path / "sim.parquet"
    run("demo", "tickets", "--outlets", "1", "--days", "2", "--start", "2026-03-02", "--out", str(parquet))
    assert tuple(pq.read_schema(parquet).names) == TICKET_COLUMNS
    assert tuple(pq.read_schema(tmp_path / "sim-devices.parquet").names) == DEVICE_COLUMNS
    error, _out, _err = run_failing("demo", "tickets", "--outlets", "1", "--out", str(tmp_path / "x.xlsx"))
    assert "x.xlsx" in str(error)


def test_demo_tickets_into_the_store(bank, queue_dir, settings):
    args = ("demo", "tickets", "--outlets", "2", "--days", "7", "--start", "2026-03-02")
    settings.DEBUG = False
    error, _out, _err = run_failing(*args)  # simulated tickets in a production store: refused
    assert "DEBUG" in str(error)
    settings.DEBUG = True
    out, err = run(*args)
    assert "Simulating" in err
    store = TicketStore(queue_dir)
    assert {o for _m, o in store.partitions()} == {bank.o11.code, bank.o12.code}  # the first two by code
    assert {o for _m, o in store.partitions("devices")} == {bank.o11.code, bank.o12.code}
    total = stored_tickets(queue_dir)
    assert total > 1000 and f"tickets added {total}," in out
    kpis = queries.kpi_table(bank.users["sec1"], date(2026, 3, 2), date(2026, 3, 8), level="branch")
    assert [r["arrivals"] for r in kpis] == [total]
    out, _err = run(*args)
    assert "tickets added 0," in out and stored_tickets(queue_dir) == total

    error, _out, _err = run_failing("demo", "tickets", "--outlets", "4", "--days", "2")
    assert "3" in str(error) and "4" in str(error)  # three outlets exist, four asked for
