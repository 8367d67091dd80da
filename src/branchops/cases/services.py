"""Every write to cases: one function per use case, guarded transitions, timeline, notifications.

Each service locks the case row (select_for_update) and, when the caller passes the version it
showed the user, refuses a stale one — two people working on one case never silently overwrite each
other. Then it checks who may act with the predicates of ``rules`` (``core.actions.require``: 403) and
whether the case's state allows it, saying why not (400) — the same predicates the page's buttons and
the API's ``allowed_actions`` read (``actions.ACTIONS``); the status moves only along
``rules.TRANSITIONS``.
"""

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import (
    check_lengths,
    length_errors,
    lock_versioned,
    next_number,
    notify,
    record_timeline,
    require_perm,
    save_versioned,
    stamp_history,
)
from branchops.core.workdays import calendar as working_calendar
from branchops.org.models import Department, Institution, Level
from branchops.org.queries import branch_of
from branchops.org.roles import Role
from branchops.org.scope import in_scope

from . import rules, signals, sla
from .models import (
    CODE_FIELDS,
    COMPLAINT_CHANNELS,
    NUMBER_PREFIX,
    OPEN_STATUSES,
    RECTIFICATION_CHANNELS,
    Attachment,
    Case,
    CaseLink,
    CaseType,
    Category,
    Channel,
    Comment,
    ComplaintDetail,
    DayKind,
    Escalation,
    Extension,
    Outcome,
    Pause,
    PiiAccess,
    Priority,
    RectificationDetail,
    Reminder,
    SlaPolicy,
    Status,
)
from .rules import TRANSITIONS

User = get_user_model()

# A state the page never offers the action in (rules.may_<action>), reached by the API or a script.
NOT_NOW = gettext_lazy("You cannot do this now.")

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_TEXT = 10_000  # characters of a description, resolution or comment (a long letter; not a file)
ATTACHMENT_TYPES = {".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx", ".txt", ".mp3", ".wav",
                    ".zip"}


# --- helpers -------------------------------------------------------------------------------------

def _today() -> date:
    return clock.today()


def lock_case(case: Case, expected_version: int | None = None) -> Case:
    """The case under a row lock; refused when it is no longer at the version the user saw."""
    return lock_versioned(case, expected_version,
                          _("This case was changed by someone else in the meantime; reload it and try again."))


_lock = lock_case


_save = save_versioned


def _require_manage(actor, case: Case) -> None:
    require(rules.can_manage, actor, case, _("You cannot work on this case."))


def _secretariat_department(inst: Institution) -> Department | None:
    return Department.objects.filter(institution_id__in=inst.ancestor_ids(), is_secretariat=True,
                                     is_active=True).order_by("-institution__depth").first()


def _users_with_role(role: str, institutions) -> list:
    return list(User.objects.filter(is_active=True, groups__name=role, staff__institution__in=institutions,
                                    staff__is_active=True).distinct())


# --- SLA -----------------------------------------------------------------------------------------

def find_policy(case_type: str, category: Category | None, priority: str, on: date) -> SlaPolicy | None:
    qs = SlaPolicy.objects.filter(case_type=case_type, effective_from__lte=on).exclude(effective_to__lt=on)
    candidates = [
        qs.filter(category=category, priority=priority) if category else None,
        qs.filter(category=category, priority="") if category else None,
        qs.filter(category__isnull=True, priority=priority),
        qs.filter(category__isnull=True, priority=""),
    ]
    if category is not None and category.parent_id:
        candidates.insert(2, qs.filter(category_id=category.parent_id, priority=""))
    for c in candidates:
        if c is not None:
            found = c.order_by("-effective_from").first()
            if found:
                return found
    return None


def _pauses(case: Case) -> list[sla.Pause]:
    return [sla.Pause(p.started_on, p.ended_on, p.reason) for p in case.pauses.all()]


def _extensions(case: Case) -> list[int]:
    return [e.days for e in case.extensions.filter(state=Extension.State.APPROVED)]


def compute_due_dates(case: Case) -> dict[str, date | None]:
    """Due dates from the policy, the clock start, pauses and approved extensions."""
    policy = case.sla_policy
    out = {"response_due": None, "resolution_due": None, "decision_due": None}
    if policy is None:
        return _rectification_due(case, out)
    kind = sla.DayKind.WORKING if policy.day_kind == DayKind.WORKING else sla.DayKind.CALENDAR
    pauses, extensions = _pauses(case), _extensions(case)
    start = case.clock_start
    out["response_due"] = sla.due_date(start, sla.Rule("response", policy.response_days, kind),
                                       working_calendar, pauses=pauses)
    out["resolution_due"] = sla.due_date(start, sla.Rule("resolution", policy.resolution_days, kind),
                                         working_calendar, pauses=pauses, extensions=extensions)
    if case.case_type == CaseType.COMPLAINT:
        detail = getattr(case, "complaint", None)
        out["decision_due"] = sla.complaint_decision_due(
            start, detail.complexity if detail else "normal", working_calendar, pauses=pauses,
            regulator_due=detail.regulator_due if detail else None)
        # The resolution target never lies beyond the regulatory decision deadline.
        if out["decision_due"] and out["resolution_due"] and out["resolution_due"] > out["decision_due"]:
            out["resolution_due"] = out["decision_due"]
    return _rectification_due(case, out)


def _rectification_due(case: Case, out: dict) -> dict:
    """A rectification with a deadline (限期整改) is due that day — as calendar days from the clock
    start, so pauses and approved extensions move it like any other due date."""
    detail = getattr(case, "rectification", None) if case.case_type == CaseType.RECTIFICATION else None
    if detail is None or detail.deadline is None:
        return out
    days = max(0, (detail.deadline - case.clock_start).days)
    rule = sla.Rule("resolution", days, sla.DayKind.CALENDAR, roll_to_working_day=False)
    out["resolution_due"] = sla.due_date(case.clock_start, rule, working_calendar, pauses=_pauses(case),
                                         extensions=_extensions(case))
    return out


