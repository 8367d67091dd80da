"""The dispatch API under /api/v1/dispatch/: work orders, outlet workload and capacity.

Work orders are read through ``queries.visible_work_orders`` — an outlet sees only its own, the
submitting department those of its items, the secretariat and leaders those in their scope — so
another outlet's work order answers the same 404 as a missing one. Writes go through ``services``.
"""

from datetime import date, datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import clock
from branchops.core.api import Amount, Day, Id, run_action
from branchops.org.api import Pages, Ref
from branchops.org.models import Level
from branchops.org.scope import visible_institutions

from . import queries, rules, schemas, services
from .actions import WORK_ORDER_ACTIONS
from .models import OutletCapacity, WorkOrder

router = Router(tags=["dispatch"])


# --- work orders -------------------------------------------------------------------------------

class PersonOut(Schema):
    id: int
    username: str
    name: str


class ItemRefOut(Schema):
    id: int
    number: str
    title: str


class CaseRefOut(Schema):
    id: int
    number: str


def _person(user) -> dict | None:
    if user is None:
        return None
    staff = getattr(user, "staff", None)
    return {"id": user.pk, "username": user.get_username(), "name": staff.name if staff else user.get_username()}


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "code": obj.code, "name": obj.name} if obj is not None else None


class WorkOrderFields(Schema):
    id: int
    item: ItemRefOut
    outlet: Ref
    approval_number: str
    start_date: date
    due_date: date
    hours: float
    status: str
    overdue: bool
    acknowledged_at: datetime | None
    done_at: datetime | None
    problem_case: CaseRefOut | None
    cancelled_at: datetime | None
    cancel_reason: str


class WorkOrderOut(WorkOrderFields):
    """A work order in the list (read from the queryset)."""

    @staticmethod
    def resolve_item(obj):
        return {"id": obj.item_id, "number": obj.item.number, "title": obj.item.title}

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.institution)

    @staticmethod
    def resolve_hours(obj):
        return float(obj.hours)

    @staticmethod
    def resolve_overdue(obj):
        return queries.is_overdue(obj, clock.today())

    @staticmethod
    def resolve_problem_case(obj):
        return {"id": obj.problem_case_id, "number": obj.problem_case.number} if obj.problem_case_id else None


class MaterialOut(Schema):
    id: int
    kind: str
    name: str
    url: str
    version: int = Field(description="The version the outlet works to (1 as decided; revisions add one).")
    revised_at: datetime | None = Field(description="When this version replaced the previous one.")
    reason: str = Field(description="Why it was revised.")


class WorkOrderDetailOut(WorkOrderFields):
    actions: str
    urgency: str
    materials: list[MaterialOut]
    acknowledged_by: PersonOut | None
    done_by: PersonOut | None
    note: str
    can_act: bool = Field(description="Whether the user is the outlet's head, who acts on its work orders.")
    allowed_actions: list[str] = Field(description="The actions the user may take on it now (a POST to its "
                                                   "actions/{action}): acknowledge, done, problem, cancel.")


def _detail(user, wo: WorkOrder) -> dict:
    from django.urls import reverse

    item = wo.item
    data = WorkOrderOut.from_orm(wo).dict()
    data.update(
        actions=item.actions, urgency=item.urgency,
        materials=[{"id": a.pk, "kind": a.kind, "name": a.name, "version": a.version, "reason": a.reason,
                    "revised_at": a.uploaded_at if a.version > 1 else None,
                    "url": reverse("api:coordination_item_attachment", kwargs={"pk": item.pk, "att_pk": a.pk})}
                   for a in item.attachments.filter(is_current=True)],  # the current versions only
        acknowledged_by=_person(wo.acknowledged_by), done_by=_person(wo.done_by), note=wo.note,
        can_act=rules.acts_for_outlet(user, wo), allowed_actions=WORK_ORDER_ACTIONS.allowed(user, wo),
    )
    return data


WO_RELATED = ("item", "institution", "problem_case", "acknowledged_by__staff", "done_by__staff")


def _access(user, pk: int) -> WorkOrder:
    queries.access_work_order(user, pk)  # 404 alike for hidden and missing
    return WorkOrder.objects.select_related(*WO_RELATED).get(pk=pk)


class WorkOrderFilter(Schema):
    item: Id | None = None
    status: str = Field("", json_schema_extra={"enum": ["", "open", *WorkOrder.Status.values]},
                        description="A status, or open (not done nor cancelled); empty: every work order. "
                                    "Ordered by due date, soonest first.")
    outlet: Id | None = None
    overdue: bool | None = None


