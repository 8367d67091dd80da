"""The cases API under /api/v1/cases/: thin — parse, call one service or query, render.

Every endpoint reads through ``queries`` (``visible_cases``, ``case_list`` …), so a case outside the
user's scope answers the same 404 as a missing one. Writes go through ``services``; the codes the
client sends (category, complaint classification) are resolved here to rows, and an unknown code
is a 400 naming the field before anything is written.
"""

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.org.api import EventOut, Pages, Ref
from branchops.org.models import Department
from branchops.org.scope import visible_institutions

from . import masking, queries, services
from .models import OPEN_STATUSES, Case, CaseType, Category, ComplaintCode, Extension

router = Router(tags=["cases"])
User = get_user_model()


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


class AttachmentOut(Schema):
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
    attachments: list[AttachmentOut]
    links: list[LinkOut]
    pauses: list[PauseOut]
    extensions: list[ExtensionOut]
    can_manage: bool
    can_see_pii: bool


def _code(c) -> dict | None:
    return {"code": c.code, "name": c.name} if c is not None else None


def _detail(user, case: Case, *, unmasked: bool = False) -> dict:
    """The case's full record as the user may see it; complainant data masked unless ``unmasked``."""
    data = CaseOut.from_orm(case).dict()
    complaint = rectification = None
    if case.case_type == CaseType.COMPLAINT and hasattr(case, "complaint"):
        d = case.complaint
        complaint = {
            "complainant": masking.complainant(d, unmasked),
            "channel_code": _code(d.channel_code), "business_code": _code(d.business_code),
            "cause_code": _code(d.cause_code), "complexity": d.complexity,
            "regulator_reference": d.regulator_reference, "regulator_due": d.regulator_due,
            "customer_notified_of_extension": d.customer_notified_of_extension, "root_cause": d.root_cause,
            "improvement": d.improvement, "callback_at": d.callback_at,
            "callback_satisfaction": d.callback_satisfaction, "callback_note": d.callback_note,
        }
    if case.case_type == CaseType.RECTIFICATION and hasattr(case, "rectification"):
        r = case.rectification
        rectification = {"evidence_required": r.evidence_required, "evidence": r.evidence,
                         "verified_by": _person(r.verified_by), "verified_at": r.verified_at,
                         "verification_note": r.verification_note}
    links = list(case.links.select_related("content_type"))
    linked_ids = {ln.target_case_id for ln in links if ln.target_case_id}
    visible_links = set(queries.visible_cases(user).filter(pk__in=linked_ids).values_list("pk", flat=True))
    data.update(
        description=case.description, channel=case.channel, outcome=case.outcome, resolution=case.resolution,
        cancel_reason=case.cancel_reason, requester=_person(case.requester),
        sla_policy=case.sla_policy.name if case.sla_policy_id else None, clock_start=case.clock_start,
        paused_since=case.paused_since, responded_at=case.responded_at, resolved_at=case.resolved_at,
        closed_at=case.closed_at, complaint=complaint, rectification=rectification,
        comments=[{"id": c.id, "author": _person(c.author), "body": c.body, "created_at": c.created_at}
                  for c in case.comments.select_related("author__staff")],
        attachments=[{"id": a.id, "name": a.name, "size": a.size,
                      "url": reverse("cases:attachment", args=[case.pk, a.pk]), "uploaded_by": _person(a.uploaded_by), "uploaded_at": a.uploaded_at}
                     for a in case.attachments.select_related("uploaded_by__staff")],
        # A link to a case the user may not see keeps its id hidden and its label (number, title) too.
        links=[{"id": ln.id, "object_id": ln.object_id,
                "label": ln.label if not ln.target_case_id or ln.target_case_id in visible_links else "—",
                "target_case_id": ln.target_case_id if ln.target_case_id in visible_links else None,
                "target_type": "cases.case" if ln.target_case_id else (
                    f"{ln.content_type.app_label}.{ln.content_type.model}" if ln.content_type_id else None)}
               for ln in links],
        pauses=[{"started_on": p.started_on, "ended_on": p.ended_on, "reason": p.reason}
                for p in case.pauses.all()],
        extensions=[{"id": e.id, "days": e.days, "reason": e.reason, "state": e.state,
                     "requested_by": _person(e.requested_by), "requested_at": e.requested_at,
                     "decided_by": _person(e.decided_by), "decided_at": e.decided_at,
                     "decision_note": e.decision_note}
                    for e in case.extensions.select_related("requested_by__staff", "decided_by__staff")],
        can_manage=services.can_manage(user, case),
        can_see_pii=case.case_type == CaseType.COMPLAINT and services.can_see_pii(user, case),
    )
    return data


def _access_case(user, pk: int) -> Case:
    return queries.access_case(user, pk)


CASE_RELATED = ("institution", "category", "first_contact_owner__staff", "assignee__staff", "assignee_department",
                "requester__staff", "sla_policy")


