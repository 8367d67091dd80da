"""The workforce API under /api/v1/workforce/: people (skills, certificates, what one may do), the
certificates list with computed states, the uncertified list, mentorships (带、跟、转) and the cross-post
figures. Reads go through ``queries`` (personal data only to those who manage the person), writes
through the action tables, which check the same rules as the pages."""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field
from pydantic import ValidationError as PydanticError

from branchops.core import clock
from branchops.core.api import Day, ErrorOut, Id, Pages, one_of, run_action
from branchops.org.models import Institution

from . import queries, rules, services
from .actions import CERTIFICATE_ACTIONS, MENTORSHIP_ACTIONS, PERSON_ACTIONS
from .models import Mentorship

router = Router(tags=["workforce"])


class Ref(Schema):
    id: int
    code: str
    name: str


def _ref(obj) -> dict:
    return {"id": obj.pk, "code": getattr(obj, "code", "") or getattr(obj, "staff_no", ""), "name": obj.name}


class SkillOut(Schema):
    code: str
    name: str
    granted_on: date
    granted_by: str | None
    source: str
    counts: bool = Field(description="False when the certificate the skill needs is not held validly today")


class CertificateOut(Schema):
    id: int
    person: Ref
    outlet: Ref
    certificate_type: Ref
    number: str
    issued_on: date
    expires_on: date | None
    state: str = Field(description="valid, expiring, expired or revoked — computed from today")
    revoke_reason: str


def _cert(c, window: int) -> dict:
    return {"id": c.pk, "person": _ref(c.staff), "outlet": _ref(c.staff.institution),
            "certificate_type": _ref(c.certificate_type), "number": c.number, "issued_on": c.issued_on,
            "expires_on": c.expires_on, "state": queries.certificate_state(c, clock.today(), window),
            "revoke_reason": c.revoke_reason}


class StaffPersonOut(Schema):
    id: int
    staff_no: str
    name: str
    outlet: Ref
    post: str
    teller_no: str
    core_skills: int = Field(description="Core cross-post skills that count today")


def _person(p, core: set[int]) -> dict:
    return {"id": p.pk, "staff_no": p.staff_no, "name": p.name, "outlet": _ref(p.institution),
            "post": p.post.name if p.post_id else "", "teller_no": p.teller_no,
            "core_skills": sum(1 for s in queries.effective_skills(p) if s.skill_id in core)}


class PeopleFilter(Schema):
    q: str = Field("", max_length=100)
    outlet: Id | None = None
    skill: str = Field("", max_length=32)


@router.get("/people", response=list[StaffPersonOut], summary="Customer service managers I may see, with their core skills")
@paginate(Pages)
def list_people(request, filters: Query[PeopleFilter]):
    if not (rules.sees_people(request.user) or request.user.has_perm("workforce.view_own")):
        raise PermissionDenied
    core = set(queries.core_skills().values_list("pk", flat=True))
    return [_person(p, core) for p in queries.visible_people(request.user, **filters.dict())]


class PersonDetailOut(StaffPersonOut):
    skills: list[SkillOut]
    certificates: list[CertificateOut]
    allowed_actions: list[str] = Field(description="certify, grant_skill, plan, mentor (POST people/{id}/actions/{action})")


def _detail(user, staff) -> dict:
    core = set(queries.core_skills().values_list("pk", flat=True))
    window = queries.expiring_days(queries.branch_of(staff.institution))
    skills = [{"code": r["skill"].skill.code, "name": r["skill"].skill.name, "granted_on": r["skill"].granted_on,
               "granted_by": r["skill"].granted_by.get_username() if r["skill"].granted_by_id else None,
               "source": r["skill"].source, "counts": r["counts"]} for r in queries.skill_rows(staff)]
    certs = [_cert(c, window) for c in staff.certificates.select_related("certificate_type", "staff__institution")]
    return {**_person(staff, core), "skills": skills, "certificates": certs,
            "allowed_actions": PERSON_ACTIONS.allowed(user, staff)}


@router.get("/people/{int:pk}", response=PersonDetailOut, summary="A person's skills and certificates")
def get_person(request, pk: Id):
    return _detail(request.user, queries.access_person(request.user, pk))


class PersonActionIn(Schema):
    """Every person action's fields; each action reads its own (certify: certificate_type, number, issued_on,
    expires_on; grant_skill: skill, granted_on; plan: certificate_type, deadline, coach, coaching; mentor:
    mentor, rotation_plan, due_on)."""

    certificate_type: Id | None = None
    number: str = Field("", max_length=64)
    issued_on: Day | None = None
    expires_on: Day | None = None
    skill: str = Field("", max_length=32)
    granted_on: Day | None = None
    deadline: Day | None = None
    coach: Id | None = None
    coaching: str = Field("", max_length=300)
    mentor: Id | None = None
    rotation_plan: str = Field("", max_length=2000)
    due_on: Day | None = None


