"""Import of queue-machine ticket logs and device logs into the partitioned Parquet store.

Pure pyarrow/DuckDB: no database. Files are written to tmp_path; CSV line numbers count the header as 1.
"""

import csv
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from branchops.queueing import store as st
from branchops.queueing.schema import DEVICE_COLUMNS, DEVICE_SCHEMA, TICKET_COLUMNS, TICKET_SCHEMA

KNOWN = {"SZ0101", "SZ0102", "SZ0201"}


def ticket(no="A001", outlet="SZ0101", day="2026-03-02", issued="09:00:00", called="09:05:00",
           start="09:05:30", end="09:12:00", outcome="served", **over):
    row = {
        "outlet_code": outlet, "ticket_date": day, "ticket_no": no, "business_type": "deposit",
        "customer_tier": "regular", "queue_type": "cash", "issued_at": f"{day}T{issued}",
        "called_at": f"{day}T{called}" if called else "",
        "service_start_at": f"{day}T{start}" if start else "",
        "service_end_at": f"{day}T{end}" if end else "", "counter_no": "3", "teller_no": "T001",
        "outcome": outcome,
    }
    row.update(over)
    return row


def abandoned(no="A009", **over):
    return ticket(no, called="", start="", end="", outcome="abandoned", counter_no="", teller_no="", **over)


def write_csv(path, rows, header=TICKET_COLUMNS, bom=False, newline="\n"):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator=newline)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header] if isinstance(r, dict) else r)
    return path


def stored(root, kind="tickets"):
    files = sorted((root / kind).glob("month=*/outlet=*/data.parquet"))
    schema = TICKET_SCHEMA if kind == "tickets" else DEVICE_SCHEMA
    return pa.concat_tables([pq.read_table(f, schema=schema) for f in files]) if files else None


def assert_file_schema(path, schema):
    """The file holds exactly the schema's columns; Parquet has no second unit, so times are stored as ms."""
    as_stored = pa.schema([f.with_type(pa.timestamp("ms")) if pa.types.is_timestamp(f.type) else f
                           for f in schema])
    assert pq.read_schema(path).remove_metadata().equals(as_stored)
    assert pq.read_table(path, schema=schema).schema.equals(schema)


def codes(summary_or_errors):
    errors = summary_or_errors if isinstance(summary_or_errors, list) else summary_or_errors.files[0].errors
    return {(e.line, e.code, e.field) for e in errors}


# ------------------------------------------------------------------------------------------ layout


def test_good_rows_are_stored_one_sorted_file_per_month_and_outlet(tmp_path):
    rows = [
        ticket("A003", issued="10:00:00", called="10:01:00", start="10:01:10", end="10:05:00"),
        ticket("A001"),
        ticket("B001", outlet="SZ0102"),
        ticket("A002", day="2026-02-27"),
        ticket("A001", day="2026-03-03", issued="08:59:00"),
        ticket("A002", issued="09:00:00"),  # same second as A001: ticket_no breaks the tie
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)

    assert (summary.rows_read, summary.added, summary.rejected, summary.already_stored) == (6, 6, 0, 0)
    assert summary.partitions == [("2026-02", "SZ0101"), ("2026-03", "SZ0101"), ("2026-03", "SZ0102")]
    root = tmp_path / "data"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.name != ".lock" and p.relative_to(root).parts[0] not in ("imports", "rollup_stale"))
    assert not (root / "journal").exists() or not any((root / "journal").iterdir())  # nothing left under way
    assert files == [
        "tickets/month=2026-02/outlet=SZ0101/data.parquet",
        "tickets/month=2026-03/outlet=SZ0101/data.parquet",
        "tickets/month=2026-03/outlet=SZ0102/data.parquet",
    ]
    assert_file_schema(root / "tickets/month=2026-03/outlet=SZ0101/data.parquet", TICKET_SCHEMA)  # no month
    march = st.TicketStore(root).read_partition("2026-03", "SZ0101")
    got = [(r["ticket_date"].day, f"{r['issued_at']:%H:%M}", r["ticket_no"]) for r in march.to_pylist()]
    assert got == [(2, "09:00", "A001"), (2, "09:00", "A002"), (2, "10:00", "A003"), (3, "08:59", "A001")]
    store = st.TicketStore(root)
    assert store.partitions() == summary.partitions
    con = duckdb.connect()
    n, months = con.sql(f"SELECT count(*), count(DISTINCT month) FROM read_parquet('{store.tickets_glob()}', "
                        "hive_partitioning=true)").fetchall()[0]
    assert (n, months) == (6, 2)
    per_outlet = con.sql(f"SELECT outlet, count(*) FROM {store.tickets_sql()} GROUP BY ALL ORDER BY 1")
    assert per_outlet.fetchall() == [("SZ0101", 5), ("SZ0102", 1)]


