"""Who may see and act on whose workforce record (DESIGN.md §2). Personal data of staff goes only to
those who manage them: an outlet head their outlet, a sub-branch its outlets, the branch all (scope);
a person sees their own. Nobody certifies, grants or converts themselves (four eyes)."""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Transitions
from branchops.org.scope import in_scope

from .models import Mentorship

M = Mentorship.Status

MENTORSHIP_FLOW = Transitions({
    "practice": ([M.MENTORING], M.MENTORING),
    "exam": ([M.MENTORING], M.MENTORING),
    "assess": ([M.MENTORING], M.MENTORING),
    "convert": ([M.MENTORING], M.CONVERTED),
    "cancel": ([M.MENTORING], M.CANCELLED),
}, refusal=lambda m, action: str(_("This mentorship is closed.")))


def sees_people(user) -> bool:
    return user.has_perm("workforce.view_people")


def sees_person(user, staff) -> bool:
    if user.has_perm("workforce.view_people") and in_scope(user, staff.institution):
        return True
    return user.has_perm("workforce.view_own") and staff.user_id == user.pk


def manages_people(user) -> bool:
    return user.has_perm("workforce.manage_people")


def manages_person(user, staff) -> bool:
    return (user.has_perm("workforce.manage_people") and in_scope(user, staff.institution)
            and staff.user_id != user.pk)


def manages_certificate(user, certificate) -> bool:
    return manages_person(user, certificate.staff)


def manages_mentorship(user, mentorship) -> bool:
    return manages_person(user, mentorship.staff)


def keeps_lists(user, obj=None) -> bool:
    return user.has_perm("workforce.change_certificatetype")
