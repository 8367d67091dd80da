"""The minutes of a coordination meeting (运营沟通会会议纪要) as a .docx.

The minutes are a Chinese document of the bank whatever the reader's language: every label is
written in Chinese and the model's choice labels are taken under ``translation.override("zh-hans")``.

Two forms: the draft (built on each download while the minutes are not approved, marked 草稿 in
its title and on every page) and the issued minutes (built once when the chair approves them, with
their 文号 and sign-off, and stored in core's store of issued documents — never rebuilt).
"""

from datetime import date
from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from branchops.core import clock
from branchops.core import queries as core_queries

from .models import Condition, Decision, ItemStatus, Meeting
from .queries import minutes_content

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "宋体"
HEADING_FONT = "黑体"
NUMERALS = "一二三四五六七八九十"
CONSENT_REASON = "Consent block"  # services.decide_consent_block records this (translated) as the reason
DRAFT = "草稿"


def minutes_title(meeting: Meeting) -> str:
    return f"运营沟通会会议纪要（{meeting.year}年第{meeting.sequence}次会议）"


def _day(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def _when(t) -> str:
    return _day(timezone.localtime(t).date()) if t else "—"


def _person(user) -> str:
    if user is None:
        return "—"
    staff = getattr(user, "staff", None)
    if staff is None:
        return user.get_username()
    unit = staff.department.name if staff.department_id else staff.institution.name
    return f"{staff.name}（{unit}）"


def _section(n: int) -> str:
    return f"{NUMERALS[n - 1]}、" if 1 <= n <= len(NUMERALS) else f"{n}、"


def _set_fonts(doc) -> None:
    """East-Asian fonts have to be named in w:eastAsia, or Word falls back to a Latin font."""
    for name, font in (("Normal", FONT), ("Title", HEADING_FONT), ("Heading 1", HEADING_FONT),
                       ("Heading 2", HEADING_FONT)):
        style = doc.styles[name]
        style.font.name = font
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    doc.styles["Normal"].font.size = Pt(12)


def _field(doc, label: str, value: str):
    p = doc.add_paragraph()
    p.add_run(f"{label}：").bold = True
    p.add_run(value or "—")
    return p


def _mark_draft(doc) -> None:
    """草稿 on every page (the header) and under the title: a draft is never taken for the minutes."""
    header = doc.sections[0].header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = header.add_run(f"{DRAFT} · 未经主持人审批，不作为正式纪要")
    run.bold = True
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def _add_attendance(doc, content: dict) -> None:
    for label, people in (("出席", content["present"]), ("列席", content["observers"]), ("请假", content["on_leave"])):
        _field(doc, label, "、".join(_person(u) for u in people) or "无")


def _add_opinions(doc, item) -> None:
    """Every review department's opinion, dimension by dimension (or that none was given)."""
    opinions = list(item.opinions.all())
    doc.add_paragraph().add_run("评议意见：").bold = True
    if not opinions:
        doc.add_paragraph("无评议部门。")
    for o in opinions:
        if o.submitted_at is None:
            doc.add_paragraph(f"{o.department.name}：未提交意见")
            continue
        head = f"{o.department.name}（{o.get_recommendation_display() or '—'}）"
        if o.is_stale:
            head += "（事项此后修改，意见已过期）"
        doc.add_paragraph(head + "：")
        for line in o.lines.all():
            text = f"有异议——{line.text}" if line.concern else "无异议"
            if line.proposed_condition:
                text += f"；建议条件：{line.proposed_condition}"
            doc.add_paragraph(f"{line.dimension.name}：{text}", style="List Bullet")


def _approval_number(item) -> str:
    if item.approval_number:
        return item.approval_number + ("（已撤销）" if item.approval_revoked_at else "")
    if item.decision == Decision.CONDITIONAL or item.status == ItemStatus.CONDITIONAL:
        return "待全部条件落实并经秘书处确认后核发"
    if item.decision == Decision.REJECTED:
        return "不予核发"
    return "—"


def _add_item(doc, n: int, item, consent_marks: set) -> None:
    heading = f"（{n}）{item.title}" + ("【无异议事项】" if item.consent else "")
    doc.add_heading(heading, level=2)
    _field(doc, "事项编号", item.number)
    _field(doc, "提交部门", item.department.name)
    _field(doc, "事项类型", item.get_item_type_display())
    if item.urgent_addition_reason:
        _field(doc, "截止后加急上会原因", item.urgent_addition_reason)
    _add_opinions(doc, item)
    _field(doc, "会议决定", item.get_decision_display() if item.decision else "尚未决定")
    if item.consent:
        doc.add_paragraph("该事项各评议部门均无异议，列入无异议事项一并审议通过。")
    if item.decision_reasons and not (item.consent and item.decision_reasons in consent_marks):
        _field(doc, "决定理由", item.decision_reasons)
    waivers = list(item.waivers.all())
    if waivers:
        doc.add_paragraph().add_run("评议豁免：").bold = True
        for w in waivers:  # recorded by the chair when a required review was missing
            doc.add_paragraph(f"{w.dimension.name}：{w.reason}（主持人{_person(w.waived_by)}，{_when(w.waived_at)}）"
                              + ("（事项此后修改，豁免失效）" if w.is_stale else ""))
    conditions = list(item.conditions.all())
    if conditions:
        doc.add_paragraph().add_run("通过条件：").bold = True
        for k, cond in enumerate(conditions, start=1):
            doc.add_paragraph(f"{k}. {cond.text}；责任部门：{cond.owner_department.name}；"
                              f"完成时限：{_day(cond.due_date)}；完成证明：{cond.proof}；状态：{cond.get_status_display()}")
    _field(doc, "批准文号", _approval_number(item))


def _add_feedback(doc, entries: list, section: int) -> bool:
    """The outlets' feedback raised to the meeting, each with the meeting's answer and who follows it up."""
    if not entries:
        return False
    doc.add_heading(f"{_section(section)}网点反映问题", level=1)
    for n, e in enumerate(entries, start=1):
        doc.add_heading(f"（{n}）{e.case.title}", level=2)
        _field(doc, "反映编号", e.case.number)
        _field(doc, "反映网点", e.case.institution.name)
        if not e.answer:
            _field(doc, "处理情况", e.get_status_display())
            continue
        _field(doc, "会议答复", e.answer)
        owners = [x for x in (_person(e.follow_up_person) if e.follow_up_person_id else "",
                              e.follow_up_department.name if e.follow_up_department_id else "") if x]
        _field(doc, "跟进落实", f"{'、'.join(owners)}；完成时限：{_day(e.follow_up_due)}")
        if e.done_at:
            _field(doc, "落实情况", e.done_note)
    return True


METRIC_NAMES = {"overtime_ratio": "超时等候率", "complaints_per_10k": "每万名客户投诉量"}


def _add_post_reviews(doc, entries: list, section: int) -> bool:
    """The post-implementation reviews the watch brought to the meeting: what it measured, and the outcome."""
    if not entries:
        return False
    doc.add_heading(f"{_section(section)}实施后评估", level=1)
    for n, e in enumerate(entries, start=1):
        doc.add_heading(f"（{n}）{e.item.number}《{e.item.title}》", level=2)
        if e.item.approval_number:
            _field(doc, "批准文号", e.item.approval_number)
        for m in e.flagged_metrics:
            _field(doc, "监测结果", f"{METRIC_NAMES.get(m['metric'], m['metric'])}变化{m['effect']:+.4f}"
                                   f"（95%区间{m['low']:+.4f}～{m['high']:+.4f}）")
        if e.status == e.Status.RECORDED:
            _field(doc, "评估结论", e.get_outcome_display() + (f"；{e.note}" if e.note else ""))
        else:
            _field(doc, "处理情况", e.get_status_display())
    return True


def _add_follow_up(doc, conditions: list, section: int) -> None:
    """Earlier meetings' conditions still open or changed since: the only place later changes appear."""
    doc.add_heading(f"{_section(section)}前期条件跟踪落实情况", level=1)
    if not conditions:
        doc.add_paragraph("前期会议无未落实或新近变化的条件。")
        return
    today = clock.today()
    for k, c in enumerate(conditions, start=1):
        late = c.status != Condition.Status.SIGNED_OFF and c.due_date < today
        doc.add_paragraph(
            f"{k}. {c.item.number}《{c.item.title}》（{c.item.meeting.year}年第{c.item.meeting.sequence}次会议）："
            f"{c.text}；责任部门：{c.owner_department.name}；完成时限：{_day(c.due_date)}；"
            f"状态：{c.get_status_display()}" + ("（已逾期）" if late else "")
            + (f"（{_when(c.signed_off_at)}确认落实）" if c.signed_off_at else ""))


def build_minutes_docx(meeting: Meeting, *, number: str = "", approved_by=None, approved_at=None) -> bytes:
    """The minutes, a draft unless ``number`` is given (the chair's approval): date, place, chair,
    attendance by kind, the results, every item with its opinions, decision, waivers, conditions and
    approval number; feedback; other business; the follow-up of earlier conditions; the sign-off."""
    content = minutes_content(meeting)
    items = content["items"]
    draft = not number
    with translation.override("zh-hans"):
        doc = Document()
        _set_fonts(doc)
        if draft:
            _mark_draft(doc)
        title = doc.add_heading(minutes_title(meeting) + (f"（{DRAFT}）" if draft else ""), level=0)
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        mark = doc.add_paragraph(number if not draft else f"{DRAFT}：本纪要尚未经主持人审批，无文号")
        mark.alignment = WD_ALIGN_PARAGRAPH.CENTER

        _field(doc, "会议时间", _day(meeting.held_on))
        _field(doc, "会议地点", meeting.location)
        _field(doc, "主持人", _person(meeting.chair) if meeting.chair_id else "—")
        _add_attendance(doc, content)
        _field(doc, "议题数量", f"{len(items)}项")

        decided = [i for i in items if i.decision]
        counts = {d: sum(1 for i in decided if i.decision == d) for d in Decision.values}
        labels = {d: str(Decision(d).label) for d in Decision.values}
        consent = [i for i in items if i.consent]

        doc.add_heading(f"{_section(1)}审议结果", level=1)
        doc.add_paragraph(
            f"本次会议共审议事项{len(items)}项，其中" + "，".join(f"{labels[d]}{counts[d]}项" for d in Decision.values)
            + (f"，尚未决定{len(items) - len(decided)}项" if len(items) > len(decided) else "") + "。")
        if consent:
            doc.add_paragraph(f"无异议事项（各评议部门均无异议，一并审议通过）{len(consent)}项："
                              + "；".join(f"{i.number}《{i.title}》" for i in consent) + "。")
        else:
            doc.add_paragraph("本次会议没有无异议事项。")

        doc.add_heading(f"{_section(2)}议题及决定", level=1)
        consent_marks = {CONSENT_REASON, translation.gettext(CONSENT_REASON)}  # the reason the consent block writes
        for n, item in enumerate(items, start=1):
            _add_item(doc, n, item, consent_marks)

        section = 3
        if _add_feedback(doc, content["feedback"], section):
            section += 1
        if _add_post_reviews(doc, content["post_reviews"], section):
            section += 1
        doc.add_heading(f"{_section(section)}其他事项", level=1)
        lines = [line.strip() for line in meeting.notes.strip().splitlines() if line.strip()]
        for line in lines or ["无。"]:
            doc.add_paragraph(line)
        _add_follow_up(doc, content["follow_up"], section + 1)

        footer = doc.add_paragraph(f"运营沟通会秘书处（运行管理部）　{_day(meeting.held_on)}")
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _field(doc, "签发", f"{_person(meeting.minutes_issued_by)}　{_when(meeting.minutes_issued_at)}"
               if meeting.minutes_issued_at else "未签发")
        _field(doc, "审批", f"主持人{_person(approved_by)}　{_when(approved_at)}" if not draft else "待主持人审批")
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()


def minutes_response(meeting: Meeting) -> HttpResponse:
    """The download of the page and the API alike: the bytes stored when the chair approved the
    minutes (never rebuilt), else the draft built now."""
    from urllib.parse import quote

    doc = meeting.minutes_document
    if doc is not None:
        response = HttpResponse(core_queries.document_bytes(doc), content_type=doc.content_type)
        filename = doc.file_name
    else:
        response = HttpResponse(build_minutes_docx(meeting), content_type=DOCX_TYPE)
        filename = _("Minutes of the coordination meeting %(year)s No. %(seq)s (draft).docx") % {
            "year": meeting.year, "seq": meeting.sequence}
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
