"""The service-grading API under /api/v1/service/: schemes, runs, outlet breakdowns, trend, actions.

Runs are read through ``queries.visible_runs`` and rows through ``queries.run_grades`` — an outlet
sees its own row of its branch's published runs, a sub-branch its outlets, the branch everything — so
a hidden run or row answers the same 404 as a missing one. Writes go through the action table.
"""

from datetime import date, datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from branchops.core.api import Id, Year, run_action
from branchops.org.models import Institution, Level
from branchops.org.scope import visible_institutions

from . import queries, rules, schemas, services
from .actions import FINDING_ACTIONS, INSPECTION_ACTIONS, RUN_ACTIONS

router = Router(tags=["service"])
Month = Annotated[int, Field(ge=1, le=12)]


class Ref(Schema):
    id: int
    code: str
    name: str


def _ref(inst) -> dict:
    return {"id": inst.pk, "code": inst.code, "name": inst.name}


class IndicatorOut(Schema):
    code: str
    name: str
    dimension: str
    source: str
    unit: str
    direction: str
    rule: str
    full_at: float
    zero_at: float
    scale: list
    weight: float


class SchemeOut(Schema):
    id: int
    code: str
    version: int
    name: str
    effective_from: date
    effective_to: date | None
    method: str
    missing_rule: str
    missing_share: float
    reliability_code: str
    reliability_min: float
    reliability_affects: list[str]
    in_use: bool
    faults: list[str] = Field(description="What keeps the scheme from grading (weights not totalling 100 …)")
    indicators: list[IndicatorOut]
    bands: list[dict]
    vetoes: list[dict]


def _scheme(s) -> dict:
    return {
        "id": s.pk, "code": s.code, "version": s.version, "name": s.name, "effective_from": s.effective_from,
        "effective_to": s.effective_to, "method": s.method, "missing_rule": s.missing_rule,
        "missing_share": float(s.missing_share), "reliability_code": s.reliability_code,
        "reliability_min": float(s.reliability_min), "reliability_affects": s.reliability_affects,
        "in_use": s.in_use, "faults": [str(f) for f in services.scheme_errors(s)],
        "indicators": [{"code": i.code, "name": i.name, "dimension": i.dimension.code, "source": i.source,
                        "unit": i.unit, "direction": i.direction, "rule": i.rule, "full_at": float(i.full_at),
                        "zero_at": float(i.zero_at), "scale": i.scale, "weight": float(i.weight)}
                       for i in s.indicators.select_related("dimension")],
        "bands": [{"grade": b.grade, "min_score": None if b.min_score is None else float(b.min_score),
                   "quota": None if b.quota is None else float(b.quota)} for b in s.bands.all()],
        "vetoes": [{"code": v.code, "name": v.name, "source": v.source, "at_least": float(v.at_least),
                    "grade": v.grade} for v in s.vetoes.all()],
    }


@router.get("/schemes", response=list[SchemeOut], summary="Grading schemes, every version")
def list_schemes(request):
    if not request.user.has_perm("service.view_gradingscheme"):
        raise Http404
    return [_scheme(s) for s in queries.schemes()]


class ChecklistVersionIn(Schema):
    effective_from: date = Field(description="The first day of the new version; the previous one ends the day before")


@router.post("/schemes/{int:pk}/versions", response={201: SchemeOut},
             summary="A new version of a scheme (a copy to change; a scheme in use is frozen)")
def new_scheme_version(request, pk: Id, payload: ChecklistVersionIn):
    scheme = queries.schemes().filter(pk=pk).first()
    if scheme is None or not request.user.has_perm("service.view_gradingscheme"):
        raise Http404
    return Status(201, _scheme(services.new_scheme_version(request.user, scheme, payload.effective_from)))


class IndicatorIn(Schema):
    name: str | None = Field(None, max_length=64)
    weight: float | None = Field(None, gt=0, le=100)
    full_at: float | None = None
    zero_at: float | None = None
    direction: str | None = None
    rule: str | None = None
    scale: list[list[float]] | None = None


@router.patch("/schemes/{int:pk}/indicators/{code}", response=SchemeOut,
              summary="Change an indicator of a scheme no reviewed or published run used (else 400: make a new "
                      "version)")
