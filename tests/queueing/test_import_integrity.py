"""Import semantics a bank can trust: the ticket key, recalls, clashes, replace and undo (store level)."""

import pyarrow.parquet as pq
import pytest

from branchops.queueing import store as st

from .test_store import KNOWN, codes, stored, ticket, write_csv


def rows_of(root, no=None):
    table = stored(root)
    rows = table.to_pylist() if table is not None else []
    return [r for r in rows if no is None or r["ticket_no"] == no]


def test_ticket_numbers_reused_across_queue_lines_are_two_customers(tmp_path):
    # The issue's case: A001 drawn at 09:00 by a regular customer (cash line) and again at 09:30 by a VIP.
    rows = [ticket("A001", issued="09:00:00", called="09:05:00", start="09:05:30", end="09:12:00"),
            ticket("A001", issued="09:30:00", called="10:00:00", start="10:00:10", end="10:10:00",
                   customer_tier="vip", queue_type="vip")]
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", rows)], tmp_path / "data", KNOWN)
    assert (summary.added, summary.recalls, summary.rejected) == (2, 0, 0)
    got = sorted((r["customer_tier"], f"{r['issued_at']:%H:%M}", f"{r['called_at']:%H:%M}")
                 for r in rows_of(tmp_path / "data", "A001"))
    assert got == [("regular", "09:00", "09:05"), ("vip", "09:30", "10:00")]


@pytest.mark.parametrize("field, value", [("customer_tier", "vip"), ("business_type", "loan"),
                                          ("queue_type", "non_cash")])
def test_the_same_ticket_and_issue_time_with_another_identity_is_rejected_not_merged(tmp_path, field, value):
    rows = [ticket("A001"), ticket("A001", called="09:20:00", start="09:20:30", end="09:30:00", **{field: value})]
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", rows)], tmp_path / "data", KNOWN)
    assert codes(summary) == {(3, "conflicting_ticket", field)}
    error = summary.files[0].errors[0]
    assert "line 2" in error.message and error.value == value
    assert (summary.added, summary.recalls, summary.rejected) == (1, 0, 1)
    assert [r["customer_tier"] for r in rows_of(tmp_path / "data")] == ["regular"]
    assert f"{rows_of(tmp_path / 'data')[0]['called_at']:%H:%M}" == "09:05"  # the first line kept, untouched


def test_a_true_recall_in_a_later_file_is_applied_and_a_clash_with_the_store_is_rejected(tmp_path):
    root = tmp_path / "data"
    st.import_ticket_files([write_csv(tmp_path / "a.csv", [ticket("A001"), ticket("A002", issued="09:01:00"),
                                                           ticket("A003", issued="09:02:00")])], root, KNOWN)
    later = write_csv(tmp_path / "b.csv", [
        ticket("A001", called="09:20:00", start="09:20:30", end="09:30:00"),        # recalled later: applied
        ticket("A002", issued="09:01:00", customer_tier="vip"),                      # clash: rejected
        ticket("A003", issued="09:02:00", called="09:03:00"),                        # an earlier call: rejected
    ])
    summary = st.import_ticket_files([later], root, KNOWN)
    assert codes(summary) == {(3, "stored_conflict", "customer_tier"), (4, "stored_conflict", "called_at")}
    assert (summary.rows_read, summary.added, summary.rejected) == (3, 1, 2)
    assert summary.rows_read == summary.added + summary.already_stored + summary.recalls + summary.rejected
    assert [f"{r['called_at']:%H:%M}" for r in rows_of(root, "A001")] == ["09:20"]
    assert [(r["customer_tier"], f"{r['called_at']:%H:%M}") for r in rows_of(root, "A002")] == [("regular", "09:05")]
    assert [f"{r['called_at']:%H:%M}" for r in rows_of(root, "A003")] == ["09:05"]
    assert len(rows_of(root)) == 3


def test_reimport_is_idempotent_also_after_a_recall(tmp_path):
    root = tmp_path / "data"
    path = write_csv(tmp_path / "a.csv", [ticket("A001"), ticket("A001", called="09:20:00", start="09:20:30",
                                                                  end="09:30:00")])
    first = st.import_ticket_files([path], root, KNOWN)
    snapshot = rows_of(root)
    again = st.import_ticket_files([path], root, KNOWN)
    assert (first.added, first.recalls) == (1, 1)
    assert (again.added, again.already_stored, again.recalls, again.rejected, again.partitions) == (0, 1, 1, 0, [])
    assert again.files[0].txid is None and rows_of(root) == snapshot


