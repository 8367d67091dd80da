"""Demo of the coordination mechanism: the seed's first year (16 meetings, 51 items: 16 approved,
30 conditionally approved, 5 rejected), the current open work, every record, timeline entry,
history row and notification dated at its event, approval numbers in order, and nothing added on a
second run.

The organisation and the coordination demo (not the demo cases) are built once for the module
inside a transaction rolled back at the end, on the clock frozen at 10:00 of the run's day (the
"load time", the demo's now: the current weeks run up to it); the notifications, sent on commit, are
written at the end of the build. Each test runs in a savepoint.
"""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase
from django.utils import timezone

from branchops.cases.models import CaseType
from branchops.coordination import queries
from branchops.coordination.models import Condition, FeedbackEntry, Item, ItemStatus, Meeting, Opinion
from branchops.coordination.services import verify_number
from branchops.core import clock
from branchops.core.models import Notification, TimelineEntry
from branchops.demo.coordination import (
    HISTORY_END,
    HISTORY_START,
    build_demo_coordination,
    history_items,
)
from branchops.dispatch.models import WorkOrder
from branchops.dispatch.queries import visible_work_orders
from tests.conftest import run_day

#: When the demo is "loaded" in these tests (the run's day, as every test's clock): the demo's now.
LOADED_AT = clock.instant(run_day(), 10)
TODAY = run_day()


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker):
    with django_db_blocker.unblock():
        with clock.frozen(LOADED_AT), TestCase.captureOnCommitCallbacks(execute=True):
            result = build_demo_coordination()
            result["clock_after"] = clock.now()
    return result


def next_meeting():
    """The current week's meeting: the first on or after today."""
    return Meeting.objects.filter(held_on__gte=TODAY).order_by("held_on").first()


def current_meetings():
    return list(Meeting.objects.filter(held_on__gt=HISTORY_END).order_by("held_on"))


def user(username):
    return get_user_model().objects.get(username=username)


def local(dt):
    return timezone.localtime(dt).date()


@pytest.mark.django_db
def test_first_year_reproduces_the_seed(built):
    assert built["status"] == "created"
    stats = queries.statistics(user("admin"), since=HISTORY_START, until=HISTORY_END)
    assert stats["meetings_held"] == 16
    assert stats["items"] == stats["decided"] == 51
    by = {row["decision"]: (row["count"], row["share"]) for row in stats["by_decision"]}
    assert by == {"approved": (16, 0.3137), "conditional": (30, 0.5882), "rejected": (5, 0.098)}
    assert stats["median_days_to_decision"] is not None and 1 <= stats["median_days_to_decision"] <= 14
    assert stats["work_orders"] > 0 and stats["work_orders_done"] > 0.9 * stats["work_orders"]
    assert stats["work_orders_done_on_time"] < stats["work_orders_done"]  # some were late


@pytest.mark.django_db
def test_meetings_and_numbers_read_as_in_their_year(built):
    meetings = Meeting.objects.filter(held_on__lte=HISTORY_END).order_by("held_on")
    assert [(m.year, m.sequence) for m in meetings] == [(2021, n) for n in range(1, 14)] + [(2022, n) for n in (1, 2, 3)]
    assert meetings[0].held_on == date(2021, 6, 9)
    assert all(m.held_on.weekday() == 2 and m.status == Meeting.Status.CLOSED for m in meetings)
    assert all(local(m.cutoff_at) < m.held_on for m in meetings)

    items = history_items()
    assert all(i.number.startswith(("SH-2021-", "SH-2022-")) for i in items)
    def seq(item):
        return int(item.approval_number.split("第")[1].rstrip("号"))

    # Issued in order (the consent block approves several items at one moment, in its own order).
    numbered = sorted(items.exclude(approval_number=""), key=lambda i: (i.approval_issued_at, seq(i)))
    assert numbered[0].approval_number == "运统〔2021〕第001号"
    per_year: dict[int, list[int]] = {}
    for item in numbered:
        year = local(item.approval_issued_at).year
        assert item.approval_number.startswith(f"运统〔{year}〕")
        per_year.setdefault(year, []).append(seq(item))
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in per_year.values())
    # Every conditional item but one got its number once its conditions were signed off; that one was
    # closed by the secretariat with a reason after the year.
    assert len(numbered) == 16 + 29
    stalled = items.get(decision="conditional", approval_number="")
    assert stalled.status == ItemStatus.CLOSED and stalled.close_reason
    # One rejected item came back revised and was approved.
    revised = items.get(previous__isnull=False)
    assert revised.previous.decision == "rejected" and revised.number == f"{revised.previous.number}/2"


