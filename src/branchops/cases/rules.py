"""Who may do what to a case, and when: the permission predicates of the cases app (DESIGN.md §2).

Two kinds of predicate, each ``(user, case) -> bool``:

- *Who* — role, scope, being on the case: ``can_view``, ``can_manage``, ``can_triage``,
  ``can_verify``, ``can_decide_extension``, ``can_approve_particular_complexity``, ``can_see_pii``.
  The services check them with ``core.actions.require`` (403).
- *What now* — one ``may_<action>`` per action of ``actions.ACTIONS``: its who-predicate and the
  case's state (the transition table ``TRANSITIONS`` for the moves of the status). Pages read them as
  ``can.<action>``, the API as ``allowed_actions``; the services refuse the same states with a
  reason (400).

Everything here is looked up at call time (``rules.can_manage(...)``, never a copy taken at import),
so a rule changed here — or patched in a test — changes the page, the API and the service together.
"""

from datetime import timedelta
from functools import wraps

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branchops.core import clock
from branchops.core.actions import Transitions
from branchops.org.models import Level
from branchops.org.roles import user_roles
from branchops.org.scope import in_scope, visible_institutions

from .models import OPEN_STATUSES, Case, CaseType, Extension, Outcome, Status
from .queries import visibility_q
from .roles import OPENS, READ_ONLY_ROLES

# --- the status of a case ------------------------------------------------------------------------

_ACTION_WORDS = {
    "accept": _("accepted"), "start": _("started"), "resolve": _("resolved"),
    "close": _("closed"), "reopen": _("reopened"), "cancel": _("cancelled"),
}


def _refusal(case, action: str) -> str:
    return _("A case that is “%(status)s” cannot be %(action)s.") % {
        "status": case.get_status_display(), "action": _ACTION_WORDS[action]}


# new → accepted → in_progress → resolved → closed; resolved/closed → in_progress (reopen); any open
# state → cancelled (with a reason).
TRANSITIONS = Transitions({
    "accept": ({Status.NEW}, Status.ACCEPTED),
    "start": ({Status.NEW, Status.ACCEPTED}, Status.IN_PROGRESS),
    "resolve": (OPEN_STATUSES, Status.RESOLVED),
    "close": ({Status.RESOLVED}, Status.CLOSED),
    "reopen": ({Status.RESOLVED, Status.CLOSED}, Status.IN_PROGRESS),
    "cancel": (OPEN_STATUSES, Status.CANCELLED),
}, refusal=_refusal)


def _moves(case, action: str) -> bool:
    return TRANSITIONS.can(case.status, action)


def close_blocker(case) -> str:
    """Why a resolved case cannot be closed yet (empty when it can)."""
    if case.case_type == CaseType.RECTIFICATION and case.rectification.verified_at is None:
        return _("A service supervisor verifies the rectification before it is closed.")
    if (case.case_type == CaseType.COMPLAINT and case.outcome != Outcome.ON_THE_SPOT
            and case.complaint.callback_at is None):
        return _("Call the customer back (回访) before closing the complaint.")
    return ""


def _remember(case, key: tuple, compute):
    """An answer about the case kept on it for this version of it: a page asks the same question once
    per action it may offer; a write bumps the version, so an answer never outlives its state."""
    memo = case.__dict__.setdefault("_rules_memo", {})
    key = (*key, case.version)
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _per_version(predicate):
    """A predicate whose answer (it reads the database) is remembered per user and case version."""

    @wraps(predicate)
    def remembered(user, case):
        return _remember(case, (predicate.__name__, user.pk), lambda: predicate(user, case))

    return remembered


def pending_extension(case) -> Extension | None:
    """The extension waiting for a decision, if any."""
    return _remember(case, ("pending_extension",),
                     lambda: case.extensions.filter(state=Extension.State.REQUESTED).first())


# --- who ------------------------------------------------------------------------------------------

def _roles(user) -> set[str]:
    """The user's roles, asked once per user object (a page asks for every action it may offer)."""
    if "_case_roles" not in user.__dict__:
        user.__dict__["_case_roles"] = set(user_roles(user))
    return user.__dict__["_case_roles"]


def reads_only(user) -> bool:
    """A branch leader (and any role of READ_ONLY_ROLES alone) reads cases and writes nothing in them."""
    roles = _roles(user)
    return not user.is_superuser and bool(roles) and roles <= READ_ONLY_ROLES


def opening_types(user) -> list[str]:
    """The case types the user may open, in CaseType order (roles.OPENS)."""
    if user.is_superuser:
        return list(CaseType.values)
    if not user.is_active or not user.has_perm("cases.add_case"):
        return []
    types = set().union(*(OPENS.get(role, set()) for role in _roles(user)))
    return [t for t in CaseType.values if t in types]


def can_open(user, case_type: str) -> bool:
    return case_type in opening_types(user)


@_per_version
def can_view(user, case) -> bool:
    """Sees the case: its institution's chain, its department, the people on it (queries.visibility_q)."""
    return Case.objects.filter(visibility_q(user), pk=case.pk).exists()


@_per_version
def can_manage(user, case) -> bool:
    """Manage = the permission plus being on the case: in scope of its outlet, its assigned
    department, or personally the assignee or first-contact owner."""
    if not user.is_active or reads_only(user):
        return False
    # 首问负责: whoever received it, and whoever it is assigned to, works on it whatever their role.
    if user.is_superuser or case.assignee_id == user.pk or case.first_contact_owner_id == user.pk:
        return True
    if not user.has_perm("cases.manage_case"):
        return False
    staff = getattr(user, "staff", None)
    if staff is not None and staff.department_id and case.assignee_department_id == staff.department_id:
        return True
    return can_view(user, case) and in_scope(user, case.institution)


