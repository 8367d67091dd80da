"""Writes of dispatch: work orders at outlets (made at release, then acknowledged, done or given a
problem), outlet capacity, and the reminders of work falling due.

Coordination releases an approved item through ``create_work_orders``. Dispatch never imports
coordination (DESIGN.md §2): it tells it about finished work through ``signals.work_order_changed``;
the workload reads are in ``queries``.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import check_lengths, notify, record_timeline, stamp_history
from branchops.org.models import Institution, Level
from branchops.org.roles import Role

from . import rules
from .models import OutletCapacity, Release, WorkloadSettings, WorkOrder
from .signals import work_order_changed


@transaction.atomic
def set_capacity(actor, outlet: Institution, weekly_hours, note: str = "") -> OutletCapacity:
    require(rules.sets_capacity, actor, outlet)
    if outlet.level != Level.OUTLET:
        raise ValidationError({"outlet": _("Capacity is set for outlets.")})
    check_lengths(note=(note.strip(), OutletCapacity._meta.get_field("note").max_length))
    try:
        hours = Decimal(str(weekly_hours)).quantize(Decimal("0.1"))
    except Exception as exc:
        raise ValidationError({"weekly_hours": _("Give the weekly hours as a number.")}) from exc
    if hours < 0 or hours > 9999:
        raise ValidationError({"weekly_hours": _("Give the weekly hours (0 to 9999).")})
    cap = OutletCapacity.objects.select_for_update().filter(outlet=outlet).first() or OutletCapacity(outlet=outlet)
    before = cap.weekly_hours if cap.pk else None
    cap.weekly_hours, cap.note = hours, note.strip()
    stamp_history(cap, actor)
    cap.save()
    record_timeline(actor, outlet, "capacity_set", _("Weekly capacity for work from above: %(before)s → %(after)s h")
                    % {"before": before if before is not None else _("default"), "after": hours}
                    + (f"；{cap.note}" if cap.note else ""), {"before": str(before) if before is not None else None,
                                                             "after": str(hours)})
    return cap


def create_settings(sender=None, *, actor=None, branch: Institution, **kwargs) -> WorkloadSettings:
    """The branch's workload settings, made with the branch (org's ``branch_created`` hook)."""
    return WorkloadSettings.objects.get_or_create(branch=branch)[0]


@transaction.atomic
def create_work_orders(actor, item, outlets: list[Institution], plan: dict[int, tuple[date, date]], *,
                       approval_number: str, hours, override_reason: str = "", over_capacity=()) -> Release:
    """One work order per outlet, carrying the approval number, and the outlet heads told. Called by
    coordination's release, which has checked the item, its number and the outlets' load."""
    if not approval_number:
        raise ValidationError(_("Only an item with an approval number can be released."))
    release = Release.objects.create(item=item, released_by=actor, override_reason=override_reason,
                                     over_capacity=[{"outlet": o.outlet, "week": o.week.isoformat(), "load": o.load,
                                                     "capacity": o.capacity} for o in over_capacity])
    WorkOrder.objects.bulk_create([
        WorkOrder(item=item, release=release, institution=o, approval_number=approval_number,
                  start_date=plan[o.pk][0], due_date=plan[o.pk][1], hours=hours) for o in outlets])
    from django.contrib.auth import get_user_model

    heads = get_user_model().objects.filter(is_active=True, groups__name=Role.OUTLET_HEAD,
                                            staff__institution__in=outlets).select_related("staff")
    for user in heads:
        notify(user, _("New work order: %(title)s (%(number)s)") % {"title": item.title, "number": approval_number},
               url=f"/dispatch/?item={item.pk}")
    return release


def _access_order(actor, wo: WorkOrder, action: str) -> WorkOrder:
    """The work order locked, after the outlet head's rule, moved along ``action`` (not yet saved)."""
    wo = WorkOrder.objects.select_for_update().select_related("item", "institution").get(pk=wo.pk)
    require(rules.acts_for_outlet, actor, wo, _("Only the outlet's head acts on its work orders."))
    rules.WORK_ORDER_FLOW.apply(wo, action)
    return wo