@pytest.mark.django_db
def test_history_is_dated_in_its_year(built):
    items = history_items()
    for item in items:
        assert HISTORY_START <= local(item.created_at) <= local(item.submitted_at) <= local(item.decided_at)
        assert local(item.decided_at) == item.meeting.held_on
        assert item.window_start > item.meeting.held_on and item.window_start.year in (2021, 2022)
        if item.approval_issued_at:
            assert local(item.approval_issued_at) >= item.meeting.held_on
    opinions = Opinion.objects.filter(item__in=items)
    assert opinions.count() == 51 * 5 and not opinions.filter(submitted_at__isnull=True).exists()
    assert all(local(o.submitted_at) <= o.item.meeting.held_on for o in opinions.select_related("item__meeting"))
    orders = WorkOrder.objects.filter(item__in=items)
    assert not orders.filter(start_date__year__gt=2022).exists()
    assert not orders.filter(done_at__date__gt=date(2022, 6, 30)).exists()
    entries = TimelineEntry.objects.filter(content_type__model="item", object_id__in=[str(i.pk) for i in items])
    assert entries.exists() and not entries.filter(created_at__date__gt=date(2022, 12, 31)).exists()


@pytest.mark.django_db
def test_current_open_work(built):
    today = TODAY
    nxt = next_meeting()
    # The current week's meeting: its agenda open until the cut-off, frozen after it.
    assert nxt.status == (Meeting.Status.PLANNED if nxt.cutoff_at > LOADED_AT else Meeting.Status.FROZEN)
    assert today <= nxt.held_on <= today + timedelta(days=8)
    waiting = nxt.items.filter(status=ItemStatus.SUBMITTED)
    assert 1 <= waiting.count() <= 3
    assert Opinion.objects.filter(item__in=waiting, submitted_at__isnull=True).exists()
    if nxt.status == Meeting.Status.PLANNED:  # the demo reviewer still owes an opinion before the cut-off
        reviewer = user("reviewer")
        assert Opinion.objects.filter(item__in=waiting, department=reviewer.staff.department,
                                      submitted_at__isnull=True).exists()

    conditional = Item.objects.get(status=ItemStatus.CONDITIONAL, decided_at__date__gt=HISTORY_END)
    conds = conditional.conditions.all()
    assert conds.filter(status=Condition.Status.OPEN, due_date__lt=today, escalated_at__isnull=False).exists()
    assert conds.filter(status=Condition.Status.OPEN, due_date__gte=today).exists()
    assert conds.filter(status=Condition.Status.MET).exists()

    released = Item.objects.get(status=ItemStatus.RELEASED, decided_at__date__gt=HISTORY_END)
    assert verify_number(released.approval_number, today=today)["status"] == "valid"
    orders = released.work_orders
    assert orders.filter(status=WorkOrder.Status.DONE).exists()
    assert orders.filter(status=WorkOrder.Status.ACKNOWLEDGED).exists()
    assert orders.filter(status=WorkOrder.Status.RELEASED).exists()
    problem = orders.get(status=WorkOrder.Status.PROBLEM)
    assert problem.problem_case.case_type == CaseType.FEEDBACK
    # Raised after last week's meeting, within its deadline; the secretariat put it on the next agenda
    # (unless that agenda's cut-off had passed: a holiday week), the case open until followed up.
    case = problem.problem_case
    assert case.is_open and case.resolution_due >= today
    if nxt.cutoff_at > case.received_at + timedelta(hours=2):
        entry = FeedbackEntry.objects.get(case=case)
        assert entry.meeting == nxt and entry.status == FeedbackEntry.Status.OPEN
    assert Item.objects.filter(status=ItemStatus.APPROVED, decided_at__date__gt=HISTORY_END,
                               work_orders__isnull=True).exists()
    assert Item.objects.filter(status=ItemStatus.REJECTED, decided_at__date__gt=HISTORY_END).exists()


