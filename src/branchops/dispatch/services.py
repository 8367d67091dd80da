"""Release of approved items to outlets as work orders, and the outlets' workload."""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from branchops.coordination.models import URGENCY_RANK, Item, ItemStatus
from branchops.core import clock
from branchops.core.services import notify, record_timeline, require_perm, stamp_history
from branchops.org.models import Institution, Level
from branchops.org.roles import Role

from . import workload
from .models import Blackout, OutletCapacity, Release, WorkOrder

HOURS_PER_WEEK = 40
LOADING_STATUSES = [ItemStatus.SUBMITTED, ItemStatus.APPROVED, ItemStatus.CONDITIONAL, ItemStatus.RELEASED]


def capacities(outlet_ids) -> dict[int, float]:
    """Weekly capacity per outlet: the override, or head-count × 40 h × the branch's share."""
    from branchops.coordination.services import branch_of, settings_for

    outlet_ids = list(outlet_ids)
    overrides = dict(OutletCapacity.objects.filter(outlet_id__in=outlet_ids).values_list("outlet_id", "weekly_hours"))
    outlets = list(Institution.objects.filter(pk__in=outlet_ids).annotate(
        heads=Count("staff", filter=Q(staff__is_active=True))))
    # One branch lookup per branch, not per outlet: outlets of one branch share its path prefix.
    shares: dict[str, Decimal] = {}
    out = {}
    for outlet in outlets:
        if outlet.pk in overrides:
            out[outlet.pk] = float(overrides[outlet.pk])
            continue
        prefix = next((p for p in shares if outlet.path.startswith(p)), None)
        if prefix is None:
            branch = branch_of(outlet)
            prefix = branch.path
            shares[prefix] = settings_for(branch).capacity_share
        out[outlet.pk] = round(outlet.heads * HOURS_PER_WEEK * float(shares[prefix]), 1)
    return out


def _loads(exclude_item: int | None = None, outlet_ids=None) -> list[workload.Load]:
    """Every released or pending item as a load (released ones by their work orders' dates)."""
    loads = []
    items = Item.objects.filter(status__in=LOADING_STATUSES).prefetch_related("outlets", "work_orders")
    if exclude_item:
        items = items.exclude(pk=exclude_item)
    if outlet_ids is not None:
        items = items.filter(outlets__in=outlet_ids).distinct()
    for item in items:
        rank = URGENCY_RANK.get(item.urgency, 2)
        if item.status == ItemStatus.RELEASED:
            for wo in item.work_orders.all():
                loads.append(workload.Load(item.number, (wo.institution_id,), float(wo.hours), wo.start_date,
                                           wo.due_date, rank))
        else:
            loads.append(workload.Load(item.number, tuple(o.pk for o in item.outlets.all()),
                                       float(item.effort_hours), item.window_start, item.window_end, rank))
    return loads


def release_check(item: Item) -> dict:
    """Which outlets this item would push over capacity, and which blackout periods it hits."""
    outlet_ids = list(item.outlets.values_list("pk", flat=True))
    cap = capacities(outlet_ids)
    candidate = workload.Load(item.number, tuple(outlet_ids), float(item.effort_hours or 0), item.window_start,
                              item.window_end, URGENCY_RANK.get(item.urgency, 2))
    over = workload.overloads(candidate, _loads(exclude_item=item.pk, outlet_ids=outlet_ids), cap)
    blackouts = [(b.start, b.end, b.name) for b in Blackout.objects.filter(start__lte=item.window_end,
                                                                          end__gte=item.window_start)]
    return {"overloads": over, "blackouts": workload.in_blackout(item.window_start, item.window_end, blackouts),
            "capacity": cap}


def heatmap(outlets, start: date, weeks: int = 8) -> dict:
    """Outlet × week load (hours and share of capacity) for the secretariat's heat-map."""
    outlets = list(outlets)
    ids = [o.pk for o in outlets]
    cap = capacities(ids)
    table = workload.weekly_load(_loads(outlet_ids=ids))
    first = workload.week_start(start)
    week_list = [first + timedelta(weeks=i) for i in range(weeks)]
    rows = []
    for o in outlets:
        loads = [round(table.get(o.pk, {}).get(w, 0.0), 1) for w in week_list]
        c = cap.get(o.pk) or 0
        rows.append({"id": o.pk, "code": o.code, "name": o.name, "capacity": c, "loads": loads,
                     "ratios": [round(x / c, 2) if c else None for x in loads]})
    return {"weeks": week_list, "rows": rows}


@transaction.atomic
def set_capacity(actor, outlet: Institution, weekly_hours, note: str = "") -> OutletCapacity:
    require_perm(actor, "dispatch.change_outletcapacity")
    if outlet.level != Level.OUTLET:
        raise ValidationError({"outlet": _("Capacity is set for outlets.")})
    try:
        hours = Decimal(str(weekly_hours)).quantize(Decimal("0.1"))
    except Exception as exc:
        raise ValidationError({"weekly_hours": _("Give the weekly hours as a number.")}) from exc
    if hours < 0 or hours > 9999:
        raise ValidationError({"weekly_hours": _("Give the weekly hours (0 to 9999).")})
    weekly_hours = hours
    cap = OutletCapacity.objects.filter(outlet=outlet).first() or OutletCapacity(outlet=outlet)
    cap.weekly_hours, cap.note = Decimal(str(weekly_hours)), note
    stamp_history(cap, actor)
    cap.save()
    return cap


