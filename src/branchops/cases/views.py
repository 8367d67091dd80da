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
from django.utils.dateparse import parse_date
from django.utils.dates import MONTHS_AP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list
from branchops.org.scope import in_scope, visible_institutions

from . import forms, masking, queries, services, sla
from .models import OPEN_STATUSES, CaseType, Extension, Outcome, Priority, Status

QUEUE_LABELS = {
    "mine": gettext_lazy("Assigned to me"),
    "team": gettext_lazy("My team's"),
    "first_contact": gettext_lazy("First contact is me"),
    "overdue": gettext_lazy("Overdue"),
    "open": gettext_lazy("All open"),
    "all": gettext_lazy("All"),
}
QUEUE_EMPTY = {
    "mine": gettext_lazy("No open case is assigned to you."),
    "team": gettext_lazy("Your team has no open cases."),
    "first_contact": gettext_lazy("You have not received any case yet."),
    "overdue": gettext_lazy("No case is overdue. Well done."),
    "open": gettext_lazy("There are no open cases."),
    "all": gettext_lazy("There are no cases yet."),
}
TYPE_ICONS = {CaseType.COMPLAINT: "megaphone", CaseType.FEEDBACK: "chat-left-text",
              CaseType.SUPPORT: "tools", CaseType.RECTIFICATION: "clipboard-check"}


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


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
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


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
    qs = queries.case_list(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("cases.export_case"):
            raise PermissionDenied
        return _export_cases(qs)
    page = paginate(request, qs.select_related("sla_policy"))
    today = clock.today()
    for case in page:
        case.sla = queries.sla_state(case, case.resolution_due, today) if case.is_open else None
    return render(request, "cases/list.html", {
        "page": page, "filters": filters, "queues": QUEUE_LABELS.items(),
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
        return render(request, "cases/new.html", {"types": [(t, label, TYPE_ICONS[t]) for t, label in
                                                            CaseType.choices]})
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

def _close_blocker(case) -> str:
    """Why a resolved case cannot be closed yet (empty when it can)."""
    if case.case_type == CaseType.RECTIFICATION and case.rectification.verified_at is None:
        return _("A service supervisor verifies the rectification before it is closed.")
    if (case.case_type == CaseType.COMPLAINT and case.outcome != Outcome.ON_THE_SPOT
            and case.complaint.callback_at is None):
        return _("Call the customer back (回访) before closing the complaint.")
    return ""


def _can_decide_extension(user, case, extension) -> bool:
    return (extension is not None and user.has_perm("cases.approve_extension")
            and extension.requested_by_id != user.pk and in_scope(user, case.institution))


def available_actions(user, case, pending_extension=None) -> list[dict]:
    """The actions valid for the case's state and the user, each with its (unbound) form.

    Only a convenience for the page: the services check every rule again."""
    manage = services.can_manage(user, case)
    status, is_open = case.status, case.is_open
    complaint = case.case_type == CaseType.COMPLAINT
    rectification = case.case_type == CaseType.RECTIFICATION
    detail = getattr(case, "rectification", None) if rectification else None
    wanted = []

    def can(action):
        return manage and status in services.TRANSITIONS[action][0]

    if can("accept"):
        wanted.append("accept")
    if can("start"):
        wanted.append("start")
    if case.case_type == CaseType.FEEDBACK and is_open and user.has_perm("cases.triage_feedback") and manage:
        wanted.append("triage")
    if manage and is_open:
        wanted.append("assign")
    if can("resolve") and not case.paused_since:
        wanted.append("resolve")
    if complaint and manage and status == Status.RESOLVED:
        wanted.append("callback")
    if (rectification and status == Status.RESOLVED and detail is not None and detail.evidence
            and detail.verified_at is None and user.has_perm("cases.verify_rectification")
            and in_scope(user, case.institution)):
        wanted.append("verify")
    if can("close") and not _close_blocker(case):
        wanted.append("close")
    if rectification and manage and status in (*OPEN_STATUSES, Status.RESOLVED):
        wanted.append("evidence")
    if complaint and manage:
        wanted += ["classify", "root_cause"]
        if is_open:
            wanted.append("complexity")
            if not case.is_major:
                wanted.append("mark_major")
    if manage and is_open:
        wanted.append("resume" if case.paused_since else "pause")
        if complaint:
            wanted.append("restart")
        policy = case.sla_policy
        if policy is not None and policy.max_extension_days and pending_extension is None:
            wanted.append("extension")
    if can("reopen"):
        wanted.append("reopen")
    if can("cancel"):
        wanted.append("cancel")
    out = []
    for name in wanted:
        spec = ACTIONS[name]
        form = spec["form"](case=case, user=user, auto_id=f"{name}-%s")
        out.append({"name": name, "label": spec["label"], "icon": spec["icon"], "style": spec.get("style", "primary"),
                    "confirm": spec.get("confirm"), "form": form,
                    "simple": not any(not f.is_hidden for f in form)})
    return out


@login_required
def case_detail(request, pk):
    case = queries.access_case(request.user, pk)
    complaint = getattr(case, "complaint", None) if case.case_type == CaseType.COMPLAINT else None
    rectification = getattr(case, "rectification", None) if case.case_type == CaseType.RECTIFICATION else None
    complainant, can_reveal = None, False
    if complaint is not None:
        can_reveal = services.can_see_pii(request.user, case)
        reveal = can_reveal and request.GET.get("reveal") == "1"
        if reveal:
            services.log_pii_access(request.user, case, "page", request.META.get("REMOTE_ADDR"))
        complainant = masking.complainant(complaint, reveal)
    extensions = list(case.extensions.select_related("requested_by__staff", "decided_by__staff"))
    pending = next((e for e in extensions if e.state == Extension.State.REQUESTED), None)
    today = clock.today()
    responded_on = timezone.localtime(case.responded_at).date() if case.responded_at else None
    response = render(request, "cases/detail.html", {
        "case": case, "complaint": complaint, "rectification": rectification,
        "complainant": complainant, "can_reveal": can_reveal,
        "sla": {
            "response": ({"state": sla.MET if responded_on <= case.response_due else sla.BREACHED, "done": True}
                         if responded_on and case.response_due else
                         queries.sla_state(case, case.response_due, today) if case.is_open else None),
            "resolution": queries.sla_state(case, case.resolution_due, today),
            "decision": queries.sla_state(case, case.decision_due, today) if complaint is not None else None,
        },
        "comments": case.comments.select_related("author__staff"),
        "attachments": case.attachments.select_related("uploaded_by__staff"),
        "links": case.links.select_related("target_case", "content_type"),
        "pauses": case.pauses.all(),
        "extensions": extensions,
        "escalations": [{"level": e.level, "target": services.ESCALATION_TARGETS.get(e.target, e.target),
                         "at": e.escalated_at} for e in case.escalations.all()],
        "clock_restarted": case.clock_start != timezone.localtime(case.received_at).date(),
        "close_blocker": _close_blocker(case) if case.status == Status.RESOLVED else "",
        "timeline": timeline(case),
        "actions": available_actions(request.user, case, pending),
        "decide_form": forms.DecideExtensionForm(case=case, user=request.user, auto_id="decide-%s",
                                                 initial={"version": case.version, "extension": pending.pk})
        if _can_decide_extension(request.user, case, pending) else None,
        "comment_form": forms.CommentForm(case=case, user=request.user, auto_id="comment-%s"),
        "accept_types": ",".join(sorted(services.ATTACHMENT_TYPES)),
    })
    if complainant is not None and not complainant["masked"]:
        patch_cache_control(response, private=True, no_store=True)  # unmasked personal data: never cached
    return response


# Each action: its form, the service call, the label of its button and the message when done.
# "versioned": the service itself refuses a stale version (expected_version); for the others the
# view compares the version the page showed with the current one before calling the service.
ACTIONS = {
    "accept": {"form": forms.ActionForm, "label": gettext_lazy("Accept"), "icon": "check2", "versioned": True,
               "run": lambda u, c, d: services.accept_case(u, c, expected_version=d["version"]),
               "done": gettext_lazy("Case accepted.")},
    "start": {"form": forms.ActionForm, "label": gettext_lazy("Start work"), "icon": "play", "versioned": True,
              "style": "outline-primary",
              "run": lambda u, c, d: services.start_case(u, c, expected_version=d["version"]),
              "done": gettext_lazy("Work started.")},
    "assign": {"form": forms.AssignForm, "label": gettext_lazy("Assign"), "icon": "person-check", "versioned": True,
               "run": lambda u, c, d: services.assign_case(u, c, assignee=d["assignee"], department=d["department"],
                                                           note=d["note"], expected_version=d["version"]),
               "done": gettext_lazy("Case assigned.")},
    "resolve": {"form": forms.ResolveForm, "label": gettext_lazy("Resolve"), "icon": "check2-circle",
                "style": "success", "versioned": True,
                "run": lambda u, c, d: services.resolve_case(u, c, outcome=d["outcome"], resolution=d["resolution"],
                                                             expected_version=d["version"]),
                "done": gettext_lazy("Case resolved.")},
    "close": {"form": forms.ActionForm, "label": gettext_lazy("Close"), "icon": "lock", "style": "success",
              "versioned": True, "run": lambda u, c, d: services.close_case(u, c, expected_version=d["version"]),
              "done": gettext_lazy("Case closed.")},
    "reopen": {"form": forms.ReasonForm, "label": gettext_lazy("Reopen"), "icon": "arrow-counterclockwise",
               "style": "outline-secondary", "versioned": True,
               "run": lambda u, c, d: services.reopen_case(u, c, d["reason"], expected_version=d["version"]),
               "done": gettext_lazy("Case reopened.")},
    "cancel": {"form": forms.ReasonForm, "label": gettext_lazy("Cancel the case"), "icon": "x-circle",
               "style": "outline-danger", "versioned": True,
               "confirm": gettext_lazy("Cancel this case?"),
               "run": lambda u, c, d: services.cancel_case(u, c, d["reason"], expected_version=d["version"]),
               "done": gettext_lazy("Case cancelled.")},
    "pause": {"form": forms.ReasonForm, "label": gettext_lazy("Pause the clock"), "icon": "pause-circle",
              "style": "outline-secondary", "run": lambda u, c, d: services.pause_clock(u, c, d["reason"], expected_version=d["version"]),
              "done": gettext_lazy("Clock paused.")},
    "resume": {"form": forms.ActionForm, "label": gettext_lazy("Resume the clock"), "icon": "play-circle",
               "style": "outline-primary", "run": lambda u, c, d: services.resume_clock(u, c, expected_version=d["version"]),
               "done": gettext_lazy("Clock resumed.")},
    "restart": {"form": forms.ReasonForm, "label": gettext_lazy("Restart the clock (new facts)"),
                "icon": "arrow-repeat", "style": "outline-secondary",
                "run": lambda u, c, d: services.restart_clock(u, c, d["reason"], expected_version=d["version"]),
                "done": gettext_lazy("Clock restarted.")},
    "complexity": {"form": forms.ComplexityForm, "label": gettext_lazy("Set complexity"), "icon": "diagram-2",
                   "style": "outline-secondary",
                   "run": lambda u, c, d: services.set_complexity(u, c, d["complexity"],
                                                                  customer_notified=d["customer_notified"], expected_version=d["version"]),
                   "done": gettext_lazy("Complexity set.")},
    "extension": {"form": forms.ExtensionForm, "label": gettext_lazy("Request an extension"),
                  "icon": "calendar-plus", "style": "outline-secondary",
                  "run": lambda u, c, d: services.request_extension(u, c, d["days"], d["reason"], expected_version=d["version"]),
                  "done": gettext_lazy("Extension requested.")},
    "decide_extension": {"form": forms.DecideExtensionForm, "label": gettext_lazy("Decide the extension"),
                         "icon": "calendar-check", "style": "outline-primary",
                         "run": lambda u, c, d: services.decide_extension(u, d["extension"], d["approve"],
                                                                          d["note"]),
                         "done": gettext_lazy("Extension decided.")},
    "callback": {"form": forms.CallbackForm, "label": gettext_lazy("Record the call-back"), "icon": "telephone",
                 "run": lambda u, c, d: services.record_callback(u, c, d["satisfaction"], d["note"], expected_version=d["version"]),
                 "done": gettext_lazy("Call-back recorded.")},
    "root_cause": {"form": forms.RootCauseForm, "label": gettext_lazy("Root cause and improvement"),
                   "icon": "search", "style": "outline-secondary",
                   "run": lambda u, c, d: services.record_root_cause(u, c, d["root_cause"], d["improvement"], expected_version=d["version"]),
                   "done": gettext_lazy("Root cause recorded.")},
    "classify": {"form": forms.ClassifyForm, "label": gettext_lazy("Classify"), "icon": "tags",
                 "style": "outline-secondary",
                 "run": lambda u, c, d: services.classify_complaint(u, c, channel_code=d["channel_code"],
                                                                    business_code=d["business_code"],
                                                                    cause_code=d["cause_code"], expected_version=d["version"]),
                 "done": gettext_lazy("Complaint classified.")},
    "mark_major": {"form": forms.ActionForm, "label": gettext_lazy("Mark as major complaint"),
                   "icon": "exclamation-octagon", "style": "outline-danger",
                   "confirm": gettext_lazy("Mark as a major complaint? The branch leader is told at once."),
                   "run": lambda u, c, d: services.mark_major(u, c, expected_version=d["version"]), "done": gettext_lazy("Marked as major.")},
    "evidence": {"form": forms.EvidenceForm, "label": gettext_lazy("Submit evidence"), "icon": "file-earmark-check",
                 "style": "outline-primary", "run": lambda u, c, d: services.submit_evidence(u, c, d["evidence"], expected_version=d["version"]),
                 "done": gettext_lazy("Evidence submitted.")},
    "verify": {"form": forms.VerifyForm, "label": gettext_lazy("Verify"), "icon": "patch-check",
               "run": lambda u, c, d: services.verify_rectification(u, c, passed=d["passed"], note=d["note"], expected_version=d["version"]),
               "done": gettext_lazy("Verification recorded.")},
    "triage": {"form": forms.TriageForm, "label": gettext_lazy("Triage"), "icon": "signpost-split",
               "run": lambda u, c, d: services.triage_feedback(u, c, d["action"], answer=d["answer"],
                                                               department=d["department"], note=d["note"], expected_version=d["version"]),
               "done": gettext_lazy("Feedback triaged.")},
    "comment": {"form": forms.CommentForm, "label": gettext_lazy("Comment"), "icon": "chat",
                "run": lambda u, c, d: services.comment_case(u, c, d["body"]),
                "done": gettext_lazy("Comment added.")},
    "attach": {"form": forms.AttachmentForm, "label": gettext_lazy("Upload"), "icon": "paperclip",
               "run": lambda u, c, d: services.add_attachment(u, c, d["file"]),
               "done": gettext_lazy("File attached.")},
}


@login_required
def case_action(request, pk, action):
    if request.method != "POST":
        return redirect("cases:detail", pk=pk)
    case = queries.access_case(request.user, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec["form"](request.POST, request.FILES, case=case, user=request.user)
    if not form.is_valid():
        errors = form.errors.get_json_data()
        messages.error(request, " ".join(
            f"{form.fields[f].label}: {e['message']}" if f in form.fields and form.fields[f].label else e["message"]
            for f, errs in errors.items() for e in errs))
        return redirect(case)
    data = form.cleaned_data
    try:
        if not spec.get("versioned") and data.get("version") and data["version"] != case.version:
            raise ValidationError(_("This case was changed by someone else in the meantime; reload it and try "
                                    "again."))
        spec["run"](request.user, case, data)
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, spec["done"])
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


@login_required
@permission_required("cases.view_case", raise_exception=True)
def dashboard(request):
    year = _int(request.GET.get("year")) or clock.today().year
    if not 2000 <= year <= 2100:
        year = clock.today().year
    per_outlet = queries.complaints_per_outlet_month(request.user, year)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("cases.export_case"):
            raise PermissionDenied
        return _export_outlet_months(per_outlet, year)
    figures = queries.sla_figures(request.user)
    top = per_outlet[:15]
    months = [str(MONTHS_AP[m]) for m in range(1, 13)]
    charts = {
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
    compliance = figures["compliance"]
    return render(request, "cases/dashboard.html", {
        "figures": figures, "charts": charts, "per_outlet": per_outlet, "months": months, "year": year,
        "compliance_pct": round(compliance * 100, 1) if compliance is not None else None,
        "complaints_total": sum(r["total"] for r in per_outlet), "chart_height": 130 + 32 * len(top),
        "years": range(clock.today().year, clock.today().year - 5, -1),
    })