@pytest.mark.django_db
def test_meetings_held_on_their_dates_and_none_in_the_past_left_unheld(built):
    meetings = current_meetings()
    assert len(meetings) == 3 and meetings[-1] == next_meeting()
    for meeting in meetings[:-1]:  # held on their day (the next working day if a holiday), minutes closed
        assert meeting.status == Meeting.Status.CLOSED and meeting.held_on < TODAY + timedelta(days=1)
        held = meeting.history.filter(status=Meeting.Status.HELD).earliest("history_date").history_date
        assert local(held) == meeting.held_on
    assert meetings[1].held_on - meetings[0].held_on >= timedelta(days=14)
    assert not Meeting.objects.filter(held_on__lt=TODAY).exclude(status=Meeting.Status.CLOSED).exists()
    assert not Meeting.objects.filter(held_on__gt=next_meeting().held_on).exists()


@pytest.mark.django_db
def test_every_first_year_item_is_closed_or_carries_a_reason(built):
    items = history_items()
    assert items.count() == 51
    for item in items:
        assert item.status in (ItemStatus.CLOSED, ItemStatus.REJECTED), (item.number, item.status)
        if item.status == ItemStatus.REJECTED:
            assert item.decision_reasons
    by_secretariat = items.exclude(close_reason="")
    assert by_secretariat.exists() and set(by_secretariat.values_list("closed_by__username", flat=True)) == {
        "secretariat"}
    assert all(local(i.closed_at) <= date(2022, 12, 31) for i in by_secretariat)


@pytest.mark.django_db
def test_outlet_head_sees_work_orders(built):
    head = user("outlet_head")
    visible = visible_work_orders(head)
    assert visible.exists()
    assert visible.filter(status__in=[WorkOrder.Status.RELEASED, WorkOrder.Status.ACKNOWLEDGED]).exists()
    assert not visible.exclude(institution=head.staff.institution).exists()


@pytest.mark.django_db
def test_approval_numbers_verify(built):
    old = history_items().exclude(approval_number="").order_by("approval_issued_at").first()
    assert old.approval_number.startswith("运统〔2021〕")
    assert verify_number(old.approval_number)["status"] == "expired"
    assert verify_number(old.approval_number, today=TODAY)["status"] == "expired"
    current = Item.objects.get(status=ItemStatus.RELEASED, decided_at__date__gt=HISTORY_END)
    assert current.approval_number.startswith(f"运统〔{local(current.approval_issued_at).year}〕第00")
    assert verify_number(current.approval_number, today=TODAY)["status"] == "valid"
    assert all(wo.approval_number == current.approval_number for wo in current.work_orders.all())


@pytest.mark.django_db
def test_second_run_adds_nothing(built):
    def footprint():
        return (Item.objects.count(), Meeting.objects.count(), Opinion.objects.count(), Condition.objects.count(),
                WorkOrder.objects.count(), TimelineEntry.objects.count(), Item.history.count())

    before = footprint()
    again = build_demo_coordination()
    assert again["status"] == "already present"
    assert footprint() == before


# --- every event dated when it happened ---------------------------------------------------------

STAMPS = {"drafted": "created_at", "revised": "created_at", "submitted": "submitted_at", "decided": "decided_at",
          "number_issued": "approval_issued_at"}


def demo_items():
    return Item.objects.filter(department__institution__code="4000").select_related("meeting")


def timeline(model, pks):
    return TimelineEntry.objects.filter(content_type__model=model, object_id__in=[str(pk) for pk in pks])


