"""The queue sections of the home page: an outlet's figures for yesterday; a branch leader's trend
of the overtime-wait ratio over the last four weeks. Each links to the page the figure comes from
(figures here are measures, not counts of rows)."""

from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from branchops.core import clock, nav
from branchops.org.models import Level
from branchops.org.roles import Role, user_roles

from . import queries


def _pct(ratio) -> str:
    return "–" if ratio is None else f"{100 * ratio:.1f}%"


def _rows(user, start, end, **kwargs) -> list[dict]:
    try:
        return queries.kpi_table(user, start, end, **kwargs)
    except (OSError, ValueError):  # no roll-ups yet for the period: nothing to show
        return []


def outlet_yesterday_section(user) -> dict | None:
    staff = getattr(user, "staff", None)
    if (staff is None or staff.institution.level != Level.OUTLET
            or not user.has_perm("queueing.view_ticketimport")):
        return None
    outlet = staff.institution
    day = clock.today() - timedelta(days=1)
    url = reverse("queueing:outlet", kwargs={"code": outlet.code}) + "?" + urlencode(
        {"start": day.isoformat(), "end": day.isoformat()})
    rows = _rows(user, day, day, level="outlet", within=outlet)
    title = _("My outlet's queue yesterday (%(date)s)") % {"date": date_format(day, "SHORT_DATE_FORMAT")}
    if not rows:
        return {"title": title, "figures": [], "items": [], "count": None, "url": url,
                "empty_message": _("No ticket data for yesterday yet.")}
    k = rows[0]
    figures = [nav.figure(_("customers"), None, url, value=str(k.get("arrivals") or 0)),
               nav.figure(_("overtime-wait ratio"), None, url, value=_pct(k.get("overtime_ratio")),
                          tone="danger" if (k.get("overtime_ratio") or 0) > 0.2 else ""),
               nav.figure(_("abandoned"), None, url, value=_pct(k.get("abandon_rate")))]
    return {"title": title, "figures": figures, "items": [], "count": None, "url": url, "empty_message": ""}


def branch_trend_section(user) -> dict | None:
    """The overtime-wait ratio of the leader's branch, week by week over the last four weeks."""
    if Role.BRANCH_LEADER not in user_roles(user) or not user.has_perm("queueing.view_ticketimport"):
        return None
    end = clock.today() - timedelta(days=1)
    start = end - timedelta(days=27)
    url = reverse("queueing:dashboard") + "?" + urlencode({"start": start.isoformat(), "end": end.isoformat()})
    rows = _rows(user, start, end, level="branch", grain="week")
    figures = [nav.figure(_("week of %(date)s") % {"date": date_format(r["period_start"], "SHORT_DATE_FORMAT")},
                          None, url, value=_pct(r.get("overtime_ratio"))) for r in rows if r.get("period_start")]
    return {"title": _("Overtime-wait ratio, last four weeks"), "figures": figures, "items": [], "count": None,
            "url": url, "empty_message": _("No ticket data for the last four weeks yet.")}
