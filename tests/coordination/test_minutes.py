"""The minutes as an issued record (issue 12): a draft while the meeting is open; closing the meeting
issues them (the secretariat); the chair — someone else — approves them, which numbers them (文号)
and stores the .docx once in core's store of issued documents; downloads serve those bytes."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from docx import Document

from branchops.coordination import queries, rules, services
from branchops.coordination.minutes import build_minutes_docx
from branchops.coordination.models import Condition, Meeting, Settings
from branchops.core import services as core_services
from branchops.core.models import IssuedDocument, TimelineEntry
from tests.conftest import on_meeting_day
from tests.coordination.conftest import ready

pytestmark = pytest.mark.usefixtures("english_messages")

API = "/api/v1/coordination"


def _text(content: bytes) -> str:
    doc = Document(BytesIO(content))
    header = "\n".join(p.text for p in doc.sections[0].header.paragraphs)
    return header + "\n" + "\n".join(p.text for p in doc.paragraphs)


def _meeting(pk) -> Meeting:
    return Meeting.objects.get(pk=pk)


@pytest.fixture
def decided(coord_bank, draft):
    """A held meeting: one item conditionally approved (a condition owned by PFB), the attendance by
    kind — sub1 in attendance (列席), rev1 on leave (请假) — and other business."""
    b = coord_bank
    item = ready(b, services.submit_item(b.users["pfb1"], draft()))
    meeting = item.meeting
    services.record_attendance(b.users["sec1"], meeting, [b.users[u] for u in ("sec1", "icc1", "legal1", "leader1")],
                               chair=b.users["leader1"], observers=[b.users["sub1"]], on_leave=[b.users["rev1"]])
    services.record_decision(b.users["sec1"], item, "conditional", reasons="按评议意见补充", conditions=[
        {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术"}])
    services.edit_notes(b.users["sec1"], meeting, "下次会议改在三楼会议室")
    b.item, b.meeting = item, _meeting(meeting.pk)
    return b


@pytest.fixture
def closed(decided):
    services.close_meeting(decided.users["sec1"], decided.meeting)
    decided.meeting = _meeting(decided.meeting.pk)
    return decided


# --- draft, issue, approve ------------------------------------------------------------------------

def test_the_draft_says_it_is_a_draft_and_has_no_number(decided, login):
    b = decided
    text = _text(build_minutes_docx(b.meeting))
    assert "草稿" in text and "运管纪要" not in text
    assert queries.minutes_state(b.meeting) == "draft"
    page = login(b.users["sec1"]).get(f"/coordination/meetings/{b.meeting.pk}/minutes/").content.decode()
    assert 'data-minutes-state="draft"' in page and "data-draft" in page


def test_closing_issues_and_the_chair_approves_numbered_and_stored(closed, login):
    b = closed
    m = b.meeting
    assert m.status == Meeting.Status.CLOSED and m.minutes_issued_by == b.users["sec1"]
    assert queries.minutes_state(m) == "issued" and m.minutes_document is None
    assert rules.minutes_approvable(b.users["leader1"], m)
    services.approve_minutes(b.users["leader1"], m)
    m = _meeting(m.pk)
    doc = m.minutes_document
    assert doc.number == f"运管纪要〔{m.year}〕1号" and queries.minutes_state(m) == "approved"
    assert doc.issued_by == b.users["sec1"] and doc.approved_by == b.users["leader1"]
    assert doc.source == m and doc.kind == queries.MINUTES_KIND
    verbs = set(TimelineEntry.objects.filter(object_id=str(m.pk), verb__startswith="minutes_")
                .values_list("verb", flat=True))
    assert verbs == {"minutes_issued", "minutes_approved"}
    with pytest.raises(ValidationError):  # approved once: never again, never renumbered
        services.approve_minutes(b.users["leader1"], m)
    r = login(b.users["icc1"]).get(f"/coordination/meetings/{m.pk}/minutes.docx")
    assert r.status_code == 200 and r.content == bytes(doc.content)


def test_the_same_person_cannot_issue_and_approve(decided, api):
    b = decided
    services.designate_chair(b.users["sec1"], b.meeting, b.users["sec1"])  # the head of operations chairs
    services.close_meeting(b.users["sec1"], b.meeting)
    m = _meeting(b.meeting.pk)
    assert not rules.minutes_approvable(b.users["sec1"], m)  # not offered to the page or the API …
    c = api(b.users["sec1"])
    assert "approve" not in c.get(f"{API}/meetings/{m.pk}/minutes").json()["allowed_actions"]
    with pytest.raises(ValidationError, match="two different people"):  # … and refused by the service
        services.approve_minutes(b.users["sec1"], m)
    r = c.post(f"{API}/meetings/{m.pk}/actions/approve", {}, content_type="application/json")
    assert r.status_code == 400 and "two different people" in r.content.decode()
    assert _meeting(m.pk).minutes_document is None and not IssuedDocument.objects.exists()


def test_only_the_chair_approves(closed, api):
    b = closed
    m = b.meeting
    for user in ("pfb1", "icc1"):
        with pytest.raises(PermissionDenied):
            services.approve_minutes(b.users[user], m)
    b.person("leader2", b.branch, ["branch_leader"])  # a branch leader who is not this meeting's chair
    with pytest.raises(PermissionDenied):
        services.approve_minutes(b.users["leader2"], m)
    r = api(b.users["leader2"]).post(f"{API}/meetings/{m.pk}/actions/approve", {}, content_type="application/json")
    assert r.status_code == 403
    r = api(b.users["leader1"]).post(f"{API}/meetings/{m.pk}/actions/approve", {}, content_type="application/json")
    assert r.status_code == 200
    assert api(b.users["leader1"]).get(f"{API}/meetings/{m.pk}/minutes").json()["state"] == "approved"


def test_minutes_cannot_be_approved_before_they_are_issued(decided):
    b = decided
    with pytest.raises(ValidationError):
        services.approve_minutes(b.users["leader1"], b.meeting)


def test_a_meeting_closed_before_issuing_is_issued_by_the_secretariat(closed):
    b = closed
    Meeting.objects.filter(pk=b.meeting.pk).update(minutes_issued_by=None, minutes_issued_at=None)  # an old record
    m = _meeting(b.meeting.pk)
    assert rules.minutes_issuable(b.users["sec1"], m) and not rules.minutes_approvable(b.users["leader1"], m)
    with pytest.raises(PermissionDenied):
        services.issue_minutes(b.users["pfb1"], m)
    services.issue_minutes(b.users["sec1"], m)
    with pytest.raises(ValidationError):
        services.issue_minutes(b.users["sec1"], m)
    services.approve_minutes(b.users["leader1"], _meeting(m.pk))
    assert _meeting(m.pk).minutes_document is not None


def test_numbers_follow_approval_order_per_branch_and_year_in_the_configured_format(closed):
    b = closed
    Settings.objects.filter(branch=b.branch).update(minutes_number_format="纪要{year}-{seq:02d}")
    first = b.meeting
    later = services.create_meeting(b.users["sec1"], b.branch, first.held_on + timedelta(days=14),
                                    chair=b.users["leader1"])
    services.freeze_agenda(b.users["sec1"], later)
    on_meeting_day(later)
    services.record_attendance(b.users["sec1"], later, [b.users[u] for u in ("sec1", "icc1", "legal1", "leader1")],
                               chair=b.users["leader1"])
    services.close_meeting(b.users["sec1"], later)
    services.approve_minutes(b.users["leader1"], _meeting(later.pk))  # the later meeting is approved first
    services.approve_minutes(b.users["leader1"], _meeting(first.pk))
    assert _meeting(later.pk).minutes_document.number == f"纪要{later.year}-01"
    assert _meeting(first.pk).minutes_document.number == f"纪要{first.year}-02"


def test_a_bad_number_format_is_refused_and_nothing_is_stored(closed):
    b = closed
    Settings.objects.filter(branch=b.branch).update(minutes_number_format="纪要{nope}")
    with pytest.raises(ValidationError, match="not valid"):
        services.approve_minutes(b.users["leader1"], b.meeting)
    assert _meeting(b.meeting.pk).minutes_document is None and not IssuedDocument.objects.exists()


# --- immutability ---------------------------------------------------------------------------------

def test_an_issued_document_never_changes(closed):
    b = closed
    services.approve_minutes(b.users["leader1"], b.meeting)
    doc = IssuedDocument.objects.get()
    doc.title = "改过的标题"
    with pytest.raises(ValueError):
        doc.save()
    with pytest.raises(ValueError):
        doc.delete()
    with pytest.raises(ValidationError):  # a second document for the same meeting
        core_services.store_document(b.meeting, kind=queries.MINUTES_KIND, number="x", title="x", content=b"x",
                                     content_type="text/plain", file_name="x.txt", issued_by=None,
                                     issued_at=doc.issued_at, approved_by=None, approved_at=doc.approved_at)
    assert IssuedDocument.objects.get().title != "改过的标题"


def test_stored_bytes_do_not_change_when_the_item_changes_later(closed, api):
    b = closed
    services.approve_minutes(b.users["leader1"], b.meeting)
    doc = IssuedDocument.objects.get()
    stored = bytes(doc.content)
    cond = Condition.objects.get(item=b.item)
    services.report_condition_met(b.users["pfb1"], cond, evidence="已修订话术")
    services.sign_off_condition(b.users["sec1"], cond)
    rebuilt = _text(build_minutes_docx(_meeting(b.meeting.pk)))
    with translation.override("zh-hans"):
        opened, signed = str(Condition.Status.OPEN.label), str(Condition.Status.SIGNED_OFF.label)
    assert f"状态：{signed}" in rebuilt  # a rebuild would show the later state …
    c = api(b.users["icc1"])
    page = c.get(f"/coordination/meetings/{b.meeting.pk}/minutes.docx").content
    via_api = c.get(f"{API}/meetings/{b.meeting.pk}/minutes/document").content
    assert page == via_api == stored == bytes(IssuedDocument.objects.get().content)
    assert f"状态：{opened}" in _text(stored) and f"状态：{signed}" not in _text(stored)  # … the record does not


def test_later_changes_appear_in_the_next_minutes_under_follow_up(closed):
    b = closed
    cond = Condition.objects.get(item=b.item)
    later = services.create_meeting(b.users["sec1"], b.branch, b.meeting.held_on + timedelta(days=14))
    assert [c.pk for c in queries.follow_up_conditions(later)] == [cond.pk]  # still open
    assert "前期条件跟踪落实情况" in _text(build_minutes_docx(later)) and cond.text in _text(build_minutes_docx(later))
    services.report_condition_met(b.users["pfb1"], cond, evidence="已修订话术")
    services.sign_off_condition(b.users["sec1"], cond)
    assert [c.pk for c in queries.follow_up_conditions(later)] == [cond.pk]  # signed off since the last meeting


# --- content of the .docx -------------------------------------------------------------------------

def test_issued_docx_has_number_attendance_by_kind_opinions_per_dimension_and_the_rest(closed):
    b = closed
    services.approve_minutes(b.users["leader1"], b.meeting)
    m = _meeting(b.meeting.pk)
    text = _text(bytes(m.minutes_document.content))
    assert "草稿" not in text and m.minutes_document.number in text
    lines = text.splitlines()
    present = next(ln for ln in lines if ln.startswith("出席："))
    observers = next(ln for ln in lines if ln.startswith("列席："))
    on_leave = next(ln for ln in lines if ln.startswith("请假："))
    assert b.users["icc1"].staff.name in present and b.users["legal1"].staff.name in present
    assert b.users["sub1"].staff.name in observers and b.users["sub1"].staff.name not in present
    assert b.users["rev1"].staff.name in on_leave
    # every review department's opinion, per dimension
    assert any(ln.startswith("内控合规部") for ln in lines)
    assert "合规管理：无异议" in lines and "消费者权益保护：无异议" in lines
    assert "事项编号：" + b.item.number in lines and "会议决定：有条件通过" in lines
    assert any("补充风险提示话术" in ln and "责任部门：个人金融业务部" in ln and "完成时限" in ln for ln in lines)
    assert "下次会议改在三楼会议室" in lines  # other business
    assert any(ln.startswith("审批：") and b.users["leader1"].staff.name in ln for ln in lines)
    assert "批准文号：待全部条件落实并经秘书处确认后核发" in lines
    assert "第" in text and "次会议" in text and "第1期" not in text  # one word for meetings


# --- attendance by kind: the rule lives in the service -----------------------------------------------

def test_attendance_kinds_are_branch_staff_and_exclusive(decided, api):
    b = decided
    sec, m = b.users["sec1"], b.meeting
    with pytest.raises(ValidationError) as exc:
        services.record_attendance(sec, m, [sec, b.users["leader1"]], chair=b.users["leader1"],
                                   observers=[b.users["staff11"]])
    assert "observers" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.record_attendance(sec, m, [sec, b.users["icc1"]], observers=[b.users["icc1"]])
    assert "observers" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.record_attendance(sec, m, [sec], chair=b.users["leader1"], on_leave=[b.users["leader1"]])
    assert "chair" in exc.value.message_dict
    # the API refuses what the form would not offer: an outlet's staff in attendance
    r = api(sec).post(f"{API}/meetings/{m.pk}/actions/attendance",
                      {"attendee_ids": [sec.pk], "observer_ids": [b.users["staff11"].pk]},
                      content_type="application/json")
    assert r.status_code == 400 and "observers" in r.content.decode()
    m = _meeting(m.pk)
    assert list(m.observers.all()) == [b.users["sub1"]] and list(m.on_leave.all()) == [b.users["rev1"]]


# --- readers --------------------------------------------------------------------------------------

def _answers(login, b, m, users) -> dict:
    out = {}
    for u in users:
        c = login(b.users[u])
        out[u] = (c.get(f"/coordination/meetings/{m.pk}/minutes/").status_code,
                  c.get(f"/coordination/meetings/{m.pk}/minutes.docx").status_code,
                  c.get(f"{API}/meetings/{m.pk}/minutes").status_code,
                  c.get(f"{API}/meetings/{m.pk}/minutes/document").status_code)
    return {u: set(v) for u, v in out.items()}


def test_drafts_are_read_by_the_secretariat_and_the_chair_only(closed, login):
    b = closed
    b.person("leader2", b.branch, ["branch_leader"])
    answers = _answers(login, b, b.meeting, ["sec1", "leader1", "icc1", "pfb1", "leader2", "staff11", "head11",
                                             "sb1mgr"])
    assert answers["sec1"] == answers["leader1"] == {200}
    for u in ("icc1", "pfb1", "leader2", "staff11", "head11", "sb1mgr"):  # a reviewer of a draft: 404
        assert answers[u] == {404}, u


def test_issued_minutes_readers(closed, login):
    b = closed
    services.approve_minutes(b.users["leader1"], b.meeting)
    b.person("leader2", b.branch, ["branch_leader"])
    answers = _answers(login, b, b.meeting, ["sec1", "leader1", "icc1", "legal1", "pfb1", "leader2", "sub1",
                                             "staff11", "head11", "sb1mgr"])
    for u in ("sec1", "leader1", "icc1", "legal1", "pfb1", "leader2"):
        assert answers[u] == {200}, u
    # outlets and sub-branches never; a department with no item on the meeting (sub1 of OPS is the
    # secretariat's department but only a submitter) neither
    for u in ("staff11", "head11", "sb1mgr", "sub1"):
        assert answers[u] == {404}, u
    assert not rules.reads_minutes(b.users["staff11"], b.meeting)


def test_minutes_api_content(closed, api):
    b = closed
    services.approve_minutes(b.users["leader1"], b.meeting)
    data = api(b.users["pfb1"]).get(f"{API}/meetings/{b.meeting.pk}/minutes").json()
    assert data["state"] == "approved" and data["number"].startswith("运管纪要")
    assert {p["username"] for p in data["observers"]} == {"sub1"}
    assert {p["username"] for p in data["on_leave"]} == {"rev1"}
    item = data["items"][0]
    assert item["number"] == b.item.number and item["decision"] == "conditional"
    assert {o["department"]["code"] for o in item["opinions"]} == {b.icc.code, b.legal.code}
    assert all(o["lines"] for o in item["opinions"])
    assert item["conditions"][0]["owner_department"]["code"] == "PFB"
    assert data["notes"] == "下次会议改在三楼会议室" and data["allowed_actions"] == []
    assert len(data["sha256"]) == 64
