"""Demo of the coordination mechanism: the seed's first year (16 meetings, 51 items: 16 approved,
30 conditionally approved, 5 rejected), the current open work, dated history, approval numbers in
order, and nothing added on a second run.

The organisation and the coordination demo (not the demo cases) are built once for the module
inside a transaction rolled back at the end; each test runs in a savepoint.
"""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from branchops.cases.models import CaseType
from branchops.coordination import queries
from branchops.coordination.models import Condition, Item, ItemStatus, Meeting, Opinion
from branchops.coordination.services import verify_number
from branchops.core.models import TimelineEntry
from branchops.demo.coordination import (
    HISTORY_END,
    HISTORY_START,
    REFERENCE_DATE,
    build_demo_coordination,
    history_items,
)
from branchops.demo.data import build_demo
from branchops.dispatch.models import WorkOrder
from branchops.dispatch.queries import visible_work_orders


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            build_demo()
            result = build_demo_coordination()
            yield result
            transaction.set_rollback(True)


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
    numbered = list(items.exclude(approval_number="").order_by("approval_issued_at", "pk"))
    assert numbered[0].approval_number == "运统〔2021〕第001号"
    per_year: dict[int, list[int]] = {}
    for item in numbered:
        year = local(item.approval_issued_at).year
        assert item.approval_number.startswith(f"运统〔{year}〕")
        per_year.setdefault(year, []).append(int(item.approval_number.split("第")[1].rstrip("号")))
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in per_year.values())  # issued in order
    # Every conditional item but one got its number once its conditions were signed off.
    assert len(numbered) == 16 + 29
    assert items.filter(decision="conditional", status=ItemStatus.CONDITIONAL).count() == 1
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
    # The pre-check quotes final numbers only.
    assert not any("~demo" in str(i.precheck) for i in Item.objects.all())


@pytest.mark.django_db
def test_current_open_work(built):
    today = REFERENCE_DATE
    nxt = Meeting.objects.get(held_on=date(2026, 11, 25))
    assert nxt.status == Meeting.Status.PLANNED and local(nxt.cutoff_at) == date(2026, 11, 23)
    waiting = nxt.items.filter(status=ItemStatus.SUBMITTED)
    assert waiting.count() == 3
    assert Opinion.objects.filter(item__in=waiting, submitted_at__isnull=True).exists()
    reviewer = user("reviewer")
    assert Opinion.objects.filter(item__in=waiting, department=reviewer.staff.department,
                                  submitted_at__isnull=True).exists()
    assert Item.objects.filter(status=ItemStatus.DRAFT, submitter=user("submitter")).exists()

    conditional = Item.objects.get(status=ItemStatus.CONDITIONAL, decided_at__year=2026)
    conds = conditional.conditions.all()
    assert conds.filter(status=Condition.Status.OPEN, due_date__lt=today, escalated_at__isnull=False).exists()
    assert conds.filter(status=Condition.Status.OPEN, due_date__gte=today).exists()
    assert conds.filter(status=Condition.Status.MET).exists()

    released = Item.objects.get(status=ItemStatus.RELEASED, decided_at__year=2026)
    assert verify_number(released.approval_number, today=today)["status"] == "valid"
    orders = released.work_orders
    assert orders.filter(status=WorkOrder.Status.DONE).exists()
    assert orders.filter(status=WorkOrder.Status.ACKNOWLEDGED).exists()
    assert orders.filter(status=WorkOrder.Status.RELEASED).exists()
    problem = orders.get(status=WorkOrder.Status.PROBLEM)
    assert problem.problem_case.case_type == CaseType.FEEDBACK
    assert Item.objects.filter(status=ItemStatus.APPROVED, decided_at__year=2026, work_orders__isnull=True).exists()
    assert Item.objects.filter(status=ItemStatus.REJECTED, decided_at__year=2026).exists()


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
    assert verify_number(old.approval_number, today=REFERENCE_DATE)["status"] == "expired"
    current = Item.objects.get(status=ItemStatus.RELEASED, decided_at__year=2026)
    assert current.approval_number.startswith("运统〔2026〕第001号")
    assert verify_number(current.approval_number, today=REFERENCE_DATE)["status"] == "valid"
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