def _typed(payload: Schema | None, table, name: str):
    """Only the fields the action reads, so a missing one is refused by its own schema (400 naming it)."""
    if payload is None:
        return None
    action = table.get(name)
    if action.schema is None:
        return None
    given = {k: v for k, v in payload.dict().items() if k in action.schema.model_fields and v not in (None, "")}
    try:
        action.schema(**given)
    except PydanticError as exc:
        raise ValidationError({".".join(str(p) for p in e["loc"]) or "__all__": [e["msg"]] for e in exc.errors()}) from exc
    return _Given(given)


class _Given:
    def __init__(self, values):
        self.values = values

    def dict(self):
        return self.values


@router.post("/people/{int:pk}/actions/{action}", response={200: PersonDetailOut, 400: ErrorOut},
             summary="A manager acts on a person: certify, grant_skill, plan, mentor")
def person_action(request, pk: Id, action: str, payload: PersonActionIn | None = None):
    staff = queries.access_person(request.user, pk)
    run_action(PERSON_ACTIONS, request.user, staff, action, _typed(payload, PERSON_ACTIONS, action))
    return _detail(request.user, queries.access_person(request.user, pk))


class CertificateFilter(Schema):
    state: str = one_of(list(queries.STATES))
    q: str = Field("", max_length=100)
    outlet: Id | None = None
    certificate_type: Id | None = None


@router.get("/certificates", response=list[CertificateOut],
            summary="Certificates of the people I manage; state: valid, expiring, expired, revoked")
@paginate(Pages)
def list_certificates(request, filters: Query[CertificateFilter]):
    if not (rules.sees_people(request.user) or request.user.has_perm("workforce.view_own")):
        raise PermissionDenied
    if filters.state and filters.state not in queries.STATES:
        raise ValidationError({"state": _("Choose a valid option.")})
    window = queries.reader_expiring_days(request.user)
    qs = queries.visible_certificates(request.user, **filters.dict())
    return [_cert(c, window) for c in qs]


class ReasonBody(Schema):
    reason: str = Field("", max_length=200)


@router.post("/certificates/{int:pk}/actions/{action}", response={200: CertificateOut, 400: ErrorOut},
             summary="Revoke a certificate (reason)")
def certificate_action(request, pk: Id, action: str, payload: ReasonBody | None = None):
    cert = queries.access_certificate(request.user, pk)
    run_action(CERTIFICATE_ACTIONS, request.user, cert, action, _typed(payload, CERTIFICATE_ACTIONS, action))
    cert = queries.access_certificate(request.user, pk)
    return _cert(cert, queries.expiring_days(queries.branch_of(cert.staff.institution)))


class UncertifiedOut(Schema):
    person: Ref
    outlet: Ref
    certificate_type: Ref
    deadline: date | None
    coach: str | None
    coaching: str
    overdue: bool


class UncertifiedFilter(Schema):
    q: str = Field("", max_length=100)
    outlet: Id | None = None


@router.get("/uncertified", response=list[UncertifiedOut],
            summary="持证上岗: managers without a valid required certificate, with deadline and coaching")
@paginate(Pages)
def list_uncertified(request, filters: Query[UncertifiedFilter]):
    if not rules.sees_people(request.user):
        raise PermissionDenied
    return [{"person": _ref(r["staff"]), "outlet": _ref(r["staff"].institution),
             "certificate_type": _ref(r["certificate_type"]), "deadline": r["plan"].deadline if r["plan"] else None,
             "coach": r["plan"].coach.name if r["plan"] and r["plan"].coach_id else None,
             "coaching": r["plan"].coaching if r["plan"] else "", "overdue": r["overdue"]}
            for r in queries.uncertified(request.user, **filters.dict())]


class MentorshipOut(Schema):
    id: int
    person: Ref
    outlet: Ref
    mentor: Ref
    rotation_plan: str
    started_on: date
    due_on: date
    status: str
    exam_score: int | None
    exam_passed: bool | None
    assessment_passed: bool | None
    converted_on: date | None
    due: bool = Field(description="应转尽转: ready to convert, or past the convert-by day")
    practice_hours: float
    allowed_actions: list[str] = Field(description="practice, exam, assess, convert, cancel "
                                                   "(POST mentorships/{id}/actions/{action})")


def _mentorship(user, m) -> dict:
    hours = sum(float(p.hours) for p in m.practice.all())
    return {"id": m.pk, "person": _ref(m.staff), "outlet": _ref(m.staff.institution), "mentor": _ref(m.mentor),
            "rotation_plan": m.rotation_plan, "started_on": m.started_on, "due_on": m.due_on, "status": m.status,
            "exam_score": m.exam_score, "exam_passed": m.exam_passed, "assessment_passed": m.assessment_passed,
            "converted_on": m.converted_on,
            "due": m.status == Mentorship.Status.MENTORING and (m.ready_to_convert or m.due_on < clock.today()),
            "practice_hours": hours, "allowed_actions": MENTORSHIP_ACTIONS.allowed(user, m)}


class MentorshipFilter(Schema):
    status: str = one_of(Mentorship.Status.values)
    due: bool = False
    q: str = Field("", max_length=100)


