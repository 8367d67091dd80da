"""The cases API under /api/v1/cases/: thin — parse, call one service or query, render.

Every endpoint reads through ``queries`` (``visible_cases``, ``case_list`` …), so a case outside the
user's scope answers the same 404 as a missing one. Writes go through ``services``; the actions on a
case through the table the pages use too (``actions.ACTIONS``: ``allowed_actions`` in each case, one
schema per action in ``schemas``). The codes the client sends (category, complaint classification)
are resolved to rows, and an unknown code is a 400 naming the field before anything is written.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from branchops.core import clock
from branchops.core.api import Day, Id, Year
from branchops.core.audit import timeline
from branchops.core.http import client_ip
from branchops.org.api import EventOut, Pages, Ref
from branchops.org.scope import visible_institutions

from . import masking, queries, rules, services
from .actions import ACTIONS, lookup, perform
from .models import OPEN_STATUSES, Case, CaseType, Category, Extension
from .schemas import ActionIn, resolve_codes

router = Router(tags=["cases"])


# --- output ------------------------------------------------------------------------------------

class PersonOut(Schema):
    id: int
    username: str
    name: str


def _person(user) -> dict | None:
    if user is None:
        return None
    staff = getattr(user, "staff", None)
    return {"id": user.pk, "username": user.get_username(), "name": staff.name if staff else user.get_username()}


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "code": obj.code, "name": obj.name} if obj is not None else None


def _is_overdue(case: Case) -> bool:
    return bool(case.status in OPEN_STATUSES and case.resolution_due and case.resolution_due < clock.today())


class CaseFields(Schema):
    id: int
    number: str
    case_type: str
    category: Ref | None
    title: str
    status: str
    priority: str
    institution: Ref
    assignee: PersonOut | None
    assignee_department: Ref | None
    first_contact_owner: PersonOut
    received_at: datetime
    response_due: date | None
    resolution_due: date | None
    decision_due: date | None
    escalation_level: int
    is_major: bool
    overdue: bool
    version: int


class CaseOut(CaseFields):
    """A case in a list; the detail adds the rest (built by ``_detail``, which starts from this)."""

    @staticmethod
    def resolve_category(obj):
        return _ref(obj.category) if obj.category_id else None

    @staticmethod
    def resolve_institution(obj):
        return _ref(obj.institution)

    @staticmethod
    def resolve_assignee(obj):
        return _person(obj.assignee) if obj.assignee_id else None

    @staticmethod
    def resolve_assignee_department(obj):
        return _ref(obj.assignee_department) if obj.assignee_department_id else None

    @staticmethod
    def resolve_first_contact_owner(obj):
        return _person(obj.first_contact_owner)

    @staticmethod
    def resolve_overdue(obj):
        return _is_overdue(obj)


class CodeOut(Schema):
    code: str
    name: str


class ComplainantOut(Schema):
    name: str
    phone: str
    id_number: str
    masked: bool


class ComplaintOut(Schema):
    complainant: ComplainantOut
    channel_code: CodeOut | None
    business_code: CodeOut | None
    cause_code: CodeOut | None
    complexity: str
    regulator_reference: str
    regulator_due: date | None
    customer_notified_of_extension: bool
    root_cause: str
    improvement: str
    callback_at: datetime | None
    callback_satisfaction: str
    callback_note: str


class RectificationOut(Schema):
    evidence_required: str
    evidence: str
    verified_by: PersonOut | None
    verified_at: datetime | None
    verification_note: str


class CommentOut(Schema):
    id: int
    author: PersonOut
    body: str
    created_at: datetime


class CaseAttachmentOut(Schema):
    id: int
    name: str
    size: int
    url: str
    uploaded_by: PersonOut
    uploaded_at: datetime


class LinkOut(Schema):
    id: int
    label: str
    target_case_id: int | None
    target_type: str | None
    object_id: str


class PauseOut(Schema):
    started_on: date
    ended_on: date | None
    reason: str


class ExtensionOut(Schema):
    id: int
    days: int
    reason: str
    state: str
    requested_by: PersonOut
    requested_at: datetime
    decided_by: PersonOut | None
    decided_at: datetime | None
    decision_note: str


class CaseDetailOut(CaseFields):
    description: str
    channel: str
    outcome: str
    resolution: str
    cancel_reason: str
    requester: PersonOut | None
    sla_policy: str | None
    clock_start: date
    paused_since: date | None
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    complaint: ComplaintOut | None
    rectification: RectificationOut | None
    comments: list[CommentOut]
    attachments: list[CaseAttachmentOut]
    links: list[LinkOut]
    pauses: list[PauseOut]
    extensions: list[ExtensionOut]
    can_manage: bool
    can_see_pii: bool
    allowed_actions: list[str] = Field(description=(
        "What the user may do on the case now: POST /cases/{id}/actions/{name} (decide_extension: "
        "POST /cases/extensions/{id}/decision)."))


def _code(c) -> dict | None:
    return {"code": c.code, "name": c.name} if c is not None else None


def _complaint(case: Case, unmasked: bool) -> dict | None:
    d = getattr(case, "complaint", None) if case.case_type == CaseType.COMPLAINT else None
    if d is None:
        return None
    return {
        "complainant": masking.complainant(d, unmasked),
        "channel_code": _code(d.channel_code), "business_code": _code(d.business_code),
        "cause_code": _code(d.cause_code), "complexity": d.complexity,
        "regulator_reference": d.regulator_reference, "regulator_due": d.regulator_due,
        "customer_notified_of_extension": d.customer_notified_of_extension, "root_cause": d.root_cause,
        "improvement": d.improvement, "callback_at": d.callback_at,
        "callback_satisfaction": d.callback_satisfaction, "callback_note": d.callback_note,
    }


def _rectification(case: Case) -> dict | None:
    r = getattr(case, "rectification", None) if case.case_type == CaseType.RECTIFICATION else None
    if r is None:
        return None
    return {"evidence_required": r.evidence_required, "evidence": r.evidence,
            "verified_by": _person(r.verified_by), "verified_at": r.verified_at,
            "verification_note": r.verification_note}


def _link_target_type(ln) -> str | None:
    if ln.target_case_id:
        return "cases.case"
    return f"{ln.content_type.app_label}.{ln.content_type.model}" if ln.content_type_id else None


def _links(user, case: Case) -> list[dict]:
    """A link to a case the user may not see keeps its id hidden and its label (number, title) too."""
    links = list(case.links.select_related("content_type"))
    linked_ids = {ln.target_case_id for ln in links if ln.target_case_id}
    visible = set(queries.visible_cases(user).filter(pk__in=linked_ids).values_list("pk", flat=True))
    return [{"id": ln.id, "object_id": ln.object_id,
             "label": ln.label if not ln.target_case_id or ln.target_case_id in visible else "—",
             "target_case_id": ln.target_case_id if ln.target_case_id in visible else None,
             "target_type": _link_target_type(ln)}
            for ln in links]


def _detail(user, case: Case, *, unmasked: bool = False) -> dict:
    """The case's full record as the user may see it; complainant data masked unless ``unmasked``."""
    data = CaseOut.from_orm(case).dict()
    data.update(
        description=case.description, channel=case.channel, outcome=case.outcome, resolution=case.resolution,
        cancel_reason=case.cancel_reason, requester=_person(case.requester),
        sla_policy=case.sla_policy.name if case.sla_policy_id else None, clock_start=case.clock_start,
        paused_since=case.paused_since, responded_at=case.responded_at, resolved_at=case.resolved_at,
        closed_at=case.closed_at, complaint=_complaint(case, unmasked), rectification=_rectification(case),
        comments=[{"id": c.id, "author": _person(c.author), "body": c.body, "created_at": c.created_at}
                  for c in case.comments.select_related("author__staff")],
        attachments=[{"id": a.id, "name": a.name, "size": a.size,
                      "url": reverse("cases:attachment", args=[case.pk, a.pk]), "uploaded_by": _person(a.uploaded_by),
                      "uploaded_at": a.uploaded_at}
                     for a in case.attachments.select_related("uploaded_by__staff")],
        links=_links(user, case),
        pauses=[{"started_on": p.started_on, "ended_on": p.ended_on, "reason": p.reason}
                for p in case.pauses.all()],
        extensions=[{"id": e.id, "days": e.days, "reason": e.reason, "state": e.state,
                     "requested_by": _person(e.requested_by), "requested_at": e.requested_at,
                     "decided_by": _person(e.decided_by), "decided_at": e.decided_at,
                     "decision_note": e.decision_note}
                    for e in case.extensions.select_related("requested_by__staff", "decided_by__staff")],
        can_manage=rules.can_manage(user, case),
        can_see_pii=case.case_type == CaseType.COMPLAINT and rules.can_see_pii(user, case),
        allowed_actions=[name for name in ACTIONS.allowed(user, case) if name not in PAGE_ONLY],
    )
    return data


