"""The API of the imported service inputs and of the service targets, under /api/v1/service/ (joined
into the service router): imports (dry run or apply, all or nothing), the stored ratings, surveys and
call-centre days, targets with their progress. Reads go through ``queries`` (scope: an outlet sees its
own ratings; a branch's figures are the branch's), writes through ``services`` with the same rules the
pages use (``rules``); the answer says which actions the user may take (``allowed_actions``)."""

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import limits
from branchops.core.api import Amount, Day, ErrorOut, Id, Pages, Year
from branchops.org.models import Institution

from . import queries, rules, services

router = Router(tags=["service inputs"])


class ServiceInputRef(Schema):
    id: int
    code: str
    name: str


def _ref(inst) -> dict:
    return {"id": inst.pk, "code": inst.code, "name": inst.name}


class InputRowErrorOut(Schema):
    line: int = Field(description="The Excel row or CSV line; 0 for the file as a whole")
    field: str
    message: str


class InputImportResultOut(Schema):
    ok: bool
    dry_run: bool
    kind: str
    branch: str
    rows: int
    added: int = Field(description="Rows stored (or, in a dry run, that would be stored)")
    unchanged: int = Field(description="Rows already stored with the same values")
    unmapped: list[str] = Field(description="Teller numbers that name nobody (ratings kept as unmapped)")
    errors: list[InputRowErrorOut]
    more_errors: int
    batch: int | None


def _branch(user, pk: int) -> Institution:
    branch = queries.import_branches(user).filter(pk=pk).first()
    if branch is None:
        raise ValidationError({"branch": _("Choose a branch you may import for.")})
    return branch


@router.post("/inputs", response={200: InputImportResultOut, 400: InputImportResultOut | ErrorOut},
             summary="Import ratings, survey scores or call-centre days from xlsx/CSV (all-or-nothing; "
                     "dry_run previews)")
def import_inputs(request, file: File[UploadedFile], kind: Literal["ratings", "surveys", "call_centre"],
                  branch: Id, dry_run: bool = True):
    if not rules.imports_inputs(request.user):
        raise PermissionDenied
    data = file.read(limits.MAX_IMPORT_BYTES + 1)
    plan = services.import_inputs(request.user, kind=kind, branch=_branch(request.user, branch), data=data,
                                  file_name=file.name or "upload", dry_run=dry_run)
    return Status(200 if plan.ok else 400, plan.as_dict())


class InputImportOut(Schema):
    id: int
    kind: str
    branch: ServiceInputRef
    file_name: str
    imported_by: str | None
    imported_at: datetime
    rows: int
    added: int
    unchanged: int
    unmapped: int

    @staticmethod
    def resolve_branch(obj):
        return _ref(obj.branch)

    @staticmethod
    def resolve_imported_by(obj):
        return obj.imported_by.get_username() if obj.imported_by_id else None

    @staticmethod
    def resolve_imported_at(obj):
        return obj.created_at


@router.get("/inputs", response=list[InputImportOut], summary="Imports so far: who, when, rows")
@paginate(Pages)
def list_imports(request, kind: Literal["", "ratings", "surveys", "call_centre"] = ""):
    if not request.user.has_perm("service.view_inputimport"):
        raise PermissionDenied
    return queries.visible_imports(request.user, kind=kind)


class TellerRatingOut(Schema):
    id: int
    outlet: ServiceInputRef
    teller_no: str
    staff_no: str | None = Field(description="The person the teller number named at import; null: unmapped")
    rated_at: datetime
    rating: int
    batch: int

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.outlet)

    @staticmethod
    def resolve_staff_no(obj):
        return obj.staff.staff_no if obj.staff_id else None

    @staticmethod
    def resolve_batch(obj):
        return obj.batch_id


class TellerRatingFilter(Schema):
    outlet: Id | None = None
    since: Day | None = None
    until: Day | None = None
    teller: str = Field("", max_length=16)
    unmapped: bool = False