def test_validate_returns_typed_good_rows_in_store_order_and_unpacks_as_a_pair(tmp_path):
    rows = [ticket("A002", issued="09:30:00", called="09:31:00", start="09:31:30", end="09:40:00"),
            ticket("A001", outlet="SZ0102"), ticket("A001")]
    raw = st.read_ticket_file(write_csv(tmp_path / "t.csv", rows))
    assert raw.column_names == [*TICKET_COLUMNS, "line"]
    assert raw["line"].to_pylist() == [2, 3, 4]
    good, errors = st.validate_tickets(raw, KNOWN)
    assert errors == []
    assert good.schema.equals(TICKET_SCHEMA)
    assert [(r["outlet_code"], r["ticket_no"]) for r in good.to_pylist()] == [
        ("SZ0101", "A001"), ("SZ0101", "A002"), ("SZ0102", "A001")]
    assert good["called_at"][0].as_py() == datetime(2026, 3, 2, 9, 5)


# ------------------------------------------------------------------------------------------ rejections


def test_every_rejection_reason_is_reported_with_its_line_and_no_bad_row_is_stored(tmp_path):
    rows = [
        ticket("A001"),                                                   # 2 good
        ticket("A002", outlet="ZZ9999"),                                  # 3 unknown outlet
        ticket("A003", called="08:59:00"),                                # 4 called before issued
        ticket("A004", business_type=""),                                 # 5 missing field
        ticket("A005", customer_tier="gold"),                             # 6 bad enum
        ticket("A006", issued_at="2026-03-02 9:00"),                      # 7 unparseable time
        ticket("A007", ticket_date="2026-03-03"),                         # 8 date ≠ date of issued_at
        abandoned("A008", called_at="2026-03-02T09:03:00"),               # 9 abandoned with a call
        ticket("A001"),                                                   # 10 same ticket, same call
        ticket("A010", counter_no="", service_end_at=""),                 # 11 served without counter/end
        ticket("A011", end="09:05:00"),                                   # 12 end before start
        ticket("A012", ticket_date="2026-02-30"),                         # 13 not a date
        abandoned("A013"),                                                # 14 good: abandoned, no times
        ticket("A014", outcome="transferred"),                            # 15 good
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert codes(summary) == {
        (3, "unknown_outlet", "outlet_code"),
        (4, "times_out_of_order", "called_at"),
        (5, "missing_field", "business_type"),
        (6, "bad_value", "customer_tier"),
        (7, "bad_value", "issued_at"),
        (8, "date_mismatch", "ticket_date"),
        (9, "bad_value", "called_at"),
        (10, "duplicate_ticket", "ticket_no"),
        (11, "missing_field", "counter_no"),
        (11, "missing_field", "service_end_at"),
        (12, "times_out_of_order", "service_end_at"),
        (13, "bad_value", "ticket_date"),
    }
    by_line = {e.line: e for e in summary.files[0].errors}
    assert by_line[10].message == "duplicate ticket (first on line 2)"
    assert by_line[3].value == "ZZ9999" and by_line[6].value == "gold"
    assert all(e.reason == e.code and e.message for e in summary.files[0].errors)
    assert (summary.rows_read, summary.rejected, summary.error_count, summary.added) == (14, 11, 12, 3)
    assert summary.rows_read == summary.added + summary.already_stored + summary.recalls + summary.rejected
    assert sorted(stored(tmp_path / "data")["ticket_no"].to_pylist()) == ["A001", "A013", "A014"]


def test_a_row_with_several_problems_reports_all_of_them(tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket("A001", outlet="XX01", customer_tier="", queue_type="bus",
                                                 called="08:00:00")])
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert codes(summary) == {(2, "unknown_outlet", "outlet_code"), (2, "missing_field", "customer_tier"),
                              (2, "bad_value", "queue_type"), (2, "times_out_of_order", "called_at")}
    assert (summary.rejected, summary.error_count, summary.added) == (1, 4, 0)
    assert stored(tmp_path / "data") is None