def change_indicator(request, pk: Id, code: str, payload: IndicatorIn):
    scheme = queries.schemes().filter(pk=pk).first()
    indicator = scheme.indicators.filter(code=code).first() if scheme is not None else None
    if indicator is None or not request.user.has_perm("service.view_gradingscheme"):
        raise Http404
    fields = {k: str(v) if isinstance(v, float) else v for k, v in payload.dict().items() if v is not None}
    services.update_indicator(request.user, indicator, **fields)
    return _scheme(queries.schemes().get(pk=pk))


class RunOut(Schema):
    id: int
    branch: Ref
    year: int
    quarter: int
    status: str
    scheme: str
    scheme_id: int
    reviewed_at: datetime | None
    published_at: datetime | None
    version: int


def _run(run) -> dict:
    return {"id": run.pk, "branch": _ref(run.branch), "year": run.year, "quarter": run.quarter,
            "status": run.status, "scheme": str(run.scheme), "scheme_id": run.scheme_id,
            "reviewed_at": run.reviewed_at, "published_at": run.published_at, "version": run.version}


class MoverOut(Schema):
    outlet: Ref
    rank: int
    previous_rank: int
    grade: str
    previous_grade: str


class RunDetailOut(RunOut):
    distribution: dict[str, int]
    outlets: int
    movers_up: list[MoverOut]
    movers_down: list[MoverOut]
    allowed_actions: list[str] = Field(description="What the user may do now (POST actions/{action}): refresh, "
                                                   "adjust, review, return, publish.")


def _detail(user, run) -> dict:
    grades = list(queries.run_grades(user, run))
    moves = queries.movers(user, run)
    shape = [("movers_up", "up"), ("movers_down", "down")]
    data = _run(run) | {"distribution": queries.distribution(grades), "outlets": len(grades),
                        "allowed_actions": RUN_ACTIONS.allowed(user, run)}
    for key, side in shape:
        data[key] = [{"outlet": _ref(m["outlet"]), "rank": m["rank"], "previous_rank": m["previous_rank"],
                      "grade": m["grade"], "previous_grade": m["previous_grade"]} for m in moves[side]]
    return data


@router.get("/runs", response=list[RunOut], summary="Grading runs within my view, newest quarter first")
def list_runs(request):
    return [_run(r) for r in queries.visible_runs(request.user)]


@router.post("/runs", response={201: RunDetailOut}, summary="Open a draft run for a branch's quarter (gathers "
                                                             "inputs and grades the outlets)")
def create_run(request, payload: schemas.RunIn):
    if not rules.opens_runs(request.user):
        raise PermissionDenied
    branch = Institution.objects.filter(pk=payload.branch).first()
    if branch is not None and not visible_institutions(request.user).filter(pk=branch.pk).exists():
        branch = None  # outside the user's scope: the same answer as an unknown id
    if branch is None:
        raise ValidationError({"branch": _("Choose a branch within your view.")})
    run = services.create_run(request.user, branch=branch, year=payload.year, quarter=payload.quarter)
    return Status(201, _detail(request.user, run))


@router.get("/runs/{int:pk}", response=RunDetailOut, summary="One run: distribution A–D, movers, actions")
def get_run(request, pk: Id):
    return _detail(request.user, queries.access_run(request.user, pk))


class IndicatorResultOut(Schema):
    code: str
    name: str
    dimension: str
    weight: float
    value: float | None
    points: float | None
    lost: float
    missing: bool
    unreliable: bool
    reason: str
    evidence: str
    adjusted: bool


class GradeOut(Schema):
    outlet: Ref
    total: float | None
    grade: str
    rank: int | None
    vetoes: list[str]
    missing: list[str]
    unreliable: list[str]
    rectification: str | None


def _grade(g) -> dict:
    return {"outlet": _ref(g.outlet), "total": None if g.total is None else float(g.total), "grade": g.grade,
            "rank": g.rank, "vetoes": g.vetoes, "missing": g.missing, "unreliable": g.unreliable,
            "rectification": g.rectification.number if g.rectification_id else None}


class GradeDetailOut(GradeOut):
    indicators: list[IndicatorResultOut]


@router.get("/runs/{int:pk}/outlets", response=list[GradeOut], summary="The run's outlets within my view, by rank")
def run_outlets(request, pk: Id):
    run = queries.access_run(request.user, pk)
    return [_grade(g) for g in queries.run_grades(request.user, run)]


@router.get("/runs/{int:pk}/outlets/{int:outlet_id}", response=GradeDetailOut,
            summary="One outlet's breakdown: values, points, deduction reasons, missing marks, evidence")