# Actions only the page takes (a file comes as a multipart upload).
PAGE_ONLY = {"attach"}


def _access_case(user, pk: int) -> Case:
    return queries.access_case(user, pk)


CASE_RELATED = ("institution", "category", "first_contact_owner__staff", "assignee__staff", "assignee_department",
                "requester__staff", "sla_policy")


def _reload(request, pk: Id) -> dict:
    """The case after a write. The actor saw it when the request began; if the write moved it out of
    their view (they handed it to another department), they still get the result of their own act."""
    try:
        case = _access_case(request.user, pk)
    except Http404:
        case = Case.objects.select_related(*CASE_RELATED).get(pk=pk)
    return _detail(request.user, case)


# --- list, detail, history ---------------------------------------------------------------------

class CaseFilter(Schema):
    queue: str = "open"
    q: str = ""
    case_type: str = ""
    status: str = ""
    priority: str = ""
    major: bool | None = None
    institution: Id | None = None
    received_from: Day | None = None
    received_to: Day | None = None


@router.get("", response=list[CaseOut], summary="Cases within my view, by queue and filters")
@paginate(Pages)
def list_cases(request, filters: Query[CaseFilter]):
    if filters.queue not in queries.QUEUES:
        raise ValidationError({"queue": _("Choose one of: %(queues)s.") % {"queues": ", ".join(queries.QUEUES)}})
    return queries.case_listing(request.user, **filters.dict())


