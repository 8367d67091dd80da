"""The dispatch section of the home page: the open work orders of one's outlet (or sub-branch's
outlets), soonest due first — the work a released item asks of them; for a branch leader, how many
are open and overdue."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from branchops.core import clock, nav
from branchops.org.models import Level
from branchops.org.roles import Role, user_roles

from . import queries


def _url(**params) -> str:
    return reverse("dispatch:work_orders") + "?" + urlencode(params)


def _figures(user, today) -> list[dict]:
    visible = queries.visible_work_orders(user)
    return [nav.figure(_("open work orders"), queries.with_status(visible, "open").count(), _url(status="open")),
            nav.figure(_("work orders overdue"), visible.filter(queries.overdue_q(today)).count(),
                       _url(status="open", overdue=1), tone="danger")]


def work_orders_section(user) -> dict | None:
    staff = getattr(user, "staff", None)
    if not user.has_perm("dispatch.view_workorder") or staff is None:
        return None
    today = clock.today()
    if staff.institution.level in (Level.OUTLET, Level.SUB_BRANCH):
        qs = queries.with_status(queries.visible_work_orders(user), "open").select_related(
            "item", "institution").order_by(*queries.WORK_ORDER_ORDER)
        items = [nav.entry(f"{wo.item.title} · {wo.institution.name}", wo.get_absolute_url(),
                           _("due %(date)s") % {"date": date_format(wo.due_date, "SHORT_DATE_FORMAT")},
                           overdue=queries.is_overdue(wo, today)) for wo in qs[:8]]
        return {"title": _("Open work orders, soonest due first"), "figures": _figures(user, today), "items": items,
                "count": None, "url": _url(status="open"),
                "empty_message": _("No work order is open for your outlet.")}
    if Role.BRANCH_LEADER in user_roles(user) or user.has_perm("coordination.run_meeting"):
        return {"title": _("Work orders at the outlets"), "figures": _figures(user, today), "items": [],
                "count": None, "url": _url(status="open"), "empty_message": ""}
    return None