def _refresh_due(actor, case: Case, reason: str) -> None:
    due = compute_due_dates(case)
    changed = {k: (getattr(case, k), v) for k, v in due.items() if getattr(case, k) != v}
    if not changed:
        return
    for k, (_old, new) in changed.items():
        setattr(case, k, new)
    _save(actor, case, list(changed))
    record_timeline(actor, case, "due_changed", reason, {
        k: [old.isoformat() if old else None, new.isoformat() if new else None] for k, (old, new) in changed.items()})


# --- opening -------------------------------------------------------------------------------------

def _default_assignment(case_type: str, category: Category | None, institution: Institution, actor):
    """Support requests go to the category's department; feedback to the secretariat; complaints
    and rectifications stay with the outlet (the first-contact owner or its head)."""
    if case_type == CaseType.SUPPORT and category is not None:
        dept = category.department or (category.parent.department if category.parent_id else None)
        if dept is not None:
            return None, dept
    if case_type == CaseType.FEEDBACK:
        return None, _secretariat_department(institution)
    if case_type == CaseType.COMPLAINT:
        return actor, None
    return None, None


def _institution_refusal(actor, institution: Institution) -> str:
    if not in_scope(actor, institution):
        return _("You can only open cases for your own institution or those under it.")
    if not rules.can_open_at(actor, institution):
        return _("Cases are opened for an active outlet or for your own institution.")
    return ""


def _category_refusal(case_type: str, category: Category | None) -> str:
    if category is None:
        return _("A support request needs a category.") if case_type == CaseType.SUPPORT else ""
    if category.case_type != case_type:
        return _("This category belongs to another case type.")
    if not category.is_active:
        return _("Unknown category “%(code)s” for this case type.") % {"code": category.code}
    return ""


def _opening_errors(actor, case_type: str, institution: Institution, title: str, category: Category | None,
                    received_at: datetime | None) -> dict:
    """What every case type needs: a known type, a title, an institution the actor opens cases for, a
    category of the type (support requests: required), a receipt not in the future nor years ago."""
    errors = {}
    if case_type not in CaseType.values:
        errors["case_type"] = _("Unknown case type.")
    if not (title or "").strip():
        errors["title"] = _("A title is required.")
    if actor is not None and (refusal := _institution_refusal(actor, institution)):
        errors["institution"] = refusal
    if refusal := _category_refusal(case_type, category):
        errors["category"] = refusal
    if refusal := rules.receipt_refusal(received_at):
        errors["received_at"] = refusal
    return errors


def _code_errors(codes: dict, *days: date) -> dict:
    """A complaint's classification codes: each of its own dimension and in force on one of ``days``."""
    errors = {}
    for field, dimension in CODE_FIELDS:
        code = codes.get(field)
        if code is None:
            continue
        if code.dimension != dimension:
            errors[field] = _("This code belongs to another dimension.")
        elif not any(code.in_force(day) for day in days):
            errors[field] = _("Unknown code “%(code)s” for this classification.") % {"code": code.code}
    return errors


def _complaint_errors(channel: str, detail: dict, received_on: date) -> dict:
    errors = {}
    if channel not in COMPLAINT_CHANNELS:
        errors["channel"] = _("Choose how the complaint came in.")
    if not (detail.get("complainant_name") or "").strip():
        errors["complainant_name"] = _("The complainant's name is required.")
    if detail.get("complexity") == ComplaintDetail.Complexity.PARTICULARLY_COMPLEX:
        errors["complexity"] = _("A complaint becomes particularly complex only later, with approval.")
    if channel == Channel.REGULATOR and not detail.get("regulator_due"):
        errors["regulator_due"] = _("A regulator-transferred complaint carries the regulator's deadline.")
    # The page offers the codes in force today, the API those in force on the day it was received.
    return errors | _code_errors(detail, received_on, _today())


def _type_errors(case_type: str, channel: str, is_major: bool, complaint: dict | None,
                 rectification: dict | None, received_on: date) -> dict:
    """What each case type needs besides: a complaint its channel and complainant, a rectification
    where it comes from and the evidence that will prove it; only complaints are major."""
    if case_type == CaseType.COMPLAINT:
        return _complaint_errors(channel, complaint or {}, received_on)
    errors = {}
    if is_major:
        errors["is_major"] = _("Only complaints can be major complaints.")
    if case_type == CaseType.RECTIFICATION:
        if channel not in RECTIFICATION_CHANNELS:
            errors["channel"] = _("Choose where the rectification comes from.")
        if not ((rectification or {}).get("evidence_required") or "").strip():
            errors["evidence_required"] = _("Say what evidence will prove the rectification.")
        deadline = (rectification or {}).get("deadline")
        if deadline is not None and deadline < received_on:
            errors["deadline"] = _("The deadline is on or after the day the rectification is opened.")
    return errors


def _complaint_detail(channel: str, complaint: dict) -> dict:
    """The regulator's reference and deadline belong to a regulator transfer only (the page drops them)."""
    if channel == Channel.REGULATOR:
        return complaint
    return complaint | {"regulator_reference": "", "regulator_due": None}


def _save_detail(case: Case, complaint: dict | None, rectification: dict | None) -> None:
    if case.case_type == CaseType.COMPLAINT:
        detail = ComplaintDetail(case=case, **_complaint_detail(case.channel, complaint))
    elif case.case_type == CaseType.RECTIFICATION:
        detail = RectificationDetail(case=case, **rectification)
    else:
        return
    detail.full_clean(exclude=["case"])
    detail.save()


