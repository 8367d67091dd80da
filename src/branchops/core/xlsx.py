"""xlsx export of any list, with a Chinese header row — every list page offers it."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    if value is None:
        return ""
    if isinstance(value, int | float | str | bool) or hasattr(value, "isoformat"):
        return value
    return str(value)


def add_sheet(wb: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> None:
    ws = wb.create_sheet(title=title[:31])
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) * 2 + 2 for h in headers]
    for row in rows:
        values = [_cell(v) for v in row]
        ws.append(values)
        for i, v in enumerate(values):
            widths[i] = min(60, max(widths[i], len(str(v)) + 2))
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"


def workbook_response(wb: Workbook, filename: str) -> HttpResponse:
    if "Sheet" in wb.sheetnames and len(wb.sheetnames) > 1:
        del wb["Sheet"]
    buf = BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type=XLSX_TYPE)
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def export_list(filename: str, title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    wb = Workbook()
    add_sheet(wb, title, headers, rows)
    return workbook_response(wb, filename)
