"""Who may act on grading runs, and which states allow what (DESIGN.md §2).

The secretariat of a branch (or above it) runs, adjusts, reviews and publishes the branch's runs;
``RUN_FLOW`` is the only way a service moves a run. Everyone reads within their scope: an outlet sees
its own row of a published run, a sub-branch its outlets, the branch all (``queries``).
"""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Transitions
from branchops.org.scope import in_scope

from .models import GradingRun, Inspection

S = GradingRun.Status

_REFUSALS = {
    "refresh": _("Only a draft run gathers its inputs again."),
    "adjust": _("Only a draft run can be adjusted; return it to draft first."),
    "review": _("Only a draft run can be reviewed."),
    "return": _("Only a reviewed run goes back to draft."),
    "publish": _("Only a reviewed run can be published."),
}

RUN_FLOW = Transitions({
    "refresh": ([S.DRAFT], S.DRAFT),
    "adjust": ([S.DRAFT], S.DRAFT),
    "review": ([S.DRAFT], S.REVIEWED),
    "return": ([S.REVIEWED], S.DRAFT),
    "publish": ([S.REVIEWED], S.PUBLISHED),
}, refusal=lambda run, action: str(_REFUSALS[action]))


def opens_runs(user) -> bool:
    """The role opens grading runs at all (which branch: ``runs_grading``). Asked before the branch is
    looked up, so a role that may not answers 403, not a refusal about the branch field."""
    return user.has_perm("service.add_gradingrun")


def runs_grading(user, branch) -> bool:
    """The secretariat of the branch (or above it) runs its grading."""
    return user.has_perm("service.change_gradingrun") and in_scope(user, branch)


def manages_run(user, run) -> bool:
    return runs_grading(user, run.branch)


def edits_schemes(user, scheme=None) -> bool:
    return user.has_perm("service.change_gradingscheme")


# --- inspections ---------------------------------------------------------------------------------
# An inspection is scheduled, then filled and submitted by its supervisor (INSPECTION_FLOW); a failed
# item is a finding, open until a re-inspection passes it. The action tables (``actions``) offer what
# these predicates allow; the services check them again.

IS = Inspection.Status

INSPECTION_FLOW = Transitions({
    "photo": ([IS.SCHEDULED], IS.SCHEDULED),
    "submit": ([IS.SCHEDULED], IS.SUBMITTED),
}, refusal=lambda inspection, action: str(_("This inspection was already submitted.")))


def schedules_inspections(user, outlet=None) -> bool:
    """The secretariat schedules inspections of the outlets in its scope."""
    return user.has_perm("service.add_inspection") and (outlet is None or in_scope(user, outlet))


def assigned(user, inspection) -> bool:
    """The supervisor the inspection is assigned to (whatever its state)."""
    return user.has_perm("service.change_inspection") and inspection.supervisor_id == user.pk


def fills_inspection(user, inspection) -> bool:
    """Only the supervisor it is assigned to fills an inspection, while it is scheduled."""
    return assigned(user, inspection) and INSPECTION_FLOW.can(inspection.status, "submit")


def finding_open(finding) -> bool:
    return finding.closed_at is None


def reinspectable(finding) -> bool:
    """Open, with no re-inspection already waiting."""
    return finding_open(finding) and not finding.reinspections.filter(status=IS.SCHEDULED).exists()


def deadline_movable(finding) -> bool:
    """Open, and its rectification case still open (a resolved or closed one keeps its deadline)."""
    from branchops.cases.models import OPEN_STATUSES

    case = finding.rectification
    return finding_open(finding) and case is not None and case.status in OPEN_STATUSES


def reinspects(user, finding) -> bool:
    """The secretariat over the outlet schedules a re-inspection."""
    return schedules_inspections(user, finding.inspection.outlet)


def sets_deadline(user, finding) -> bool:
    """限期整改: the secretariat over the outlet, or the supervisor who found it, moves the deadline."""
    return reinspects(user, finding) or assigned(user, finding.inspection)


def edits_checklists(user, template=None) -> bool:
    return user.has_perm("service.change_checklisttemplate")


# --- imported inputs and targets ---------------------------------------------------------------------

def imports_inputs(user, branch=None) -> bool:
    """The secretariat (or an administrator) imports ratings, surveys and call-centre figures for a branch
    in its scope."""
    return user.has_perm("service.add_inputimport") and (branch is None or in_scope(user, branch))