@transaction.atomic
def release_item(actor, item: Item, *, override_reason: str = "", stagger_groups: int = 1,
                 expected_version: int | None = None) -> Release:
    """One work order per target outlet, carrying the approval number. Nothing is released
    without a valid number; over capacity only with a recorded reason."""
    from branchops.coordination.services import _lock, _save, verify_number

    require_perm(actor, "coordination.release_item")
    item = _lock(item, expected_version)
    if item.status != ItemStatus.APPROVED or not item.approval_number:
        raise ValidationError(_("Only an item with an approval number can be released."))
    if verify_number(item.approval_number)["status"] != "valid":
        raise ValidationError(_("The approval number is revoked or expired."))
    outlets = list(item.outlets.all())
    if not outlets:
        raise ValidationError(_("The item targets no outlets."))
    plan = workload.stagger([o.pk for o in outlets], stagger_groups, item.window_start, item.window_end)
    check = release_check(item) if stagger_groups <= 1 else {"overloads": []}
    if check["overloads"] and not override_reason.strip():
        raise ValidationError({"override_reason": _(
            "This would push %(n)s outlets over capacity: stagger or defer it, or give the reason to release "
            "it anyway.") % {"n": len({o.outlet for o in check["overloads"]})}})
    release = Release.objects.create(item=item, released_by=actor, override_reason=override_reason.strip(),
                                     over_capacity=[{"outlet": o.outlet, "week": o.week.isoformat(), "load": o.load,
                                                     "capacity": o.capacity} for o in check["overloads"]])
    WorkOrder.objects.bulk_create([
        WorkOrder(item=item, release=release, institution=o, approval_number=item.approval_number,
                  start_date=plan[o.pk][0], due_date=plan[o.pk][1], hours=item.effort_hours) for o in outlets])
    item.status = ItemStatus.RELEASED
    _save(actor, item, ["status"])
    record_timeline(actor, item, "released", _("Released to %(n)s outlets") % {"n": len(outlets)}
                    + (f"；{override_reason.strip()}" if override_reason.strip() else ""))
    from django.contrib.auth import get_user_model

    heads = get_user_model().objects.filter(is_active=True, groups__name=Role.OUTLET_HEAD,
                                            staff__institution__in=outlets).select_related("staff")
    for user in heads:
        notify(user, _("New work order: %(title)s (%(number)s)") % {"title": item.title,
                                                                     "number": item.approval_number},
               url=f"/dispatch/?item={item.pk}")
    return release


def _access_order(actor, wo: WorkOrder) -> WorkOrder:
    wo = WorkOrder.objects.select_for_update().select_related("item", "institution").get(pk=wo.pk)
    if actor is not None:
        staff = getattr(actor, "staff", None)
        if not actor.has_perm("dispatch.change_workorder") or staff is None or staff.institution_id != wo.institution_id:
            raise PermissionDenied(_("Only the outlet's head acts on its work orders."))
    return wo


@transaction.atomic
def acknowledge_work_order(actor, wo: WorkOrder) -> WorkOrder:
    wo = _access_order(actor, wo)
    if wo.status != WorkOrder.Status.RELEASED:
        raise ValidationError(_("This work order was already acknowledged."))
    wo.status, wo.acknowledged_by, wo.acknowledged_at = WorkOrder.Status.ACKNOWLEDGED, actor, clock.now()
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "acknowledged", _("Acknowledged"))
    return wo


@transaction.atomic
def complete_work_order(actor, wo: WorkOrder, note: str) -> WorkOrder:
    wo = _access_order(actor, wo)
    if wo.status == WorkOrder.Status.DONE:
        raise ValidationError(_("This work order is already done."))
    if not (note or "").strip():
        raise ValidationError({"note": _("Say what was done (or attach the evidence).")})
    wo.status, wo.done_by, wo.done_at, wo.note = WorkOrder.Status.DONE, actor, clock.now(), note.strip()
    if wo.acknowledged_at is None:
        wo.acknowledged_by, wo.acknowledged_at = actor, wo.done_at
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "done", note.strip()[:300])
    _close_item_when_done(actor, wo.item)
    return wo


def _close_item_when_done(actor, item: Item) -> None:
    """The loop closes when every outlet has done its work order: the item leaves the open work."""
    from branchops.coordination.services import _lock, _save

    item = _lock(item)  # two outlets finishing at once: the second sees the first's work order done
    if item.status != ItemStatus.RELEASED or item.work_orders.exclude(status=WorkOrder.Status.DONE).exists():
        return
    item.status = ItemStatus.CLOSED
    _save(actor, item, ["status"])
    record_timeline(actor, item, "closed", _("All %(n)s work orders done") % {"n": item.work_orders.count()})
    notify(item.submitter, _("All outlets have done %(title)s (%(number)s)") % {
        "title": item.title, "number": item.approval_number}, url=item.get_absolute_url())


@transaction.atomic
def raise_problem(actor, wo: WorkOrder, title: str, description: str = ""):
    """The outlet reports a problem with the work: an outlet-feedback case linked to the item,
    which the secretariat sees and can raise to the meeting."""
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType

    wo = _access_order(actor, wo)
    if not (title or "").strip():
        raise ValidationError({"title": _("Say what the problem is.")})
    case = cases.open_case(actor, case_type=CaseType.FEEDBACK, institution=wo.institution,
                           title=f"[{wo.item.number}] {title.strip()}", description=description, link_to=wo.item)
    wo.status, wo.problem_case = WorkOrder.Status.PROBLEM, case
    stamp_history(wo, actor)
    wo.save()
    record_timeline(actor, wo, "problem", case.number)
    record_timeline(actor, wo.item, "edited", _("%(outlet)s raised a problem: %(case)s") % {
        "outlet": wo.institution.name, "case": case.number})
    return case


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
    open_orders = WorkOrder.objects.exclude(status=WorkOrder.Status.DONE).select_related("item", "institution")
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
