"""The quarterly service & complaint briefing as a .docx and an .xlsx.

A Chinese document of the bank whatever the reader's language (like the minutes). Two forms: the draft
(built on each download, marked 草稿 on every page) and the approved briefing (built once on approval,
with its 文号 and sign-off, and stored in core's store of issued documents — never rebuilt). Each
section names the query its figure comes from (``briefing_queries.FIGURES``)."""

from io import BytesIO

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from openpyxl import Workbook

from branchops.core.xlsx import add_sheet

from .briefing_queries import FIGURES
from .models import InspectionType, Severity

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT, HEADING_FONT = "宋体", "黑体"
DRAFT = "草稿"
NUMERALS = "一二三四五六七八九十"
SOURCES = {f.key: f.source for f in FIGURES}


def title_of(briefing) -> str:
    return f"{briefing.branch.name}{briefing.year}年第{briefing.quarter}季度服务与投诉情况通报"


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _person(user) -> str:
    if user is None:
        return "—"
    staff = getattr(user, "staff", None)
    return staff.name if staff is not None else user.get_username()


def _when(moment) -> str:
    if moment is None:
        return "—"
    d = timezone.localdate(moment)
    return f"{d.year}年{d.month}月{d.day}日"


def _labels() -> dict:
    return {"severity": {k: str(v) for k, v in Severity.choices}}


# --- the rows of each table (shared by the page, the .docx and the .xlsx) ----------------------------------
# Headers in the active language: the documents are built under zh-hans, the page in the reader's.

def _clock(complexity: str) -> str:
    return {"normal": _("Normal (15 days)"), "complex": _("Complex (30 days)"),
            "particularly_complex": _("Particularly complex (60 days)")}.get(complexity, complexity)


def tables(figures: dict, cases: list) -> list[tuple[str, str, list[str], list[list]]]:
    """(key, title, headers, rows) of every table of the briefing, in its order."""
    types = {k: str(v) for k, v in InspectionType.choices}
    ranking, hot, rates, ins = figures["ranking"], figures["hot_spots"], figures["rates"], figures["inspections"]
    yes = _("Yes")
    return [
        ("ranking", _("Grading ranking"), [_("Rank"), _("Outlet code"), _("Outlet"), _("Score"), _("Grade"), _("Veto")],
         [[r["rank"], r["outlet"], r["outlet_name"], r["score"], r["grade"], "、".join(r["vetoes"])]
          for r in ranking["rows"]]),
        ("major", _("Major complaints and public opinion"),
         [_("Number"), _("Outlet"), _("Received"), _("Title"), _("Major complaint"), _("Media")],
         [[m["number"], m["outlet_name"], m["received"], m["title"], yes if m["major"] else "",
           yes if m["media"] else ""] for m in figures["major"]]),
        ("hot_spots", _("Hot spots by cause"), [_("JR/T 0169 cause code"), _("Name"), _("Complaints"), _("Share")],
         [[h["code"], h["name"], h["complaints"], _pct(h["share"])] for h in hot["cause"]]),
        ("hot_spots_business", _("Hot spots by business"),
         [_("JR/T 0169 business code"), _("Name"), _("Complaints"), _("Share")],
         [[h["code"], h["name"], h["complaints"], _pct(h["share"])] for h in hot["business"]]),
        ("rates", _("Complaints per 10,000 customers"),
         [_("Outlet code"), _("Outlet"), _("Complaints"), _("Customers served"), _("Per 10,000 customers")],
         [[r["outlet"], r["outlet_name"], r["complaints"], r["served"], r["per_10k"]] for r in rates["rows"]]),
        ("overdue", _("Complaint clocks"),
         [_("Complexity"), _("Received"), _("Decided on time"), _("Decided late"), _("Open"), _("Open and overdue"),
          _("Overdue numbers")],
         [[_clock(o["complexity"]), o["received"], o["on_time"], o["late"], o["open"], o["open_overdue"],
           "、".join(o["overdue_numbers"])] for o in figures["overdue"]]),
        ("inspections", _("Inspections by type"), [_("Inspection type"), _("Inspections"), _("Mean score")],
         [[types.get(t["type"], t["type"]), t["inspections"], t["mean_score"]] for t in ins["by_type"]]),
        ("supervisors", _("Inspections by supervisor"), [_("Supervisor"), _("Inspections"), _("Findings")],
         [[p["supervisor"], p["inspections"], p["findings"]] for p in ins["supervisors"]]),
        ("cases", _("Positive and negative cases"), [_("Kind"), _("Outlet"), _("Title"), _("What happened")],
         [[c.get_kind_display(), c.outlet.name if c.outlet_id else "", c.title, c.text] for c in cases]),
    ]


# --- .docx ---------------------------------------------------------------------------------------------

def _set_fonts(doc) -> None:
    """East-Asian fonts have to be named in w:eastAsia, or Word falls back to a Latin font."""
    for name, font in (("Normal", FONT), ("Title", HEADING_FONT), ("Heading 1", HEADING_FONT)):
        style = doc.styles[name]
        style.font.name = font
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    doc.styles["Normal"].font.size = Pt(11)


def _table(doc, headers: list[str], rows: list[list]) -> None:
    if not rows:
        doc.add_paragraph("无。")
        return
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = _num(value) if isinstance(value, int | float) else ("—" if value in (None, "") else str(value))


def _source(doc, key: str) -> None:
    p = doc.add_paragraph(f"数据来源：{SOURCES[key]}")
    p.runs[0].font.size = Pt(8)
    p.runs[0].font.color.rgb = RGBColor(0x60, 0x60, 0x60)


def _heading(doc, n: int, text: str) -> None:
    doc.add_heading(f"{NUMERALS[n - 1]}、{text}", level=1)