@router.get("/{int:pk}", response=CaseDetailOut, summary="One case; reveal=true shows the complainant (logged)")
def get_case(request, pk: Id, reveal: bool = False):
    case = _access_case(request.user, pk)
    unmasked = bool(reveal and case.case_type == CaseType.COMPLAINT and rules.can_see_pii(request.user, case))
    if unmasked:
        services.log_pii_access(request.user, case, "api", client_ip(request) or None)
    return _detail(request.user, case, unmasked=unmasked)


@router.get("/{int:pk}/history", response=list[EventOut], summary="Who changed what, and when")
def case_history(request, pk: Id):
    return [_event(e) for e in timeline(_access_case(request.user, pk))]


def _event(e):
    return {"when": e.when, "who": e.who, "action": e.action, "message": e.message,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in e.changes]}


# --- opening -----------------------------------------------------------------------------------

class ComplaintIn(Schema):
    complainant_name: str = ""
    complainant_phone: str = ""
    complainant_id_number: str = ""
    complexity: str = "normal"
    regulator_reference: str = ""
    regulator_due: Day | None = None
    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None


class RectificationIn(Schema):
    evidence_required: str = ""


class CaseIn(Schema):
    case_type: str = ""
    institution_id: Id | None = None
    title: str = ""
    description: str = ""
    channel: str = ""
    category: str | None = None
    priority: str = "normal"
    received_at: datetime | None = None
    is_major: bool = False
    complaint: ComplaintIn | None = None
    rectification: RectificationIn | None = None


