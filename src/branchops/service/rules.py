"""Who may act on grading runs, and which states allow what (DESIGN.md §2).

The secretariat of a branch (or above it) runs, adjusts, reviews and publishes the branch's runs;
``RUN_FLOW`` is the only way a service moves a run. Everyone reads within their scope: an outlet sees
its own row of a published run, a sub-branch its outlets, the branch all (``queries``).
"""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Transitions
from branchops.org.scope import in_scope

from .models import GradingRun

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

def schedules_inspections(user, outlet=None) -> bool:
    """The secretariat schedules inspections of the outlets in its scope."""
    return user.has_perm("service.add_inspection") and (outlet is None or in_scope(user, outlet))


def fills_inspection(user, inspection) -> bool:
    """Only the supervisor it is assigned to fills an inspection, while it is scheduled."""
    return (user.has_perm("service.change_inspection") and inspection.supervisor_id == user.pk
            and inspection.status == inspection.Status.SCHEDULED)


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