def can_comment(user, case) -> bool:
    """Comments and files: whoever sees the case, except a role that only reads."""
    return not reads_only(user) and can_view(user, case)


def can_triage(user, case) -> bool:
    """The secretariat answers outlet feedback, hands it on or raises it to the meeting."""
    return user.has_perm("cases.triage_feedback") and can_manage(user, case)


def can_verify(user, case) -> bool:
    """A service supervisor in scope verifies a rectification."""
    return user.has_perm("cases.verify_rectification") and in_scope(user, case.institution)


def sets_rectification_deadline(user, case) -> bool:
    """限期整改: the supervisor who verifies or the approver of extensions in scope sets the deadline."""
    return can_verify(user, case) or can_decide_extension(user, case)


def can_decide_extension(user, case) -> bool:
    """An approver in scope decides extensions (never their own request: see may_decide_extension)."""
    return user.has_perm("cases.approve_extension") and not reads_only(user) and in_scope(user, case.institution)


def can_approve_particular_complexity(user, case) -> bool:
    """The 60-day extension of a particularly complex complaint: a senior manager above the outlet."""
    staff = getattr(user, "staff", None)
    return user.has_perm("cases.approve_extension") and not (
        staff is not None and staff.institution_id == case.institution_id)


def can_see_pii(user, case) -> bool:
    return user.has_perm("cases.view_pii") or case.first_contact_owner_id == user.pk


# --- opening --------------------------------------------------------------------------------------

FUTURE_TOLERANCE = timedelta(minutes=5)  # a clerk's clock a little ahead of the server's
MAX_RECEIPT_AGE = timedelta(days=3 * 365 + 1)


def received_in_future(received_at) -> bool:
    return received_at is not None and received_at > clock.now() + FUTURE_TOLERANCE


def receipt_refusal(received_at) -> str:
    """Why a case cannot carry this receipt time: in the future, or so long ago that it cannot be a
    case handled now (a typing slip such as year 232); empty when it can."""
    if received_in_future(received_at):
        return _("A case cannot be received in the future.")
    if received_at is not None and received_at < clock.now() - MAX_RECEIPT_AGE:
        return _("A case received more than three years ago cannot be recorded here: check the date.")
    return ""


def opening_institutions(user):
    """Where a user may open a case: the active outlets in their scope, and their own institution."""
    staff = getattr(user, "staff", None)
    own = Q(pk=staff.institution_id) if staff is not None else Q(pk__in=[])
    return visible_institutions(user).filter(Q(level=Level.OUTLET) | own, is_active=True).order_by("path")


def can_open_at(user, institution) -> bool:
    return opening_institutions(user).filter(pk=institution.pk).exists()


# --- what now: one predicate per action of actions.ACTIONS ------------------------------------------

def _complaint(case) -> bool:
    return case.case_type == CaseType.COMPLAINT


def _rectification(case) -> bool:
    return case.case_type == CaseType.RECTIFICATION


def may_accept(user, case) -> bool:
    return _moves(case, "accept") and can_manage(user, case)


def may_start(user, case) -> bool:
    return _moves(case, "start") and can_manage(user, case)


def may_triage(user, case) -> bool:
    return case.case_type == CaseType.FEEDBACK and case.is_open and can_triage(user, case)


def may_assign(user, case) -> bool:
    return case.is_open and can_manage(user, case)


def may_resolve(user, case) -> bool:
    return _moves(case, "resolve") and not case.paused_since and can_manage(user, case)


def may_callback(user, case) -> bool:
    return _complaint(case) and case.status == Status.RESOLVED and can_manage(user, case)


def may_verify(user, case) -> bool:
    detail = getattr(case, "rectification", None) if _rectification(case) else None
    return (detail is not None and case.status == Status.RESOLVED and bool(detail.evidence)
            and detail.verified_at is None and can_verify(user, case))


def may_close(user, case) -> bool:
    return _moves(case, "close") and not close_blocker(case) and can_manage(user, case)


def may_evidence(user, case) -> bool:
    return (_rectification(case) and case.status in (*OPEN_STATUSES, Status.RESOLVED)
            and can_manage(user, case))


def may_classify(user, case) -> bool:
    return _complaint(case) and can_manage(user, case)


def may_root_cause(user, case) -> bool:
    return _complaint(case) and can_manage(user, case)


def may_complexity(user, case) -> bool:
    return _complaint(case) and case.is_open and can_manage(user, case)


def may_mark_major(user, case) -> bool:
    return _complaint(case) and case.is_open and not case.is_major and can_manage(user, case)


def may_pause(user, case) -> bool:
    return case.is_open and not case.paused_since and can_manage(user, case)


def may_resume(user, case) -> bool:
    return case.is_open and bool(case.paused_since) and can_manage(user, case)


def may_restart(user, case) -> bool:
    return _complaint(case) and case.is_open and can_manage(user, case)


def may_extension(user, case) -> bool:
    policy = case.sla_policy
    return (case.is_open and policy is not None and bool(policy.max_extension_days)
            and pending_extension(case) is None and can_manage(user, case))


def may_reopen(user, case) -> bool:
    return _moves(case, "reopen") and can_manage(user, case)


def may_cancel(user, case) -> bool:
    return _moves(case, "cancel") and can_manage(user, case)


def may_comment(user, case) -> bool:
    return can_comment(user, case)


def may_attach(user, case) -> bool:
    return can_comment(user, case)


def may_decide_extension(user, case) -> bool:
    pending = pending_extension(case)
    return pending is not None and pending.requested_by_id != user.pk and can_decide_extension(user, case)
