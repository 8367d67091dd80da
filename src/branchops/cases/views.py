"""The case pages: queues, opening a case, the case page with its actions, downloads, dashboard.

Thin: parse, call one service or query, render. Every write goes through ``services``; every read
of one case through ``queries.access_case`` (404 for "not there" and "not yours" alike).
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.dates import MONTHS_AP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.http import client_ip
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list
from branchops.org.scope import visible_institutions

from . import forms, masking, queries, rules, services, sla
from .actions import ACTIONS, lookup, perform
from .models import CaseType, Priority, Status

QUEUE_LABELS = {
    "mine": gettext_lazy("Assigned to me"),
    "team": gettext_lazy("My team's"),
    "first_contact": gettext_lazy("First contact is me"),
    "overdue": gettext_lazy("Overdue"),
    "to_verify": gettext_lazy("Rectifications to verify"),
    "open": gettext_lazy("All open"),
    "all": gettext_lazy("All"),
}
QUEUE_EMPTY = {
    "mine": gettext_lazy("No open case is assigned to you."),
    "team": gettext_lazy("Your team has no open cases."),
    "first_contact": gettext_lazy("You have not received any case yet."),
    "overdue": gettext_lazy("No case is overdue. Well done."),
    "to_verify": gettext_lazy("No rectification is waiting for verification."),
    "open": gettext_lazy("There are no open cases."),
    "all": gettext_lazy("There are no cases yet."),
}
TYPE_ICONS = {CaseType.COMPLAINT: "megaphone", CaseType.FEEDBACK: "chat-left-text",
              CaseType.SUPPORT: "tools", CaseType.RECTIFICATION: "clipboard-check"}


def _int(value):
    return limits.whole_number(value)


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _error_text(exc: ValidationError, form=None) -> str:
    """One line for a message: each error, prefixed with its field's label where it has one."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for field, errors in exc.message_dict.items():
        label = form.fields[field].label if form is not None and field in form.fields else None
        parts += [f"{label}: {e}" if label else e for e in errors]
    return " ".join(parts)


# --- queues --------------------------------------------------------------------------------------

def _list_filters(request) -> dict:
    major = request.GET.get("major", "")
    queue = request.GET.get("queue", "open")
    return {
        "queue": queue if queue in QUEUE_LABELS else "open",
        "q": request.GET.get("q", "").strip(),
        "case_type": request.GET.get("case_type", "") if request.GET.get("case_type") in CaseType.values else "",
        "status": request.GET.get("status", "") if request.GET.get("status") in Status.values else "",
        "priority": request.GET.get("priority", "") if request.GET.get("priority") in Priority.values else "",
        "major": {"1": True, "0": False}.get(major),
        "institution": _int(request.GET.get("institution")),
        "received_from": _date(request.GET.get("received_from")),
        "received_to": _date(request.GET.get("received_to")),
    }


def _date(value) -> date | None:
    return limits.day(value)


def _export_cases(qs):
    yes, no = _("Yes"), _("No")
    headers = [_("Number"), _("Type"), _("Category"), _("Title"), _("Outlet / institution"), _("Source channel"),
               _("Status"), _("Priority"), _("Major complaint"), _("Assignee"), _("Assigned department"),
               _("First-contact owner"), _("Received at"), _("Response due"), _("Resolution due"),
               _("Decision due"), _("Resolved at"), _("Outcome"), _("Escalation level")]

    def name(user):
        return (user.staff.name if getattr(user, "staff", None) else user.get_username()) if user else ""

    # Complainants' personal data is never exported, masked or not.
    rows = ([c.number, c.get_case_type_display(), str(c.category or ""), c.title, c.institution.name,
             c.get_channel_display(), c.get_status_display(), c.get_priority_display(), yes if c.is_major else no,
             name(c.assignee), str(c.assignee_department or ""), name(c.first_contact_owner), c.received_at,
             c.response_due, c.resolution_due, c.decision_due, c.resolved_at, c.get_outcome_display(),
             c.escalation_level] for c in qs.iterator(chunk_size=2000))
    return export_list("cases.xlsx", _("Cases"), headers, rows)


def _institution_choices(user) -> list[tuple[int, str]]:
    """The institutions of the user's scope for the filter, indented under their parents."""
    rows = list(visible_institutions(user).filter(is_active=True).order_by("path").values_list("pk", "name", "depth"))
    top = min((d for _pk, _name, d in rows), default=0)
    return [(pk, f"{forms.INDENT * (depth - top)}{name}") for pk, name, depth in rows]