def _add_ranking(doc, figures: dict, by_key: dict) -> None:
    ranking = figures["ranking"]
    if ranking["run"] is None:
        doc.add_paragraph("本季度尚未发布服务等级评价结果。")
    else:
        dist = "，".join(f"{g}级{n}个" for g, n in ranking["distribution"].items())
        doc.add_paragraph(f"本季度参评网点{len(ranking['rows'])}个：{dist}。")
        _table(doc, *by_key["ranking"])
    _source(doc, "ranking")


def _add_complaints(doc, figures: dict, by_key: dict, n: int) -> int:
    _heading(doc, n, "重大投诉与负面舆情事件")
    _table(doc, *by_key["major"])
    _source(doc, "major")
    hot = figures["hot_spots"]
    _heading(doc, n + 1, "投诉热点（JR/T 0169-2018 分类）")
    doc.add_paragraph(f"本季度投诉{hot['total']}件，未分类{hot['unclassified']}件。按投诉原因：")
    _table(doc, *by_key["hot_spots"])
    doc.add_paragraph("按业务类型：")
    _table(doc, *by_key["hot_spots_business"])
    _source(doc, "hot_spots")
    rates = figures["rates"]
    _heading(doc, n + 2, "投诉量（每网点、每万名客户）")
    doc.add_paragraph(f"全辖网点{rates['outlets']}个，投诉{rates['complaints']}件，网点平均{_num(rates['per_outlet'])}件；"
                      f"服务客户{_num(rates['served'])}人次，每万名客户投诉{_num(rates['per_10k'])}件。")
    _table(doc, *by_key["rates"])
    _source(doc, "rates")
    _heading(doc, n + 3, "投诉处理时限（15日、30日、60日）")
    _table(doc, *by_key["overdue"])
    _source(doc, "overdue")
    return n + 4


def _add_inspections(doc, figures: dict, by_key: dict, n: int) -> None:
    ins, labels = figures["inspections"], _labels()
    _heading(doc, n, "服务检查情况")
    severity = "，".join(f"{labels['severity'].get(k, k)}{v}个" for k, v in ins["by_severity"].items())
    doc.add_paragraph(f"本季度提交检查{ins['inspections']}次（其中复查{ins['reinspections']}次），发现问题{ins['findings']}个"
                      f"（{severity}），已整改销号{ins['closed']}个。")
    _table(doc, *by_key["inspections"])
    doc.add_paragraph("服务督导员检查情况（计件）：")
    _table(doc, *by_key["supervisors"])
    _source(doc, "inspections")


def _add_cases(doc, cases: list, n: int) -> None:
    _heading(doc, n, "正反面典型案例")
    for kind, label in (("positive", "正面典型"), ("negative", "反面典型")):
        chosen = [c for c in cases if c.kind == kind]
        doc.add_paragraph().add_run(f"{label}：").bold = True
        if not chosen:
            doc.add_paragraph("无。")
        for i, c in enumerate(chosen, start=1):
            where = f"（{c.outlet.name}）" if c.outlet_id else ""
            doc.add_paragraph(f"{i}. {c.title}{where}：{c.text}")


def build_docx(briefing, figures: dict, cases: list, *, number: str = "", approved_by=None, approved_at=None) -> bytes:
    with translation.override("zh-hans"):
        return _docx(briefing, figures, cases, number, approved_by, approved_at)


def _docx(briefing, figures: dict, cases: list, number: str, approved_by, approved_at) -> bytes:
    doc = Document()
    _set_fonts(doc)
    draft = not number
    if draft:
        header = doc.sections[0].header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = header.add_run(f"{DRAFT} · 未经审批，不作为正式通报")
        run.bold, run.font.color.rgb = True, RGBColor(0xC0, 0x00, 0x00)
    title = doc.add_heading(title_of(briefing) + (f"（{DRAFT}）" if draft else ""), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if number:
        doc.add_paragraph(number).alignment = WD_ALIGN_PARAGRAPH.CENTER
    by_key = {key: (headers, rows) for key, _title, headers, rows in tables(figures, cases)}
    _heading(doc, 1, "总体情况")
    doc.add_paragraph(briefing.summary or "—")
    _heading(doc, 2, "服务等级评价排名")
    _add_ranking(doc, figures, by_key)
    n = _add_complaints(doc, figures, by_key, 3)
    _add_inspections(doc, figures, by_key, n)
    _add_cases(doc, cases, n + 1)
    footer = doc.add_paragraph(f"运行管理部　{_when(approved_at or briefing.issued_at)}")
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph(f"签发：{_person(briefing.issued_by)}　{_when(briefing.issued_at)}" if briefing.issued_at
                      else "签发：未签发")
    doc.add_paragraph(f"审批：{_person(approved_by)}　{_when(approved_at)}" if approved_by else "审批：待审批")
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- .xlsx ---------------------------------------------------------------------------------------------

def build_xlsx(briefing, figures: dict, cases: list, *, number: str = "") -> bytes:
    with translation.override("zh-hans"):
        return _xlsx(briefing, figures, cases, number)


def _xlsx(briefing, figures: dict, cases: list, number: str) -> bytes:
    wb = Workbook()
    sources = [[str(f.title), f.source] for f in FIGURES]
    add_sheet(wb, "说明", ["项目", "内容"], [["通报", title_of(briefing)], ["文号", number or DRAFT],
                                          ["季度", briefing.label], *sources])
    for _key, sheet, headers, rows in tables(figures, cases):
        sheet = sheet.replace("/", "-")[:31]
        add_sheet(wb, sheet, headers, rows)
    del wb["Sheet"]
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()
