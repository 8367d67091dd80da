"""Who may do what with items, meetings and conditions, and which states allow it (DESIGN.md §2).

Permission predicates are plain functions ``(user, obj) -> bool`` of role and scope. The action
tables (``actions.py``) offer an action on the pages (``can``) and in the API (``allowed_actions``)
when its predicate holds and the record's state allows it; the services check the same predicate
again through ``core.actions.require`` and refuse a wrong state with the reason. The transition
tables are the only way a service moves an item, a meeting or a condition from one status to another.
"""

from django.utils.translation import gettext_lazy as _

from branchops.core import clock
from branchops.core.actions import Transitions
from branchops.org.models import Level
from branchops.org.roles import Role, user_roles
from branchops.org.scope import in_scope, sees_everything

from .models import Condition, ItemStatus, Meeting

S, M, C = ItemStatus, Meeting.Status, Condition.Status

EDITABLE = frozenset({S.DRAFT, S.SUBMITTED})  # not decided, not withdrawn
OPEN_AGENDA = frozenset({M.PLANNED, M.FROZEN})  # the meeting has not been held: its agenda may change
DECIDING = frozenset({M.FROZEN, M.HELD})  # the agenda is frozen and the minutes are open
# What the secretariat may close with a reason: anything submitted whose loop is still open (a draft
# is its department's to withdraw).
CLOSABLE = frozenset({S.SUBMITTED, S.APPROVED, S.CONDITIONAL, S.RELEASED})


def _refusal(messages: dict):
    # Said in the language of the request that was refused (evaluated now, not when rendered).
    return lambda record, action: str(messages[action])


_DECIDED = _("This item has already been decided.")

ITEM_FLOW = Transitions({
    "submit": ([S.DRAFT], S.SUBMITTED),
    "withdraw": (EDITABLE, S.WITHDRAWN),
    "approve": ([S.SUBMITTED], S.APPROVED),
    "approve_on_conditions": ([S.SUBMITTED], S.CONDITIONAL),
    "reject": ([S.SUBMITTED], S.REJECTED),
    "conditions_signed_off": ([S.CONDITIONAL], S.APPROVED),
    "release": ([S.APPROVED], S.RELEASED),
    "close": ([S.RELEASED], S.CLOSED),
    "close_admin": (CLOSABLE, S.CLOSED),
}, refusal=_refusal({
    "submit": _("Only a draft can be submitted."),
    "withdraw": _("Only an undecided item can be withdrawn."),
    "approve": _DECIDED, "approve_on_conditions": _DECIDED, "reject": _DECIDED,
    "conditions_signed_off": _("Only a conditionally approved item waits for its conditions."),
    "release": _("Only an item with an approval number can be released."),
    "close": _("Only a released item closes when its work orders are done."),
    "close_admin": _("Only a submitted item still open (not closed, withdrawn or rejected) can be closed."),
}))

MEETING_FLOW = Transitions({
    "freeze": ([M.PLANNED], M.FROZEN),
    "hold": (OPEN_AGENDA, M.HELD),
    "close": (DECIDING, M.CLOSED),
}, refusal=_refusal({
    "freeze": _("The agenda is already frozen."),
    "hold": _("The meeting has already been held."),
    "close": _("Only a meeting whose agenda is frozen, and whose minutes are still open, can be closed."),
}))

CONDITION_FLOW = Transitions({
    "report_met": ([C.OPEN], C.MET),
    "sign_off": ([C.MET], C.SIGNED_OFF),
    "send_back": ([C.MET], C.OPEN),
}, refusal=_refusal({
    "report_met": _("This condition is no longer open."),
    "sign_off": _("Only a condition reported met can be signed off."),
    "send_back": _("Only a condition reported met can be signed off."),
}))


# --- states ------------------------------------------------------------------------------------

def agenda_open(item) -> bool:
    """The item is on no agenda, or on one whose meeting has not been held."""
    return item.meeting_id is None or item.meeting.status in OPEN_AGENDA