@router.post("", response={201: CaseDetailOut}, summary="Open a case (complaint, feedback, support, rectification)")
def create_case(request, payload: CaseIn):
    services.require_opening(request.user, payload.case_type)  # a type the role does not open: 403 first
    errors = {}
    institution = None
    if payload.institution_id is None:
        errors["institution"] = _("Choose the outlet or institution.")
    else:  # where the user may open it is the service's rule; an id outside their view names nothing
        institution = visible_institutions(request.user).filter(pk=payload.institution_id).first()
        if institution is None:
            errors["institution"] = _("You can only open cases for your own institution or those under it.")
    category = None
    if payload.category:
        category = Category.objects.filter(case_type=payload.case_type, code=payload.category,
                                           is_active=True).first()
        if category is None:
            errors["category"] = _("Unknown category “%(code)s” for this case type.") % {"code": payload.category}
    received_at = payload.received_at
    if received_at is not None and timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)  # local time, as a counter clerk would type it
    if refusal := rules.receipt_refusal(received_at):
        errors["received_at"] = refusal  # said here too, beside any code refused for that date
    complaint = None
    if payload.complaint is not None:
        on = timezone.localtime(received_at).date() if received_at and not refusal else clock.today()
        complaint = payload.complaint.dict()
        complaint.update(resolve_codes(complaint, on, errors))
    if errors:
        raise ValidationError(errors)
    case = services.open_case(
        request.user, case_type=payload.case_type, institution=institution, title=payload.title,
        description=payload.description, channel=payload.channel, category=category, priority=payload.priority,
        received_at=received_at, is_major=payload.is_major, complaint=complaint,
        rectification=payload.rectification.dict() if payload.rectification is not None else None)
    return Status(201, _reload(request, case.pk))


# --- actions -----------------------------------------------------------------------------------

API_ACTIONS = [a.name for a in ACTIONS if a.schema is not None]


@router.post("/{int:pk}/actions/{action}", response=CaseDetailOut,
             summary="Act on a case: " + ", ".join(API_ACTIONS))
def case_action(request, pk: Id, action: str, payload: ActionIn | None = None):
    """The body carries the fields of the action's schema; ``allowed_actions`` in the case says which
    actions the user may take now."""
    case = _access_case(request.user, pk)
    act = lookup(action)
    if act.schema is None:
        raise Http404
    given = act.schema(**(payload.dict(exclude_unset=True) if payload is not None else {}))
    perform(request.user, case, act, given.data(case))
    return _reload(request, pk)


class DecisionIn(Schema):
    approve: bool
    note: str = ""


@router.post("/extensions/{int:pk}/decision", response=CaseDetailOut, summary="Approve or reject an extension")
def decide_extension(request, pk: Id, payload: DecisionIn):
    ext = Extension.objects.filter(pk=pk, case__in=queries.visible_cases(request.user)).first()
    if ext is None:
        raise Http404
    perform(request.user, ext.case, ACTIONS.get("decide_extension"),
            {"extension": ext, "approve": payload.approve, "note": payload.note})
    return _reload(request, ext.case_id)


# --- figures -----------------------------------------------------------------------------------

class TypeFigureOut(Schema):
    case_type: str
    label: str
    open: int
    overdue: int


class DashboardOut(Schema):
    open: int
    overdue: int
    by_type: list[TypeFigureOut]
    resolved: int
    resolved_on_time: int
    compliance: float | None
    by_status: dict[str, int]
    statuses: dict[str, str]


@router.get("/dashboard", response=DashboardOut, summary="Backlog and SLA compliance within my view")
def dashboard(request, since: Day | None = None):
    return queries.sla_figures(request.user, since=since)


class OutletMonthsOut(Schema):
    institution_id: int
    code: str
    name: str
    months: list[int]
    total: int


@router.get("/complaints-per-outlet", response=list[OutletMonthsOut],
            summary="Complaints per outlet per month (the headline figure)")
def complaints_per_outlet(request, year: Year | None = None):
    return queries.complaints_per_outlet_month(request.user, year or clock.today().year)