@router.get("/ratings", response=list[TellerRatingOut], summary="Teller-evaluator ratings in my scope")
@paginate(Pages)
def list_ratings(request, filters: Query[TellerRatingFilter]):
    return queries.visible_ratings(request.user, **filters.dict())


class SurveyScoreOut(Schema):
    id: int
    outlet: ServiceInputRef
    year: int
    quarter: int
    score: float
    sample_size: int

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.outlet)


@router.get("/surveys", response=list[SurveyScoreOut], summary="Survey scores in my scope")
@paginate(Pages)
def list_surveys(request, outlet: Id | None = None, year: Year | None = None):
    return queries.visible_surveys(request.user, outlet=outlet, year=year)


class CallCentreDayOut(Schema):
    id: int
    branch: ServiceInputRef
    day: date
    offered: int
    answered: int
    answered_20s: int

    @staticmethod
    def resolve_branch(obj):
        return _ref(obj.branch)


@router.get("/call-centre", response=list[CallCentreDayOut], summary="Call-centre days of the branches in my scope")
@paginate(Pages)
def list_call_days(request, since: Day | None = None, until: Day | None = None):
    return queries.visible_call_days(request.user, since=since, until=until)


# --- targets ---------------------------------------------------------------------------------------

class ServiceTargetOut(Schema):
    id: int
    branch: ServiceInputRef
    year: int
    metric: str
    comparison: str
    value: float
    note: str
    months: dict[int, float] = Field(description="The metric per complete month so far (rates as shares)")
    year_to_date: float | None
    projected: float | None = Field(description="The year's figure with the months left on the trend line")
    at_risk: bool | None = Field(description="The projection misses the target; null: no data yet")
    allowed_actions: list[str]


def _target(user, row: dict) -> dict:
    t = row["target"]
    return {"id": t.pk, "branch": _ref(t.branch), "year": t.year, "metric": t.metric, "comparison": t.comparison,
            "value": float(t.value), "note": t.note, "months": row["months"], "year_to_date": row["year_to_date"],
            "projected": row["projected"], "at_risk": row["at_risk"],
            "allowed_actions": ["change", "delete"] if rules.sets_targets(user, t.branch) else []}


@router.get("/targets", response=list[ServiceTargetOut], summary="Service targets of a year with their progress")
def list_targets(request, year: Year | None = None, branch: Id | None = None):
    from branchops.core import clock

    rows = queries.visible_targets(request.user, branch=branch, year=year or clock.today().year)
    return [_target(request.user, queries.target_progress(t)) for t in rows]


@router.get("/targets/{int:pk}", response=ServiceTargetOut)
def get_target(request, pk: Id):
    return _target(request.user, queries.target_progress(queries.access_target(request.user, pk)))


class ServiceTargetIn(Schema):
    branch: Id
    year: Year
    metric: Literal["avg_wait_minutes", "call_answer_rate", "call_20s_level", "teller_satisfaction",
                    "mystery_shopper_score", "complaints", "model_outlets"]
    comparison: Literal["at_most", "at_least"]
    value: Amount
    note: str = Field("", max_length=200)


@router.post("/targets", response={200: ServiceTargetOut}, summary="Set a branch's target for a metric and year "
                                                            "(creates or changes it)")
def set_target(request, payload: ServiceTargetIn):
    if not rules.sets_targets(request.user):
        raise PermissionDenied
    branch = queries.target_branches(request.user).filter(pk=payload.branch).first()
    if branch is None:
        raise ValidationError({"branch": _("Choose a branch you may set targets for.")})
    target = services.save_target(request.user, branch=branch, year=payload.year, metric=payload.metric,
                                  comparison=payload.comparison, value=payload.value, note=payload.note)
    return _target(request.user, queries.target_progress(target))


@router.delete("/targets/{int:pk}", response={204: None})
def delete_target(request, pk: Id):
    target = queries.access_target(request.user, pk)
    if not rules.sets_targets(request.user, target.branch):
        raise PermissionDenied
    services.delete_target(request.user, target)
    return Status(204, None)