def has_valid_number(item) -> bool:
    return bool(item.approval_number) and item.approval_revoked_at is None


# --- who ---------------------------------------------------------------------------------------

def _staff(user):
    return getattr(user, "staff", None)


def owns(user, item) -> bool:
    """The submitting department: the submitter, or a submitter of the item's department."""
    staff = _staff(user)
    return user.is_superuser or item.submitter_id == user.pk or (
        staff is not None and staff.department_id == item.department_id
        and user.has_perm("coordination.submit_item"))


def edits(user, item) -> bool:
    """Editing the item's plan needs the submitter's role as well as the item."""
    return user.has_perm("coordination.submit_item") and owns(user, item)


def drafts_for(user, department) -> bool:
    """A submitter drafts new items for their own department (the secretariat for any)."""
    staff = _staff(user)
    return user.has_perm("coordination.submit_item") and (
        user.is_superuser or (staff is not None and staff.department_id == department.pk)
        or user.has_perm("coordination.run_meeting"))


def reviews(user, item) -> bool:
    """A review department asked for its opinion on the item."""
    if not user.has_perm("coordination.review_item"):
        return False
    staff = _staff(user)
    return user.is_superuser or (staff is not None and staff.department_id is not None
                                 and item.opinions.filter(department_id=staff.department_id).exists())


def sees_opinions(user, item) -> bool:
    """Reviewers see each other's opinions only after giving their own; the submitting department and
    the secretariat always; others once the item is decided."""
    staff = _staff(user)
    if user.has_perm("coordination.run_meeting") or user.is_superuser or item.submitter_id == user.pk:
        return True
    if staff is None:
        return False
    if staff.department_id == item.department_id:
        return True
    own = item.opinions.filter(department_id=staff.department_id).first()
    if own is not None:
        return own.submitted_at is not None
    return item.decision != ""


def decides(user, item) -> bool:
    """The secretariat of the item's branch: agenda, decision, approval number."""
    return user.has_perm("coordination.run_meeting") and in_scope(user, item.department.institution)


def releases(user, item) -> bool:
    return user.has_perm("coordination.release_item") and in_scope(user, item.department.institution)


def reports_met(user, condition) -> bool:
    """The condition's owner department, or the secretariat."""
    staff = _staff(user)
    return (staff is not None and staff.department_id == condition.owner_department_id) \
        or decides(user, condition.item)


def signs_off(user, condition) -> bool:
    return decides(user, condition.item)


CHAIR_ROLES = frozenset({Role.BRANCH_LEADER, Role.SECRETARIAT})


def may_chair(user) -> bool:
    """A role that chairs meetings: a branch leader, or the secretariat (head of operations management)."""
    return bool(CHAIR_ROLES & set(user_roles(user)))


def chairs(user, item) -> bool:
    """The chair designated on the item's meeting — whatever their role is elsewhere (a branch leader
    is read-only on items, yet waives a review as chair)."""
    return (user.is_authenticated and item.meeting_id is not None
            and item.meeting.chair_id == user.pk)


def runs(user, meeting) -> bool:
    """The secretariat of the meeting's branch."""
    return plans_meeting(user, meeting.branch)


def chairs_meeting(user, meeting) -> bool:
    """The chair designated on the meeting (approves its minutes, whatever their role elsewhere)."""
    return user.is_authenticated and meeting.chair_id is not None and meeting.chair_id == user.pk


def reads_minutes(user, meeting) -> bool:
    """Readers of a meeting's minutes: the secretariat and the chair (drafts too); once approved, also
    branch leaders, the branch's review departments and the departments whose items are on the
    meeting. Outlets and sub-branches never: what reaches them comes through work orders."""
    if sees_everything(user):
        return True
    staff = _staff(user)
    if staff is None or not user.is_active or staff.institution.level in (Level.OUTLET, Level.SUB_BRANCH):
        return False
    if runs(user, meeting) or chairs_meeting(user, meeting):
        return True
    if not meeting.minutes_document_id:
        return False  # a draft: the secretariat and the chair only
    if Role.BRANCH_LEADER in user_roles(user) and in_scope(user, meeting.branch):
        return True
    dept = staff.department
    return dept is not None and dept.institution_id == meeting.branch_id and (
        dept.is_review or meeting.items.filter(department=dept).exists())