@login_required
@permission_required("cases.view_case", raise_exception=True)
def case_list(request):
    filters = _list_filters(request)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("cases.export_case"):
            raise PermissionDenied
        return _export_cases(queries.case_list(request.user, **filters))
    page = paginate(request, queries.case_listing(request.user, **filters))
    today = clock.today()
    for case in page:
        case.sla = queries.sla_state(case, case.resolution_due, today) if case.is_open else None
    return render(request, "cases/list.html", {
        "page": page, "filters": filters,
        "queues": [(k, v) for k, v in QUEUE_LABELS.items()
                   if k != "to_verify" or request.user.has_perm("cases.verify_rectification")],
        "empty_message": QUEUE_EMPTY[filters["queue"]],
        "case_types": CaseType.choices, "statuses": Status.choices, "priorities": Priority.choices,
        "institutions": _institution_choices(request.user),
        "filtered": any(filters[k] not in (None, "") for k in filters if k != "queue"),
    })


# --- opening -------------------------------------------------------------------------------------

@login_required
@permission_required("cases.add_case", raise_exception=True)
def case_new(request):
    case_type = request.GET.get("type", "")
    if case_type not in forms.OPEN_FORMS:
        allowed = rules.opening_types(request.user)
        return render(request, "cases/new.html", {"types": [(t, label, TYPE_ICONS[t]) for t, label in
                                                            CaseType.choices if t in allowed]})
    services.require_opening(request.user, case_type)
    form = forms.OPEN_FORMS[case_type](request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.open_case(request.user, **form.open_kwargs())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect(case)
    return render(request, "cases/new.html", {
        "form": form, "case_type": case_type, "type_label": CaseType(case_type).label,
        "icon": TYPE_ICONS[case_type],
    })


# --- the case page -------------------------------------------------------------------------------

# Actions the page draws in their own places (under the comments, the files, the extensions), not
# among the buttons of the actions card.
OWN_PLACES = {"comment", "attach", "decide_extension"}


def available_actions(user, case, can: dict | None = None) -> list[dict]:
    """The buttons of the actions card: each action of ``actions.ACTIONS`` its predicate allows now,
    with its (unbound) form. The services check every rule again."""
    can = ACTIONS.can(user, case) if can is None else can
    out = []
    for action in ACTIONS:
        if action.name in OWN_PLACES or not can[action.name]:
            continue
        form = action.form(case=case, user=user, auto_id=f"{action.name}-%s")
        out.append({"name": action.name, "label": action.label, "icon": action.icon, "style": action.style,
                    "confirm": action.confirm, "form": form, "simple": all(f.is_hidden for f in form)})
    return out


def _complainant(request, case, complaint) -> tuple[dict | None, bool]:
    """The complainant as the user may see them (unmasked on ?reveal=1, logged), and whether they may."""
    if complaint is None:
        return None, False
    can_reveal = rules.can_see_pii(request.user, case)
    reveal = can_reveal and request.GET.get("reveal") == "1"
    if reveal:
        services.log_pii_access(request.user, case, "page", client_ip(request) or None)
    return masking.complainant(complaint, reveal), can_reveal


def _response_sla(case, today: date) -> dict | None:
    """The response deadline: met or breached once responded, else how it stands while open."""
    responded_on = timezone.localtime(case.responded_at).date() if case.responded_at else None
    if responded_on and case.response_due:
        return {"state": sla.MET if responded_on <= case.response_due else sla.BREACHED, "done": True}
    return queries.sla_state(case, case.response_due, today) if case.is_open else None


def _sla_marks(case, complaint) -> dict:
    today = clock.today()
    return {
        "response": _response_sla(case, today),
        "resolution": queries.sla_state(case, case.resolution_due, today),
        "decision": queries.sla_state(case, case.decision_due, today) if complaint is not None else None,
    }


def _decide_form(user, case, can: dict, pending):
    if not can["decide_extension"]:
        return None
    return forms.DecideExtensionForm(case=case, user=user, auto_id="decide-%s",
                                     initial={"version": case.version, "extension": pending.pk})


@login_required
def case_detail(request, pk):
    case = queries.access_case(request.user, pk)
    complaint = getattr(case, "complaint", None) if case.case_type == CaseType.COMPLAINT else None
    rectification = getattr(case, "rectification", None) if case.case_type == CaseType.RECTIFICATION else None
    complainant, can_reveal = _complainant(request, case, complaint)
    extensions = list(case.extensions.select_related("requested_by__staff", "decided_by__staff"))
    can = ACTIONS.can(request.user, case)
    response = render(request, "cases/detail.html", {
        "case": case, "complaint": complaint, "rectification": rectification,
        "complainant": complainant, "can_reveal": can_reveal, "sla": _sla_marks(case, complaint),
        "comments": case.comments.select_related("author__staff"),
        "attachments": case.attachments.select_related("uploaded_by__staff"),
        "links": case.links.select_related("target_case", "content_type"),
        "pauses": case.pauses.all(),
        "extensions": extensions,
        "escalations": [{"level": e.level, "target": services.ESCALATION_TARGETS.get(e.target, e.target),
                         "at": e.escalated_at} for e in case.escalations.all()],
        "clock_restarted": case.clock_start != timezone.localtime(case.received_at).date(),
        "close_blocker": rules.close_blocker(case) if case.status == Status.RESOLVED else "",
        "timeline": timeline(case),
        "can": can,
        "actions": available_actions(request.user, case, can),
        "decide_form": _decide_form(request.user, case, can, rules.pending_extension(case)),
        "comment_form": forms.CommentForm(case=case, user=request.user, auto_id="comment-%s"),
        "accept_types": ",".join(sorted(services.ATTACHMENT_TYPES)),
    })
    if complainant is not None and not complainant["masked"]:
        patch_cache_control(response, private=True, no_store=True)  # unmasked personal data: never cached
    return response


@login_required
def case_action(request, pk, action):
    if request.method != "POST":
        return redirect("cases:detail", pk=pk)
    case = queries.access_case(request.user, pk)
    act = lookup(action)
    form = act.form(request.POST, request.FILES, case=case, user=request.user)
    if not form.is_valid():
        messages.error(request, _error_text(ValidationError(form.errors.as_data()), form))
        return redirect(case)
    try:
        perform(request.user, case, act, form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, act.done)
    return redirect(case)


@login_required
def attachment_download(request, pk, att_pk):
    case = queries.access_case(request.user, pk)
    att = get_object_or_404(case.attachments, pk=att_pk)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=att.name)