def run_outlet(request, pk: Id, outlet_id: Id):
    run = queries.access_run(request.user, pk)
    g = queries.access_grade(request.user, run, outlet_id)
    rows = queries.breakdown_rows(run, g, queries.outlet_inputs(run, g.outlet))
    return _grade(g) | {"indicators": rows}


class ReplayOut(Schema):
    matches: bool


@router.get("/runs/{int:pk}/replay", response=ReplayOut,
            summary="Grade the run again from its stored inputs: do the grades match?")
def replay(request, pk: Id):
    run = queries.access_run(request.user, pk)
    if not queries.sees_whole_run(request.user, run):
        raise Http404
    return {"matches": services.replay_matches(run)}


@router.post("/runs/{int:pk}/actions/{action}", response=RunDetailOut,
             summary="The secretariat acts: refresh, adjust (outlet, code, value, reason), review, return "
                     "(reason), publish — each with the version shown")
def run_action_endpoint(request, pk: Id, action: str, payload: schemas.RunActionIn | None = None):
    run = queries.access_run(request.user, pk)
    run_action(RUN_ACTIONS, request.user, run, action, payload)
    return _detail(request.user, queries.access_run(request.user, pk))


class TrendOut(Schema):
    quarter: str
    run_id: int
    total: float | None
    grade: str
    rank: int | None


@router.get("/outlets/{int:outlet_id}/trend", response=list[TrendOut],
            summary="An outlet's published grades quarter by quarter")
def outlet_trend(request, outlet_id: Id):
    outlet = visible_institutions(request.user).filter(pk=outlet_id, level=Level.OUTLET).first()
    if outlet is None:
        raise Http404
    return queries.outlet_trend(request.user, outlet)


# --- inspections -------------------------------------------------------------------------------------
# Read through ``queries.visible_inspections`` (a hidden inspection answers 404 like a missing one);
# every write is a service that checks the same rule the page relies on.

class InspectionOut(Schema):
    id: int
    outlet: Ref
    inspection_type: str
    supervisor: str
    supervisor_id: int
    planned_on: date
    status: str
    visited_at: datetime | None
    score: float | None
    vetoed: bool
    template: str
    reinspects: int | None = Field(description="The finding this re-inspection checks again")


def _inspection(i) -> dict:
    return {"id": i.pk, "outlet": _ref(i.outlet), "inspection_type": i.inspection_type,
            "supervisor": i.supervisor.username, "supervisor_id": i.supervisor_id, "planned_on": i.planned_on,
            "status": i.status, "visited_at": i.visited_at, "score": None if i.score is None else float(i.score),
            "vetoed": i.vetoed, "template": str(i.template), "reinspects": i.reinspects_id}


class ChecklistItemOut(Schema):
    code: str
    section: str
    text: str
    weight: float
    na_allowed: bool
    veto: bool
    severity: str


class InspectionItemRowOut(ChecklistItemOut):
    answer: str | None
    note: str
    photos: int


class FindingOut(Schema):
    id: int
    item: str
    text: str
    severity: str
    deadline: date = Field(description="The day to rectify by (限期整改): the rectification case's due date")
    closed_at: datetime | None
    rectification: str | None
    rectification_status: str | None
    allowed_actions: list[str] = Field(description="What the user may do now: reinspect (POST reinspections), "
                                                   "deadline (POST deadline)")


class InspectionDetailOut(InspectionOut):
    items: list[InspectionItemRowOut]
    findings: list[FindingOut]
    can_fill: bool
    allowed_actions: list[str] = Field(description="What the user may do now: photo (POST photos), submit "
                                                   "(POST submit)")


def _finding(user, f) -> dict:
    case = f.rectification
    return {"id": f.pk, "item": f.item.code, "text": f.item.text, "severity": f.severity,
            "deadline": case.resolution_due if case and case.resolution_due else f.deadline,
            "closed_at": f.closed_at, "rectification": case.number if case else None,
            "rectification_status": case.status if case else None,
            "allowed_actions": FINDING_ACTIONS.allowed(user, f)}