def test_replace_mode_swaps_the_outlets_days_and_a_corrected_ticket_wins(tmp_path):
    root = tmp_path / "data"
    wrong = write_csv(tmp_path / "wrong.csv", [
        ticket("A001", customer_tier="vip"), ticket("A002", issued="08:50:00"),
        ticket("A003", day="2026-03-03"), ticket("B001", outlet="SZ0102")])
    st.import_ticket_files([wrong], root, KNOWN)
    fixed = write_csv(tmp_path / "fixed.csv", [ticket("A001"), ticket("A004", issued="08:40:00")])
    store = st.TicketStore(root)
    assert store.stored_days([("SZ0101", st.date(2026, 3, 2))]) == {"SZ0101": [st.date(2026, 3, 2)]}
    assert store.stored_days([("SZ0102", st.date(2026, 3, 3))]) == {}

    plain = st.import_ticket_files([fixed], tmp_path / "other", KNOWN)  # append elsewhere: no replace
    assert plain.files[0].replaced == 0
    summary = st.import_ticket_files([fixed], root, KNOWN, replace=True, txid="fix")
    report = summary.files[0]
    assert (report.added, report.replaced, report.rejected) == (2, 2, 0)
    assert report.replaced_days == [("SZ0101", st.date(2026, 3, 2))]
    got = sorted((r["outlet_code"], str(r["ticket_date"]), r["ticket_no"], r["customer_tier"]) for r in rows_of(root))
    assert got == [("SZ0101", "2026-03-02", "A001", "regular"), ("SZ0101", "2026-03-02", "A004", "regular"),
                   ("SZ0101", "2026-03-03", "A003", "regular"), ("SZ0102", "2026-03-02", "B001", "regular")]

    # Undo of the replace: the wrong day is back exactly as it was.
    undone = store.undo("fix")
    assert (undone.removed, undone.replaced) == (2, 2)
    got = sorted((r["ticket_no"], r["customer_tier"]) for r in rows_of(root) if r["outlet_code"] == "SZ0101")
    assert got == [("A001", "vip"), ("A002", "regular"), ("A003", "regular")]
    with pytest.raises(ValueError):
        store.undo("fix")  # once only


def test_undo_removes_exactly_what_the_import_added(tmp_path):
    root = tmp_path / "data"
    st.import_ticket_files([write_csv(tmp_path / "a.csv", [ticket("A001")])], root, KNOWN, txid="a")
    second = write_csv(tmp_path / "b.csv", [ticket("A001"), ticket("A002", issued="08:50:00"),
                                            ticket("B001", outlet="SZ0102")])
    summary = st.import_ticket_files([second], root, KNOWN, txid="b")
    assert (summary.added, summary.already_stored) == (2, 1)
    result = st.TicketStore(root).undo("b")
    assert result.removed == 2 and sorted(result.partitions) == [("2026-03", "SZ0101"), ("2026-03", "SZ0102")]
    assert [r["ticket_no"] for r in rows_of(root)] == ["A001"]  # the first import's ticket stays
    assert not (root / "tickets/month=2026-03/outlet=SZ0102").exists()  # an emptied partition is removed
    st.TicketStore(root).undo("a")
    assert rows_of(root) == []
    assert pq.read_table  # the store is still readable: a new import works
    assert st.import_ticket_files([second], root, KNOWN).added == 3


# ------------------------------------------------------------------------------------------ encodings

def encoded_file(path, rows, encoding, bom=False):
    lines = [",".join(st.TICKET_COLUMNS)] + [",".join(r.get(c, "") for c in st.TICKET_COLUMNS) for r in rows]
    data = b"".join(((codecs_bom if bom and i == 0 else b"") + line.encode(enc) + b"\n")
                    for i, (line, enc) in enumerate(zip(lines, encoding if isinstance(encoding, list)
                                                        else [encoding] * len(lines), strict=True)))
    path.write_bytes(data)
    return path


codecs_bom = b"\xef\xbb\xbf"
CHINESE = [ticket("A001", teller_no="柜员张三", business_type="个人存款"),
           ticket("A002", issued="09:01:00", teller_no="柜员李四", business_type="对公业务"),
           ticket("A003", issued="09:02:00", teller_no="陈大文", business_type="外汇")]


@pytest.mark.parametrize("encoding, bom", [("utf-8", False), ("utf-8", True), ("gb18030", False), ("gbk", False)])
def test_utf8_with_or_without_bom_and_gb18030_are_read_exactly(tmp_path, encoding, bom):
    path = encoded_file(tmp_path / "t.csv", CHINESE, encoding, bom)
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert summary.failed_files == [] and summary.added == 3
    got = sorted((r["teller_no"], r["business_type"]) for r in rows_of(tmp_path / "data"))
    assert got == [("柜员张三", "个人存款"), ("柜员李四", "对公业务"), ("陈大文", "外汇")]


def refused(tmp_path, path):
    summary = st.import_ticket_files([path], tmp_path / "data", KNOWN)
    assert summary.added == 0 and stored(tmp_path / "data") is None
    return summary.files[0].file_error


def test_a_utf8_file_with_one_gbk_line_is_refused_at_that_line(tmp_path):
    path = encoded_file(tmp_path / "t.csv", CHINESE, ["utf-8", "utf-8", "gbk", "utf-8"])
    error = refused(tmp_path, path)
    assert (error.code, error.line) == ("mixed_encoding", 3)
    bom = encoded_file(tmp_path / "b.csv", [ticket(), CHINESE[1]], ["utf-8", "utf-8", "gbk"], bom=True)
    assert (refused(tmp_path, bom).code, refused(tmp_path, bom).line) == ("mixed_encoding", 3)


