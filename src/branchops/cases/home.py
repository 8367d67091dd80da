"""The cases sections of the home page beside "my open cases" (``queries.my_work_section``): the
rectifications a supervisor verifies, and the overdue and complaint figures of a leader's overview."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core import nav
from branchops.org.roles import Role, user_roles

from . import queries


def _url(**params) -> str:
    return reverse("cases:list") + "?" + urlencode(params)


def to_verify_section(user) -> dict | None:
    """Rectifications resolved with evidence and waiting for the supervisor's verification."""
    if not user.has_perm("cases.verify_rectification"):
        return None
    qs = queries.case_list(user, queue="to_verify")
    items = [nav.entry(f"{c.number} {c.title}", c.get_absolute_url(), c.institution.name) for c in qs[:8]]
    return {"title": _("Rectifications to verify"), "items": items, "count": qs.count(),
            "url": _url(queue="to_verify"), "empty_message": _("No rectification is waiting for verification.")}


def overview_section(user) -> dict | None:
    """A branch leader's cases at a glance: open, overdue, complaints open."""
    if Role.BRANCH_LEADER not in user_roles(user) or not user.has_perm("cases.view_case"):
        return None
    figures = [
        nav.figure(_("open cases"), queries.case_list(user, queue="open").count(), _url(queue="open")),
        nav.figure(_("cases overdue"), queries.case_list(user, queue="overdue").count(), _url(queue="overdue"),
                   tone="danger"),
        nav.figure(_("complaints open"), queries.case_list(user, queue="open", case_type="complaint").count(),
                   _url(queue="open", case_type="complaint")),
        nav.figure(_("major complaints open"),
                   queries.case_list(user, queue="open", case_type="complaint", major=True).count(),
                   _url(queue="open", case_type="complaint", major=1), tone="danger"),
    ]
    return {"title": _("Cases and complaints"), "figures": figures, "items": [], "count": None,
            "url": _url(queue="open"), "empty_message": ""}