def _inspection_detail(user, i) -> dict:
    rows = [{"code": r["item"].code, "section": r["section"], "text": r["item"].text,
             "weight": float(r["item"].weight), "na_allowed": r["item"].na_allowed, "veto": r["item"].veto,
             "severity": r["item"].severity,
             "answer": r["result"].answer if r["result"] else None, "note": r["result"].note if r["result"] else "",
             "photos": len(r["photos"])} for r in queries.inspection_rows(i)]
    findings = [_finding(user, f) for f in i.findings.select_related("item", "rectification", "inspection__outlet")]
    return _inspection(i) | {"items": rows, "findings": findings, "can_fill": rules.fills_inspection(user, i),
                             "allowed_actions": INSPECTION_ACTIONS.allowed(user, i)}


@router.get("/inspections", response=list[InspectionOut], summary="Inspections within my view (an outlet: its "
                                                                   "own, once visited)")
def list_inspections(request, outlet: Id | None = None, status: str | None = None):
    qs = queries.visible_inspections(request.user)
    if outlet:
        qs = qs.filter(outlet_id=outlet)
    if status:
        qs = qs.filter(status=status)
    return [_inspection(i) for i in qs[:500]]


class InspectionScheduleIn(Schema):
    outlet: Id
    supervisor: Id
    planned_on: date
    inspection_type: str = Field(description="mystery, video or on_site")


@router.post("/inspections", response={201: InspectionDetailOut},
             summary="Schedule an inspection of an outlet, assigned to a supervisor on a planned date")
def schedule_inspection(request, payload: InspectionScheduleIn):
    from django.contrib.auth import get_user_model

    if not rules.schedules_inspections(request.user):
        raise PermissionDenied
    outlet = visible_institutions(request.user).filter(pk=payload.outlet).first()
    supervisor = get_user_model().objects.filter(pk=payload.supervisor).first()
    if outlet is None:
        raise ValidationError({"outlet": _("Choose an outlet within your view.")})
    inspection = services.schedule_inspection(request.user, outlet=outlet, supervisor=supervisor,
                                              planned_on=payload.planned_on, inspection_type=payload.inspection_type)
    return Status(201, _inspection_detail(request.user, inspection))


@router.get("/inspections/{int:pk}", response=InspectionDetailOut, summary="One inspection: its checklist, "
                                                                           "answers, findings")
def get_inspection(request, pk: Id):
    return _inspection_detail(request.user, queries.access_inspection(request.user, pk))


class PhotoOut(Schema):
    id: int
    item: str
    name: str
    size: int


@router.post("/inspections/{int:pk}/photos", response={201: PhotoOut},
             summary="Photo evidence of an item (multipart: item, file; JPEG, PNG or WebP up to 5 MB)")
def add_photo(request, pk: Id):
    inspection = queries.access_inspection(request.user, pk)
    action = INSPECTION_ACTIONS.authorize(request.user, inspection, "photo")
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": _("Choose a photo.")})
    photo = action.run(request.user, inspection, {"item": request.POST.get("item", ""), "file": upload})
    return Status(201, {"id": photo.pk, "item": photo.item.code, "name": photo.name, "size": photo.size})


@router.post("/inspections/{int:pk}/submit", response=InspectionDetailOut,
             summary="Submit the answers: scored, failed items become findings and a rectification opens "
                     "(refused when a failed item has no photo)")
def submit_inspection(request, pk: Id, payload: schemas.SubmitIn):
    inspection = queries.access_inspection(request.user, pk)
    done = run_action(INSPECTION_ACTIONS, request.user, inspection, "submit", payload)
    return _inspection_detail(request.user, queries.access_inspection(request.user, done.pk))


@router.post("/findings/{int:pk}/reinspections", response={201: InspectionDetailOut},
             summary="Schedule a re-inspection of an open finding (its pass closes the finding and its "
                     "rectification case)")
def schedule_reinspection(request, pk: Id, payload: schemas.ReinspectIn):
    finding = queries.access_finding(request.user, pk)
    inspection = run_action(FINDING_ACTIONS, request.user, finding, "reinspect", payload)
    return Status(201, _inspection_detail(request.user, inspection))


@router.post("/findings/{int:pk}/deadline", response=FindingOut,
             summary="Move an open finding's deadline (限期整改): its rectification case's due date moves with "
                     "it; refused once the finding or the case is closed")
def change_finding_deadline(request, pk: Id, payload: schemas.DeadlineIn):
    finding = queries.access_finding(request.user, pk)
    run_action(FINDING_ACTIONS, request.user, finding, "deadline", payload)
    return _finding(request.user, queries.access_finding(request.user, pk))