def test_values_are_trimmed_and_enum_codes_lower_cased(tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket(" A001 ", customer_tier=" VIP", queue_type="Cash ",
                                                 outcome="SERVED", outlet_code="SZ0101 ")])
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert summary.errors == {} and summary.added == 1
    row = stored(tmp_path / "data").to_pylist()[0]
    got = (row["ticket_no"], row["customer_tier"], row["queue_type"], row["outcome"])
    assert got == ("A001", "vip", "cash", "served")


def test_outlet_codes_that_cannot_name_a_directory_are_refused_even_without_a_known_list(tmp_path):
    raw = st.read_ticket_file(write_csv(tmp_path / "t.csv", [ticket(outlet="../x"),
                                                             ticket("A2", outlet="SZ9")]))
    good, errors = st.validate_tickets(raw, None)
    assert codes(errors) == {(2, "bad_value", "outlet_code")}
    assert good["outlet_code"].to_pylist() == ["SZ9"]
    with pytest.raises(ValueError):
        st.TicketStore(tmp_path).append_tickets(
            pa.table({c: [v] for c, v in zip(TICKET_SCHEMA.names, good.slice(0, 1).to_pylist()[0].values(),
                                             strict=True)}, schema=TICKET_SCHEMA).set_column(
                0, "outlet_code", pa.array(["a/b"])))


def test_max_errors_caps_the_list_but_not_the_counts(tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket(f"A{i:03d}", outlet="NOPE") for i in range(50)])
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN, max_errors=10)
    report = summary.files[0]
    assert [e.line for e in report.errors] == list(range(2, 12))
    assert (report.rejected, report.error_count) == (50, 50)


# --------------------------------------------------------------------------------------- recalls, re-import


def test_a_recalled_ticket_keeps_its_last_call_and_counts_the_others_as_recalls(tmp_path):
    rows = [
        ticket("A001", called="09:20:00", start="09:20:30", end="09:30:00"),   # last call, listed first
        ticket("A001", called="09:05:00", start="09:20:30", end="09:30:00"),   # no-show call
        ticket("A001", called="09:10:00", start="09:20:30", end="09:30:00"),   # another no-show call
        ticket("A002"),
    ]
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", rows)], tmp_path / "data", KNOWN)
    assert (summary.added, summary.recalls, summary.rejected) == (2, 2, 0)
    a001 = [r for r in stored(tmp_path / "data").to_pylist() if r["ticket_no"] == "A001"]
    assert [r["called_at"].strftime("%H:%M") for r in a001] == ["09:20"]


def test_the_same_call_twice_is_a_duplicate_even_among_recalls(tmp_path):
    rows = [ticket("A001", called="09:05:00", end="09:30:00", start="09:20:00"),
            ticket("A001", called="09:05:00", end="09:30:00", start="09:20:00"),
            ticket("A001", called="09:15:00", end="09:30:00", start="09:20:00")]
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", rows)], tmp_path / "data", KNOWN)
    assert codes(summary) == {(3, "duplicate_ticket", "ticket_no")}
    assert (summary.added, summary.recalls, summary.rejected) == (1, 1, 1)


def test_reimporting_the_same_file_adds_nothing_and_leaves_the_files_alone(tmp_path):
    path = write_csv(tmp_path / "t.csv", [ticket("A001"), ticket("A002"), ticket("B001", outlet="SZ0102"),
                                          ticket("A003", outlet="NOPE")])
    root = tmp_path / "data"
    first = st.import_ticket_files([path], root, KNOWN)
    files = {p: p.stat().st_mtime_ns for p in root.rglob("data.parquet")}
    again = st.import_ticket_files([path], root, KNOWN)
    assert (first.added, first.already_stored) == (3, 0)
    assert (again.added, again.already_stored, again.rejected, again.partitions) == (0, 3, 1, [])
    assert {p: p.stat().st_mtime_ns for p in root.rglob("data.parquet")} == files
    assert stored(root).num_rows == 3