def _reload(request, pk: int) -> dict:
    """The case after a write. The actor saw it when the request began; if the write moved it out of
    their view (they handed it to another department), they still get the result of their own act."""
    try:
        case = _access_case(request.user, pk)
    except Http404:
        case = Case.objects.select_related(*CASE_RELATED).get(pk=pk)
    return _detail(request.user, case)


# --- input helpers -----------------------------------------------------------------------------

def _complaint_code(dimension: str, code: str, on: date) -> ComplaintCode | None:
    return (ComplaintCode.objects.filter(dimension=dimension, code=code.strip(), effective_from__lte=on)
            .exclude(effective_to__lt=on).order_by("-effective_from").first())


CODE_FIELDS = (("channel_code", "channel"), ("business_code", "business"), ("cause_code", "cause"))


def _resolve_codes(values: dict, on: date, errors: dict) -> dict:
    """{"cause_code": "C.01"} → {"cause_code": <ComplaintCode>}; "" or None clears; unknown → errors."""
    out = {}
    for field, dimension in CODE_FIELDS:
        if field not in values:
            continue
        raw = values[field]
        if raw is None or not str(raw).strip():
            out[field] = None
            continue
        found = _complaint_code(dimension, str(raw), on)
        if found is None:
            errors[field] = _("Unknown code “%(code)s” for this classification.") % {"code": raw}
        out[field] = found
    return out


def _stale_check(case: Case, version: int | None) -> None:
    """For the services that take no expected_version yet: lock the row and refuse a stale version."""
    if version is None:
        return
    current = Case.objects.select_for_update().filter(pk=case.pk).values_list("version", flat=True).get()
    if current != version:
        raise ValidationError(_("This case was changed by someone else in the meantime; reload it and try again."))


# --- list, detail, history ---------------------------------------------------------------------

class CaseFilter(Schema):
    queue: str = "open"
    q: str = ""
    case_type: str = ""
    status: str = ""
    priority: str = ""
    major: bool | None = None
    institution: int | None = None
    received_from: date | None = None
    received_to: date | None = None


@router.get("", response=list[CaseOut], summary="Cases within my view, by queue and filters")
@paginate(Pages)
def list_cases(request, filters: Query[CaseFilter]):
    if filters.queue not in queries.QUEUES:
        raise ValidationError({"queue": _("Choose one of: %(queues)s.") % {"queues": ", ".join(queries.QUEUES)}})
    return queries.case_list(request.user, **filters.dict())


@router.get("/{int:pk}", response=CaseDetailOut, summary="One case; reveal=true shows the complainant (logged)")
def get_case(request, pk: int, reveal: bool = False):
    case = _access_case(request.user, pk)
    unmasked = bool(reveal and case.case_type == CaseType.COMPLAINT and services.can_see_pii(request.user, case))
    if unmasked:
        services.log_pii_access(request.user, case, "api", request.META.get("REMOTE_ADDR") or None)
    return _detail(request.user, case, unmasked=unmasked)


@router.get("/{int:pk}/history", response=list[EventOut], summary="Who changed what, and when")
def case_history(request, pk: int):
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
    regulator_due: date | None = None
    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None


class RectificationIn(Schema):
    evidence_required: str = ""


class CaseIn(Schema):
    case_type: str = ""
    institution_id: int | None = None
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
    errors = {}
    institution = None
    if payload.institution_id is None:
        errors["institution"] = _("Choose the outlet or institution.")
    else:
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
    complaint = None
    if payload.complaint is not None:
        on = timezone.localtime(received_at).date() if received_at else clock.today()
        complaint = payload.complaint.dict()
        complaint.update(_resolve_codes(complaint, on, errors))
    if errors:
        raise ValidationError(errors)
    case = services.open_case(
        request.user, case_type=payload.case_type, institution=institution, title=payload.title,
        description=payload.description, channel=payload.channel, category=category, priority=payload.priority,
        received_at=received_at, is_major=payload.is_major, complaint=complaint,
        rectification=payload.rectification.dict() if payload.rectification is not None else None)
    return Status(201, _reload(request, case.pk))


# --- actions -----------------------------------------------------------------------------------

class ActionIn(Schema):
    """The fields each action reads; the others are ignored. ``version`` is the version shown to the
    user: a stale one is refused with 400 and nothing changes."""

    version: int | None = None
    assignee_id: int | None = None
    department_id: int | None = None
    note: str = ""
    outcome: str = ""
    resolution: str = ""
    reason: str = ""
    complexity: str = ""
    customer_notified: bool = False
    days: int | None = None
    satisfaction: str = ""
    root_cause: str = ""
    improvement: str = ""
    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None
    evidence: str = ""
    passed: bool | None = None
    action: str = ""
    answer: str = ""
    body: str = ""


def _department(pk: int | None, field: str) -> Department | None:
    if pk is None:
        return None
    dept = Department.objects.filter(pk=pk).first()
    if dept is None:
        raise ValidationError({field: _("Unknown department.")})
    return dept


