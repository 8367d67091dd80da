"""The minutes of a coordination meeting (运营沟通会会议纪要) as a .docx.

The minutes are a Chinese document of the bank whatever the reader's language: every label is
written in Chinese and the model's choice labels are taken under ``translation.override("zh-hans")``.
"""

from datetime import date
from io import BytesIO

from django.db.models import Prefetch
from django.utils import timezone, translation
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from .models import Decision, ItemStatus, Meeting, Waiver

FONT = "宋体"
HEADING_FONT = "黑体"
NUMERALS = "一二三四五六七八九十"
CONSENT_REASON = "Consent block"  # services.decide_consent_block records this (translated) as the reason


def _day(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


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


def _add_feedback(doc, meeting: Meeting, section: int) -> bool:
    """The outlets' feedback raised to the meeting, each with the meeting's answer and who follows it up."""
    entries = list(meeting.feedback_entries.select_related(
        "case__institution", "follow_up_department", "follow_up_person__staff__department",
        "follow_up_person__staff__institution").order_by("id"))
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


def build_minutes_docx(meeting: Meeting) -> bytes:
    """The minutes: date, location, chair, attendees, then every agenda item in order with its
    decision, reasons, conditions and approval number; items decided in the consent block are noted."""
    from .services import is_consent

    items = list(meeting.items.select_related("department").prefetch_related(
        "conditions__owner_department", "opinions__lines",
        Prefetch("waivers", queryset=Waiver.objects.filter(meeting=meeting).select_related(
            "dimension", "waived_by__staff"))).order_by("agenda_order", "id"))
    attendees = list(meeting.attendees.select_related("staff__department", "staff__institution")
                     .order_by("staff__institution__path", "staff__department__sort_order", "staff__staff_no"))
    with translation.override("zh-hans"):
        doc = Document()
        _set_fonts(doc)
        title = doc.add_heading(f"运营沟通会会议纪要（{meeting.year}年第{meeting.sequence}期）", level=0)
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER

        _field(doc, "会议时间", _day(meeting.held_on))
        _field(doc, "会议地点", meeting.location)
        _field(doc, "主持人", _person(meeting.chair) if meeting.chair_id else "—")
        _field(doc, "参会人员", "、".join(_person(u) for u in attendees) or "—")
        _field(doc, "议题数量", f"{len(items)}项")

        decided = [i for i in items if i.decision]
        counts = {d: sum(1 for i in decided if i.decision == d) for d in Decision.values}
        labels = {d: str(Decision(d).label) for d in Decision.values}
        consent = [i for i in items if i.decision == Decision.APPROVED and is_consent(i)]

        doc.add_heading(f"{_section(1)}审议结果", level=1)
        doc.add_paragraph(
            f"本期会议共审议事项{len(items)}项，其中" + "，".join(f"{labels[d]}{counts[d]}项" for d in Decision.values)
            + (f"，尚未决定{len(items) - len(decided)}项" if len(items) > len(decided) else "") + "。")
        if consent:
            doc.add_paragraph(
                f"一致同意事项（各评议部门均无异议，集中审议通过）{len(consent)}项："
                + "；".join(f"{i.number}《{i.title}》" for i in consent) + "。")
        else:
            doc.add_paragraph("本期无一致同意事项。")

        doc.add_heading(f"{_section(2)}议题及决定", level=1)
        consent_ids = {i.pk for i in consent}
        consent_marks = {CONSENT_REASON, translation.gettext(CONSENT_REASON)}  # the reason the consent block writes
        for n, item in enumerate(items, start=1):
            heading = f"（{n}）{item.title}"
            if item.pk in consent_ids:
                heading += "【一致同意事项】"
            doc.add_heading(heading, level=2)
            _field(doc, "事项编号", item.number)
            _field(doc, "提交部门", item.department.name)
            _field(doc, "事项类型", item.get_item_type_display())
            if item.urgent_addition_reason:
                _field(doc, "截止后加急上会原因", item.urgent_addition_reason)
            _field(doc, "会议决定", item.get_decision_display() if item.decision else "尚未决定")
            if item.pk in consent_ids:
                doc.add_paragraph("该事项各评议部门均无异议，列入一致同意事项集中审议通过。")
            if item.decision_reasons and not (item.pk in consent_ids and item.decision_reasons in consent_marks):
                _field(doc, "决定理由", item.decision_reasons)
            waivers = list(item.waivers.all())
            if waivers:
                doc.add_paragraph().add_run("评议豁免：").bold = True
                for w in waivers:  # recorded by the chair when a required review was missing
                    doc.add_paragraph(f"{w.dimension.name}：{w.reason}（主持人{_person(w.waived_by)}，"
                                      f"{_day(timezone.localtime(w.waived_at).date())}）"
                                      + ("（事项此后修改，豁免失效）" if w.is_stale else ""))
            conditions = list(item.conditions.all())
            if conditions:
                doc.add_paragraph().add_run("通过条件：").bold = True
                for k, cond in enumerate(conditions, start=1):
                    doc.add_paragraph(
                        f"{k}. {cond.text}；责任部门：{cond.owner_department.name}；"
                        f"完成时限：{_day(cond.due_date)}；完成证明：{cond.proof}；状态：{cond.get_status_display()}")
            if item.approval_number:
                number = item.approval_number + ("（已撤销）" if item.approval_revoked_at else "")
            elif item.decision == Decision.CONDITIONAL or item.status == ItemStatus.CONDITIONAL:
                number = "待全部条件落实并经秘书处确认后核发"
            elif item.decision == Decision.REJECTED:
                number = "不予核发"
            else:
                number = "—"
            _field(doc, "审批编号", number)

        section = 3
        if _add_feedback(doc, meeting, section):
            section += 1
        if meeting.notes.strip():
            doc.add_heading(f"{_section(section)}其他事项", level=1)
            for line in meeting.notes.strip().splitlines():
                if line.strip():
                    doc.add_paragraph(line.strip())

        footer = doc.add_paragraph(f"运营沟通会秘书处（运行管理部）　{_day(meeting.held_on)}")
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = BytesIO()
    doc.save(buf)
    return buf.getvalue()