def test_a_gbk_file_with_one_utf8_line_is_refused_at_that_line(tmp_path):
    path = encoded_file(tmp_path / "t.csv", CHINESE, ["gbk", "gbk", "gbk", "utf-8"])
    error = refused(tmp_path, path)
    assert (error.code, error.line) == ("mixed_encoding", 4)


def test_big5_is_refused_not_stored_as_mojibake(tmp_path):
    big5 = [ticket("A001", teller_no="櫃員陳大文", business_type="個人業務"),
            ticket("A002", issued="09:01:00", teller_no="張三", business_type="外匯")]
    error = refused(tmp_path, encoded_file(tmp_path / "t.csv", big5, "big5"))
    assert (error.code, error.line) == ("bad_encoding", 2)
    assert "Big5" in error.message


def test_bytes_that_are_neither_encoding_are_refused_with_the_line(tmp_path):
    path = encoded_file(tmp_path / "t.csv", [ticket(), ticket("A002", issued="09:01:00")], "ascii")
    data = path.read_bytes().split(b"\n")
    data[2] = data[2].replace(b"T001", b"\xff\xfe\x80")
    path.write_bytes(b"\n".join(data))
    error = refused(tmp_path, path)
    assert (error.code, error.line) == ("bad_encoding", 3)


def test_replacement_characters_are_never_stored(tmp_path):
    path = encoded_file(tmp_path / "t.csv", [ticket(), ticket("A002", issued="09:01:00", teller_no="张\ufffd")],
                        "utf-8")
    error = refused(tmp_path, path)
    assert (error.code, error.line) == ("replacement_character", 3)
    import pyarrow as pa

    table = pa.table({c: [ticket(teller_no="\ufffd\ufffd")[c]] for c in st.TICKET_COLUMNS})
    pq.write_table(table, tmp_path / "t.parquet")
    error = refused(tmp_path, tmp_path / "t.parquet")
    assert (error.code, error.line) == ("replacement_character", 2)
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(list(st.TICKET_COLUMNS))
    wb.active.append([ticket()[c] for c in st.TICKET_COLUMNS])
    wb.active.append([ticket("A002", issued="09:01:00", business_type="存\ufffd")[c] for c in st.TICKET_COLUMNS])
    wb.save(tmp_path / "t.xlsx")
    error = refused(tmp_path, tmp_path / "t.xlsx")
    assert (error.code, error.line) == ("replacement_character", 3)


# ------------------------------------------------------------------------------------------ stale roll-ups

def test_a_read_never_serves_a_rollup_older_than_its_partitions_and_does_not_write(tmp_path):
    from datetime import date

    from branchops.queueing import kpis as K
    from branchops.queueing import rollup

    root = tmp_path / "data"
    first = st.import_ticket_files([write_csv(tmp_path / "a.csv", [ticket("A001")])], root, KNOWN)
    rollup.refresh(root, first.partitions)
    assert rollup.stale(root) == []
    # A second import whose refresh never ran (the process died after the store commit):
    st.import_ticket_files([write_csv(tmp_path / "b.csv", [ticket("A002", issued="08:00:00", called="08:40:00",
                                                                  start="08:41:00")])], root, KNOWN)
    assert rollup.stale(root) == [("2026-03", "SZ0101")]
    before = sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file())
    start = end = date(2026, 3, 2)
    answer = rollup.rollup_kpis(root, start, end, grain="day")
    assert answer["arrivals"].to_pylist() == [2]
    assert answer.equals(K.kpis(root, start, end, grain="day"))
    assert sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()) == before  # no write
    rollup.refresh(root, rollup.stale(root))
    assert rollup.stale(root) == []
    assert rollup.rollup_kpis(root, start, end, grain="day")["arrivals"].to_pylist() == [2]


def test_a_conflict_between_recalls_is_rejected_and_the_recall_still_applied(tmp_path):
    rows = [ticket("B007", issued="08:00:00", called="08:01:00", start="08:01:30", end="08:02:00"),  # other key
            ticket("A001", called="09:05:00", start="09:20:30", end="09:30:00"),
            ticket("A001", called="09:10:00", start="09:20:30", end="09:30:00", customer_tier="vip"),  # line 4
            ticket("A001", called="09:20:00", start="09:20:30", end="09:30:00"),                      # recall
            ticket("A001", called="09:20:00", start="09:20:30", end="09:30:00")]                      # duplicate
    summary = st.import_ticket_files([write_csv(tmp_path / "t.csv", rows)], tmp_path / "data", KNOWN)
    assert codes(summary) == {(4, "conflicting_ticket", "customer_tier"), (6, "duplicate_ticket", "ticket_no")}
    assert (summary.added, summary.recalls, summary.rejected) == (2, 1, 2)
    assert [f"{r['called_at']:%H:%M}" for r in rows_of(tmp_path / "data", "A001")] == ["09:20"]