@router.get("/mentorships", response=list[MentorshipOut], summary="带、跟、转: mentorships; due=true lists 应转尽转")
@paginate(Pages)
def list_mentorships(request, filters: Query[MentorshipFilter]):
    if not rules.sees_people(request.user):
        raise PermissionDenied
    if filters.status and filters.status not in Mentorship.Status.values:
        raise ValidationError({"status": _("Choose a valid option.")})
    qs = queries.visible_mentorships(request.user, **filters.dict()).prefetch_related("practice")
    return [_mentorship(request.user, m) for m in qs]


@router.get("/mentorships/{int:pk}", response=MentorshipOut, summary="A mentorship")
def get_mentorship(request, pk: Id):
    return _mentorship(request.user, queries.access_mentorship(request.user, pk))


class MentorshipActionIn(Schema):
    """Every mentorship action's fields (practice: on, skill, hours, note; exam: on, score; assess: on,
    passed, note; cancel: reason; convert: none)."""

    on: Day | None = None
    skill: str = Field("", max_length=32)
    hours: float | None = Field(None, gt=0, le=12)
    note: str = Field("", max_length=300)
    score: int | None = Field(None, ge=0, le=100)
    passed: bool | None = None
    reason: str = Field("", max_length=200)


@router.post("/mentorships/{int:pk}/actions/{action}", response={200: MentorshipOut, 400: ErrorOut},
             summary="Log practice, record the exam or the assessment, convert to all-round, cancel")
def mentorship_action(request, pk: Id, action: str, payload: MentorshipActionIn | None = None):
    m = queries.access_mentorship(request.user, pk)
    run_action(MENTORSHIP_ACTIONS, request.user, m, action, _typed(payload, MENTORSHIP_ACTIONS, action))
    return _mentorship(request.user, queries.access_mentorship(request.user, pk))


class CrossPostOut(Schema):
    code: str
    name: str
    managers: int
    two_core: int
    two_core_share: float | None
    deep: int | None = Field(description="Holding two core skills and serving counter tickets in the period; "
                                         "null without ticket logs")
    deep_share: float | None
    forex: int | None = Field(description="Served foreign-exchange tickets in the period; null without ticket logs")
    forex_share: float | None


def _row(r) -> dict:
    return {"code": r.code, "name": r.name, "managers": r.managers, "two_core": r.two_core,
            "two_core_share": r.two_core_share, "deep": r.deep, "deep_share": r.deep_share, "forex": r.forex,
            "forex_share": r.forex_share}


class CrossPostTableOut(Schema):
    start: date
    end: date
    outlets: list[CrossPostOut]
    total: CrossPostOut | None


@router.get("/cross-post", response={200: CrossPostTableOut, 400: ErrorOut},
            summary="Cross-post figures per outlet and in total (default: the last 90 days)")
def cross_post(request, start: Day | None = None, end: Day | None = None):
    if not rules.sees_people(request.user):
        raise PermissionDenied
    end = end or clock.today()
    start = start or end - timedelta(days=89)
    if start > end:
        raise ValidationError({"start": _("The start must not be after the end.")})
    if (end - start).days > 366:
        raise ValidationError({"start": _("At most one year.")})
    rows, total = queries.cross_post(request.user, start, end)
    return {"start": start, "end": end, "outlets": [_row(r) for r in rows], "total": _row(total) if total else None}


class ListItemOut(Schema):
    code: str
    name: str
    detail: str
    is_active: bool


@router.get("/skills", response=list[ListItemOut], summary="The skills (list-managed); detail: the certificate a skill needs")
def list_skills(request):
    return [{"code": s.code, "name": s.name, "is_active": s.is_active,
             "detail": s.certificate_type.name if s.certificate_type_id else ""} for s in queries.skills()]


@router.get("/certificate-types", response=list[ListItemOut], summary="Certificate types; detail: validity in months")
def list_certificate_types(request):
    return [{"code": t.code, "name": t.name, "is_active": t.is_active,
             "detail": str(t.validity_months or "")} for t in queries.certificate_types()]


@router.get("/post-models", response=list[ListItemOut], summary="Post models (7 → 5 → 4); detail: the posts")
def list_post_models(request):
    return [{"code": m.code, "name": m.name, "is_active": m.is_current, "detail": "、".join(m.post_list())}
            for m in queries.post_models()]


class SettingsBody(Schema):
    branch: Id
    expiring_days: int = Field(ge=1, le=365)


class SettingsOut(Schema):
    branch: int
    expiring_days: int


@router.post("/settings", response={200: SettingsOut, 400: ErrorOut},
             summary="The secretariat sets its branch's expiring window (days before expiry)")
def save_settings(request, payload: SettingsBody):
    if not rules.keeps_lists(request.user):
        raise PermissionDenied
    branch = Institution.objects.filter(pk=payload.branch).first()
    if branch is None:
        raise ValidationError({"branch": _("Choose a valid option.")})
    conf = services.save_settings(request.user, branch, expiring_days=payload.expiring_days)
    return {"branch": conf.branch_id, "expiring_days": conf.expiring_days}
