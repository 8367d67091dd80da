"""The org workbook import reads every row whatever the sheet's <dimension> says, and its error list
(and so the answer) stays bounded however bad the sheet."""

import re
import time
import zipfile
from io import BytesIO

from branchops.core import limits
from branchops.org.importer import import_workbook
from branchops.org.models import Institution

from .test_import import INST_H, inst, upload, xlsx


def with_dimension(buf: BytesIO, ref: str) -> BytesIO:
    """The workbook with every sheet's <dimension ref> replaced, as other generators write it."""
    out = BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
                assert n == 1
            dst.writestr(info, data)
    out.seek(0)
    return out


def outlet(code: str, counters="2"):
    return [code, f"网点{code}", "网点", "SZ01", "light", "", "", counters, "09:00-17:00"]


def test_rows_past_a_wrong_dimension_are_read(bank):
    book = with_dimension(xlsx(inst(outlet("SZ0103"), outlet("SZ0104"), outlet("SZ0105"))), "A1:B2")
    result = import_workbook(bank.users["admin1"], book, dry_run=False)
    assert result.ok, result.errors
    assert result.summary["机构"]["create"] == 3
    assert set(Institution.objects.filter(code__in=["SZ0103", "SZ0104", "SZ0105"]).values_list(
        "counters", flat=True)) == {2}  # the columns past B were read too


def test_a_bad_row_past_a_wrong_dimension_is_reported(bank):
    book = with_dimension(xlsx(inst(outlet("SZ0103"), outlet("SZ0104", counters="many"))), "A1:I2")
    result = import_workbook(bank.users["admin1"], book, dry_run=False)
    assert [(e.row, e.field) for e in result.errors] == [(3, "柜台数")]
    assert not Institution.objects.filter(code="SZ0103").exists()


def test_a_big_bad_sheet_lists_the_first_errors_and_counts_the_rest(bank, client):
    rows = [outlet(f"X{i:05d}", counters="many") for i in range(1500)]
    client.force_login(bank.users["admin1"])
    started = time.monotonic()
    answer = client.post("/api/v1/org/import", {"file": upload(xlsx(inst(*rows)))})
    assert time.monotonic() - started < 60
    assert answer.status_code == 400
    body = answer.json()
    assert len(body["errors"]) == limits.MAX_IMPORT_ERRORS
    assert body["more_errors"] == 1500 - limits.MAX_IMPORT_ERRORS
    assert body["errors"][0]["row"] == 2
    assert len(answer.content) < 300_000  # 1,500 rows of errors and changes were 0.75 MB

    page = client.post("/org/import/", {"file": upload(xlsx(inst(*rows)))})
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('class="text-danger-emphasis"') == limits.MAX_IMPORT_ERRORS
    assert str(1500 - limits.MAX_IMPORT_ERRORS) in text


def test_a_sheet_over_the_row_limit_is_refused_without_reading_on(bank, settings, monkeypatch):
    monkeypatch.setattr(limits, "MAX_IMPORT_ROWS", 50)
    rows = [outlet(f"Y{i:05d}") for i in range(60)]
    result = import_workbook(bank.users["admin1"], xlsx(inst(*rows)), dry_run=False)
    assert [(e.sheet, e.row) for e in result.errors] == [("机构", 52)]
    assert "50" in result.errors[0].message
    assert not Institution.objects.filter(code__startswith="Y").exists()


def test_header_only_with_a_wrong_dimension_still_finds_its_columns(bank):
    book = with_dimension(xlsx({"机构": [INST_H]}), "A1:A1")
    result = import_workbook(bank.users["admin1"], book)
    assert result.ok, result.errors


def test_a_workbook_over_the_size_limit_is_refused_unread(bank, client, monkeypatch):
    monkeypatch.setattr(limits, "MAX_IMPORT_BYTES", 1024)
    client.force_login(bank.users["admin1"])
    rows = [outlet(f"Z{i:05d}") for i in range(200)]
    answer = client.post("/api/v1/org/import?dry_run=false", {"file": upload(xlsx(inst(*rows)))})
    assert answer.status_code == 400
    assert [e["row"] for e in answer.json()["errors"]] == [0]
    assert not Institution.objects.filter(code__startswith="Z").exists()