def period(item) -> tuple[date, date]:
    """The days an item's events may fall on: the first year (and the outlets' work after it), or
    the current weeks."""
    if local(item.created_at) <= HISTORY_END:
        return HISTORY_START, date(2022, 6, 30)
    return current_meetings()[0].held_on - timedelta(days=30), TODAY


@pytest.mark.django_db
def test_timeline_entries_are_dated_at_their_events(built):
    items = {str(i.pk): i for i in demo_items()}
    entries = timeline("item", items)
    assert {"drafted", "revised", "submitted", "decided", "number_issued", "released", "condition_met",
            "condition_signed_off"} <= set(entries.values_list("verb", flat=True))
    for entry in entries:
        item = items[entry.object_id]
        first, last = period(item)
        assert first <= local(entry.created_at) <= last, (item.number, entry.verb)
        if entry.verb in STAMPS and not (entry.verb == "revised" and item.revision == 1):
            assert entry.created_at == getattr(item, STAMPS[entry.verb]), (item.number, entry.verb)
        if entry.verb == "submitted":
            assert entry.created_at < item.meeting.cutoff_at  # before the real cut-off
        if entry.verb == "decided":
            assert local(entry.created_at) == item.meeting.held_on
        if entry.verb == "released":
            assert entry.created_at == item.releases.get().released_at
    for cond in Condition.objects.filter(item__in=items.values()).exclude(met_at=None):
        assert timeline("item", [cond.item_id]).filter(verb="condition_met", message=cond.text[:200],
                                                       created_at=cond.met_at).exists()
    for cond in Condition.objects.filter(item__in=items.values()).exclude(signed_off_at=None):
        assert timeline("item", [cond.item_id]).filter(verb="condition_signed_off",
                                                       created_at=cond.signed_off_at).exists()

    orders = {str(wo.pk): wo for wo in WorkOrder.objects.filter(item__in=items.values())}
    stamps = {"acknowledged": "acknowledged_at", "done": "done_at"}
    checked = 0
    for entry in timeline("workorder", orders).filter(verb__in=list(stamps)):
        assert entry.created_at == getattr(orders[entry.object_id], stamps[entry.verb])
        checked += 1
    assert checked > 1000
    problem = WorkOrder.objects.get(item__in=items.values(), status=WorkOrder.Status.PROBLEM)
    assert timeline("workorder", [problem.pk]).get(verb="problem").created_at == problem.problem_case.received_at
    assert problem.problem_case.received_at < LOADED_AT


@pytest.mark.django_db
def test_history_rows_are_dated_at_their_events(built):
    for item in demo_items():
        rows = list(item.history.order_by("history_date", "history_id"))
        assert rows[0].history_type == "+" and rows[0].history_date == item.created_at
        first, last = period(item)
        assert all(first <= local(r.history_date) <= last for r in rows), item.number
        if item.submitted_at:
            assert next(r for r in rows if r.submitted_at).history_date == item.submitted_at
        if item.decided_at:
            assert next(r for r in rows if r.decision).history_date == item.decided_at
        if item.approval_number:
            row = next(r for r in rows if r.approval_number)
            assert (row.history_date, row.approval_number) == (item.approval_issued_at, item.approval_number)
    done = WorkOrder.objects.filter(item__in=history_items(), status=WorkOrder.Status.DONE)
    for wo in done[:200]:
        assert wo.history.filter(status=WorkOrder.Status.DONE).earliest("history_date").history_date == wo.done_at
    for meeting in Meeting.objects.all():
        assert meeting.history.earliest("history_date").history_date == meeting.created_at < meeting.cutoff_at