def sets_targets(user, branch=None) -> bool:
    """The secretariat sets its branch's service targets."""
    return user.has_perm("service.change_servicetarget") and (branch is None or in_scope(user, branch))


# --- public phones (公示电话专项治理) -------------------------------------------------------------------
# The secretariat keeps the directory and runs the check campaigns of its scope; an outlet head keeps
# its own outlet's entries; callers (service supervisors, the secretariat) record the calls of a campaign
# in their scope while it is open; a correction is fixed by its outlet's head or the secretariat over it.

def edits_phones(user, outlet=None) -> bool:
    return user.has_perm("service.change_phoneentry") and (outlet is None or in_scope(user, outlet))


def runs_phone_checks(user, scope=None) -> bool:
    return user.has_perm("service.add_phonecampaign") and (scope is None or in_scope(user, scope))


def calls_phones(user, call) -> bool:
    """A caller whose scope holds the called outlet."""
    return user.has_perm("service.change_phonecall") and in_scope(user, call.entry.outlet)


def call_recordable(call) -> bool:
    """The campaign is open and the call has not become a correction (a wrong number stays wrong)."""
    from .phonebook import CallResult, PhoneCampaign

    return call.campaign.status == PhoneCampaign.Status.OPEN and call.result != CallResult.WRONG


def fixes_phone(user, correction) -> bool:
    return user.has_perm("service.change_phonecorrection") and in_scope(user, correction.entry.outlet)


def correction_open(correction) -> bool:
    return correction.closed_at is None


# --- outlet routines -------------------------------------------------------------------------------
# The secretariat plans the routines of the outlets in its scope; the outlet (head or staff) does its
# own checks while they are due (a done check stays done: the next one is scheduled).

def plans_routines(user, scope=None) -> bool:
    return user.has_perm("service.add_routineplan") and (scope is None or in_scope(user, scope))


def does_routine(user, check) -> bool:
    return user.has_perm("service.change_routinecheck") and in_scope(user, check.outlet)


def routine_due(check) -> bool:
    from .routinebook import RoutineCheck

    return check.status == RoutineCheck.Status.DUE
# --- the quarterly briefing ----------------------------------------------------------------------------
# Draft (the secretariat's working paper) → issued (figures frozen) → approved by someone else (stored
# once in core's store of issued documents). An issued briefing may go back to draft with a reason.

from .briefing_models import Briefing  # noqa: E402

BS = Briefing.Status

_BRIEFING_REFUSALS = {
    "edit": _("Only a draft briefing can be changed; return it to draft first."),
    "issue": _("Only a draft briefing can be issued."),
    "return": _("Only an issued briefing goes back to draft."),
    "approve": _("Only an issued briefing can be approved."),
}

BRIEFING_FLOW = Transitions({
    "edit": ([BS.DRAFT], BS.DRAFT),
    "issue": ([BS.DRAFT], BS.ISSUED),
    "return": ([BS.ISSUED], BS.DRAFT),
    "approve": ([BS.ISSUED], BS.APPROVED),
}, refusal=lambda briefing, action: str(_BRIEFING_REFUSALS[action]))


def drafts_briefings(user, branch=None) -> bool:
    """The secretariat of the branch (or above it) drafts and issues its briefings."""
    return user.has_perm("service.change_briefing") and (branch is None or in_scope(user, branch))


def manages_briefing(user, briefing) -> bool:
    return drafts_briefings(user, briefing.branch)


def may_approve(user, briefing) -> bool:
    """A branch leader of the branch, or the department head holding the permission."""
    return user.has_perm("service.approve_briefing") and in_scope(user, briefing.branch)


def approves_briefing(user, briefing) -> bool:
    """Four eyes: whoever issued the briefing does not approve it."""
    return may_approve(user, briefing) and briefing.issued_by_id != user.pk


def returns_briefing(user, briefing) -> bool:
    return manages_briefing(user, briefing) or approves_briefing(user, briefing)


def reads_briefing(user, briefing) -> bool:
    """Drafts: the secretariat; issued: also its approvers; approved: every reader of the branch."""
    if manages_briefing(user, briefing):
        return True
    if briefing.status == BS.DRAFT:
        return False
    if may_approve(user, briefing):
        return True
    return (briefing.status == BS.APPROVED and user.has_perm("service.view_briefing")
            and in_scope(user, briefing.branch))
