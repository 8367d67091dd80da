"""A living demo (issue 17): the demo branch is alive as of the day it is built, whatever that day is.
The reduced demo (cases at a tenth of their number, the coordination demo's current weeks without
its first year) is built on two days — an ordinary Monday and a day inside the National Day holiday
week, when the week's meeting day is a holiday — each in a savepoint rolled back afterwards, with
the clock frozen at 10:00 of that day while it is built and checked (as `clock_at` does for a test
about one calendar situation).

The first year's figures and the full coordination demo are checked in test_demo_coordination.py.
"""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from branchops.cases import queries as case_queries
from branchops.cases.models import OPEN_STATUSES, Case, CaseType, Outcome
from branchops.coordination.models import FeedbackEntry, Item, ItemStatus, Meeting
from branchops.core import clock
from branchops.core.models import Notification
from branchops.core.workdays import is_working_day
from branchops.demo.cases import build_demo_cases, demo_cases
from branchops.demo.coordination import build_demo_coordination
from branchops.demo.data import current_from
from branchops.dispatch.models import WorkOrder
from branchops.org.models import Staff

# A Monday, and a Tuesday inside the National Day holiday week (1–7 October: the Wednesday is a holiday).
DAYS = [date(2026, 11, 23), date(2026, 10, 6)]


@pytest.fixture(scope="module", params=DAYS, ids=[d.isoformat() for d in DAYS])
def living(request, demo_branch, django_db_blocker):
    day = request.param
    now = clock.instant(day, 10)
    with django_db_blocker.unblock(), transaction.atomic():
        with clock.frozen(now), TestCase.captureOnCommitCallbacks(execute=True):
            cases = build_demo_cases(scale=0.1)
            coordination = build_demo_coordination(first_year=False)
        with clock.frozen(now):
            yield {"day": day, "now": now, "cases": cases, "coordination": coordination}
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def on_the_day(living):
    """Each test reads the clock of the day the demo was built (after the suite's run clock)."""
    with clock.frozen(living["now"]):
        yield


def local(dt):
    return timezone.localtime(dt).date()


def meetings():
    return Meeting.objects.filter(branch__code="4000").order_by("held_on")


@pytest.mark.django_db
def test_history_runs_up_to_the_day_it_is_built(living):
    day, now = living["day"], living["now"]
    assert living["cases"]["status"] == living["coordination"]["status"] == "created"
    cases = demo_cases(day)
    latest = cases.order_by("-received_at").first().received_at
    assert now - timedelta(days=14) < latest < now  # (fewer cases come in over a holiday)
    assert not Case.objects.filter(received_at__gte=now).exists()
    assert local(cases.order_by("received_at").first().received_at) >= day - timedelta(days=365)
    assert not Item.objects.filter(created_at__gte=now).exists()
    # Notifications are dated at their events: none after now, none at the load time.
    assert Notification.objects.exists()
    assert not Notification.objects.filter(created_at__gte=now).exists()


@pytest.mark.django_db
def test_under_one_open_case_in_ten_is_overdue(living):
    day = living["day"]
    open_cases = demo_cases(day).filter(status__in=OPEN_STATUSES)
    overdue = open_cases.filter(resolution_due__lt=day)
    assert open_cases.exists()  # few in a demo a tenth of the size: test_demo_cases has the year's figures
    assert overdue.count() < 0.1 * open_cases.count(), (overdue.count(), open_cases.count())
    supervisor = Staff.objects.get(user__username="supervisor").user
    figures = case_queries.sla_figures(supervisor)
    assert figures["overdue"] < 0.1 * figures["open"]


@pytest.mark.django_db
def test_meetings_held_on_their_dates_and_the_current_one_open(living):
    day, now = living["day"], living["now"]
    assert not meetings().filter(held_on__lt=day).exclude(status=Meeting.Status.CLOSED).exists()
    upcoming = list(meetings().filter(held_on__gte=day))
    assert len(upcoming) == 1
    nxt = upcoming[0]
    assert is_working_day(nxt.held_on) and nxt.held_on <= day + timedelta(days=8)
    assert nxt.status == (Meeting.Status.PLANNED if nxt.cutoff_at > now else Meeting.Status.FROZEN)
    assert nxt.items.filter(status=ItemStatus.SUBMITTED).exists()
    held = list(meetings().filter(held_on__gt=current_from(day)))[:-1]
    assert len(held) == 2
    for meeting in held:
        assert is_working_day(meeting.held_on)
        assert local(meeting.history.filter(status=Meeting.Status.HELD).earliest("history_date").history_date) \
            == meeting.held_on
        assert local(meeting.items.exclude(decided_at=None).earliest("decided_at").decided_at) == meeting.held_on


@pytest.mark.django_db
def test_workload_feedback_goes_through_the_meetings(living):
    """Feedback raised to the meeting is on an agenda: answered at a held meeting (its follow-up done
    resolves the case) or waiting for the next one — never answered directly."""
    day, now = living["day"], living["now"]
    entries = FeedbackEntry.objects.filter(meeting__branch__code="4000").select_related("meeting", "case")
    assert entries.exists()
    # The outlet's problem on a work order, raised after last week's meeting: on the next agenda unless
    # its cut-off had already passed (a holiday week), waiting within its deadline either way.
    problem = WorkOrder.objects.get(status=WorkOrder.Status.PROBLEM).problem_case
    nxt = meetings().filter(held_on__gte=day).get()
    on_agenda = entries.filter(case=problem)
    if nxt.cutoff_at > problem.received_at + timedelta(hours=2):
        assert on_agenda.get().meeting == nxt
    else:
        assert not on_agenda.exists()
    assert problem.is_open and problem.resolution_due >= day
    for entry in entries:
        assert entry.created_at < min(entry.meeting.cutoff_at, now)
        if entry.meeting.status == Meeting.Status.CLOSED:
            assert entry.status in (FeedbackEntry.Status.ANSWERED, FeedbackEntry.Status.DONE)
            assert local(entry.answered_at) >= entry.meeting.held_on
        else:  # waiting for the meeting within its deadline: extended when it was raised
            assert entry.status == FeedbackEntry.Status.OPEN and entry.case.is_open
            if entry.case != problem:
                assert entry.case.extensions.filter(state="approved").exists(), entry.case.number
                assert entry.case.resolution_due >= day, entry.case.number
        if entry.status == FeedbackEntry.Status.DONE:
            assert entry.case.outcome == Outcome.TO_MEETING and entry.case.resolved_at == entry.done_at < now
    answered = demo_cases(day).filter(case_type=CaseType.FEEDBACK, outcome=Outcome.TO_MEETING)
    assert answered.count() == entries.filter(status=FeedbackEntry.Status.DONE).count()


@pytest.mark.django_db
def test_every_closed_meeting_has_minutes_the_chair_approved(living):
    """The cases demo's feedback meetings too: closing issued the minutes, the chair approved them."""
    closed = list(meetings().filter(status=Meeting.Status.CLOSED).select_related("minutes_document"))
    assert closed
    for m in closed:
        assert m.minutes_document is not None, m
        assert m.minutes_document.approved_by_id == m.chair_id != m.minutes_issued_by_id