def test_a_later_file_merges_into_the_stored_partition_in_order(tmp_path):
    root = tmp_path / "data"
    st.import_ticket_files([write_csv(tmp_path / "a.csv", [ticket("A001"), ticket("A003", issued="11:00:00",
                                      called="11:01:00", start="11:02:00", end="11:03:00")])], root, KNOWN)
    second = write_csv(tmp_path / "b.csv", [
        ticket("A001"),
        ticket("A002", issued="10:00:00", called="10:01:00", start="10:02:00", end="10:03:00")])
    summary = st.import_ticket_files([second], root, KNOWN)
    assert (summary.added, summary.already_stored) == (1, 1)
    table = pq.read_table(root / "tickets/month=2026-03/outlet=SZ0101/data.parquet")
    assert table["ticket_no"].to_pylist() == ["A001", "A002", "A003"]
    assert_file_schema(root / "tickets/month=2026-03/outlet=SZ0101/data.parquet", TICKET_SCHEMA)


def test_append_sorts_a_table_that_is_not_in_store_order(tmp_path):
    good, _ = st.validate_tickets(st.read_ticket_file(write_csv(tmp_path / "t.csv", [
        ticket("A001"), ticket("A002", issued="09:01:00"), ticket("A001", outlet="SZ0102")])), KNOWN)
    shuffled = good.take([2, 1, 0])
    result = st.TicketStore(tmp_path / "data").append_tickets(shuffled)
    assert (result.added, result.already_stored) == (3, 0)
    table = pq.read_table(tmp_path / "data/tickets/month=2026-03/outlet=SZ0101/data.parquet")
    assert table["ticket_no"].to_pylist() == ["A001", "A002"]


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    root = tmp_path / "data"
    part = root / "tickets/month=2026-03/outlet=SZ0101"
    part.mkdir(parents=True)
    (part / "data.parquet.tmp-deadbeef").write_bytes(b"half a file from a writer that died")
    os.utime(part / "data.parquet.tmp-deadbeef", (time.time() - 3600, time.time() - 3600))
    st.import_ticket_files([write_csv(tmp_path / "t.csv", [ticket("A001")])], root, KNOWN)
    assert sorted(p.name for p in part.iterdir()) == ["data.parquet"]

    # A failing write keeps the old file whole and removes its temporary file.
    def broken(table, where, **kwargs):
        open(where, "wb").write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(st.pq, "write_table", broken)
    with pytest.raises(OSError):
        st.import_ticket_files([write_csv(tmp_path / "u.csv", [ticket("A002")])], root, KNOWN)
    assert sorted(p.name for p in part.iterdir()) == ["data.parquet"]
    assert pq.read_table(part / "data.parquet")["ticket_no"].to_pylist() == ["A001"]


def test_concurrent_writers_to_one_partition_lose_nothing(tmp_path):
    root = tmp_path / "data"
    files = [write_csv(tmp_path / f"f{i}.csv", [ticket(f"T{i:02d}{j:02d}", issued=f"10:{i:02d}:{j:02d}",
                                                      called="11:00:00", start="11:00:10", end="11:05:00")
                                               for j in range(20)]) for i in range(8)]

    def run(paths):  # each thread with its own store object: only the file lock keeps them apart
        return [st.import_ticket_files([p], root, KNOWN).added for p in paths]

    with ThreadPoolExecutor(2) as pool:
        added = sum(sum(r) for r in pool.map(run, [files[::2], files[1::2]]))
    assert added == 160
    assert stored(root).num_rows == 160
    assert [p.name for p in (root / "tickets/month=2026-03/outlet=SZ0101").iterdir()] == ["data.parquet"]


def test_delete_outlet_month(tmp_path):
    root = tmp_path / "data"
    st.import_ticket_files([write_csv(tmp_path / "t.csv", [ticket("A001"), ticket("B1", outlet="SZ0102")])],
                           root, KNOWN)
    store = st.TicketStore(root)
    assert store.delete_outlet_month("2026-03", "SZ0101") is True
    assert store.delete_outlet_month("2026-03", "SZ0101") is False
    assert store.partitions() == [("2026-03", "SZ0102")]


# ------------------------------------------------------------------------------------------ file formats


