"""Feedback through the meeting (统一收集、向上反映、协商解决): an outlet's feedback raised to the
meeting is an agenda entry of the branch's next meeting; the meeting answers it and names who follows
up; the case stays open until the follow-up is done, then the outlet reads the answer on its case.
Meetings keep notes and other business. Services, the API (refusing what the form refuses), pages."""

from datetime import timedelta

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
    other_branch_dept = b.o11 and None
    cases_ = [
        ({"answer": "  "}, "answer"),
        ({"follow_up_department": None}, "follow_up_department"),
        ({"follow_up_due": None}, "follow_up_due"),
        ({"follow_up_due": clock.today()}, "follow_up_due"),
        ({"follow_up_department": None, "follow_up_person": b.users["staff11"]}, "follow_up_person"),
    ]
    assert other_branch_dept is None
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
