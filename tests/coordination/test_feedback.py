"""Feedback through the meeting (统一收集、向上反映、协商解决): an outlet's feedback raised to the
meeting is an agenda entry of the branch's next meeting; the meeting answers it and names who follows
up; the case stays open until the follow-up is done, then the outlet reads the answer on its case.
Meetings keep notes and other business. Services, the API (refusing what the form refuses), pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from branchops.cases import services as cases
from branchops.cases.models import Case, CaseType, Outcome, Status
from branchops.coordination import services
from branchops.coordination.models import FeedbackEntry, Meeting
from branchops.core import clock
from branchops.core.models import Notification
from branchops.core.workdays import add_working_days
from branchops.org import services as org
from tests.coordination.conftest import hold

URL = "/api/v1/coordination/"
pytestmark = pytest.mark.usefixtures("english_messages")


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


@pytest.fixture(autouse=True)
def english():
    # The services' refusals are matched on their English wording.
    with translation.override("en"):
        yield


@pytest.fixture
def raised(coord_bank):
    """Feedback from outlet 12, raised by the secretariat to the next meeting: (case, entry)."""
    b = coord_bank

    def make(title="新系统上线无操作指引"):
        case = cases.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12, title=title)
        case = cases.triage_feedback(b.users["sec1"], case, "to_meeting", note="请会议研究")
        return case, FeedbackEntry.objects.get(case=case)

    return make


def held(b, meeting):
    services.freeze_agenda(b.users["sec1"], meeting)
    return hold(b, meeting)


def due():
    return add_working_days(clock.today(), 3)


def answer(b, entry, user="sec1", **extra):
    data = {"answer": "由运行管理部统一下发操作指引", "follow_up_department": b.ops, "follow_up_due": due()}
    data.update(extra)
    return services.answer_feedback(b.users[user], FeedbackEntry.objects.get(pk=entry.pk), **data)


# --- services ------------------------------------------------------------------------------------

def test_raised_feedback_is_an_agenda_entry_and_the_case_stays_open(coord_bank, raised):
    b = coord_bank
    case, entry = raised()
    assert case.status == Status.IN_PROGRESS and case.outcome == "" and case.resolved_at is None
    assert entry.meeting == services.next_meeting(b.branch) and entry.status == FeedbackEntry.Status.OPEN
    assert entry.note == "请会议研究" and entry.raised_by == b.users["sec1"]
    assert not entry.meeting.items.exists()  # its own kind of entry, not an item to approve
    # Raised twice: refused, nothing changes.
    with pytest.raises(ValidationError, match="already on a meeting"):
        cases.triage_feedback(b.users["sec1"], Case.objects.get(pk=case.pk), "to_meeting")
    assert FeedbackEntry.objects.filter(case=case).count() == 1


def test_only_the_secretariat_raises_and_a_generic_resolve_cannot_fake_it(coord_bank):
    b = coord_bank
    case = cases.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12, title="反馈")
    with pytest.raises(PermissionDenied):
        cases.triage_feedback(b.users["staff12"], case, "to_meeting")
    with pytest.raises(ValidationError) as exc:
        cases.resolve_case(b.users["sec1"], case, outcome=Outcome.TO_MEETING, resolution="上会")
    assert "outcome" in exc.value.message_dict
    case.refresh_from_db()
    assert case.status == Status.NEW and not FeedbackEntry.objects.exists()


def test_answer_follows_the_rules_of_decisions(coord_bank, raised):
    b = coord_bank
    _case, entry = raised()
    meeting = entry.meeting
    with pytest.raises(ValidationError, match="Freeze the agenda"):
        answer(b, entry)
    services.freeze_agenda(b.users["sec1"], meeting)
    with pytest.raises(ValidationError) as exc:  # before the meeting's date
        answer(b, entry)
    assert "held_on" in exc.value.message_dict
    hold(b, meeting, attendees=("sec1", "leader1"))  # the review departments absent: not quorate
    with pytest.raises(ValidationError, match="not quorate"):
        answer(b, entry)
    entry.refresh_from_db()
    assert entry.status == FeedbackEntry.Status.OPEN and entry.answer == ""


def test_answer_names_the_field_in_error_and_changes_nothing(coord_bank, raised):
    b = coord_bank
    _case, entry = raised()
    held(b, entry.meeting)
    cases_ = [
        ({"answer": "  "}, "answer"),
        ({"follow_up_department": None}, "follow_up_department"),
        ({"follow_up_due": None}, "follow_up_due"),
        ({"follow_up_due": clock.today()}, "follow_up_due"),
        ({"follow_up_department": None, "follow_up_person": b.users["staff11"]}, "follow_up_person"),
    ]
    for extra, field in cases_:
        with pytest.raises(ValidationError) as exc:
            answer(b, entry, **extra)
        assert field in exc.value.message_dict, (extra, exc.value)
    with pytest.raises(PermissionDenied):
        answer(b, entry, user="icc1")
    entry.refresh_from_db()
    assert entry.status == FeedbackEntry.Status.OPEN and entry.answer == ""


def test_the_chair_answers_and_the_follow_up_resolves_the_case(coord_bank, raised,
                                                               django_capture_on_commit_callbacks):
    b = coord_bank
    case, entry = raised()
    held(b, entry.meeting)
    with django_capture_on_commit_callbacks(execute=True):
        entry = answer(b, entry, user="leader1", follow_up_department=None, follow_up_person=b.users["pfb1"])
    assert entry.status == FeedbackEntry.Status.ANSWERED and entry.answered_by == b.users["leader1"]
    assert Notification.objects.filter(recipient=b.users["pfb1"], title__contains=case.number).exists()
    with pytest.raises(ValidationError, match="already been answered"):
        answer(b, entry)
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS  # open until the follow-up is done
    with pytest.raises(PermissionDenied):  # neither the owner, nor the secretariat
        services.complete_feedback(b.users["icc1"], entry, note="已完成")
    with pytest.raises(ValidationError) as exc:
        services.complete_feedback(b.users["pfb1"], entry, note=" ")
    assert "note" in exc.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        services.complete_feedback(b.users["pfb1"], entry, note="已下发操作指引并培训")
    case.refresh_from_db()
    entry.refresh_from_db()
    assert entry.status == FeedbackEntry.Status.DONE and entry.done_by == b.users["pfb1"]
    assert case.status == Status.RESOLVED and case.outcome == Outcome.TO_MEETING
    assert "由运行管理部统一下发操作指引" in case.resolution and "已下发操作指引并培训" in case.resolution
    assert Notification.objects.filter(recipient=b.users["staff12"], title__contains=case.number,
                                       url=case.get_absolute_url()).count() >= 1
    with pytest.raises(ValidationError, match="Only an answered"):
        services.complete_feedback(b.users["pfb1"], entry, note="再次")


def test_the_follow_up_department_reports_done(coord_bank, raised):
    b = coord_bank
    case, entry = raised()
    held(b, entry.meeting)
    entry = answer(b, entry, follow_up_department=b.pfb)
    services.complete_feedback(b.users["pfb1"], entry, note="已完成")
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED


def test_a_case_settled_meanwhile_still_gets_the_answer(coord_bank, raised):
    b = coord_bank
    case, entry = raised()
    held(b, entry.meeting)
    entry = answer(b, entry)
    case = cases.resolve_case(b.users["sec1"], Case.objects.get(pk=case.pk), outcome=Outcome.ANSWERED,
                              resolution="已电话答复网点")
    services.complete_feedback(b.users["sec1"], entry, note="已下发")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and case.outcome == Outcome.ANSWERED  # not resolved twice
    assert FeedbackEntry.objects.get(pk=entry.pk).status == FeedbackEntry.Status.DONE


def test_closing_defers_unanswered_feedback_to_the_next_meeting(coord_bank, raised):
    b = coord_bank
    case_a, first = raised("反馈甲")
    case_b, second = raised("反馈乙")
    meeting = first.meeting
    held(b, meeting)
    answer(b, first)
    services.close_meeting(b.users["sec1"], meeting)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == FeedbackEntry.Status.ANSWERED  # its follow-up goes on after the minutes close
    assert second.status == FeedbackEntry.Status.DEFERRED
    moved = second.deferred_to
    assert moved.meeting.held_on > meeting.held_on and moved.meeting.status == Meeting.Status.PLANNED
    assert moved.status == FeedbackEntry.Status.OPEN and moved.case == case_b
    assert Case.objects.get(pk=case_b.pk).status == Status.IN_PROGRESS
    with pytest.raises(ValidationError):  # the closed meeting answers nothing more
        answer(b, second)


def test_notes_are_written_by_the_secretariat_until_the_minutes_close(coord_bank, raised):
    b = coord_bank
    _case, entry = raised()
    meeting = entry.meeting
    with pytest.raises(PermissionDenied):
        services.edit_notes(b.users["staff11"], meeting, "其他事项")
    with pytest.raises(ValidationError) as exc:
        services.edit_notes(b.users["sec1"], meeting, "长" * 10_001)
    assert "notes" in exc.value.message_dict
    services.edit_notes(b.users["sec1"], meeting, "其他事项：年终决算安排")
    services.edit_notes(b.users["sec1"], meeting, "其他事项：年终决算安排，12月31日")
    meeting.refresh_from_db()
    assert meeting.notes == "其他事项：年终决算安排，12月31日"
    assert meeting.history.filter(notes="其他事项：年终决算安排").exists()  # versioned
    held(b, meeting)
    services.close_meeting(b.users["sec1"], meeting)
    with pytest.raises(ValidationError, match="closed"):
        services.edit_notes(b.users["sec1"], Meeting.objects.get(pk=meeting.pk), "迟到的修改")


# --- the API refuses what the form refuses ------------------------------------------------------

def test_api_answer_refusals_change_nothing(api, coord_bank, raised):
    b = coord_bank
    _case, entry = raised()
    url = f"{URL}feedback/{entry.pk}/actions/answer"
    good = {"answer": "统一下发指引", "follow_up_department_id": b.ops.pk, "follow_up_due": due().isoformat()}
    services.freeze_agenda(b.users["sec1"], entry.meeting)
    r = post(api(b.users["sec1"]), url, good)  # before the meeting's day
    assert r.status_code == 400 and "held_on" in r.json()["detail"], r.content
    hold(b, entry.meeting)
    good["follow_up_due"] = due().isoformat()  # the clock is now on the meeting's day
    sub_branch_dept = org.save_department(None, institution=b.sb1, code="SB1OPS", name="福田支行运营部")
    for extra, field in [({"answer": ""}, "answer"),
                         ({"follow_up_department_id": 999999}, "follow_up_department_id"),
                         ({"follow_up_department_id": sub_branch_dept.pk}, "follow_up_department"),
                         ({"follow_up_department_id": None, "follow_up_person_id": b.users["staff11"].pk},
                          "follow_up_person"),
                         ({"follow_up_due": clock.today().isoformat()}, "follow_up_due"),
                         ({"follow_up_due": "2026-13-40"}, "follow_up_due")]:
        r = post(api(b.users["sec1"]), url, {**good, **extra})
        assert r.status_code in (400, 422), (extra, r.content)
        assert field in r.content.decode(), (extra, r.content)
    assert post(api(b.users["icc1"]), url, good).status_code == 403  # reads minutes, answers nothing
    assert post(api(b.users["staff12"]), url, good).status_code == 404  # an outlet reads its case, not the minutes
    assert post(api(b.users["sec1"]), f"{URL}feedback/{entry.pk}/actions/nonsense", good).status_code == 404
    entry.refresh_from_db()
    assert entry.status == FeedbackEntry.Status.OPEN and entry.answer == ""
    r = post(api(b.users["sec1"]), url, good)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "answered" and r.json()["follow_up_department"]["id"] == b.ops.pk


def test_api_journey_feedback_answer_done_case_resolved(api, coord_bank, raised):
    b = coord_bank
    case, entry = raised()
    meeting = entry.meeting
    data = api(b.users["sec1"]).get(f"{URL}meetings/{meeting.pk}").json()
    assert [f["case"]["number"] for f in data["feedback"]] == [case.number] and data["agenda"] == []
    assert data["feedback"][0]["allowed_actions"] == [] and "notes" in data["allowed_actions"]
    r = post(api(b.users["sec1"]), f"{URL}meetings/{meeting.pk}/actions/notes", {"notes": "其他事项：年终决算"})
    assert r.status_code == 200 and r.json()["notes"] == "其他事项：年终决算"
    assert post(api(b.users["icc1"]), f"{URL}meetings/{meeting.pk}/actions/notes", {"notes": "x"}).status_code == 403
    held(b, meeting)
    data = api(b.users["sec1"]).get(f"{URL}meetings/{meeting.pk}").json()
    assert data["feedback"][0]["allowed_actions"] == ["answer"]
    r = post(api(b.users["sec1"]), f"{URL}feedback/{entry.pk}/actions/answer",
             {"answer": "统一下发指引", "follow_up_person_id": b.users["pfb1"].pk, "follow_up_due": due().isoformat()})
    assert r.status_code == 200, r.content
    done_url = f"{URL}feedback/{entry.pk}/actions/done"
    assert post(api(b.users["icc1"]), done_url, {"note": "完成"}).status_code == 403
    r = post(api(b.users["pfb1"]), done_url, {"note": ""})
    assert r.status_code == 400 and "note" in r.json()["detail"]
    assert api(b.users["staff12"]).get(f"/api/v1/cases/{case.pk}").json()["status"] == "in_progress"
    r = post(api(b.users["pfb1"]), done_url, {"note": "已下发"})
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["allowed_actions"] == []
    seen = api(b.users["staff12"]).get(f"/api/v1/cases/{case.pk}").json()
    assert seen["status"] == "resolved" and "统一下发指引" in seen["resolution"]


# --- pages ---------------------------------------------------------------------------------------

def test_meeting_page_answers_and_the_minutes_carry_feedback_and_notes(client, coord_bank, raised):
    b = coord_bank
    case, entry = raised()
    meeting = entry.meeting
    services.edit_notes(b.users["sec1"], meeting, "其他事项：<b>年终</b>决算")
    held(b, meeting)
    client.force_login(b.users["sec1"])
    page = client.get(f"/coordination/meetings/{meeting.pk}/").content.decode()
    assert f'data-feedback="{entry.pk}"' in page and 'data-form="feedback-answer"' in page
    assert 'data-form="notes"' in page
    url = f"/coordination/feedback/{entry.pk}/answer/"
    form = {"answer": "统一下发指引", "follow_up_department": b.pfb.pk, "follow_up_due": due().isoformat()}
    client.post(url, {**form, "follow_up_due": ""})  # the form refuses: nothing changes
    assert FeedbackEntry.objects.get(pk=entry.pk).status == FeedbackEntry.Status.OPEN
    client.post(url, {**form, "follow_up_due": clock.today().isoformat()})  # the service refuses
    assert FeedbackEntry.objects.get(pk=entry.pk).status == FeedbackEntry.Status.OPEN
    r = client.post(url, form)
    assert r.status_code == 302 and FeedbackEntry.objects.get(pk=entry.pk).status == FeedbackEntry.Status.ANSWERED
    minutes = client.get(f"/coordination/meetings/{meeting.pk}/minutes/").content.decode()
    assert f'data-minutes-feedback="{entry.pk}"' in minutes and "统一下发指引" in minutes
    assert "&lt;b&gt;年终&lt;/b&gt;" in minutes  # escaped
    client.force_login(b.users["staff12"])  # an outlet: no minutes, no feedback of others on the meeting page
    assert client.get(f"/coordination/meetings/{meeting.pk}/minutes/").status_code == 404
    assert client.post(f"/coordination/feedback/{entry.pk}/done/", {"note": "x"}).status_code == 404
    client.force_login(b.users["pfb1"])
    assert 'data-form="feedback-done"' in client.get(f"/coordination/meetings/{meeting.pk}/").content.decode()
    client.post(f"/coordination/feedback/{entry.pk}/done/", {"note": "已下发并培训"})
    client.force_login(b.users["staff12"])
    assert "统一下发指引" in client.get(case.get_absolute_url()).content.decode()  # the outlet sees the answer


def test_minutes_docx_has_feedback_and_other_business(coord_bank, raised):
    pytest.importorskip("docx")
    import io

    from docx import Document

    from branchops.coordination.minutes import build_minutes_docx

    b = coord_bank
    _case, entry = raised()
    services.edit_notes(b.users["sec1"], entry.meeting, "年终决算安排")
    held(b, entry.meeting)
    answer(b, entry)
    text = "\n".join(p.text for p in Document(io.BytesIO(build_minutes_docx(Meeting.objects.get(pk=entry.meeting_id)))).paragraphs)
    assert "网点反映问题" in text and "由运行管理部统一下发操作指引" in text and "运行管理部" in text
    assert "其他事项" in text and "年终决算安排" in text