def test_csv_with_bom_crlf_blank_lines_and_rows_of_the_wrong_length(tmp_path):
    path = tmp_path / "t.csv"
    header = ",".join(TICKET_COLUMNS)
    good = ",".join(ticket("A001").values())
    short = ",".join(list(ticket("A002").values())[:10])
    long = ",".join([*ticket("A003").values(), "surplus"])
    later = ",".join(ticket("A004", issued="09:01:00").values())
    path.write_bytes(("\ufeff" + "\r\n".join([header, good, "", short, long, later]) + "\r\n").encode())
    raw = st.read_ticket_file(path)
    assert raw["line"].to_pylist() == [2, 3, 4, 5, 6]
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert codes(summary) == {(4, "missing_field", "outcome"), (5, "bad_value", "")}
    assert summary.files[0].errors[-1].value == "surplus"
    assert (summary.rows_read, summary.added, summary.rejected) == (4, 2, 2)  # the blank line is no row


def test_header_errors_refuse_the_whole_file_and_name_the_column(tmp_path):
    missing = write_csv(tmp_path / "missing.csv", [["x"] * 12],
                        header=[c for c in TICKET_COLUMNS if c != "teller_no"])
    unknown = write_csv(tmp_path / "unknown.csv", [], header=[*TICKET_COLUMNS, "remark"])
    twice = write_csv(tmp_path / "twice.csv", [], header=[*TICKET_COLUMNS, "outcome"])
    renamed = write_csv(tmp_path / "renamed.csv", [], header=["outlet", *TICKET_COLUMNS[1:]])
    for path, code, column in [(missing, "missing_column", "teller_no"),
                               (unknown, "unknown_column", "remark"),
                               (twice, "duplicate_column", "outcome"),
                               (renamed, "missing_column", "outlet_code")]:
        with pytest.raises(st.ImportFileError) as exc:
            st.read_ticket_file(path)
        assert (exc.value.code, exc.value.column) == (code, column), path.name
    good = write_csv(tmp_path / "good.csv", [ticket()])
    summary = st.import_ticket_files([missing, good, tmp_path / "t.json", tmp_path / "gone.csv"],
                                     tmp_path / "data", KNOWN)
    assert [f.file_error.code if f.file_error else None for f in summary.files] == [
        "missing_column", None, "unsupported_format", "unreadable_file"]
    assert summary.added == 1 and len(summary.failed_files) == 3
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbled = tmp_path / "garbled.csv"  # neither UTF-8 nor GB18030
    garbled.write_bytes(",".join(TICKET_COLUMNS).encode() + b"\n\xff\xff\xff" + b",x" * 12 + b"\n")
    for path, code in [(empty, "empty_file"), (garbled, "bad_encoding")]:
        with pytest.raises(st.ImportFileError) as exc:
            st.read_ticket_file(path)
        assert exc.value.code == code


def test_gbk_exports_of_queue_machines_are_read(tmp_path):
    rows = [ticket(), ticket("A002", teller_no="柜员张三")]
    path = tmp_path / "gbk.csv"
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(TICKET_COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") for c in TICKET_COLUMNS])
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert summary.added == 2 and summary.errors == {}
    assert "柜员张三" in stored(tmp_path / "data").column("teller_no").to_pylist()


def test_columns_may_come_in_any_order(tmp_path):
    header = list(reversed(TICKET_COLUMNS))
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", [ticket()], header=header)],
                                     tmp_path / "data", KNOWN)
    assert summary.added == 1 and summary.errors == {}


