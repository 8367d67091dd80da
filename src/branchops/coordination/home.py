"""The coordination sections of the home page ("我的工作"), built from ``queries``: a submitter's
items and conditions, a reviewer's opinions owed, the secretariat's next meeting and follow-up, a
branch leader's overview. Each number links to the list that shows exactly those rows."""

from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from branchops.cases import queries as case_queries
from branchops.core import clock, nav
from branchops.org.roles import Role, user_roles

from . import queries
from .models import Decision, ItemStatus, Meeting

RUNS_MEETINGS = "coordination.run_meeting"


def _url(name: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return reverse(name) + (f"?{urlencode(params)}" if params else "")


def _department_id(user) -> int | None:
    staff = getattr(user, "staff", None)
    return staff.department_id if staff is not None else None


def _meeting_label(meeting: Meeting) -> str:
    return _("Meeting %(number)s/%(year)s on %(date)s") % {
        "number": meeting.sequence, "year": meeting.year, "date": date_format(meeting.held_on, "SHORT_DATE_FORMAT")}


def submitter_section(user) -> dict | None:
    """My department's items by state, soonest meeting first, and the conditions it owns."""
    dept = _department_id(user)
    if not user.has_perm("coordination.submit_item") or user.has_perm(RUNS_MEETINGS) or dept is None:
        return None
    # One grouped count: the register's rows of the department, status by status.
    by_status = dict(queries.visible_items(user).filter(department_id=dept).order_by()
                     .values_list("status").annotate(n=Count("pk")))
    figures = [nav.figure(label, by_status[value], _url("coordination:register", department=dept, status=value))
               for value, label in ItemStatus.choices if by_status.get(value)]
    pending = queries.condition_list(user, owner=dept).count()
    figures.append(nav.figure(_("conditions my department owns"), pending, _url("coordination:conditions", owner=dept)))
    overdue = queries.condition_list(user, owner=dept, overdue=True).count()
    if overdue:
        figures.append(nav.figure(_("of them overdue"), overdue,
                                  _url("coordination:conditions", owner=dept, overdue=1), tone="danger"))
    in_hand = queries.register(user, department=dept, state="open")
    items = [nav.entry(f"{i.number} {i.title}", i.get_absolute_url(),
                       f"{i.get_status_display()} · {_meeting_label(i.meeting)}" if i.meeting else i.get_status_display())
             for i in in_hand.select_related("meeting")[:8]]
    return {"title": _("My department's items"), "figures": figures, "items": items,
            "count": in_hand.count(), "url": _url("coordination:register", department=dept, state="open"),
            "empty_message": _("Your department has no item in hand.")}


def reviewer_section(user) -> dict | None:
    """The opinions the reviewer's department owes, soonest agenda cut-off first."""
    if not user.has_perm("coordination.review_item") or user.has_perm(RUNS_MEETINGS):
        return None
    owed = queries.awaiting_opinion(user)
    now = clock.now()
    items = [nav.entry(f"{o.item.number} {o.item.title}", o.item.get_absolute_url(),
                       _("cut-off %(when)s") % {"when": date_format(localtime(o.item.meeting.cutoff_at),
                                                                     "SHORT_DATETIME_FORMAT")},
                       overdue=o.item.meeting.cutoff_at < now) for o in owed[:8]]
    return {"title": _("Items waiting for my opinion"), "items": items, "count": len(owed),
            "url": reverse("coordination:reviews"), "empty_message": _("No item is waiting for your opinion.")}


def _next_meeting_section(user) -> dict:
    today = clock.today()
    meeting = (queries.meetings(user).filter(held_on__gte=today, status__in=[Meeting.Status.PLANNED,
                                                                             Meeting.Status.FROZEN])
               .order_by("held_on", "pk").first())
    if meeting is None:
        return {"title": _("Next meeting"), "items": [], "url": reverse("coordination:meetings"), "count": None,
                "empty_message": _("No meeting is planned. Plan the next one on the meetings page.")}
    agenda = queries.register(user, meeting=meeting.pk).count()
    owed = len(queries.owed_opinions(item__meeting=meeting))
    q = queries.quorum(meeting)
    total = len(q["present"]) + len(q["absent"])
    note = _("%(status)s · cut-off %(cutoff)s · quorum: %(needed)s of %(total)s review departments%(chair)s") % {
        "status": meeting.status_label,
        "cutoff": date_format(localtime(meeting.cutoff_at), "SHORT_DATETIME_FORMAT"),
        "needed": q["needed"], "total": total, "chair": _(" and the chair") if q["chair_required"] else ""}
    figures = [nav.figure(_("items on the agenda"), agenda, _url("coordination:register", meeting=meeting.pk)),
               # The opinions owed are shown item by item on the meeting's page (not a list of rows).
               nav.figure(_("opinions still missing"), None, meeting.get_absolute_url(), value=str(owed),
                          tone="warning" if owed else "")]
    return {"title": _meeting_label(meeting), "figures": figures, "note": note, "items": [], "count": None,
            "url": meeting.get_absolute_url(), "empty_message": ""}


def secretariat_section(user) -> dict | None:
    """The next meeting, then what the secretariat follows up: overdue conditions, feedback to triage."""
    if not user.has_perm(RUNS_MEETINGS):
        return None
    return _next_meeting_section(user)


def follow_up_section(user) -> dict | None:
    if not user.has_perm(RUNS_MEETINGS):
        return None
    overdue = queries.condition_list(user, overdue=True)
    figures = [nav.figure(_("conditions overdue"), overdue.count(), _url("coordination:conditions", overdue=1),
                          tone="danger"),
               nav.figure(_("conditions not signed off"), queries.condition_list(user).count(),
                          reverse("coordination:conditions"))]
    if user.has_perm("cases.triage_feedback"):
        feedback = case_queries.case_list(user, queue="open", case_type="feedback", status="new").count()
        figures.append(nav.figure(_("outlet feedback to triage"), feedback,
                                  _url("cases:list", queue="open", case_type="feedback", status="new")))
    items = [nav.entry(f"{c.item.number} · {c.text}", c.item.get_absolute_url(),
                       _("%(department)s, due %(date)s") % {"department": c.owner_department.name,
                                                            "date": date_format(c.due_date, "SHORT_DATE_FORMAT")},
                       overdue=True) for c in overdue[:5]]
    return {"title": _("Follow-up"), "figures": figures, "items": items, "count": None, "url": "",
            "empty_message": ""}


def unheld_meetings_section(user) -> dict | None:
    """Meetings whose day has passed and that were not held: hold them now, or move their items to
    the next meeting. Nothing when there are none."""
    if not user.has_perm(RUNS_MEETINGS):
        return None
    qs = queries.unheld_meetings(user)
    count = qs.count()
    if not count:
        return None
    items = [nav.entry(_meeting_label(m), m.get_absolute_url(), m.status_label, overdue=True) for m in qs[:8]]
    return {"title": _("Past meetings not held: hold them now or move their items to the next meeting"),
            "items": items, "count": count, "url": _url("coordination:meetings", unheld=1), "empty_message": ""}


def leader_section(user) -> dict | None:
    """A branch leader's overview of the register this year."""
    if Role.BRANCH_LEADER not in user_roles(user) or not user.has_perm("coordination.export_register"):
        return None
    since = clock.today().replace(month=1, day=1)
    figures = [nav.figure(_("items in hand"), queries.register(user, state="open").count(),
                          _url("coordination:register", state="open"))]
    by_decision = dict(queries.visible_items(user).filter(submitted_at__date__gte=since).exclude(decision="")
                       .order_by().values_list("decision").annotate(n=Count("pk")))
    figures += [nav.figure(label, by_decision.get(value, 0),
                           _url("coordination:register", decision=value, since=since.isoformat()))
                for value, label in Decision.choices]
    figures.append(nav.figure(_("conditions overdue"), queries.condition_list(user, overdue=True).count(),
                              _url("coordination:conditions", overdue=1), tone="danger"))
    return {"title": _("Branch overview: items submitted this year"), "figures": figures, "items": [], "count": None,
            "url": reverse("coordination:register"), "empty_message": ""}