# What the outlet head may write (the page's forms say the same).
NOTE_LENGTH, PROBLEM_TITLE_LENGTH, PROBLEM_DETAILS_LENGTH = 2000, 150, 4000


@transaction.atomic
def acknowledge_work_order(actor, wo: WorkOrder) -> WorkOrder:
    wo = _access_order(actor, wo, "acknowledge")
    wo.acknowledged_by, wo.acknowledged_at = actor, clock.now()
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "acknowledged", _("Acknowledged"))
    return wo


@transaction.atomic
def complete_work_order(actor, wo: WorkOrder, note: str) -> WorkOrder:
    wo = _access_order(actor, wo, "done")
    if not (note or "").strip():
        raise ValidationError({"note": _("Say what was done (or attach the evidence).")})
    check_lengths(note=(note.strip(), NOTE_LENGTH))
    wo.done_by, wo.done_at, wo.note = actor, clock.now(), note.strip()
    if wo.acknowledged_at is None:
        wo.acknowledged_by, wo.acknowledged_at = actor, wo.done_at
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "done", note.strip()[:300])
    work_order_changed.send(sender=WorkOrder, actor=actor, work_order=wo, change="done", case=None)
    return wo


@transaction.atomic
def raise_problem(actor, wo: WorkOrder, title: str, description: str = ""):
    """The outlet reports a problem with the work: an outlet-feedback case linked to the item,
    which the secretariat sees and can raise to the meeting."""
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType

    wo = _access_order(actor, wo, "problem")
    if not (title or "").strip():
        raise ValidationError({"title": _("Say what the problem is.")})
    check_lengths(title=(title.strip(), PROBLEM_TITLE_LENGTH), description=(description, PROBLEM_DETAILS_LENGTH))
    case = cases.open_case(actor, case_type=CaseType.FEEDBACK, institution=wo.institution,
                           title=f"[{wo.item.number}] {title.strip()}", description=description, link_to=wo.item)
    wo.problem_case = case
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "problem", case.number)
    work_order_changed.send(sender=WorkOrder, actor=actor, work_order=wo, change="problem", case=case)
    return case


CANCEL_REASON_LENGTH = WorkOrder._meta.get_field("cancel_reason").max_length


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    check_lengths(reason=(reason, CANCEL_REASON_LENGTH))
    return reason


def _cancel(actor, wo: WorkOrder, reason: str) -> WorkOrder:
    """Move one locked work order to cancelled, stamp it, and tell the people at the outlet."""
    rules.WORK_ORDER_FLOW.apply(wo, "cancel")
    wo.cancelled_by, wo.cancelled_at, wo.cancel_reason = actor, clock.now(), reason
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "cancelled", reason)
    from django.contrib.auth import get_user_model

    # The outlet's head and its staff: whoever might otherwise still do the work.
    for user in get_user_model().objects.filter(is_active=True, staff__institution=wo.institution_id):
        notify(user, _("Work order cancelled: %(title)s (%(number)s)") % {
            "title": wo.item.title, "number": wo.approval_number}, reason, url=wo.get_absolute_url())
    return wo


@transaction.atomic
def cancel_work_order(actor, wo: WorkOrder, reason: str) -> WorkOrder:
    """The secretariat stops one outlet's work, with a reason: the outlet is told, the item's
    timeline says so (through ``work_order_changed``)."""
    wo = WorkOrder.objects.select_for_update().select_related("item", "institution").get(pk=wo.pk)
    require(rules.cancels, actor, wo, _("Only the secretariat cancels work orders."))
    rules.WORK_ORDER_FLOW.check(wo, "cancel")
    wo = _cancel(actor, wo, _clean_reason(reason))
    work_order_changed.send(sender=WorkOrder, actor=actor, work_order=wo, change="cancelled", case=None)
    return wo


@transaction.atomic
def cancel_open_orders(actor, item, reason: str) -> list[WorkOrder]:
    """Cancel every open work order of an item (its approval revoked, or the item closed): called by
    coordination, which has checked its own rule; each outlet is told."""
    reason = (reason or "").strip()[:CANCEL_REASON_LENGTH]  # coordination's own reason, already checked
    orders = WorkOrder.objects.select_for_update().select_related("item", "institution").filter(
        item=item, status__in=rules.OPEN).order_by("pk")
    return [_cancel(actor, wo, reason) for wo in orders]