def test_xlsx_rows_are_numbered_as_in_the_sheet(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(list(TICKET_COLUMNS))
    good = ticket("A001")
    typed = {**good, "ticket_date": date(2026, 3, 2), "issued_at": datetime(2026, 3, 2, 9, 0, 0, 999_800),
             "called_at": datetime(2026, 3, 2, 9, 5), "counter_no": 3}
    ws.append([typed[c] for c in TICKET_COLUMNS])
    ws.append([None] * len(TICKET_COLUMNS))  # an empty row 3
    ws.append([ticket("A002", outlet="NOPE")[c] for c in TICKET_COLUMNS])  # row 4
    path = tmp_path / "t.xlsx"
    wb.save(path)
    raw = st.read_ticket_file(path)
    assert raw["line"].to_pylist() == [2, 4]
    assert raw["issued_at"][0].as_py() == "2026-03-02 09:00:01"  # Excel's float time rounded to the second
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert codes(summary) == {(4, "unknown_outlet", "outlet_code")}
    row = stored(tmp_path / "data").to_pylist()[0]
    assert (row["counter_no"], row["called_at"]) == ("3", datetime(2026, 3, 2, 9, 5))


def test_parquet_input_with_typed_columns(tmp_path):
    rows = [ticket("A001"), ticket("A002", customer_tier="gold")]
    table = pa.table({c: [r[c] or None for r in rows] for c in TICKET_COLUMNS})
    table = table.set_column(1, "ticket_date", pc.cast(table["ticket_date"], pa.date32()))
    for c in ("issued_at", "called_at", "service_start_at", "service_end_at"):
        table = table.set_column(table.column_names.index(c), c, pc.cast(table[c], pa.timestamp("ms")))
    table = table.set_column(table.column_names.index("counter_no"), "counter_no",
                             pa.array([3, 4], pa.int32()))
    # an instant with a zone is read as the outlets' wall-clock time (Asia/Shanghai, UTC+8)
    table = table.set_column(table.column_names.index("issued_at"), "issued_at",
                             pa.array([datetime(2026, 3, 2, 1, 0)] * 2, pa.timestamp("s", tz="UTC")))
    pq.write_table(table, tmp_path / "t.parquet")
    summary = st.import_ticket_files([tmp_path / "t.parquet"], tmp_path / "data", KNOWN)
    assert codes(summary) == {(3, "bad_value", "customer_tier")}
    row = stored(tmp_path / "data").to_pylist()[0]
    assert (row["counter_no"], row["issued_at"]) == ("3", datetime(2026, 3, 2, 9, 0))


# ------------------------------------------------------------------------------------------ devices


def device(dev="D01", outlet="SZ0101", kind="cash_withdrawal", start="2026-03-02T09:00:00",
           end="2026-03-02T09:02:00"):
    return {"device_id": dev, "outlet_code": outlet, "txn_type": kind, "start_at": start, "end_at": end}


def test_device_logs_are_validated_and_stored_by_month_and_outlet(tmp_path):
    rows = [
        device("D01", start="2026-03-02T10:00:00", end="2026-03-02T10:01:00"),
        device("D02"),
        device("D01", start="2026-04-01T09:00:00", end="2026-04-01T09:00:40"),
        device("D01", start="2026-03-02T10:00:00", end="2026-03-02T10:01:00"),   # 5 duplicate of 2
        device("D03", end="2026-03-02T08:00:00"),                                # 6 ends before it starts
        device("D04", outlet="NOPE", kind=""),                                   # 7 two problems
    ]
    path = write_csv(tmp_path / "d.csv", rows, header=DEVICE_COLUMNS)
    root = tmp_path / "data"
    summary = st.import_device_files([path], root, KNOWN)
    assert codes(summary) == {(5, "duplicate_record", "start_at"), (6, "times_out_of_order", "end_at"),
                              (7, "unknown_outlet", "outlet_code"), (7, "missing_field", "txn_type")}
    assert summary.files[0].errors[0].message == "duplicate record (first on line 2)"
    assert (summary.added, summary.rejected) == (3, 3)
    assert st.TicketStore(root).partitions("devices") == [("2026-03", "SZ0101"), ("2026-04", "SZ0101")]
    assert_file_schema(root / "devices/month=2026-03/outlet=SZ0101/data.parquet", DEVICE_SCHEMA)
    march = st.TicketStore(root).read_partition("2026-03", "SZ0101", "devices")
    assert march["device_id"].to_pylist() == ["D02", "D01"]  # by start_at
    again = st.import_device_files([path], root, KNOWN)
    assert (again.added, again.already_stored) == (0, 3)
    n = duckdb.connect().sql(f"SELECT count(*) FROM {st.TicketStore(root).devices_sql()}").fetchall()[0][0]
    assert n == 3


# ------------------------------------------------------------------------------------------ scale, progress


def generated_csv(path, n, outlets=20, bad_every=1000):
    """n tickets over a month of working days, every bad_every-th row with an unknown outlet."""
    rng = np.random.default_rng(3)
    days = np.arange(np.datetime64("2026-03-02"), np.datetime64("2026-03-31"))
    days = days[np.is_busday(days)]
    per = -(-n // (len(days) * outlets))
    block = np.arange(n) // per
    seq = np.arange(n) % per + 1
    day = days[block // outlets]
    issued = day.astype("datetime64[s]") + np.timedelta64(9 * 3600, "s") + np.sort(
        rng.integers(0, 8 * 3600, n) + block * 100_000) - block * 100_000
    called = issued + rng.integers(5, 900, n)
    start = called + 20
    end = start + rng.integers(30, 900, n)
    names = np.array([f"SZ{o:04d}" for o in range(outlets)] + ["NOPE"])
    out_idx = block % outlets
    out_idx[::bad_every] = outlets

    def text(a):
        return pc.replace_substring(pa.array(a, pa.timestamp("s")).cast(pa.string()), " ", "T")

    table = pa.table({
        "outlet_code": pa.array(names).take(pa.array(out_idx)),
        "ticket_date": pa.array(day).cast(pa.string()),
        "ticket_no": pc.binary_join_element_wise("A", pa.array(seq).cast(pa.string()), ""),
        "business_type": pa.array(np.array(["deposit", "card", "loan"])[seq % 3]),
        "customer_tier": pa.array(np.array(["regular", "vip"])[(seq % 7 == 0).astype(int)]),
        "queue_type": pa.array(np.array(["cash", "non_cash"])[seq % 2]),
        "issued_at": text(issued), "called_at": text(called), "service_start_at": text(start),
        "service_end_at": text(end), "counter_no": pa.array(seq % 5 + 1).cast(pa.string()),
        "teller_no": pa.array(np.full(n, "T01")), "outcome": pa.array(np.full(n, "served")),
    })
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
    return {f"SZ{o:04d}" for o in range(outlets)}, len(range(0, n, bad_every))


def test_a_larger_generated_file_imports_quickly_with_progress(tmp_path):
    n = 200_000
    known, n_bad = generated_csv(tmp_path / "big.csv", n)
    calls = []
    t0 = time.perf_counter()
    summary = st.import_ticket_files([tmp_path / "big.csv"], tmp_path / "data", known,
                                     progress_callback=lambda done, total: calls.append((done, total)))
    seconds = time.perf_counter() - t0
    assert (summary.rows_read, summary.rejected, summary.added) == (n, n_bad, n - n_bad)
    assert len(summary.files[0].errors) == min(n_bad, st.DEFAULT_MAX_ERRORS)
    assert summary.files[0].error_count == n_bad
    assert len(summary.partitions) == 20
    assert seconds < 30, seconds  # ~1–2 s on an idle two-core machine; generous for a busy CI box
    assert calls[-1][0] == calls[-1][1] == n
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    con = duckdb.connect()
    glob = st.TicketStore(tmp_path / "data").tickets_glob()
    assert con.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0] == n - n_bad
    # every file sorted by (ticket_date, issued_at, ticket_no)
    for f in (tmp_path / "data/tickets").glob("*/*/data.parquet"):
        t = pq.read_table(f)
        order = pc.sort_indices(t, [("ticket_date", "ascending"), ("issued_at", "ascending"),
                                    ("ticket_no", "ascending")])
        assert order.to_pylist() == list(range(t.num_rows))


def test_store_order_is_the_same_from_long_runs_and_from_a_shuffled_file(tmp_path):
    rows = [ticket(f"A{i:04d}", outlet=outlet, issued=f"{9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
                   called="17:00:00", start="17:00:10", end="17:01:00")
            for outlet in ("SZ0101", "SZ0102") for i in range(2500)]
    raw = st.read_ticket_file(write_csv(tmp_path / "t.csv", rows))
    in_batches = pa.Table.from_batches(raw.to_batches(max_chunksize=700))  # runs cross batch boundaries
    from_runs, errors = st.validate_tickets(in_batches, KNOWN)
    assert errors == []
    shuffled = raw.take(np.random.default_rng(1).permutation(raw.num_rows))
    from_shuffled, _ = st.validate_tickets(shuffled, KNOWN)
    assert from_runs.equals(from_shuffled)
    assert from_runs["ticket_no"].to_pylist() == [r["ticket_no"] for r in rows]
    # a copy is not trusted blindly: append checks the order again, and it holds
    result = st.TicketStore(tmp_path / "data").append_tickets(from_shuffled.select(TICKET_SCHEMA.names))
    assert (result.added, result.partitions) == (5000, [("2026-03", "SZ0101"), ("2026-03", "SZ0102")])
    assert stored(tmp_path / "data").equals(from_runs)
