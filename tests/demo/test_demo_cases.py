"""Demo cases: a year of complaints, feedback, support requests and rectifications at the demo
outlets — sensible mix, overdue and major ones, escalations, dated history, and no duplicates on
a second run.

The organisation and a small variant of the cases (``scale=0.1``, about 150 cases) are built
once for the module inside a transaction rolled back at the end, on the clock frozen at 10:00 of the
run's day (the "load time", the demo's now: the year runs up to it); the notifications, sent on
commit, are written at the end of the build. Each test runs in a savepoint.
"""

from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from branchops.cases import queries
from branchops.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseLink,
    CaseType,
    Category,
    ComplaintDetail,
    Escalation,
    Outcome,
    RectificationDetail,
    Reminder,
    Status,
)
from branchops.coordination.models import FeedbackEntry, Meeting
from branchops.core import clock
from branchops.core.models import Notification, TimelineEntry
from branchops.demo.cases import SUPPORT_DEPARTMENTS, build_demo_cases, demo_cases, first_day
from branchops.demo.data import current_from
from tests.conftest import run_day

SCALE = 0.1
#: When the demo is "loaded" in these tests (the run's day, as every test's clock): nothing of the demo
#: may carry this time, and nothing happened after it.
LOADED_AT = clock.instant(run_day(), 10)
REFERENCE_DATE = run_day()
FIRST_DAY = first_day(REFERENCE_DATE)


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker):
    with django_db_blocker.unblock():
        with clock.frozen(LOADED_AT), TestCase.captureOnCommitCallbacks(execute=True):
            result = build_demo_cases(scale=SCALE)
    return result


def user(username):
    return get_user_model().objects.get(username=username)


def footprint():
    return {
        "cases": Case.objects.count(),
        "history": Case.history.count(),
        "timeline": TimelineEntry.objects.count(),
        "notifications": Notification.objects.count(),
        "escalations": Escalation.objects.count(),
        "reminders": Reminder.objects.count(),
        "links": CaseLink.objects.count(),
    }


@pytest.mark.django_db
def test_counts_by_type_are_sensible(built):
    assert built["status"] == "created"
    by_type = built["by_type"]
    assert built["cases"] == sum(by_type.values()) == demo_cases().count()
    assert 140 <= built["cases"] <= 200
    assert all(n > 0 for n in by_type.values()), by_type
    assert by_type["complaint"] > by_type["support"] > by_type["feedback"]
    # Most of the year is closed; the open ones are mostly recent or overdue.
    assert built["closed"] > 0.75 * built["cases"]
    cases = demo_cases()
    assert cases.values("institution").distinct().count() >= 20  # spread over the outlets


@pytest.mark.django_db
def test_received_over_the_year_and_history_is_dated(built):
    cases = demo_cases()
    first, last = (timezone.localtime(c.received_at).date() for c in (cases.order_by("received_at").first(),
                                                                        cases.order_by("received_at").last()))
    assert FIRST_DAY <= first < FIRST_DAY + timedelta(days=60)
    assert REFERENCE_DATE - timedelta(days=30) < last <= REFERENCE_DATE
    assert len({c.received_at.month for c in cases}) == 12
    # Numbers follow the year received; the services numbered them.
    assert cases.filter(number__startswith=f"TS-{FIRST_DAY.year}-").exists()
    assert cases.filter(number__startswith=f"TS-{REFERENCE_DATE.year}-").exists()
    assert not cases.filter(received_at__gte=LOADED_AT).exists()
    # Steps are dated when they happened, not when the demo was loaded.
    end_of_reference_day = timezone.make_aware(timezone.datetime.combine(REFERENCE_DATE + timedelta(days=1),
                                                                        timezone.datetime.min.time()))
    for case in cases.filter(status=Status.CLOSED)[:50]:
        assert case.received_at <= case.responded_at <= case.resolved_at <= case.closed_at < end_of_reference_day
        assert case.created_at == case.received_at
    ct = ContentType.objects.get_for_model(Case)
    ids = [str(pk) for pk in cases.values_list("pk", flat=True)]
    entries = TimelineEntry.objects.filter(content_type=ct, object_id__in=ids)
    assert entries.exists() and not entries.filter(created_at__gte=end_of_reference_day).exists()
    # Some were resolved after their deadline.
    assert built["resolved_late"] > 0