@pytest.mark.django_db
def test_notifications_are_dated_at_their_events_not_at_load_time(built):
    items = {i.get_absolute_url(): i for i in demo_items()}
    notes = Notification.objects.filter(url__in=list(items))
    assert notes.count() > 1000
    assert not Notification.objects.filter(created_at=LOADED_AT).exists()
    for note in notes:
        item = items[note.url]
        moments = set(timeline("item", [item.pk]).values_list("created_at", flat=True))
        moments |= {c.escalated_at for c in item.conditions.all()} | {c.reminded_at for c in item.conditions.all()}
        moments |= {o.reminded_at for o in item.opinions.all()}  # reviewers reminded before the cut-off
        assert note.created_at in moments, (item.number, note.title)
    for meeting in Meeting.objects.all():
        published = Notification.objects.filter(url=meeting.get_absolute_url())
        assert set(published.values_list("created_at", flat=True)) <= {meeting.cutoff_at}


@pytest.mark.django_db
def test_numbers_by_the_year_drafted_and_prechecks_as_at_submission(built):
    for item in demo_items():
        base = item.previous or item
        assert item.number.startswith(f"SH-{local(base.created_at).year}-"), item.number
        for finding in item.precheck or []:
            if finding["code"] == "overlap":  # the other item, with its own number and window
                other = Item.objects.get(number=finding["item"])
                assert f"{other.window_start} – {other.window_end}" in finding["message"]
                assert other.window_start <= item.window_end and other.window_end >= item.window_start


@pytest.mark.django_db
def test_the_clock_is_left_as_it_was(built):
    assert built["clock_after"] == LOADED_AT


def test_the_demo_rewrites_nothing_afterwards():
    """The demo writes through the services only: no UPDATE of what they stamped."""
    source = Path(__file__).resolve().parents[2] / "src" / "branchops" / "demo"
    rewrites = re.compile(r"\)\s*\.update\(|objects\.update\(|bulk_update|executemany|\bUPDATE\s|_base_manager")
    found = [f"{path.name}:{n}" for path in source.rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if rewrites.search(line)]
    assert not found


@pytest.mark.django_db
def test_every_decision_passed_the_review_gate_at_a_quorate_meeting(built):
    """Issue 12: each decided demo item had a current opinion for every required dimension (or the
    chair's waiver), at a meeting chaired by the demo's chair account with its quorum present."""
    decided = Item.objects.exclude(decision="").select_related("meeting")
    assert decided.count() >= 55
    for item in decided:
        assert queries.review_gap(item) == [], item.number
    chair = user("leader")
    for meeting in Meeting.objects.filter(items__in=decided).distinct():
        assert meeting.chair == chair and queries.quorum(meeting)["ok"], meeting


@pytest.mark.django_db
def test_reviewers_owing_an_opinion_on_the_next_agenda_were_reminded(built):
    nxt = next_meeting()
    if nxt.status != Meeting.Status.PLANNED:
        return  # its cut-off has passed: nothing is owed on a frozen agenda
    owed = [o for o in queries.owed_opinions() if o.item.meeting_id == nxt.pk]
    assert owed and all(o.reminded_at is not None for o in owed)
    reviewer = user("reviewer")
    assert [o.item.meeting_id for o in queries.awaiting_opinion(reviewer)] and all(
        o.item.meeting_id == nxt.pk for o in queries.awaiting_opinion(reviewer))


@pytest.mark.django_db
def test_closed_meetings_have_issued_and_approved_minutes(built):
    """Closing issued the minutes (the secretariat); the chair — the ``leader`` account — approved them:
    numbered in approval order within each year, stored once, dated on the meeting's day."""
    closed = list(Meeting.objects.filter(branch__code="4000", status=Meeting.Status.CLOSED)
                  .select_related("minutes_document").order_by("held_on"))
    assert len(closed) >= 16
    numbers: dict[int, list[str]] = {}
    for m in closed:
        doc = m.minutes_document
        assert doc is not None, m
        assert m.minutes_issued_by == user("secretariat") and doc.approved_by == user("leader")
        assert local(doc.approved_at) == m.held_on and len(doc.sha256) == 64 and bytes(doc.content)[:2] == b"PK"
        numbers.setdefault(m.year, []).append(doc.number)
    for year, got in numbers.items():
        assert got == [f"运管纪要〔{year}〕{n}号" for n in range(1, len(got) + 1)]
