"""The outlet routines' API under /api/v1/service/ (joined into the service router): plans with their
figures, checks (overdue ones by ``overdue=true``), one check with its items, and submitting it. Reads
through ``routine_queries``, writes through ``routines`` with the rules the pages use."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import clock
from branchops.core.api import Day, Id, Pages, run_action

from . import routine_queries as queries
from . import routines, rules
from .actions import ROUTINE_ACTIONS
from .input_api import ServiceInputRef, _ref
from .routine_forms import CheckIn
from .routinebook import RoutineKind
from .services import template_items

router = Router(tags=["outlet routines"])


class PlanOut(Schema):
    id: int
    name: str
    kind: str
    scope: ServiceInputRef
    frequency_days: int
    starts_on: date
    ends_on: date | None
    checks: int
    done: int
    failed: int = Field(description="Checks done with a failed item")
    cases: int = Field(description="Support requests and rectifications opened by failed checks")
    to_do: int = Field(description="Checks not done yet")
    overdue: int
    outlets_failed: int
    outlets_cold: int = Field(description="Outlets with a reading under 18 °C")


def _plan(user, p) -> dict:
    return {"id": p.pk, "name": p.name, "kind": p.kind, "scope": _ref(p.scope), "frequency_days": p.frequency_days,
            "starts_on": p.starts_on, "ends_on": p.ends_on} | queries.plan_figures(user, p, clock.today())


@router.get("/routine-plans", response=list[PlanOut], summary="Outlet routine plans with their figures")
@paginate(Pages)
def list_plans(request):
    return [_plan(request.user, p) for p in queries.visible_plans(request.user)]


class RoutinePlanIn(Schema):
    name: str = Field(max_length=128)
    kind: RoutineKind
    scope: Id = Field(description="A branch, sub-branch or outlet id")
    frequency_days: int = Field(ge=1, le=366)
    starts_on: Day
    ends_on: Day | None = None


@router.post("/routine-plans", response={201: PlanOut}, summary="Plan a routine: a check per outlet every N days")
def create_plan(request, payload: RoutinePlanIn):
    if not rules.plans_routines(request.user):
        raise PermissionDenied
    scope = queries.plan_scopes(request.user).filter(pk=payload.scope).first()
    if scope is None:
        raise ValidationError({"scope": _("Choose a branch, sub-branch or outlet in your scope.")})
    plan = routines.create_plan(request.user, name=payload.name, kind=payload.kind, scope=scope,
                                frequency_days=payload.frequency_days, starts_on=payload.starts_on,
                                ends_on=payload.ends_on)
    return Status(201, _plan(request.user, plan))


class CheckOut(Schema):
    id: int
    plan: int
    plan_name: str
    kind: str
    outlet: ServiceInputRef
    due: date
    overdue: bool
    status: str
    score: float | None
    failed: int
    reading: float | None
    scenario: str
    participants: str
    issues: str
    done_at: datetime | None
    case: str | None = Field(description="The support request or rectification a failure opened")
    allowed_actions: list[str]

    @staticmethod
    def resolve_plan_name(obj):
        return obj.plan.name

    @staticmethod
    def resolve_plan(obj):
        return obj.plan_id

    @staticmethod
    def resolve_kind(obj):
        return obj.plan.kind

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.outlet)

    @staticmethod
    def resolve_overdue(obj):
        return obj.status == "due" and obj.due < clock.today()

    @staticmethod
    def resolve_case(obj):
        return obj.case.number if obj.case_id else None

    @staticmethod
    def resolve_allowed_actions(obj, context):
        return ROUTINE_ACTIONS.allowed(context["request"].user, obj)


class CheckFilter(Schema):
    plan: Id | None = None
    outlet: Id | None = None
    status: str = Field("", pattern="^(|due|done)$")
    overdue: bool = False
    failed: bool = False


@router.get("/routine-checks", response=list[CheckOut], summary="Routine checks in my scope, due first")
@paginate(Pages)
def list_checks(request, filters: Query[CheckFilter]):
    return queries.visible_checks(request.user, today=clock.today(), **filters.dict())


class CheckItemOut(Schema):
    code: str
    section: str
    text: str
    na_allowed: bool
    answer: str | None
    note: str


class CheckDetailOut(CheckOut):
    items: list[CheckItemOut]

    @staticmethod
    def resolve_items(obj):
        given = {a.item_id: a for a in obj.answers.all()}
        return [{"code": i.code, "section": i.section.name, "text": i.text, "na_allowed": i.na_allowed,
                 "answer": given[i.pk].answer if i.pk in given else None,
                 "note": given[i.pk].note if i.pk in given else ""} for i in template_items(queries.template_of(obj))]


@router.get("/routine-checks/{int:pk}", response=CheckDetailOut, summary="One routine check with its items")
def get_check(request, pk: Id):
    return queries.access_check(request.user, pk)


@router.post("/routine-checks/{int:pk}/submit", response=CheckDetailOut,
             summary="Do the check: answers per item; a failure opens a support request or a rectification")
def submit_check(request, pk: Id, payload: CheckIn):
    check = queries.access_check(request.user, pk)
    run_action(ROUTINE_ACTIONS, request.user, check, "submit", payload)
    return queries.access_check(request.user, pk)