def material_revised(actor, item, text: str) -> list[WorkOrder]:
    """A material of an item changed after release (coordination has checked its rule): each open work
    order's timeline says so and the people at its outlet are told to work to the new version."""
    from django.contrib.auth import get_user_model

    orders = list(WorkOrder.objects.select_related("institution").filter(item=item, status__in=rules.OPEN)
                  .order_by("pk"))
    for wo in orders:
        record_timeline(actor, wo, "material_changed", text)
        for user in get_user_model().objects.filter(is_active=True, staff__institution=wo.institution_id):
            notify(user, _("New version of a material: %(title)s (%(number)s)") % {
                "title": item.title, "number": wo.approval_number}, text, url=wo.get_absolute_url())
    return orders


@transaction.atomic
def reschedule_open_orders(actor, item, outlet_ids, new_start: date, reason: str) -> list[WorkOrder]:
    """Move an item's open work orders at these outlets to start on ``new_start``, keeping their
    length (a lower-urgency item making room): called by coordination, which has checked its rule;
    each outlet head is told."""
    moved = []
    orders = WorkOrder.objects.select_for_update().select_related("item", "institution").filter(
        item=item, institution_id__in=list(outlet_ids), status__in=rules.OPEN).order_by("pk")
    from django.contrib.auth import get_user_model

    for wo in orders:
        length = wo.due_date - wo.start_date
        before = (wo.start_date, wo.due_date)
        wo.start_date, wo.due_date = new_start, new_start + length
        wo.reminded_at = None  # the new due date is reminded again
        stamp_history(wo, actor)
        wo.save()
        record_timeline(actor, wo, "rescheduled", f"{before[0]}–{before[1]} → {wo.start_date}–{wo.due_date}；{reason}")
        for user in get_user_model().objects.filter(is_active=True, groups__name=Role.OUTLET_HEAD,
                                                    staff__institution=wo.institution_id):
            notify(user, _("Work order moved: %(title)s now due %(due)s") % {"title": item.title, "due": wo.due_date},
                   reason, url=wo.get_absolute_url())
        moved.append(wo)
    return moved


WORK_ORDER_REMIND_WORKING_DAYS = 2


def check_work_orders(today: date | None = None) -> dict:
    """Tell outlet heads about work orders falling due, and heads and the submitting department about
    overdue ones — each notice once (the worker calls this); idempotent."""
    from django.contrib.auth import get_user_model

    from branchops.core.workdays import add_working_days

    from .queries import overdue_q

    today = today or clock.today()
    users = get_user_model().objects.filter(is_active=True)
    sent = {"due": 0, "overdue": 0}
    open_orders = WorkOrder.objects.filter(status__in=rules.OPEN).select_related("item", "institution")
    soon = add_working_days(today, WORK_ORDER_REMIND_WORKING_DAYS)
    batches = (
        ("due", open_orders.filter(due_date__gte=today, due_date__lte=soon, reminded_at__isnull=True), "reminded_at"),
        ("overdue", open_orders.filter(overdue_q(today), overdue_notified_at__isnull=True), "overdue_notified_at"),
    )
    for kind, qs, stamp in batches:
        for wo in qs.iterator(chunk_size=500):
            with transaction.atomic():
                if not WorkOrder.objects.filter(pk=wo.pk, **{f"{stamp}__isnull": True}).update(
                        **{stamp: clock.now()}):
                    continue  # another worker sent it
                people = set(users.filter(groups__name=Role.OUTLET_HEAD, staff__institution=wo.institution))
                args = {"title": wo.item.title, "number": wo.approval_number, "due": wo.due_date,
                        "outlet": wo.institution.name}
                if kind == "due":
                    title = _("Work order due on %(due)s: %(title)s (%(number)s)") % args
                else:
                    title = _("Work order overdue since %(due)s at %(outlet)s: %(title)s (%(number)s)") % args
                    people.update(users.filter(groups__permissions__codename="submit_item",
                                               staff__department_id=wo.item.department_id).distinct())
                for user in people:
                    notify(user, title, url=wo.get_absolute_url())
                sent[kind] += 1
    return sent