def _assign(user, case, p, v):
    assignee = None
    if p.assignee_id is not None:
        assignee = User.objects.select_related("staff__institution").filter(pk=p.assignee_id).first()
        if assignee is None:
            raise ValidationError({"assignee": _("This person is not an active staff member.")})
    return services.assign_case(user, case, assignee=assignee, department=_department(p.department_id,
                                                                                        "assignee_department"),
                                note=p.note, expected_version=v)


def _classify(user, case, p, v):
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints are classified."))
    errors = {}
    given = p.dict(include={"channel_code", "business_code", "cause_code"}, exclude_unset=True)
    codes = _resolve_codes(given, clock.today(), errors)
    if errors:
        raise ValidationError(errors)
    detail = case.complaint
    current = {f: getattr(detail, f) for f, _dim in CODE_FIELDS}
    return services.classify_complaint(user, case, **(current | codes), expected_version=v)


def _verify(user, case, p, v):
    if p.passed is None:
        raise ValidationError({"passed": _("Say whether the rectification passed.")})
    return services.verify_rectification(user, case, passed=p.passed, note=p.note, expected_version=v)


def _triage(user, case, p, v):
    return services.triage_feedback(user, case, p.action, answer=p.answer,
                                    department=_department(p.department_id, "department_id"), note=p.note, expected_version=v)


# action → (handler(user, case, payload, expected_version), whether the service takes expected_version)
ACTIONS = {
    "accept": (lambda u, c, p, v: services.accept_case(u, c, expected_version=v), True),
    "start": (lambda u, c, p, v: services.start_case(u, c, expected_version=v), True),
    "assign": (_assign, True),
    "resolve": (lambda u, c, p, v: services.resolve_case(u, c, outcome=p.outcome, resolution=p.resolution,
                                                          expected_version=v), True),
    "close": (lambda u, c, p, v: services.close_case(u, c, expected_version=v), True),
    "reopen": (lambda u, c, p, v: services.reopen_case(u, c, p.reason, expected_version=v), True),
    "cancel": (lambda u, c, p, v: services.cancel_case(u, c, p.reason, expected_version=v), True),
    "pause": (lambda u, c, p, v: services.pause_clock(u, c, p.reason, expected_version=v), True),
    "resume": (lambda u, c, p, v: services.resume_clock(u, c, expected_version=v), True),
    "restart": (lambda u, c, p, v: services.restart_clock(u, c, p.reason, expected_version=v), True),
    "complexity": (lambda u, c, p, v: services.set_complexity(u, c, p.complexity,
                                                               customer_notified=p.customer_notified, expected_version=v), True),
    "extension": (lambda u, c, p, v: services.request_extension(u, c, p.days, p.reason, expected_version=v), True),
    "callback": (lambda u, c, p, v: services.record_callback(u, c, p.satisfaction, p.note, expected_version=v), True),
    "root_cause": (lambda u, c, p, v: services.record_root_cause(u, c, p.root_cause, p.improvement, expected_version=v), True),
    "classify": (_classify, True),
    "major": (lambda u, c, p, v: services.mark_major(u, c, expected_version=v), True),
    "evidence": (lambda u, c, p, v: services.submit_evidence(u, c, p.evidence, expected_version=v), True),
    "verify": (_verify, True),
    "triage": (_triage, True),
    "comment": (lambda u, c, p, v: services.comment_case(u, c, p.body), False),
}


@router.post("/{int:pk}/actions/{action}", response=CaseDetailOut,
             summary="Act on a case: " + ", ".join(ACTIONS))
def case_action(request, pk: int, action: str, payload: ActionIn | None = None):
    case = _access_case(request.user, pk)
    if action not in ACTIONS:
        raise Http404
    payload = payload or ActionIn()
    handler, takes_version = ACTIONS[action]
    with transaction.atomic():
        if not takes_version:
            _stale_check(case, payload.version)
        handler(request.user, case, payload, payload.version if takes_version else None)
    return _reload(request, pk)


class DecisionIn(Schema):
    approve: bool
    note: str = ""


@router.post("/extensions/{int:pk}/decision", response=CaseDetailOut, summary="Approve or reject an extension")
def decide_extension(request, pk: int, payload: DecisionIn):
    ext = Extension.objects.filter(pk=pk, case__in=queries.visible_cases(request.user)).first()
    if ext is None:
        raise Http404
    services.decide_extension(request.user, ext, payload.approve, payload.note)
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
def dashboard(request, since: date | None = None):
    return queries.sla_figures(request.user, since=since)


class OutletMonthsOut(Schema):
    institution_id: int
    code: str
    name: str
    months: list[int]
    total: int


@router.get("/complaints-per-outlet", response=list[OutletMonthsOut],
            summary="Complaints per outlet per month (the headline figure)")
def complaints_per_outlet(request, year: int | None = None):
    return queries.complaints_per_outlet_month(request.user, year or clock.today().year)