class CountOut(Schema):
    supervisor_id: int
    supervisor: str
    month: int
    inspections: int
    findings: int


@router.get("/supervisors/counts", response=list[CountOut],
            summary="Submitted inspections and findings per supervisor and month (piece-rate reward)")
def supervisor_counts(request, year: Year, month: Month | None = None):
    return queries.supervisor_counts(request.user, year, month)


class MinimumOut(Schema):
    branch: Ref
    supervisors: int
    minimum: int
    short: int


@router.get("/supervisors/minimum", response=list[MinimumOut],
            summary="Service supervisors per branch against the minimum (5 per tier-1 branch, 3 per tier-2)")
def supervisor_minimum(request):
    return [r | {"branch": _ref(r["branch"])} for r in queries.supervisor_minimum(request.user)]


class AgreementOut(Schema):
    first: str
    second: str
    pairs: int
    mean_abs_diff: float | None
    item_agreement: float | None
    kappa: float | None = Field(description="Cohen's κ over the items' answers; null when undefined")


@router.get("/supervisors/agreement", response=list[AgreementOut],
            summary="Inter-rater agreement per supervisor pair, from visits inspected twice")
def supervisor_agreement(request):
    return [r | {"first": r["first"].username, "second": r["second"].username}
            for r in queries.inter_rater(request.user)]


# Imported inputs and service targets: their own module, joined here under the same prefix.
from .input_api import router as _inputs_router  # noqa: E402

router.add_router("", _inputs_router)

# The public-phone directory, campaigns and corrections: their own module, same prefix.
from .phone_api import router as _phones_router  # noqa: E402

router.add_router("", _phones_router)

# Outlet routines: their own module, same prefix.
from .routine_api import router as _routines_router  # noqa: E402

router.add_router("", _routines_router)
# The quarterly briefing: its own module too.
from .briefing_api import router as _briefing_router  # noqa: E402

router.add_router("", _briefing_router)
# --- checklist templates -----------------------------------------------------------------------------

class ChecklistOut(Schema):
    id: int
    code: str
    version: int
    name: str
    inspection_type: str
    effective_from: date
    in_use: bool = Field(description="An inspection used this version: it is frozen (a change makes a new version)")
    items: int


class ChecklistDetailOut(ChecklistOut):
    checklist_items: list[ChecklistItemOut]
    can_edit: bool


def _checklist(t) -> dict:
    return {"id": t.pk, "code": t.code, "version": t.version, "name": t.name, "inspection_type": t.inspection_type,
            "effective_from": t.effective_from, "in_use": t.used, "items": t.item_count}


def _checklist_detail(user, t) -> dict:
    items = [{"code": i.code, "section": i.section.name, "text": i.text, "weight": float(i.weight),
              "na_allowed": i.na_allowed, "veto": i.veto, "severity": i.severity} for i in queries.checklist_items(t)]
    return _checklist(t) | {"checklist_items": items, "can_edit": rules.edits_checklists(user, t)}


def _reads_checklists(user) -> None:
    if not user.has_perm("service.view_inspection"):
        raise Http404


@router.get("/checklists", response=list[ChecklistOut], summary="Checklist templates, every version")
def list_checklists(request):
    _reads_checklists(request.user)
    return [_checklist(t) for t in queries.checklists()]


@router.get("/checklists/{int:pk}", response=ChecklistDetailOut, summary="One checklist version and its items")
def get_checklist(request, pk: Id):
    _reads_checklists(request.user)
    return _checklist_detail(request.user, queries.access_checklist(pk))


@router.patch("/checklists/{int:pk}/items/{code}", response=ChecklistDetailOut,
              summary="Change an item; on a version an inspection used the change makes a new version (answered) "
                      "and past inspections keep theirs")
def change_checklist_item(request, pk: Id, code: Annotated[str, Field(max_length=32)], payload: schemas.ChecklistItemIn):
    _reads_checklists(request.user)
    template = queries.access_checklist(pk)
    item = next((i for i in queries.checklist_items(template) if i.code == code), None)
    if item is None:
        raise Http404
    if not rules.edits_checklists(request.user, template):
        raise PermissionDenied
    fields = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    if "weight" in fields:
        fields["weight"] = f"{fields['weight']:.2f}"
    changed = services.edit_checklist_item(request.user, item, **fields)
    return _checklist_detail(request.user, queries.access_checklist(changed.section.template_id))