# --- dashboard -----------------------------------------------------------------------------------

def _export_outlet_months(rows, year: int):
    headers = [_("Code"), _("Outlet / institution")] + [str(MONTHS_AP[m]) for m in range(1, 13)] + [_("Total")]
    data = ([r["code"], r["name"], *r["months"], r["total"]] for r in rows)
    return export_list(f"complaints-per-outlet-{year}.xlsx", _("Complaints per outlet"), headers, data)


def _year(request) -> int:
    """?year=, within 2000–2100; the current year otherwise."""
    year = _int(request.GET.get("year"))
    return year if year is not None and limits.year_in_range(year) else clock.today().year


def _dashboard_charts(figures: dict, top: list[dict], months: list[str]) -> dict:
    """The ECharts data: backlog by type, cases by status, and the heat-map of the top outlets."""
    return {
        "backlog": {"labels": [t["label"] for t in figures["by_type"]],
                    "open": [t["open"] for t in figures["by_type"]],
                    "overdue": [t["overdue"] for t in figures["by_type"]],
                    "series": [_("Open"), _("Overdue")]},
        "status": [{"name": figures["statuses"][s], "value": figures["by_status"][s], "status": s}
                   for s in Status.values if figures["by_status"].get(s)],
        "outlets": {"months": months, "outlets": [r["name"] for r in reversed(top)],
                    "cells": [[m, i, r["months"][m]] for i, r in enumerate(reversed(top)) for m in range(12)],
                    "max": max((max(r["months"]) for r in top), default=0)},
    }


@login_required
@permission_required("cases.view_case", raise_exception=True)
def dashboard(request):
    year = _year(request)
    per_outlet = queries.complaints_per_outlet_month(request.user, year)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("cases.export_case"):
            raise PermissionDenied
        return _export_outlet_months(per_outlet, year)
    figures = queries.sla_figures(request.user)
    top = per_outlet[:15]
    months = [str(MONTHS_AP[m]) for m in range(1, 13)]
    compliance = figures["compliance"]
    return render(request, "cases/dashboard.html", {
        "figures": figures, "charts": _dashboard_charts(figures, top, months), "per_outlet": per_outlet,
        "months": months, "year": year,
        "compliance_pct": round(compliance * 100, 1) if compliance is not None else None,
        "complaints_total": sum(r["total"] for r in per_outlet), "chart_height": 130 + 32 * len(top),
        "years": range(clock.today().year, clock.today().year - 5, -1),
    })