def _default_channel(case_type: str) -> str:
    return Channel.OUTLET if case_type in (CaseType.FEEDBACK, CaseType.SUPPORT) else Channel.SYSTEM


def require_opening(actor, case_type: str) -> None:
    """The role decides which case types a user opens (roles.OPENS), on the page and the API alike."""
    if actor is None or case_type not in CaseType.values or rules.can_open(actor, case_type):
        return
    allowed = rules.opening_types(actor)
    if not allowed:
        raise PermissionDenied(_("Your role does not open cases."))
    raise PermissionDenied(_("Your role cannot open a %(type)s; it opens: %(allowed)s.") % {
        "type": CaseType(case_type).label, "allowed": "、".join(str(CaseType(t).label) for t in allowed)})


@transaction.atomic
def open_case(actor, *, case_type: str, institution: Institution, title: str, description: str = "",
              channel: str = "", category: Category | None = None, priority: str = Priority.NORMAL,
              received_at: datetime | None = None, first_contact_owner=None, requester=None,
              is_major: bool = False, complaint: dict | None = None, rectification: dict | None = None,
              link_to=None) -> Case:
    require_opening(actor, case_type)
    require_perm(actor, "cases.add_case")
    received_at = received_at or clock.now()
    received_on = timezone.localtime(received_at).date()
    errors = _opening_errors(actor, case_type, institution, title, category, received_at)
    errors |= length_errors(description=(description, MAX_TEXT))
    errors |= _type_errors(case_type, channel, is_major, complaint, rectification, received_on)
    if errors:
        raise ValidationError(errors)
    if is_major:
        priority = Priority.URGENT  # the fast track
    owner = first_contact_owner or actor
    if owner is None:
        raise ValidationError({"first_contact_owner": _("A first-contact owner is required.")})
    assignee, department = _default_assignment(case_type, category, institution, owner)
    year = received_on.year
    number = f"{NUMBER_PREFIX[case_type]}-{year}-{next_number(f'case:{case_type}', year):06d}"
    case = Case(
        number=number, case_type=case_type, category=category, title=title.strip(), description=description,
        channel=channel or _default_channel(case_type), institution=institution, requester=requester or actor,
        first_contact_owner=owner, assignee=assignee, assignee_department=department, priority=priority,
        received_at=received_at, clock_start=received_on, is_major=is_major,
        sla_policy=find_policy(case_type, category, priority, received_on),
    )
    case.full_clean(exclude=["response_due", "resolution_due", "decision_due"])
    stamp_history(case, actor)
    case.save()
    _save_detail(case, complaint, rectification)
    _set_due_dates(case)
    record_timeline(actor, case, "opened", _("%(type)s opened via %(channel)s") % {
        "type": case.get_case_type_display(), "channel": case.get_channel_display()})
    if link_to is not None:
        link_case(actor, case, link_to)
    _notify_assignees(case, _("New case %(number)s: %(title)s") % {"number": case.number, "title": case.title})
    if is_major:
        _notify_major(case)
    return case


def _set_due_dates(case: Case) -> None:
    """A new case's deadlines (written without a new version: the case was just made)."""
    for k, v in compute_due_dates(case).items():
        setattr(case, k, v)
    Case.objects.filter(pk=case.pk).update(response_due=case.response_due, resolution_due=case.resolution_due,
                                           decision_due=case.decision_due)


def _notify_assignees(case: Case, title: str, exclude=None) -> None:
    people = set()
    if case.assignee_id:
        people.add(case.assignee)
    if case.assignee_department_id:
        people.update(User.objects.filter(is_active=True, staff__department_id=case.assignee_department_id,
                                          groups__permissions__codename="manage_case").distinct())
    for user in people:
        if user != exclude:
            notify(user, title, url=case.get_absolute_url())


def _notify_major(case: Case) -> None:
    """Fast track: the branch leaders and the consumer-protection department hear at once."""
    branch = branch_of(case.institution)
    title = _("Major complaint %(number)s at %(outlet)s") % {"number": case.number, "outlet": case.institution.name}
    recipients = set(_users_with_role(Role.BRANCH_LEADER, [branch] if branch else []))
    recipients.update(User.objects.filter(is_active=True, staff__department__code__in=CONSUMER_PROTECTION_CODES,
                                          staff__department__institution_id__in=case.institution.ancestor_ids()))
    for user in recipients:
        notify(user, title, case.title, case.get_absolute_url())


CONSUMER_PROTECTION_CODES = ["CPP", "XBB"]


# --- transitions ---------------------------------------------------------------------------------