def minutes_issuable(user, meeting) -> bool:
    """A meeting closed before minutes were issued on closing (older records): the secretariat issues them."""
    return meeting.status == M.CLOSED and meeting.minutes_issued_at is None


def minutes_approvable(user, meeting) -> bool:
    """Issued, not yet approved, and by someone else: two people, the secretariat and the chair."""
    return (meeting.status == M.CLOSED and meeting.minutes_issued_at is not None
            and meeting.minutes_document_id is None and meeting.minutes_issued_by_id != user.pk)


def answers_feedback(user, entry) -> bool:
    """The secretariat of the meeting, or its chair, records the meeting's answer to feedback."""
    return runs(user, entry.meeting) or (user.is_authenticated and entry.meeting.chair_id == user.pk)


def records_post_review(user, entry) -> bool:
    """The secretariat of the meeting, or its chair, records a post-implementation review's outcome."""
    return runs(user, entry.meeting) or (user.is_authenticated and entry.meeting.chair_id == user.pk)


def follows_up(user, entry) -> bool:
    """The follow-up person, staff of the follow-up department, or the secretariat."""
    staff = _staff(user)
    return (entry.follow_up_person_id is not None and entry.follow_up_person_id == user.pk) or (
        staff is not None and staff.is_active and entry.follow_up_department_id is not None
        and staff.department_id == entry.follow_up_department_id) or runs(user, entry.meeting)


def plans_meeting(user, branch) -> bool:
    return user.has_perm("coordination.run_meeting") and in_scope(user, branch)


# --- the states that offer each action (the services refuse the others, saying why) ------------

def editable(item) -> bool:
    return item.status in EDITABLE and agenda_open(item)


def attachable(item) -> bool:
    return item.status in EDITABLE


# A decided item's materials change only as versioned revisions, while the decision is in force.
REVISABLE = frozenset({S.CONDITIONAL, S.APPROVED, S.RELEASED})


def revises_materials(user, item) -> bool:
    """The submitter (to meet an open condition) or the secretariat (also to correct a released item)."""
    return owns(user, item) or decides(user, item)


def materials_revisable(item) -> bool:
    return item.status in REVISABLE and item.approval_revoked_at is None


def has_open_condition(item) -> bool:
    return item.conditions.exclude(status=C.SIGNED_OFF).exists()


def submittable(item) -> bool:
    return ITEM_FLOW.can(item.status, "submit")


def withdrawable(item) -> bool:
    return ITEM_FLOW.can(item.status, "withdraw") and agenda_open(item)


def revisable(item) -> bool:
    return item.status == S.REJECTED and getattr(item, "next_revision", None) is None


def open_for_opinions(item) -> bool:
    return item.status == S.SUBMITTED and agenda_open(item)


def undecided(item) -> bool:
    return ITEM_FLOW.can(item.status, "approve")


def deferrable(item) -> bool:
    return undecided(item) and item.meeting_id is not None and item.meeting.status != M.CLOSED


def decidable(item) -> bool:
    return undecided(item) and item.meeting_id is not None and item.meeting.status in DECIDING


def waivable(item) -> bool:
    """Offered while the item can be decided, its meeting's day has come, and its review is incomplete."""
    from .queries import review_gap

    return decidable(item) and clock.today() >= item.meeting.held_on and bool(review_gap(item))


def closable(item) -> bool:
    """Open, and not being decided at a meeting right now (decide or defer it first)."""
    return ITEM_FLOW.can(item.status, "close_admin") and not (
        item.status == S.SUBMITTED and item.meeting_id is not None and item.meeting.status in DECIDING)


def releasable(item) -> bool:
    return ITEM_FLOW.can(item.status, "release") and has_valid_number(item)