@router.get("/work-orders", response=list[WorkOrderOut], summary="Work orders within my view")
@paginate(Pages)
def list_work_orders(request, filters: Query[WorkOrderFilter]):
    if filters.status and filters.status not in ("open", *WorkOrder.Status.values):
        raise ValidationError({"status": _("Choose one of: %(values)s.") % {
            "values": ", ".join(("open", *WorkOrder.Status.values))}})
    qs = queries.visible_work_orders(request.user).select_related("item", "institution", "problem_case")
    if filters.item:
        qs = qs.filter(item_id=filters.item)
    qs = queries.with_status(qs, filters.status)
    if filters.outlet:
        qs = qs.filter(institution_id=filters.outlet)
    if filters.overdue is not None:
        late = qs.model.objects.filter(queries.overdue_q(clock.today()))
        qs = qs.filter(pk__in=late.values("pk")) if filters.overdue else qs.exclude(pk__in=late.values("pk"))
    return qs.order_by(*queries.WORK_ORDER_ORDER)


@router.get("/work-orders/{int:pk}", response=WorkOrderDetailOut, summary="One work order")
def get_work_order(request, pk: Id):
    return _detail(request.user, _access(request.user, pk))


@router.post("/work-orders/{int:pk}/actions/{action}", response=WorkOrderDetailOut,
             summary="The outlet acts: acknowledge, done (note), problem (title, description → a feedback "
                     "case, its number in problem_case)")
def work_order_action(request, pk: Id, action: str, payload: schemas.WorkOrderActionIn | None = None):
    wo = queries.access_work_order(request.user, pk)
    run_action(WORK_ORDER_ACTIONS, request.user, wo, action, payload)
    return _detail(request.user, WorkOrder.objects.select_related(*WO_RELATED).get(pk=pk))


# --- workload ----------------------------------------------------------------------------------

class HeatRowOut(Schema):
    id: int
    code: str
    name: str
    capacity: float
    loads: list[float] = Field(description="Hours of released work per week (what counts against capacity).")
    expected: list[float] = Field(description="Hours of items pending (submitted, approved) per week: expected, "
                                              "not counted.")
    ratios: list[float | None]


class HeatmapOut(Schema):
    weeks: list[date]
    rows: list[HeatRowOut]


MAX_WEEKS = 26


@router.get("/workload", response=HeatmapOut,
            summary="Outlet × week load (hours and share of capacity) from released work; pending items as expected")
def workload(request, start: Day | None = None, weeks: Annotated[int, Field(ge=1, le=MAX_WEEKS)] = 8, institution: Id | None = None):
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationError({"weeks": _("Between 1 and %(n)s weeks.") % {"n": MAX_WEEKS}})
    outlets = visible_institutions(request.user).filter(level=Level.OUTLET, is_active=True)
    if institution is not None:
        under = visible_institutions(request.user).filter(pk=institution).first()
        if under is None:
            raise ValidationError({"institution": _("Choose an institution within your view.")})
        outlets = outlets.filter(path__startswith=under.path)
    return queries.heatmap(outlets.order_by("path"), start or clock.today(), weeks)


class CapacityIn(Schema):
    weekly_hours: Amount = Field(max_digits=6, decimal_places=1, description="Hours per week, one decimal")
    note: str = ""


class CapacityOut(Schema):
    outlet: Ref
    weekly_hours: float
    note: str
    is_override: bool


def _capacity(outlet) -> dict:
    override = OutletCapacity.objects.filter(outlet=outlet).first()
    hours = float(override.weekly_hours) if override else queries.capacities([outlet.pk]).get(outlet.pk, 0.0)
    return {"outlet": _ref(outlet), "weekly_hours": hours, "note": override.note if override else "",
            "is_override": override is not None}


def _outlet(user, pk: int):
    outlet = visible_institutions(user).filter(pk=pk, level=Level.OUTLET).first()
    if outlet is None:
        raise Http404
    return outlet


@router.get("/capacity/{int:outlet_id}", response=CapacityOut, summary="An outlet's weekly capacity")
def get_capacity(request, outlet_id: Id):
    return _capacity(_outlet(request.user, outlet_id))


@router.put("/capacity/{int:outlet_id}", response=CapacityOut,
            summary="Set an outlet's weekly capacity for work from above (hours)")
def put_capacity(request, outlet_id: Id, payload: CapacityIn):
    outlet = _outlet(request.user, outlet_id)
    services.set_capacity(request.user, outlet, payload.weekly_hours, payload.note)
    return _capacity(outlet)