@pytest.mark.django_db
def test_a_living_branch_few_open_cases_are_overdue(built):
    """Old cases were settled in their history; the open ones are mostly recent and within their
    deadline: under one open case in ten is overdue (issue 17)."""
    open_cases = demo_cases().filter(status__in=OPEN_STATUSES)
    assert built["open"] == open_cases.count() > 0
    figures = queries.sla_figures(user("supervisor"))  # what the pages show, on today's clock
    assert (figures["open"], figures["overdue"]) == (built["open"], built["overdue"])
    # Without the coordination demo, the outlets' workload feedback of its current weeks waits for
    # that demo's secretariat to raise it to its meetings (test_demo_living builds both).
    waiting = open_cases.filter(case_type=CaseType.FEEDBACK, status=Status.NEW, category__code="WORKLOAD",
                                received_at__date__gte=current_from(REFERENCE_DATE))
    overdue = open_cases.filter(resolution_due__lt=REFERENCE_DATE).exclude(pk__in=waiting)
    assert overdue.count() < 0.1 * (open_cases.count() - waiting.count())
    assert not open_cases.filter(received_at__date__lt=REFERENCE_DATE - timedelta(days=60)).exists()
    majors = demo_cases().filter(is_major=True)
    assert majors.count() == built["major"] >= 2
    assert set(majors.values_list("case_type", flat=True)) == {CaseType.COMPLAINT}
    # The worker ran today: overdue cases are escalated, levels recorded once.
    assert built["sla"]["escalations"] == built["escalations"]
    assert Escalation.objects.filter(case__in=overdue).values("case").distinct().count() >= 0.8 * overdue.count()
    assert not overdue.filter(escalation_level=0, paused_since__isnull=True).exists()


@pytest.mark.django_db
def test_complaints_look_like_complaints(built):
    complaints = demo_cases().filter(case_type=CaseType.COMPLAINT)
    channels = set(complaints.values_list("channel", flat=True))
    assert {"on_site", "hotline"} <= channels and len(channels) >= 4
    details = ComplaintDetail.objects.filter(case__in=complaints)
    assert not details.filter(cause_code__isnull=True).exists()
    assert not details.filter(business_code__isnull=True).exists()
    assert details.filter(cause_code__code="C.01").exists()  # 服务态度及服务质量, the commonest cause
    assert complaints.filter(outcome=Outcome.ON_THE_SPOT, status=Status.CLOSED).exists()  # 诉前化解
    # Closing a complaint needs a call-back, except when resolved on the spot; mostly satisfied.
    closed = details.filter(case__status=Status.CLOSED).exclude(case__outcome=Outcome.ON_THE_SPOT)
    assert closed.exists() and not closed.filter(callback_at__isnull=True).exists()
    satisfied = closed.filter(callback_satisfaction__in=["satisfied", "basically"]).count()
    assert satisfied >= 0.7 * closed.count()
    assert details.exclude(root_cause="").exists()
    assert details.exclude(regulator_reference="").filter(regulator_due__isnull=False).exists() or \
        not complaints.filter(channel="regulator").exists()
    # Outlet staff are the first-contact owners.
    owners = get_user_model().objects.filter(first_contact_cases__in=complaints).distinct()
    assert owners.exists() and not owners.exclude(staff__institution__level="outlet").exists()


@pytest.mark.django_db
def test_support_requests_go_to_their_departments(built):
    for code, dept in SUPPORT_DEPARTMENTS.items():
        assert Category.objects.get(case_type=CaseType.SUPPORT, code=code).department.code == dept
    support = demo_cases().filter(case_type=CaseType.SUPPORT)
    for case in support.select_related("category__department", "assignee_department"):
        assert case.assignee_department == case.category.department, case.number
    assert {"FINTECH", "OFFICE", "OPS"} >= set(support.values_list("assignee_department__code", flat=True))
    assert support.values("assignee_department").distinct().count() >= 2


@pytest.mark.django_db
def test_feedback_and_rectifications(built):
    feedback = demo_cases().filter(case_type=CaseType.FEEDBACK)
    assert feedback.filter(outcome=Outcome.TO_MEETING).exists()  # raised to the coordination meeting
    rectifications = demo_cases().filter(case_type=CaseType.RECTIFICATION)
    assert {"MYSTERY", "VIDEO", "ONSITE"} & set(rectifications.values_list("category__code", flat=True))
    closed = RectificationDetail.objects.filter(case__in=rectifications, case__status=Status.CLOSED)
    assert closed.exists()
    assert set(closed.values_list("verified_by__username", flat=True)) == {"supervisor"}
    assert not closed.filter(evidence="").exists()
    # Rectifications opened from a complaint's root cause link back to it.
    from_complaints = rectifications.filter(category__code="COMPLAINT")
    if from_complaints.exists():
        assert CaseLink.objects.filter(case__in=from_complaints, target_case__case_type=CaseType.COMPLAINT).exists()


@pytest.mark.django_db
def test_demo_accounts_have_cases_to_work_on(built):
    head, staff, supervisor = user("outlet_head"), user("outlet_staff"), user("supervisor")
    own = queries.case_list(staff, queue="first_contact")
    assert own.exists()
    assert queries.case_list(head, queue="all").count() >= own.count()
    assert queries.case_list(supervisor, queue="all").count() == demo_cases().count()
    assert queries.case_list(user("secretariat"), queue="all").exists()


@pytest.mark.django_db
def test_second_run_adds_nothing(built, settings):
    before = footprint()
    again = build_demo_cases(scale=SCALE)
    assert again["status"] == "already present"
    assert again["cases"] == built["cases"]
    assert footprint() == before
    settings.DEBUG = True
    # The command's first run adds what is built beside the cases (public phones, outlet routines —
    # whose failed checks open cases —, the workforce); its second run adds nothing.
    call_command("demo", "--no-coordination", "--no-tickets", "--quiet")
    before = footprint()
    out = StringIO()
    # Organisation unchanged, cases already present (the coordination demo has its own tests).
    call_command("demo", "--no-coordination", "--no-tickets", stdout=out)
    assert footprint() == before
    assert "案件" in out.getvalue()
    call_command("demo", "--no-cases", "--no-coordination", "--no-tickets", "--quiet")
    assert footprint() == before