@transaction.atomic
def accept_case(actor, case: Case, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    TRANSITIONS.apply(case, "accept")
    fields = ["status"]
    if case.responded_at is None:
        case.responded_at = clock.now()
        fields.append("responded_at")
    if case.assignee_id is None and actor is not None:
        case.assignee = actor
        fields.append("assignee")
    _save(actor, case, fields)
    record_timeline(actor, case, "accepted", _("Case accepted"))
    return case


@transaction.atomic
def start_case(actor, case: Case, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    TRANSITIONS.apply(case, "start")
    fields = ["status"]
    if case.responded_at is None:
        case.responded_at = clock.now()
        fields.append("responded_at")
    _save(actor, case, fields)
    record_timeline(actor, case, "started", _("Work started"))
    return case


# One answer for "no such person/department", "inactive" and "outside the case's line": the refusal
# must not tell a user what exists beyond their scope.
NO_SUCH_ASSIGNEE = gettext_lazy("Choose an active person of this case's institution, above it or under it.")
NO_SUCH_DEPARTMENT = gettext_lazy("Choose an active department of this case's branch.")


def _check_assignee(case: Case, assignee, department) -> None:
    if assignee is None and department is None:
        raise ValidationError({"assignee": _("Choose a person or a department.")})
    chain = case.institution.ancestor_ids()
    if assignee is not None:
        staff = getattr(assignee, "staff", None)
        # The scope of an assignment is the case's line: its institution, those above it, or under it.
        if (staff is None or not staff.is_active or not assignee.is_active
                or (staff.institution_id not in chain and not staff.institution.path.startswith(case.institution.path))):
            raise ValidationError({"assignee": NO_SUCH_ASSIGNEE})
    if department is not None and (not department.is_active or department.institution_id not in chain):
        raise ValidationError({"assignee_department": NO_SUCH_DEPARTMENT})


@transaction.atomic
def assign_case(actor, case: Case, *, assignee=None, department: Department | None = None, note: str = "",
                expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not case.is_open:
        raise ValidationError(_("Only open cases can be assigned."))
    _check_assignee(case, assignee, department)
    case.assignee, case.assignee_department = assignee, department
    _save(actor, case, ["assignee", "assignee_department"])
    to = ", ".join(str(x) for x in (getattr(assignee, "staff", None) or assignee, department) if x)
    record_timeline(actor, case, "assigned", _("Assigned to %(to)s") % {"to": to} + (f"：{note}" if note else ""),
                    {"assignee": assignee.pk if assignee else None, "department": department.pk if department else None})
    _notify_assignees(case, _("Case %(number)s assigned to you: %(title)s") % {
        "number": case.number, "title": case.title}, exclude=actor)
    if case.first_contact_owner_id and case.first_contact_owner != actor:
        notify(case.first_contact_owner, _("Your case %(number)s was assigned to %(to)s") % {
            "number": case.number, "to": to}, url=case.get_absolute_url())
    return case


@transaction.atomic
def comment_case(actor, case: Case, body: str, expected_version: int | None = None) -> Comment:
    if not (body or "").strip():
        raise ValidationError({"body": _("Write a comment first.")})
    check_lengths(body=(body, MAX_TEXT))
    case = _lock(case, expected_version)
    require(rules.can_comment, actor, case, _("Your role reads cases only: it cannot comment."))
    comment = Comment.objects.create(case=case, author=actor, body=body.strip())
    record_timeline(actor, case, "commented", body.strip()[:500])
    return comment


@transaction.atomic
def resolve_case(actor, case: Case, *, outcome: str, resolution: str,
                 expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = _("Choose an outcome.")
    elif outcome == Outcome.ON_THE_SPOT and case.case_type != CaseType.COMPLAINT:
        errors["outcome"] = _("Only complaints are resolved on the spot.")
    elif outcome == Outcome.TO_MEETING:
        # Set only when the meeting's answer has been followed up (resolve_from_meeting).
        errors["outcome"] = _("Raise feedback to the coordination meeting by triaging it: the meeting's answer "
                              "resolves it.")
    if not (resolution or "").strip():
        errors["resolution"] = _("Describe how the case was resolved.")
    errors |= length_errors(resolution=(resolution, MAX_TEXT))
    if case.paused_since:
        errors["__all__"] = _("Resume the clock before resolving.")
    if errors:
        raise ValidationError(errors)
    _resolve(actor, case, outcome, resolution)
    return case


def _resolve(actor, case: Case, outcome: str, resolution: str) -> None:
    TRANSITIONS.apply(case, "resolve")
    now = clock.now()
    case.outcome, case.resolution, case.resolved_at = outcome, resolution.strip(), now
    fields = ["status", "outcome", "resolution", "resolved_at"]
    if case.responded_at is None:
        case.responded_at = now
        fields.append("responded_at")
    _save(actor, case, fields)
    record_timeline(actor, case, "resolved", f"{case.get_outcome_display()}：{case.resolution[:300]}")
    if case.first_contact_owner_id and case.first_contact_owner != actor:
        notify(case.first_contact_owner, _("Case %(number)s was resolved") % {"number": case.number},
               url=case.get_absolute_url())


@transaction.atomic
def resolve_from_meeting(actor, case: Case, answer: str) -> Case:
    """The coordination meeting's answer to feedback raised to it, once its follow-up is done: the
    case is resolved with it, and the outlet (who raised it and the outlet's head) is told. The
    caller (coordination) has checked who may report the follow-up done."""
    case = _lock(case)
    if case.case_type != CaseType.FEEDBACK:
        raise ValidationError(_("Only outlet feedback is raised to the coordination meeting."))
    if not (answer or "").strip():
        raise ValidationError({"answer": _("The meeting's answer is missing.")})
    if case.is_open:
        _resolve(actor, case, Outcome.TO_MEETING, answer)
    else:  # settled another way meanwhile (answered directly, cancelled): the answer still reaches the outlet
        record_timeline(actor, case, "commented", answer.strip()[:500])
    told = {case.first_contact_owner_id, getattr(actor, "pk", None)}
    for user in [case.requester, *_users_with_role(Role.OUTLET_HEAD, [case.institution])]:
        if user is not None and user.pk not in told:
            told.add(user.pk)
            notify(user, _("The coordination meeting answered your feedback %(number)s") % {"number": case.number},
                   url=case.get_absolute_url())
    return case


@transaction.atomic
def close_case(actor, case: Case, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if blocker := rules.close_blocker(case):
        raise ValidationError(blocker)
    TRANSITIONS.apply(case, "close")
    case.closed_at = clock.now()
    _save(actor, case, ["status", "closed_at"])
    record_timeline(actor, case, "closed", _("Case closed"))
    return case


@transaction.atomic
def reopen_case(actor, case: Case, reason: str, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the case is reopened.")})
    TRANSITIONS.apply(case, "reopen")
    case.closed_at = None
    case.resolved_at = None
    case.outcome = ""
    _save(actor, case, ["status", "closed_at", "resolved_at", "outcome"])
    if case.case_type == CaseType.RECTIFICATION:
        RectificationDetail.objects.filter(case=case).update(verified_at=None, verified_by=None)
    record_timeline(actor, case, "reopened", reason.strip())
    _notify_assignees(case, _("Case %(number)s was reopened") % {"number": case.number}, exclude=actor)
    return case


@transaction.atomic
def cancel_case(actor, case: Case, reason: str, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A cancelled case needs a reason.")})
    TRANSITIONS.apply(case, "cancel")
    case.cancel_reason = reason.strip()
    _save(actor, case, ["status", "cancel_reason"])
    record_timeline(actor, case, "cancelled", case.cancel_reason)
    return case


# --- the clock -----------------------------------------------------------------------------------

@transaction.atomic
def pause_clock(actor, case: Case, reason: str, on: date | None = None, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not case.is_open:
        raise ValidationError(_("Only open cases have a running clock."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the clock stops (e.g. waiting for an external appraisal).")})
    if case.paused_since:
        raise ValidationError(_("The clock is already paused."))
    on = on or _today()
    pause = Pause(case=case, started_on=on, reason=reason.strip(), created_by=actor)
    pause.clean_fields(exclude=["case", "created_by"])  # the reason fits its column
    try:
        with transaction.atomic():
            pause.save()
    except IntegrityError as exc:
        raise ValidationError(_("The clock is already paused.")) from exc
    case.paused_since = on
    _save(actor, case, ["paused_since"])
    record_timeline(actor, case, "paused", reason.strip())
    _refresh_due(actor, case, _("Clock paused"))
    return case


@transaction.atomic
def resume_clock(actor, case: Case, on: date | None = None, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not case.is_open:
        raise ValidationError(_("Only open cases have a running clock."))
    pause = case.pauses.filter(ended_on__isnull=True).first()
    if pause is None:
        raise ValidationError(_("The clock is not paused."))
    on = on or _today()
    if on < pause.started_on:
        raise ValidationError(_("The clock cannot resume before it was paused."))
    pause.ended_on = on
    pause.save(update_fields=["ended_on"])
    case.paused_since = None
    _save(actor, case, ["paused_since"])
    record_timeline(actor, case, "resumed", _("Clock resumed after: %(reason)s") % {"reason": pause.reason})
    _refresh_due(actor, case, _("Clock resumed"))
    return case


@transaction.atomic
def restart_clock(actor, case: Case, reason: str, on: date | None = None, expected_version: int | None = None) -> Case:
    """New facts restart a complaint's clock: the deadlines count again from today."""
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT or not case.is_open:
        raise ValidationError(_("Only an open complaint's clock restarts on new facts."))
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Describe the new facts.")})
    case.clock_start = on or _today()
    case.pauses.filter(ended_on__isnull=True).update(ended_on=case.clock_start)
    case.pauses.all().delete()
    case.paused_since = None
    _save(actor, case, ["clock_start", "paused_since"])
    record_timeline(actor, case, "restarted", reason.strip())
    _refresh_due(actor, case, _("Clock restarted on new facts"))
    return case


@transaction.atomic
def set_complexity(actor, case: Case, complexity: str, *, customer_notified: bool = False, expected_version: int | None = None) -> Case:
    """Complex complaints get 30 days; particularly complex ones 60, only with the approval of a
    senior manager above the outlet and with the customer told."""
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints have a complexity."))
    if not case.is_open:
        raise ValidationError(NOT_NOW)
    if complexity not in ComplaintDetail.Complexity.values:
        raise ValidationError({"complexity": _("Unknown complexity.")})
    if complexity == ComplaintDetail.Complexity.PARTICULARLY_COMPLEX:
        require(rules.can_approve_particular_complexity, actor, case, _particular_refusal(actor))
        if not customer_notified:
            raise ValidationError({"customer_notified": _("Tell the customer about the extension first.")})
    detail = case.complaint
    detail.complexity = complexity
    detail.customer_notified_of_extension = customer_notified or detail.customer_notified_of_extension
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    _refresh_due(actor, case, _("Complexity set to %(c)s") % {"c": detail.get_complexity_display()})
    return case


def _particular_refusal(actor) -> str:
    if actor is not None and not actor.has_perm("cases.approve_extension"):
        return _("Only a senior manager may approve the particularly-complex extension.")
    return _("The extension must be approved above the outlet.")


@transaction.atomic
def request_extension(actor, case: Case, days: int, reason: str, expected_version: int | None = None) -> Extension:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    policy = case.sla_policy
    errors = {}
    if not case.is_open:
        errors["__all__"] = _("Only open cases can be extended.")
    if days is None or days < 1:
        errors["days"] = _("Ask for at least one day.")
    elif policy is None or days > policy.max_extension_days:
        errors["days"] = _("At most %(n)s days can be added under this case's policy.") % {
            "n": policy.max_extension_days if policy else 0}
    if not (reason or "").strip():
        errors["reason"] = _("Give a reason.")
    if case.extensions.filter(state=Extension.State.REQUESTED).exists():
        errors["__all__"] = _("An extension is already waiting for a decision.")
    if errors:
        raise ValidationError(errors)
    ext = Extension.objects.create(case=case, days=days, reason=reason.strip(), requested_by=actor)
    record_timeline(actor, case, "extension_requested", _("%(days)s more days requested: %(reason)s") % {
        "days": days, "reason": ext.reason})
    for user in _approvers(case):
        notify(user, _("Extension requested on %(number)s") % {"number": case.number}, ext.reason,
               case.get_absolute_url())
    return ext


def _approvers(case: Case) -> list:
    above = [i for i in case.institution.ancestor_ids() if i != case.institution_id]
    return list(User.objects.filter(is_active=True, staff__institution_id__in=above,
                                    groups__permissions__codename="approve_extension").distinct())


@transaction.atomic
def decide_extension(actor, extension: Extension, approve: bool, note: str = "") -> Extension:
    ext = Extension.objects.select_for_update().select_related("case").get(pk=extension.pk)
    require(rules.can_decide_extension, actor, ext.case)
    if ext.state != Extension.State.REQUESTED:
        raise ValidationError(_("This extension was already decided."))
    if actor is not None and actor.pk == ext.requested_by_id:
        raise PermissionDenied(_("You cannot approve your own extension."))
    ext.state = Extension.State.APPROVED if approve else Extension.State.REJECTED
    ext.decided_by, ext.decided_at, ext.decision_note = actor, clock.now(), note
    ext.save()
    case = _lock(ext.case)
    record_timeline(actor, case, "extension_decided", (_("Extension of %(days)s days approved") if approve else
                                                         _("Extension of %(days)s days rejected")) % {"days": ext.days}
                    + (f"：{note}" if note else ""))
    if approve:
        _refresh_due(actor, case, _("Extension approved"))
    notify(ext.requested_by, _("Your extension on %(number)s was %(state)s") % {
        "number": case.number, "state": ext.get_state_display()}, url=case.get_absolute_url())
    return ext


# --- type-specific -------------------------------------------------------------------------------

@transaction.atomic
def record_callback(actor, case: Case, satisfaction: str, note: str = "", expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints have a customer call-back."))
    if case.status != Status.RESOLVED:
        raise ValidationError(_("Call the customer back once the complaint is resolved."))
    if satisfaction not in ComplaintDetail.Satisfaction.values:
        raise ValidationError({"satisfaction": _("Record the customer's satisfaction.")})
    detail = case.complaint
    detail.callback_at, detail.callback_satisfaction, detail.callback_note = clock.now(), satisfaction, note
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    record_timeline(actor, case, "called_back", f"{detail.get_callback_satisfaction_display()} {note}".strip())
    return case


@transaction.atomic
def record_root_cause(actor, case: Case, root_cause: str, improvement: str = "", expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints have a root cause."))
    if not (root_cause or "").strip():
        raise ValidationError({"root_cause": _("Describe the root cause.")})
    detail = case.complaint
    detail.root_cause, detail.improvement = root_cause.strip(), improvement.strip()
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    record_timeline(actor, case, "updated", _("Root cause and improvement recorded"))
    return case


@transaction.atomic
def classify_complaint(actor, case: Case, *, channel_code=None, business_code=None, cause_code=None, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints are classified."))
    codes = {"channel_code": channel_code, "business_code": business_code, "cause_code": cause_code}
    if errors := _code_errors(codes, _today()):
        raise ValidationError(errors)
    detail = case.complaint
    for field, code in codes.items():
        setattr(detail, field, code)
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    record_timeline(actor, case, "updated", _("Complaint classified"))
    return case


@transaction.atomic
def mark_major(actor, case: Case, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.COMPLAINT:
        raise ValidationError(_("Only complaints can be major complaints."))
    if case.is_major:
        return case
    if not case.is_open:
        raise ValidationError(NOT_NOW)
    case.is_major = True
    case.priority = Priority.URGENT
    case.sla_policy = find_policy(case.case_type, case.category, case.priority, case.clock_start)
    _save(actor, case, ["is_major", "priority", "sla_policy"])
    record_timeline(actor, case, "marked_major", _("Marked as a major complaint: fast track"))
    _refresh_due(actor, case, _("Fast track deadlines"))
    _notify_major(case)
    return case


@transaction.atomic
def set_rectification_deadline(actor, case: Case, deadline: date, reason: str,
                               expected_version: int | None = None) -> Case:
    """Move a rectification's deadline (限期整改): its resolution_due follows. Whoever may verify the
    rectification or decide its extensions sets it; the outlet asks for an extension instead."""
    case = _lock(case, expected_version)
    require(rules.sets_rectification_deadline, actor, case,
            _("Only the supervisor or the secretariat above the outlet sets a rectification's deadline."))
    if case.case_type != CaseType.RECTIFICATION:
        raise ValidationError(_("Only rectifications have a deadline to rectify by."))
    if case.status not in OPEN_STATUSES:
        raise ValidationError(_("The rectification is no longer open: its deadline does not change."))
    errors = {}
    if deadline is None or deadline < _today():
        errors["deadline"] = _("The deadline is today or later.")
    if not (reason or "").strip():
        errors["reason"] = _("Give a reason.")
    if errors:
        raise ValidationError(errors)
    detail = case.rectification
    old = detail.deadline
    detail.deadline = deadline
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    _refresh_due(actor, case, _("Deadline to rectify by %(old)s → %(new)s: %(reason)s") % {
        "old": old.isoformat() if old else "—", "new": deadline.isoformat(), "reason": reason.strip()})
    return case


@transaction.atomic
def submit_evidence(actor, case: Case, evidence: str, expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if case.case_type != CaseType.RECTIFICATION:
        raise ValidationError(_("Only rectifications take evidence."))
    if case.status not in (*OPEN_STATUSES, Status.RESOLVED):
        raise ValidationError(NOT_NOW)
    if not (evidence or "").strip():
        raise ValidationError({"evidence": _("Describe the evidence.")})
    detail = case.rectification
    detail.evidence = evidence.strip()
    stamp_history(detail, actor)
    detail.save()
    _save(actor, case, [])
    record_timeline(actor, case, "updated", _("Evidence submitted"))
    return case


@transaction.atomic
def verify_rectification(actor, case: Case, *, passed: bool, note: str = "", expected_version: int | None = None) -> Case:
    case = _lock(case, expected_version)
    require(rules.can_verify, actor, case)
    if case.case_type != CaseType.RECTIFICATION:
        raise ValidationError(_("Only rectifications are verified."))
    if case.status != Status.RESOLVED:
        raise ValidationError(_("Verify a rectification once the outlet reports it resolved."))
    detail = case.rectification
    if not detail.evidence:
        raise ValidationError({"evidence": _("The outlet has not submitted the evidence yet.")})
    if detail.verified_at is not None:
        raise ValidationError(NOT_NOW)
    if passed:
        detail.verified_by, detail.verified_at, detail.verification_note = actor, clock.now(), note
        stamp_history(detail, actor)
        detail.save()
        _save(actor, case, [])
        record_timeline(actor, case, "verified", note or _("Verified"))
    else:
        if not note.strip():
            raise ValidationError({"note": _("Say what is still missing.")})
        case.status, case.resolved_at, case.outcome = Status.IN_PROGRESS, None, ""
        _save(actor, case, ["status", "resolved_at", "outcome"])
        record_timeline(actor, case, "reopened", _("Verification failed: %(note)s") % {"note": note})
        _notify_assignees(case, _("Rectification %(number)s failed verification") % {"number": case.number})
    return case


@transaction.atomic
def triage_feedback(actor, case: Case, action: str, *, answer: str = "", department: Department | None = None,
                    note: str = "", expected_version: int | None = None) -> Case:
    """The secretariat answers an outlet's feedback, hands it to a department, or puts it on the
    next coordination meeting's agenda."""
    require(rules.can_triage, actor, case)
    if case.case_type != CaseType.FEEDBACK:
        raise ValidationError(_("Only outlet feedback is triaged."))
    if action == "answer":
        case = resolve_case(actor, case, outcome=Outcome.ANSWERED, resolution=answer,
                            expected_version=expected_version)
    elif action == "assign":
        case = assign_case(actor, case, department=department, note=note, expected_version=expected_version)
    elif action == "to_meeting":
        case = _raise_to_meeting(actor, case, note, expected_version)
    else:
        raise ValidationError({"action": _("Choose answer, assign or put on the meeting agenda.")})
    record_timeline(actor, case, "triaged", {"answer": _("Answered"), "assign": _("Handed to a department"),
                                             "to_meeting": _("Raised to the coordination meeting")}[action])
    return case


def _raise_to_meeting(actor, case: Case, note: str, expected_version: int | None) -> Case:
    """The case stays open (in progress) on the agenda of the branch's next meeting until the
    meeting's answer is followed up; coordination receives the hand-over (cases imports it not)."""
    case = _lock(case, expected_version)
    _require_manage(actor, case)
    if not case.is_open:
        raise ValidationError(_("Only open feedback can be raised to the meeting."))
    check_lengths(note=(note, MAX_TEXT))
    if case.status != Status.IN_PROGRESS:
        TRANSITIONS.apply(case, "start")
        fields = ["status"]
        if case.responded_at is None:
            case.responded_at = clock.now()
            fields.append("responded_at")
        _save(actor, case, fields)
    replies = [r for _receiver, r in signals.feedback_raised_to_meeting.send(
        sender=Case, actor=actor, case=case, note=(note or "").strip()) if r is not None]
    if not replies:
        raise ValidationError(_("No coordination meeting takes feedback here."))
    record_timeline(actor, case, "raised_to_meeting", _("On the agenda of %(meeting)s") % {
        "meeting": "、".join(str(r) for r in replies)})
    if case.first_contact_owner_id and case.first_contact_owner != actor:
        notify(case.first_contact_owner, _("Your feedback %(number)s is on the agenda of %(meeting)s") % {
            "number": case.number, "meeting": "、".join(str(r) for r in replies)}, url=case.get_absolute_url())
    return case


# --- links, files, personal data -----------------------------------------------------------------

@transaction.atomic
def link_case(actor, case: Case, target, label: str = "") -> CaseLink:
    if isinstance(target, Case):
        if target.pk == case.pk:
            raise ValidationError(_("A case cannot link to itself."))
        link = CaseLink.objects.create(case=case, target_case=target, label=label or str(target), created_by=actor)
    else:
        from django.contrib.contenttypes.models import ContentType

        link = CaseLink.objects.create(case=case, content_type=ContentType.objects.get_for_model(target),
                                       object_id=str(target.pk), label=label or str(target), created_by=actor)
    record_timeline(actor, case, "linked", link.label)
    return link


@transaction.atomic
def add_attachment(actor, case: Case, upload) -> Attachment:
    import os

    require(rules.can_comment, actor, case, _("Your role reads cases only: it cannot attach files."))
    ext = os.path.splitext(upload.name)[1].lower()
    if ext not in ATTACHMENT_TYPES:
        raise ValidationError({"file": _("Files of type %(ext)s are not accepted.") % {"ext": ext or "?"}})
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError({"file": _("A file may be at most 10 MB.")})
    att = Attachment(case=case, name=os.path.basename(upload.name)[:200], size=upload.size, uploaded_by=actor)
    att.file.save(att.name, upload, save=False)
    att.save()
    record_timeline(actor, case, "attached", att.name)
    return att


def log_pii_access(user, case: Case, via: str, ip: str | None = None) -> None:
    PiiAccess.objects.create(user=user, case=case, via=via, ip_address=ip)


# --- the worker: reminders and escalations -------------------------------------------------------

def _escalation_targets(case: Case, target: str) -> list:
    inst = case.institution
    chain = inst.ancestor_ids()
    if target == "outlet_head":
        return _users_with_role(Role.OUTLET_HEAD, [inst])
    if target == "sub_branch":
        sub = Institution.objects.filter(id__in=chain, level=Level.SUB_BRANCH).first()
        return list(User.objects.filter(is_active=True, staff__institution=sub,
                                        groups__permissions__codename="manage_case").distinct()) if sub else []
    if target == "department_head":
        if case.assignee_department_id:
            return list(User.objects.filter(is_active=True, staff__department_id=case.assignee_department_id,
                                            groups__permissions__codename="manage_case").distinct())
        dept = _secretariat_department(inst)
        return list(User.objects.filter(is_active=True, staff__department=dept).distinct()) if dept else []
    if target == "branch_leader":
        branch = branch_of(inst)
        return _users_with_role(Role.BRANCH_LEADER, [branch] if branch else [])
    if target == "consumer_protection":
        return list(User.objects.filter(is_active=True, staff__department__code__in=CONSUMER_PROTECTION_CODES,
                                        staff__department__institution_id__in=chain))
    return []


def _watched_due(case: Case) -> date | None:
    """The deadline the worker watches: the resolution target, or a complaint's regulatory
    decision deadline when that is earlier — which keeps running while the bank's clock is paused
    for a regulator-transferred complaint."""
    dates = [d for d in (None if case.paused_since else case.resolution_due, case.decision_due) if d]
    return min(dates) if dates else None


def apply_sla(today: date | None = None, batch_size: int = 2000) -> dict:
    """Send due reminders and apply reached escalation levels to every open case.

    Idempotent: a reminder is unique per case, kind and due date, an escalation per case and
    level, so running it twice changes nothing the second time. A failed notification never
    blocks: notify() sends after commit and only logs failures.
    """
    from datetime import timedelta

    from django.db.models import Max, Q

    today = today or _today()
    stats = {"scanned": 0, "reminders": 0, "escalations": 0}
    # Only cases inside a reminder window or past their deadline matter; the window is counted in
    # working days, so allow for weekends and the longest holiday.
    longest = SlaPolicy.objects.aggregate(m=Max("remind_before_days"))["m"] or 0
    horizon = today + timedelta(days=longest * 2 + 10)
    watched = (Q(paused_since__isnull=True, resolution_due__lte=horizon)
               | Q(case_type=CaseType.COMPLAINT, decision_due__lte=horizon))
    qs = (Case.objects.filter(watched, status__in=OPEN_STATUSES)
          .select_related("sla_policy", "institution", "first_contact_owner", "assignee").order_by("pk"))
    fast = sla.FastCalendar(working_calendar, date(today.year - 1, 1, 1), date(today.year + 2, 12, 31))
    last_pk = 0
    while chunk := list(qs.filter(pk__gt=last_pk)[:batch_size]):
        last_pk = chunk[-1].pk
        _apply_sla_to(chunk, today, fast, stats)
    return stats


def _apply_sla_to(chunk: list[Case], today: date, fast, stats: dict) -> None:
    """One batch of apply_sla: the reminders and escalation levels each case has reached."""
    reached: dict[int, set[int]] = {}
    for case_id, level in Escalation.objects.filter(case__in=chunk).values_list("case_id", "level"):
        reached.setdefault(case_id, set()).add(level)
    reminded = set(Reminder.objects.filter(case__in=chunk, kind="resolution").values_list("case_id", "due"))
    for case in chunk:
        stats["scanned"] += 1
        policy, due = case.sla_policy, _watched_due(case)
        if policy is None or due is None:
            continue
        kind = sla.DayKind.WORKING if policy.day_kind == DayKind.WORKING else sla.DayKind.CALENDAR
        state = sla.evaluate(today, due, None, policy.remind_before_days, fast, kind)
        if state.state == sla.DUE_SOON and (case.pk, due) not in reminded:
            stats["reminders"] += _remind(case, due)
        if state.overdue_days > 0:
            steps = [sla.EscalationStep(int(s["level"]), int(s.get("after_overdue_days", 1)), s["target"])
                     for s in policy.escalation]
            for step in sla.due_escalations(state.overdue_days, steps, reached.get(case.pk, set())):
                stats["escalations"] += _escalate(case, step)


@transaction.atomic
def _remind(case: Case, due: date) -> int:
    try:
        with transaction.atomic():
            Reminder.objects.create(case=case, kind="resolution", due=due)
    except IntegrityError:
        return 0
    people = {case.first_contact_owner}
    if case.assignee_id:
        people.add(case.assignee)
    for user in people:
        notify(user, _("Case %(number)s is due on %(due)s") % {"number": case.number, "due": due},
               case.title, case.get_absolute_url())
    record_timeline(None, case, "reminded", _("Due on %(due)s") % {"due": due})
    return 1


@transaction.atomic
def _escalate(case: Case, step) -> int:
    recipients = _escalation_targets(case, step.target)
    try:
        with transaction.atomic():
            Escalation.objects.create(case=case, level=step.level, target=step.target,
                                      notified=[u.pk for u in recipients])
    except IntegrityError:
        return 0
    locked = _lock(case)
    if locked.escalation_level < step.level:
        locked.escalation_level = step.level
        _save(None, locked, ["escalation_level"])
    title = _("Overdue case %(number)s escalated to level %(level)s") % {"number": case.number, "level": step.level}
    for user in recipients:
        notify(user, title, case.title, case.get_absolute_url())
    record_timeline(None, case, "escalated", _("Level %(level)s: %(target)s") % {
        "level": step.level, "target": ESCALATION_TARGETS.get(step.target, step.target)})
    return 1


ESCALATION_TARGETS = {
    "outlet_head": gettext_lazy("outlet head"), "sub_branch": gettext_lazy("sub-branch"),
    "department_head": gettext_lazy("department head"), "branch_leader": gettext_lazy("branch leader"),
    "consumer_protection": gettext_lazy("consumer protection"),
}
