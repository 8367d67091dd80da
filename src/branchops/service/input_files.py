"""Reading the service input files (xlsx or CSV) into rows of text cells, and parsing each cell.

No database here: ``services.import_inputs`` validates the rows against the organisation and the
stored data. Rows carry their line number as the user sees it (the Excel row, the CSV line), and
every problem names its line and column. CSV is strictly UTF-8 (with or without BOM) or GB18030, the
encodings the queue-log import accepts (``queueing.store.detect_encoding``): a mixed or garbled file
is refused at the line where it goes wrong.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from branchops.core import limits
from branchops.queueing.store import ImportFileError, detect_encoding

RATINGS, SURVEYS, CALL_CENTRE = "ratings", "surveys", "call_centre"
PHONES = "phones"  # the public-phone directory (``phones.import_directory``)


@dataclass(frozen=True)
class Column:
    key: str
    header: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    RATINGS: (Column("outlet_code", "网点代码"), Column("teller_no", "柜员号"), Column("rated_at", "评价时间"),
              Column("rating", "评价结果")),
    SURVEYS: (Column("outlet_code", "网点代码"), Column("period", "期间"), Column("score", "得分"),
              Column("sample_size", "样本量")),
    CALL_CENTRE: (Column("day", "日期"), Column("offered", "呼入量"), Column("answered", "接通量"),
                  Column("answered_20s", "20秒内接通量")),
    PHONES: (Column("outlet_code", "网点代码"), Column("kind", "电话类型"), Column("number", "电话号码"),
             Column("published_at", "公示位置")),
}
HEADERS = {kind: {c.key: c.header for c in cols} for kind, cols in COLUMNS.items()}

RATING_WORDS = {"非常满意": 5, "满意": 4, "一般": 3, "基本满意": 3, "不满意": 2, "非常不满意": 1}


class CellProblem(Exception):
    """A cell that cannot be used; the message is shown to the user."""


@dataclass
class FileProblem(Exception):
    line: int
    message: str


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _header_keys(kind: str, header: list[str]) -> dict[int, str]:
    """Column index → key; every column of the kind is required; unknown columns are ignored."""
    names = {c.header: c.key for c in COLUMNS[kind]} | {c.key: c.key for c in COLUMNS[kind]}
    found = {i: names[h.strip()] for i, h in enumerate(header) if h and h.strip() in names}
    missing = [c.header for c in COLUMNS[kind] if c.key not in found.values()]
    if missing:
        raise FileProblem(1, _("The header row lacks the columns: %(cols)s") % {"cols": "、".join(missing)})
    return found


def _rows(kind: str, lines) -> list[tuple[int, dict[str, str]]]:
    """(line, cells) for every non-empty row after the header."""
    header = None
    rows = []
    for number, values in lines:
        cells = [_text(v) for v in values]
        if header is None:
            header = _header_keys(kind, cells)
            continue
        if not any(cells):
            continue
        if len(rows) >= limits.MAX_IMPORT_ROWS:
            raise FileProblem(number, _("More than %(n)s rows: split the file.") % {"n": limits.MAX_IMPORT_ROWS})
        rows.append((number, {key: cells[i] if i < len(cells) else "" for i, key in header.items()}))
    if header is None:
        raise FileProblem(1, _("The file has no header row."))
    return rows


def _xlsx_lines(data: bytes):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise FileProblem(0, _("The file is not a readable xlsx workbook.")) from None
    ws = wb.worksheets[0]
    yield from enumerate(ws.iter_rows(values_only=True), start=1)
    wb.close()


def _csv_lines(data: bytes):
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as fh:
        fh.write(data)
        path = fh.name
    try:
        encoding = detect_encoding(path)
    except ImportFileError as exc:
        raise FileProblem(getattr(exc, "line", 0) or 0, _(
            "The file is neither UTF-8 nor GBK/GB18030 encoded, or mixes both (line %(line)s).")
            % {"line": getattr(exc, "line", 0) or 0}) from None
    finally:
        os.unlink(path)
    text = data.decode("utf-8-sig" if encoding == "utf8" else encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            yield reader.line_num, values
    except csv.Error as exc:
        raise FileProblem(reader.line_num, _("The CSV is malformed: %(error)s") % {"error": exc}) from None


def read_rows(kind: str, data: bytes, file_name: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of an xlsx or CSV file; FileProblem when the file itself cannot be read."""
    if len(data) > limits.MAX_IMPORT_BYTES:
        raise FileProblem(0, _("The file is larger than %(mb)s MB: split it.")
                          % {"mb": limits.MAX_IMPORT_BYTES // (1024 * 1024)})
    name = file_name.lower()
    if name.endswith(".xlsx"):
        return _rows(kind, _xlsx_lines(data))
    if name.endswith(".csv") or name.endswith(".txt"):
        return _rows(kind, _csv_lines(data))
    raise FileProblem(0, _("Upload an .xlsx or .csv file."))


# --- cells ---------------------------------------------------------------------------------------

def parse_count(text: str) -> int:
    try:
        value = Decimal(text)
        number = int(value) if value.is_finite() and value == int(value) else None
    except (InvalidOperation, ValueError, OverflowError):
        number = None
    if number is None or number < 0 or number > 10**9:
        raise CellProblem(_("A whole number from 0 is required, not “%(value)s”.") % {"value": text})
    return number


def parse_day(text: str) -> date:
    try:
        value = date.fromisoformat(text[:10].replace("/", "-"))
    except ValueError:
        raise CellProblem(_("A date like 2026-03-31 is required, not “%(value)s”.") % {"value": text}) from None
    if not limits.date_in_range(value):
        raise CellProblem(_("The date %(value)s is out of range.") % {"value": text})
    return value


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("/", "-").replace("T", " "))
    except ValueError:
        raise CellProblem(_("A time like 2026-03-31 09:30:00 is required, not “%(value)s”.")
                          % {"value": text}) from None
    if value.tzinfo is not None or not limits.date_in_range(value.date()):
        raise CellProblem(_("The time %(value)s is out of range.") % {"value": text})
    return value


def parse_rating(text: str) -> int:
    if text in RATING_WORDS:
        return RATING_WORDS[text]
    if text in {"1", "2", "3", "4", "5"}:
        return int(text)
    raise CellProblem(_("A rating is 1 to 5 or 非常满意/满意/一般/不满意/非常不满意, not “%(value)s”.")
                      % {"value": text})


_PERIOD = re.compile(r"^(\d{4})\s*(?:[-/ ]?\s*Q|年第|年\s*Q)\s*([1-4])\s*(?:季度)?$", re.IGNORECASE)


def parse_period(text: str) -> tuple[int, int]:
    """A quarter: 2026Q1, 2026-Q1 or 2026年第1季度."""
    match = _PERIOD.match(text.strip())
    if not match or not limits.year_in_range(int(match.group(1))):
        raise CellProblem(_("A quarter like 2026Q1 is required, not “%(value)s”.") % {"value": text})
    return int(match.group(1)), int(match.group(2))


def parse_score(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        raise CellProblem(_("A score from 0 to 100 is required, not “%(value)s”.") % {"value": text})
    return value.quantize(Decimal("0.01"))
