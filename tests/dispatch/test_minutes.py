"""The meeting minutes (会议纪要) as a .docx: opened again with python-docx and read back."""

from io import BytesIO

from django.utils import translation
from docx import Document

from branchops.coordination import services
from branchops.coordination.minutes import build_minutes_docx
from branchops.coordination.models import Decision, Meeting
from branchops.core.workdays import add_working_days
from tests.conftest import on_meeting_day


def _lines(b, code, concern=False, text=""):
    dim = {"ICC": "compliance", "LEGAL": "consumer_rights"}[code]
    return [{"dimension": b.dim[dim], "concern": concern, "text": text, "proposed_condition": ""}]


def _label(decision):
    with translation.override("zh-hans"):
        return str(Decision(decision).label)


def _texts(data: bytes) -> tuple[list[str], list[str]]:
    doc = Document(BytesIO(data))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    return headings, [p.text for p in doc.paragraphs]


def _meeting(coord_bank, draft):
    """A held meeting: one consent item, one conditionally approved, one rejected."""
    b = coord_bank
    sec = b.users["sec1"]
    consent = services.submit_item(b.users["pfb1"], draft(title="网点厅堂海报更换"))
    conditional = services.submit_item(b.users["pfb1"], draft(title="新版手机银行上线网点推广"))
    rejected = services.submit_item(b.users["pfb1"], draft(title="网点代收水电费"))
    for item in (consent, conditional, rejected):
        services.give_opinion(b.users["legal1"], item, recommendation="approve", lines=_lines(b, "LEGAL"))
    services.give_opinion(b.users["icc1"], consent, recommendation="approve", lines=_lines(b, "ICC"))
    services.give_opinion(b.users["icc1"], conditional, recommendation="conditional",
                          lines=_lines(b, "ICC", True, "需补充风险提示"))
    services.give_opinion(b.users["icc1"], rejected, recommendation="reject", lines=_lines(b, "ICC", True, "可线上办理"))
    meeting = Meeting.objects.get(pk=consent.meeting_id)
    Meeting.objects.filter(pk=meeting.pk).update(location="分行 12 楼第一会议室",
                                                   notes="下期会议研究网点减负清单。")
    services.freeze_agenda(sec, meeting)
    on_meeting_day(meeting)
    services.record_attendance(sec, meeting, [sec, b.users["icc1"], b.users["legal1"]], chair=b.users["leader1"])
    services.decide_consent_block(sec, meeting)
    conditional.refresh_from_db()
    services.record_decision(sec, conditional, "conditional", reasons="风险提示需完善", conditions=[
        {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术文本"}])
    rejected.refresh_from_db()
    services.record_decision(sec, rejected, "rejected", reasons="该业务可通过线上渠道办理，不应下沉网点")
    meeting.refresh_from_db()
    return meeting, consent, conditional, rejected


def test_minutes_docx_has_every_item_with_its_decision(coord_bank, draft):
    b = coord_bank
    meeting, consent, conditional, rejected = _meeting(coord_bank, draft)
    headings, paragraphs = _texts(build_minutes_docx(meeting))
    text = "\n".join(paragraphs)

    assert headings[0] == f"运营沟通会会议纪要（{meeting.year}年第{meeting.sequence}次会议）（草稿）"  # open: a draft
    d = meeting.held_on
    assert f"会议时间：{d.year}年{d.month}月{d.day}日" in paragraphs
    assert "会议地点：分行 12 楼第一会议室" in paragraphs
    assert "主持人：leader1（深圳分行）" in paragraphs
    attendees = next(p for p in paragraphs if p.startswith("出席："))
    for person in ("sec1（运行管理部）", "icc1（内控合规部）", "legal1（法律事务部）"):
        assert person in attendees

    # Every agenda item, in agenda order, with number, title and submitting department.
    item_headings = [h for h in headings if h.startswith("（")]
    assert [h.split("）", 1)[1].replace("【无异议事项】", "") for h in item_headings] == [
        consent.title, conditional.title, rejected.title]
    for item in (consent, conditional, rejected):
        assert f"事项编号：{item.number}" in paragraphs
    assert paragraphs.count("提交部门：个人金融业务部") == 3

    # Decisions under their Chinese labels, reasons, conditions and approval numbers.
    for decision in ("approved", "conditional", "rejected"):
        assert f"会议决定：{_label(decision)}" in paragraphs
    # The meeting's words, not the item-status words (已批准/已驳回).
    assert [_label(d) for d in ("approved", "conditional", "rejected")] == ["通过", "有条件通过", "不通过"]
    assert "决定理由：该业务可通过线上渠道办理，不应下沉网点" in paragraphs
    cond = conditional.conditions.get()
    due = cond.due_date
    assert cond.due_date == add_working_days(meeting.held_on, 5)
    assert (f"1. 补充风险提示话术；责任部门：个人金融业务部；完成时限：{due.year}年{due.month}月{due.day}日；"
            f"完成证明：修订后的话术文本") in text
    consent.refresh_from_db()
    assert f"批准文号：{consent.approval_number}" in paragraphs and consent.approval_number
    assert "批准文号：待全部条件落实并经秘书处确认后核发" in paragraphs
    assert "批准文号：不予核发" in paragraphs

    # The consent block is noted: in the summary and on the item itself.
    assert item_headings[0].endswith("【无异议事项】") and not item_headings[1].endswith("【无异议事项】")
    summary = next(p for p in paragraphs if p.startswith("无异议事项"))
    assert consent.number in summary and conditional.number not in summary
    assert f"本次会议共审议事项3项，其中{_label('approved')}1项，{_label('conditional')}1项，{_label('rejected')}1项。" \
        in paragraphs
    assert b.users["sec1"].staff.department.name in text
    # The consent block's own reason is not repeated as a reason; the meeting's notes close the minutes.
    assert paragraphs.count("该事项各评议部门均无异议，列入无异议事项一并审议通过。") == 1
    assert sum(1 for p in paragraphs if p.startswith("决定理由：")) == 2
    assert "三、其他事项" in headings and "下期会议研究网点减负清单。" in paragraphs


def test_minutes_are_chinese_whatever_the_language(coord_bank, draft):
    meeting, *_ = _meeting(coord_bank, draft)
    with translation.override("en"):
        data = build_minutes_docx(meeting)
        assert translation.get_language() == "en"
    _headings, paragraphs = _texts(data)
    assert f"会议决定：{_label('rejected')}" in paragraphs


def test_minutes_of_a_meeting_not_yet_decided(coord_bank, draft):
    item = services.submit_item(coord_bank.users["pfb1"], draft())
    headings, paragraphs = _texts(build_minutes_docx(item.meeting))
    assert headings[0].startswith("运营沟通会会议纪要")
    assert "会议决定：尚未决定" in paragraphs and "主持人：—" in paragraphs and "本次会议没有无异议事项。" in paragraphs
    assert any("尚未决定1项" in p for p in paragraphs)
