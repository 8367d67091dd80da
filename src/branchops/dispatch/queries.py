"""Reads of dispatch shared by pages, API and coordination: visible work orders, overdue rules,
capacities and the outlets' workload.

The workload counts what every registered load source says (coordination registers the released
work orders; the items still pending are "expected", shown apart and never counted): dispatch never imports the apps above it."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from branchops.org import queries as org_queries
from branchops.org.models import Institution, Level
from branchops.org.scope import scope_q, sees_everything

from . import workload
from .models import Blackout, OutletCapacity, WorkloadSettings, WorkOrder


def visible_work_orders(user) -> QuerySet:
    """An outlet sees its own work orders; a sub-branch those of its outlets; the secretariat and
    leaders those in their scope; the submitting department those of its items."""
    if not user.is_authenticated or not user.has_perm("dispatch.view_workorder"):
        return WorkOrder.objects.none()
    if sees_everything(user):
        return WorkOrder.objects.all()
    staff = getattr(user, "staff", None)
    q = Q(institution_id=staff.institution_id) if staff else Q(pk__in=[])
    # Sub-branch staff oversee their outlets' work (read-only: only an outlet's head acts on it).
    at_sub_branch = staff is not None and staff.institution.level == Level.SUB_BRANCH
    if at_sub_branch or user.has_perm("coordination.run_meeting") or user.has_perm("coordination.export_register"):
        q |= scope_q(user, "institution")
    if staff is not None and staff.department_id:
        q |= Q(item__department_id=staff.department_id)
    return WorkOrder.objects.filter(q)


def follows_item(user, item) -> bool:
    """The secretariat, branch leaders and the submitting department follow an item's work orders
    across its outlets (the completion page)."""
    if user.is_superuser or user.has_perm("coordination.run_meeting") or user.has_perm("coordination.export_register"):
        return True
    staff = getattr(user, "staff", None)
    return staff is not None and staff.department_id is not None and staff.department_id == item.department_id


def access_work_order(user, pk) -> WorkOrder:
    try:
        return visible_work_orders(user).select_related("item", "institution", "problem_case").get(pk=pk)
    except (WorkOrder.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# Lists of work orders: soonest due first (then the outlet's code), on every page, API list and export.
WORK_ORDER_ORDER = ("due_date", "institution__code", "id")


def with_status(qs: QuerySet, status: str) -> QuerySet:
    """``open``: not done nor cancelled; ``all`` or nothing: every one; else that status."""
    if status == "open":
        return qs.exclude(status__in=[WorkOrder.Status.DONE, WorkOrder.Status.CANCELLED])
    if status in WorkOrder.Status.values:
        return qs.filter(status=status)
    return qs


def is_overdue(wo: WorkOrder, today: date) -> bool:
    return wo.status not in (WorkOrder.Status.DONE, WorkOrder.Status.CANCELLED) and wo.due_date < today


def overdue_q(today: date) -> Q:
    return Q(due_date__lt=today) & ~Q(status__in=[WorkOrder.Status.DONE, WorkOrder.Status.CANCELLED])


def workload_settings_for(branch) -> WorkloadSettings:
    """The branch's row, made with the branch; an unsaved default where there is none (never written here)."""
    return WorkloadSettings.objects.filter(branch=branch).first() or WorkloadSettings(branch=branch)


HOURS_PER_WEEK = 40

# Each source answers (outlet_ids or None for all, item pk to leave out or None) → loads.
LoadSource = Callable[[list[int] | None, int | None], list[workload.Load]]
_load_sources: list[LoadSource] = []
_expected_sources: list[LoadSource] = []


def register_load_source(source: LoadSource, *, expected: bool = False) -> None:
    """An app above adds the load it puts on outlets (coordination: released work orders); an
    ``expected`` source is work not yet released (items pending), shown apart and never counted."""
    sources = _expected_sources if expected else _load_sources
    if source not in sources:
        sources.append(source)


def loads(outlet_ids=None, exclude_item: int | None = None, *, expected: bool = False) -> list[workload.Load]:
    outlet_ids = list(outlet_ids) if outlet_ids is not None else None
    return [load for source in (_expected_sources if expected else _load_sources)
            for load in source(outlet_ids, exclude_item)]


def capacities(outlet_ids) -> dict[int, float]:
    """Weekly capacity per outlet: the override, or head-count × 40 h × the branch's share."""
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
            branch = org_queries.branch_of(outlet) or outlet
            prefix = branch.path
            shares[prefix] = workload_settings_for(branch).capacity_share
        out[outlet.pk] = round(outlet.heads * HOURS_PER_WEEK * float(shares[prefix]), 1)
    return out


def check_load(candidate: workload.Load, exclude_item: int | None = None,
               plan: dict[int, tuple[date, date]] | None = None) -> dict:
    """Which outlets a new load would push over capacity (released work only; with ``plan``, each
    outlet in its own staggered wave), which released loads of lower urgency could yield, and which
    blackout periods it hits."""
    outlet_ids = list(candidate.outlets)
    cap = capacities(outlet_ids)
    existing = loads(outlet_ids, exclude_item)
    plan = plan or {o: (candidate.start, candidate.end) for o in outlet_ids}
    over = workload.plan_overloads(candidate.key, candidate.hours, plan, existing, cap, candidate.urgency_rank)
    blackouts = [(b.start, b.end, b.name) for b in Blackout.objects.filter(start__lte=candidate.end,
                                                                          end__gte=candidate.start)]
    return {"overloads": over, "blackouts": workload.in_blackout(candidate.start, candidate.end, blackouts),
            "capacity": cap, "yielders": workload.yielders(candidate.urgency_rank, over, existing)}


def heatmap(outlets, start: date, weeks: int = 8) -> dict:
    """Outlet × week load (hours and share of capacity) for the secretariat's heat-map."""
    outlets = list(outlets)
    ids = [o.pk for o in outlets]
    cap = capacities(ids)
    table = workload.weekly_load(loads(ids))
    expected = workload.weekly_load(loads(ids, expected=True))
    first = workload.week_start(start)
    week_list = [first + timedelta(weeks=i) for i in range(weeks)]
    rows = []
    for o in outlets:
        hours = [round(table.get(o.pk, {}).get(w, 0.0), 1) for w in week_list]
        c = cap.get(o.pk) or 0
        rows.append({"id": o.pk, "code": o.code, "name": o.name, "capacity": c, "loads": hours,
                     "expected": [round(expected.get(o.pk, {}).get(w, 0.0), 1) for w in week_list],
                     "ratios": [round(x / c, 2) if c else None for x in hours]})
    return {"weeks": week_list, "rows": rows}