# --- every event dated when it happened ---------------------------------------------------------


def case_timeline(cases):
    ct = ContentType.objects.get_for_model(Case)
    return TimelineEntry.objects.filter(content_type=ct, object_id__in=[str(c.pk) for c in cases])


@pytest.mark.django_db
def test_timeline_entries_are_dated_at_their_events(built):
    cases = {str(c.pk): c for c in demo_cases().select_related("complaint", "rectification")}
    worker = clock.instant(datetime.combine(REFERENCE_DATE, time(7, 0)))
    events: dict[str, dict[str, list]] = {}
    for entry in case_timeline(cases.values()).order_by("id"):
        events.setdefault(entry.object_id, {}).setdefault(entry.verb, []).append(entry.created_at)
    for pk, case in cases.items():
        verbs = events[pk]
        assert verbs["opened"] == [case.received_at] and case.created_at == case.received_at
        if case.closed_at:
            assert verbs["closed"][-1] == case.closed_at
        if case.resolved_at:
            assert verbs["resolved"][-1] == case.resolved_at
        if case.responded_at:
            assert min(t for v in ("accepted", "started", "resolved", "raised_to_meeting")
                       for t in verbs.get(v, [])) == case.responded_at
        callback = getattr(getattr(case, "complaint", None), "callback_at", None)
        if callback:
            assert verbs["called_back"][-1] == callback
        verified = getattr(getattr(case, "rectification", None), "verified_at", None)
        if verified:
            assert verbs["verified"][-1] == verified
        # The SLA worker ran at 07:00 on the reference date; everything else happened before its end.
        assert set(verbs.get("escalated", [])) | set(verbs.get("reminded", [])) <= {worker}
        assert all(t < worker + timedelta(days=1) for times in verbs.values() for t in times)
    escalations = Escalation.objects.filter(case__in=cases.values())
    assert set(escalations.values_list("escalated_at", flat=True)) <= {worker}
    assert set(Reminder.objects.filter(case__in=cases.values()).values_list("sent_at", flat=True)) <= {worker}
    for case in demo_cases().filter(extensions__isnull=False).distinct():
        for ext in case.extensions.all():
            assert case_timeline([case]).filter(verb="extension_requested", created_at=ext.requested_at).exists()
            assert ext.decided_at is None or case_timeline([case]).filter(verb="extension_decided",
                                                                          created_at=ext.decided_at).exists()


@pytest.mark.django_db
def test_history_rows_are_dated_at_their_events(built):
    end = clock.instant(datetime.combine(REFERENCE_DATE + timedelta(days=1), time(0)))
    for case in demo_cases()[:80]:
        rows = list(case.history.order_by("history_date", "history_id"))
        assert rows[0].history_type == "+" and rows[0].history_date == case.received_at
        assert rows[-1].history_date <= case.updated_at < end
        if case.closed_at:
            assert next(r for r in rows if r.closed_at).history_date == case.closed_at


@pytest.mark.django_db
def test_notifications_are_dated_at_their_events_not_at_load_time(built):
    cases = {c.get_absolute_url(): c for c in demo_cases()}
    notes = Notification.objects.filter(url__in=list(cases))
    assert notes.count() > 100
    assert not Notification.objects.filter(created_at=LOADED_AT).exists()
    moments: dict[str, set] = {}
    for entry in case_timeline(cases.values()):
        moments.setdefault(entry.object_id, set()).add(entry.created_at)
    for note in notes:
        assert note.created_at in moments[str(cases[note.url].pk)], note.title


@pytest.mark.django_db
def test_feedback_raised_to_the_meeting_goes_through_its_agenda(built):
    """Raised "to the meeting": an entry on the next meeting's agenda, answered at that meeting (held
    on its day, quorate), followed up; the follow-up done resolved the case (issue 12)."""
    through_meeting = demo_cases().filter(case_type=CaseType.FEEDBACK, outcome=Outcome.TO_MEETING)
    assert through_meeting.exists()
    for case in through_meeting:
        entry = FeedbackEntry.objects.select_related("meeting").get(case=case)
        meeting = entry.meeting
        assert entry.status == FeedbackEntry.Status.DONE and meeting.status == Meeting.Status.CLOSED
        assert case.received_at < entry.created_at < meeting.cutoff_at
        assert timezone.localtime(entry.answered_at).date() >= meeting.held_on
        assert entry.answered_at < entry.done_at == case.resolved_at < LOADED_AT
        assert meeting.chair.username == "leader"
    # No meeting in the past is left unheld; the demo cases' meetings come before the coordination
    # demo's current weeks.
    assert not Meeting.objects.filter(held_on__lt=REFERENCE_DATE).exclude(status=Meeting.Status.CLOSED).exists()
    assert not Meeting.objects.filter(held_on__gte=REFERENCE_DATE - timedelta(days=35)).exists()
