"""The coordination pages: the register (清单) with its statistics and export, the item form, the
item page with its actions, the meetings with their agenda and minutes, and the check of an
approval number that any signed-in user can run.

Thin: parse, call one service or query, render. Every write goes through ``services`` (the
release included: it has dispatch make the work orders); every read of one item or meeting through
``queries.access_item`` / ``queries.access_meeting`` (404 for "not there" and "not yours" alike).
A refused move (PermissionDenied) answers 403; a broken rule (ValidationError) comes back as a
message and, where the form is on the page, as field errors.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.http import safe_next
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list
from branchops.dispatch import queries as dispatch_queries
from branchops.dispatch.models import WorkOrder
from branchops.org.models import Department, Institution, Level

from . import forms, queries, rules, services
from .actions import CONDITION_ACTIONS, FEEDBACK_ACTIONS, ITEM_ACTIONS, MEETING_ACTIONS, POST_REVIEW_ACTIONS
from .minutes import minutes_response
from .models import Condition, Decision, ItemStatus, ItemType

CONDITION = "condition_"  # the item page's actions on one of its conditions: condition_met, condition_signoff
MINUTES_EVENTS = ("meeting_closed", "minutes_issued", "minutes_approved")  # the minutes' page shows who did these


def _int(value):
    return limits.whole_number(value)


def _date(value) -> date | None:
    return limits.day(value)


def _apply_errors(form, exc: ValidationError) -> None:
    """Put a service's errors on the form's fields (those it knows), the rest on the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    mapper = getattr(form, "error_field", None)
    for key, errors in exc.error_dict.items():
        name = mapper(key) if mapper else key
        form.add_error(name if name in form.fields else None, errors)


def _error_text(exc: ValidationError, form=None) -> str:
    """One line for a message: each error, prefixed with its field's label where it has one."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    mapper = getattr(form, "error_field", None) if form is not None else None
    parts = []
    for key, errors in exc.message_dict.items():
        name = mapper(key) if mapper else key
        label = form.fields[name].label if form is not None and name in form.fields else None
        parts += [f"{label}: {e}" if label else e for e in errors]
    return " ".join(parts)


def _form_error_text(form) -> str:
    return " ".join(
        f"{form.fields[f].label}: {e['message']}" if f in form.fields and form.fields[f].label else e["message"]
        for f, errs in form.errors.get_json_data().items() for e in errs)


def _safe_next(request) -> str | None:
    return safe_next(request) if request.method == "POST" else None


# --- the register --------------------------------------------------------------------------------

def _register_filters(request) -> dict:
    g = request.GET
    return {
        "q": g.get("q", "").strip(),
        "status": g.get("status", "") if g.get("status") in ItemStatus.values else "",
        "decision": g.get("decision", "") if g.get("decision") in Decision.values else "",
        "department": _int(g.get("department")),
        "item_type": g.get("type", "") if g.get("type") in ItemType.values else "",
        "meeting": _int(g.get("meeting")),
        "since": _date(g.get("since")),
        "until": _date(g.get("until")),
        # The register opens on the items still in hand; every item behind state=all (and a status,
        # decision or meeting asked for shows all of its items).
        "state": g.get("state") if g.get("state") in queries.ITEM_STATES else (
            "all" if g.get("status") or g.get("decision") or g.get("meeting") else "open"),
    }


def _export_register(qs):
    headers = [_("Item number"), _("Revision"), _("Title"), _("Submitting department"), _("Type"), _("Urgency"),
               _("Status"), _("Decision"), _("Approval number"), _("Meeting"), _("Submitted at"),
               _("Decided at"), _("Window start"), _("Window end"), _("Effort per outlet (person-hours)"),
               _("Open conditions"), _("Overdue conditions"), _("Work orders"), _("Work orders done"),
               _("Work orders overdue"), _("Post-implementation review")]
    rows = ([i.number, i.revision, i.title, i.department.name, i.get_item_type_display(), i.get_urgency_display(),
             i.get_status_display(), i.get_decision_display(), i.approval_number,
             str(i.meeting) if i.meeting else "", i.submitted_at, i.decided_at, i.window_start, i.window_end,
             float(i.effort_hours), i.conditions_open, i.conditions_overdue, i.orders, i.orders_done,
             i.orders_overdue, i.get_review_outcome_display()] for i in qs.iterator(chunk_size=2000))
    return export_list("coordination-register.xlsx", _("Register"), headers, rows)


@login_required
@permission_required("coordination.view_item", raise_exception=True)
def register(request):
    filters = _register_filters(request)
    qs = queries.register(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        if not request.user.has_perm("coordination.export_register"):
            raise PermissionDenied
        return _export_register(qs)
    stats = queries.statistics(request.user, since=filters["since"], until=filters["until"])
    visible = queries.visible_items(request.user)
    return render(request, "coordination/register.html", {
        "page": paginate(request, qs),
        "filters": filters,
        "filtered": any(v not in (None, "") for k, v in filters.items() if k != "state"),
        "statuses": ItemStatus.choices, "decisions": Decision.choices, "types": ItemType.choices,
        "departments": Department.objects.filter(pk__in=visible.values("department_id")),
        "meetings": queries.meetings(request.user).order_by("-held_on")[:200],
        "stats": stats,
        "chart": [{"name": d["label"], "value": d["count"], "decision": d["decision"]}
                  for d in stats["by_decision"] if d["count"]],
    })


# --- conditions across items ---------------------------------------------------------------------

CONDITION_STATE_LABELS = {
    "pending": gettext_lazy("Not signed off"), "open": Condition.Status.OPEN.label,
    "met": Condition.Status.MET.label, "signed_off": Condition.Status.SIGNED_OFF.label, "all": gettext_lazy("All"),
}


def _condition_filters(request) -> dict:
    g = request.GET
    return {
        "q": g.get("q", "").strip(),
        "state": g.get("state") if g.get("state") in queries.CONDITION_STATES else "pending",
        "owner": _int(g.get("owner")),
        "overdue": g.get("overdue") == "1",
        "item": _int(g.get("item")),
    }


def _export_conditions(qs):
    today = clock.today()
    yes, no = _("Yes"), _("No")
    headers = [_("Item number"), _("Item"), _("Condition"), _("Owner department"), _("Due date"), _("Status"),
               _("Overdue"), _("What proves it met"), _("Evidence"), _("Signed off at")]
    rows = ([c.item.number, c.item.title, c.text, c.owner_department.name, c.due_date, c.get_status_display(),
             yes if c.status != Condition.Status.SIGNED_OFF and c.due_date < today else no, c.proof, c.evidence,
             c.signed_off_at] for c in qs.iterator(chunk_size=2000))
    return export_list("conditions.xlsx", _("Conditions"), headers, rows)


@login_required
@permission_required("coordination.view_item", raise_exception=True)
def condition_list(request):
    filters = _condition_filters(request)
    qs = queries.condition_list(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        return _export_conditions(qs)
    page = paginate(request, qs)
    today = clock.today()
    for c in page:
        c.is_overdue = c.status != Condition.Status.SIGNED_OFF and c.due_date < today
    owners = Department.objects.filter(pk__in=queries.condition_list(request.user, state="all")
                                       .values("owner_department_id")).order_by("name")
    return render(request, "coordination/conditions.html", {
        "page": page, "filters": filters, "states": CONDITION_STATE_LABELS.items(), "owners": owners,
        "filtered": any(v not in (None, "", False) for k, v in filters.items() if k != "state"),
    })


# --- the item form -------------------------------------------------------------------------------

@login_required
@permission_required("coordination.submit_item", raise_exception=True)
def item_new(request):
    form = forms.ItemForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.save_item(request.user, **form.service_kwargs())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Item %(number)s drafted. Attach its materials and submit it.") % {
                "number": item.number})
            return redirect(item)
    return render(request, "coordination/item_form.html", {"form": form, "item": None})


@login_required
@permission_required("coordination.submit_item", raise_exception=True)
def item_edit(request, pk):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    edit = ITEM_ACTIONS.authorize(request.user, item, "edit")
    try:
        services.check_editable(item)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect(item)
    shown = {"number": item.number, "title": item.title, "url": item.get_absolute_url(),
             "status": item.status}
    form = forms.ItemForm(request.POST or None, user=request.user, item=item)
    if request.method == "POST" and form.is_valid():
        try:
            item = edit.run(request.user, item, form.service_kwargs())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Item saved."))
            return redirect(item)
    return render(request, "coordination/item_form.html", {"form": form, "item": shown})


# --- the item page -------------------------------------------------------------------------------

def _pending_opinion(user, item):
    """The opinion the user's department still owes on the item (not given, or stale)."""
    staff = getattr(user, "staff", None)
    if staff is None or staff.department_id is None:
        return None
    opinion = item.opinions.filter(department_id=staff.department_id).select_related("department").first()
    if opinion is not None and (opinion.submitted_at is None or opinion.is_stale):
        return opinion
    return None


def _release_panel(item) -> dict:
    check = services.release_check(item)
    names = dict(Institution.objects.filter(pk__in={o.outlet for o in check["overloads"]})
                 .values_list("pk", "name"))
    over = sorted(check["overloads"], key=lambda o: (-o.excess, o.week))
    return {"overloads": [{"outlet": names.get(o.outlet, o.outlet), "week": o.week, "load": o.load,
                           "capacity": o.capacity, "excess": o.excess} for o in over[:50]],
            "overloaded_outlets": len({o.outlet for o in over}), "more": max(0, len(over) - 50),
            "blackouts": check["blackouts"], "proposal": check["proposal"]}


def _action_forms(user, item, can: dict, bound: dict) -> dict:
    """``<name>_form`` for each action offered, bound to the input just refused where there is one;
    the opinion form only while the user's department still owes its opinion."""
    pending = _pending_opinion(user, item) if can["opinion"] else None
    out = {"pending_opinion": pending}
    for action in ITEM_ACTIONS:
        offered = pending is not None if action.name == "opinion" else can[action.name]
        if action.form is not None and offered:
            out[f"{action.name}_form"] = bound[action.name] if action.name in bound else action.form(
                item=item, user=user, auto_id=f"{action.name}-%s")
    return out


def _condition_rows(user, item) -> list[dict]:
    """The item's conditions, each with the forms of the actions it offers the user."""
    today, rows = clock.today(), []
    for cond in item.conditions.select_related("owner_department", "signed_off_by__staff"):
        cond.item = item  # the predicates read it
        can = CONDITION_ACTIONS.can(user, cond)
        rows.append({"c": cond, "overdue": cond.status != Condition.Status.SIGNED_OFF and cond.due_date < today,
                     **{f"{a.name}_form": a.form(item=item, user=user, auto_id=f"{a.name}{cond.pk}-%s",
                                                 initial={"condition": cond.pk, "version": item.version})
                        for a in CONDITION_ACTIONS if can[a.name]}})
    return rows


def _decision_panels(user, item, can: dict) -> dict:
    figures = queries.register(user).filter(pk=item.pk).values("orders", "orders_done", "orders_overdue").first()
    return {
        "proposed_conditions": [line for o in item.opinions.prefetch_related("lines__dimension")
                                for line in o.lines.all() if line.concern and line.proposed_condition]
        if can["decide"] else [],
        "verification": services.verify_number(item.approval_number) if item.approval_number else None,
        "release": _release_panel(item) if can["release"] else None,
        "releases": item.releases.select_related("released_by__staff")
        if item.status in (ItemStatus.RELEASED, ItemStatus.CLOSED) else [],
        "work_orders": figures if figures and figures["orders"] else None,
    }


def _item_context(user, item, bound: dict | None = None) -> dict:
    can = ITEM_ACTIONS.can(user, item)
    staff = getattr(user, "staff", None)
    see_opinions = rules.sees_opinions(user, item)
    return {
        "item": item,
        "can": can,
        "is_owner": rules.owns(user, item),
        "outlets": item.outlets.order_by("path"),
        "own_outlet_targeted": staff is not None and item.outlets.filter(pk=staff.institution_id).exists(),
        "materials": queries.material_versions(item),
        "see_opinions": see_opinions,
        "opinions": item.opinions.select_related("department", "reviewer__staff").prefetch_related(
            "lines__dimension") if see_opinions else None,
        "opinion_count": item.opinions.count(),
        "conditions": _condition_rows(user, item),
        "review_gate": queries.review_status(item) if item.status != ItemStatus.DRAFT else [],
        # A draft's pre-check is previewed, so what it flags can be fixed before the item is submitted.
        "precheck": services.precheck(item) if item.status == ItemStatus.DRAFT else (item.precheck or []),
        "waivers": item.waivers.select_related("dimension", "waived_by__staff"),
        "next_revision": getattr(item, "next_revision", None),
        "timeline": timeline(item),
        "today": clock.today(),
        **_watch_panel(user, item),
        **_action_forms(user, item, can, bound or {}),
        **_decision_panels(user, item, can),
    }


def _watch_figure(metric: str, value) -> str:
    """The overtime-wait ratio in percentage points, complaints per 10,000 with two decimals."""
    if value is None:
        return "–"
    if metric == "overtime_ratio":
        return _("%(value)s pts") % {"value": f"{value * 100:+.1f}"}
    return f"{value:+.2f}"


def _watch_panel(user, item) -> dict:
    """The post-release watch of a released item for its readers (not outlets), with the chart's data."""
    if not item.releases.exists() or not queries.sees_watch(user, item):
        return {}
    data = queries.watch_data(item, queries.watch_of(user, item))
    chart = None
    if data["series"]:
        before = len(data["before"])
        chart = {"weeks": data["series"]["weeks"], "treated": data["series"]["treated"],
                 "control": data["series"]["control"], "window_index": before,
                 "labels": {"treated": _("Target outlets"), "control": _("Other outlets of the branch"),
                            "overtime": _("Overtime-wait ratio"), "complaints": _("Complaints per 10,000 served"),
                            "window": _("Window starts")}}
    labels = {"overtime_ratio": _("Overtime-wait ratio"), "complaints_per_10k": _("Complaints per 10,000 served")}
    metrics = [{**m, "label": labels.get(m["metric"], m["metric"]),
                **{f"{k}_text": _watch_figure(m["metric"], m[k]) for k in ("effect", "low", "high", "threshold")}}
               for m in data["metrics"]]
    return {"watch": data, "watch_metrics": metrics, "watch_chart": chart,
            "post_reviews": queries.item_post_reviews(item)}


@login_required
def item_detail(request, pk):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        return render(request, "coordination/item_summary.html", {"item": item})
    return render(request, "coordination/item.html", _item_context(request.user, item))


def _input(action, form) -> dict:
    """The service's keyword arguments from the page's form, with the version the page showed."""
    data = form.action_data()
    if action.versioned:
        data["expected_version"] = form.cleaned_data.get("version")
    return data


def _run(request, item, action, form, obj):
    """Run an authorised action with the page's form: done → back (or to the result); refused → a
    message and back, or, for the actions whose form is on the item page, the page again with the
    form and its errors."""
    back = _safe_next(request)
    rerender = action.extra.get("rerender") and back is None
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
    else:
        try:
            result = action.run(request.user, obj, _input(action, form))
        except ValidationError as exc:
            messages.error(request, _error_text(exc, form))
            rerender = rerender and hasattr(exc, "error_dict")
            if rerender:
                _apply_errors(form, exc)
                item.refresh_from_db()
        else:
            messages.success(request, action.done_message(result))
            return redirect(result if action.extra.get("go_to_result") else back or item)
    if rerender:
        return render(request, "coordination/item.html", _item_context(request.user, item, {action.name: form}))
    return redirect(back or item)


@login_required
@require_POST
def item_action(request, pk, action):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    if action.startswith(CONDITION):
        return _condition_action(request, item, action.removeprefix(CONDITION))
    act = ITEM_ACTIONS.authorize(request.user, item, action)
    if act.form is None:
        raise Http404
    form = act.form(request.POST, request.FILES, item=item, user=request.user, auto_id=f"{action}-%s")
    return _run(request, item, act, form, item)


def _condition_action(request, item, name: str):
    cond = item.conditions.filter(pk=_int(request.POST.get("condition"))).first()
    if cond is None:
        raise Http404
    act = CONDITION_ACTIONS.authorize(request.user, cond, name)
    form = act.form(request.POST, item=item, user=request.user, auto_id=f"{name}{cond.pk}-%s")
    return _run(request, item, act, form, cond)


@login_required
def item_file(request, pk, att_pk):
    item = queries.access_item(request.user, pk)
    if not queries.sees_full_item(request.user, item):
        raise Http404
    att = get_object_or_404(item.attachments, pk=att_pk)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=att.name)


# --- meetings ------------------------------------------------------------------------------------

@login_required
@permission_required("coordination.view_meeting", raise_exception=True)
def meeting_list(request):
    qs = queries.meetings_with_counts(request.user).select_related("branch").order_by("-held_on", "-id")
    unheld = request.GET.get("unheld") == "1"
    if unheld:  # the home page's "past meetings not held"
        qs = qs.filter(pk__in=queries.unheld_meetings(request.user).values("pk"))
    return render(request, "coordination/meetings.html", {
        "page": paginate(request, qs), "unheld": unheld,
        "form": forms.MeetingForm(auto_id="meeting-%s", branch=_own_branch(request.user))
        if request.user.has_perm("coordination.run_meeting") else None,
    })


def _own_branch(user):
    staff = getattr(user, "staff", None)
    return services.branch_of(staff.institution) if staff is not None else None


@login_required
@require_POST
@permission_required("coordination.run_meeting", raise_exception=True)
def meeting_new(request):
    branch = _own_branch(request.user)
    if branch is None:
        raise PermissionDenied
    form = forms.MeetingForm(request.POST, branch=branch)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect("coordination:meetings")
    try:
        meeting = services.create_meeting(request.user, branch, form.cleaned_data["held_on"],
                                          form.cleaned_data["location"], chair=form.cleaned_data["chair"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
        return redirect("coordination:meetings")
    messages.success(request, _("%(meeting)s created.") % {"meeting": meeting})
    return redirect(meeting)


def _agenda(user, meeting):
    """The items of the meeting the user may see, in agenda order."""
    return (queries.visible_items(user).filter(meeting=meeting).select_related("department__institution")
            .prefetch_related("opinions__lines", "opinions__department").order_by("agenda_order", "id"))


ROW_ACTIONS = ("decide", "defer")  # decided or deferred from the meeting page


def _agenda_rows(user, meeting) -> list[dict]:
    rows = []
    for item in _agenda(user, meeting):
        item.meeting = meeting  # the predicates read it
        can = ITEM_ACTIONS.can(user, item, only=ROW_ACTIONS)
        opinions = list(item.opinions.all())
        rows.append({
            "item": item,
            "consent": rules.undecided(item) and services.is_consent(item),
            "opinions": opinions if rules.sees_opinions(user, item) else None,
            "given": sum(1 for o in opinions if o.submitted_at and not o.is_stale),
            "total": len(opinions),
            **{f"{name}_form": ITEM_ACTIONS.get(name).form(item=item, user=user, auto_id=f"{name}{item.pk}-%s")
               if can[name] else None for name in ROW_ACTIONS},
        })
    return rows


@login_required
def meeting_detail(request, pk):
    meeting = queries.access_meeting(request.user, pk)
    can = MEETING_ACTIONS.can(request.user, meeting)
    rows = _agenda_rows(request.user, meeting)
    return render(request, "coordination/meeting.html", {
        "meeting": meeting,
        "can": can,
        "reads_minutes": rules.reads_minutes(request.user, meeting),
        "agenda": [r for r in rows if not r["consent"]],
        "consent": [r for r in rows if r["consent"]],
        "attendees": meeting.attendees.select_related("staff__department", "staff__institution"),
        "observers": meeting.observers.select_related("staff"), "on_leave": meeting.on_leave.select_related("staff"),
        "quorum": queries.quorum(meeting),
        "chair_form": forms.ChairForm(meeting=meeting, auto_id="chair-%s") if can["chair"] else None,
        "attendance_form": forms.AttendanceForm(meeting=meeting, auto_id="attendance-%s")
        if can["attendance"] else None,
        "notes_form": forms.NotesForm(meeting=meeting, auto_id="notes-%s") if can["notes"] else None,
        "feedback": _feedback_rows(request.user, meeting),
        "post_reviews": _post_review_rows(request.user, meeting),
    })


def _entry_rows(user, meeting, entries, table, prefix: str) -> list[dict]:
    """Each agenda entry (feedback, post-implementation review) with the form of each action the
    user may take on it now."""
    rows = []
    for entry in entries:
        entry.meeting = meeting  # the predicates read it
        can = table.can(user, entry)
        rows.append({"entry": entry, "forms": {
            a.name: a.form(entry=entry, auto_id=f"{prefix}-{entry.pk}-{a.name}-%s") for a in table if can[a.name]}})
    return rows


def _post_review_rows(user, meeting) -> list[dict]:
    return _entry_rows(user, meeting, queries.post_reviews(user, meeting), POST_REVIEW_ACTIONS, "post-review")


def _feedback_rows(user, meeting) -> list[dict]:
    return _entry_rows(user, meeting, queries.feedback_entries(user, meeting), FEEDBACK_ACTIONS, "feedback")


def _entry_action(request, table, entry, action):
    """An action on an agenda entry from the meeting page; back to the meeting, saying how it went."""
    act = table.authorize(request.user, entry, action)
    form = act.form(request.POST, entry=entry)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(entry.meeting)
    try:
        result = act.run(request.user, entry, form.action_data())
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, act.done_message(result))
    return redirect(entry.meeting)


@login_required
@require_POST
def post_review_action(request, pk, action):
    return _entry_action(request, POST_REVIEW_ACTIONS, queries.access_post_review(request.user, pk), action)


@login_required
@require_POST
def feedback_action(request, pk, action):
    return _entry_action(request, FEEDBACK_ACTIONS, queries.access_feedback(request.user, pk), action)


@login_required
@require_POST
def meeting_action(request, pk, action):
    meeting = queries.access_meeting(request.user, pk)
    act = MEETING_ACTIONS.authorize(request.user, meeting, action)
    form = act.form(request.POST, meeting=meeting)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(meeting)
    try:
        result = act.run(request.user, meeting, form.action_data())
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, act.done_message(result))
    return redirect(meeting)


@login_required
def minutes(request, pk):
    meeting = queries.access_minutes(request.user, pk)
    content = queries.minutes_content(meeting)
    return render(request, "coordination/minutes.html", {
        **content,
        "attendance": [(_("Present"), content["present"], "present"),
                       (_("In attendance"), content["observers"], "observers"),
                       (_("On leave"), content["on_leave"], "on_leave")],
        "can": MEETING_ACTIONS.can(request.user, meeting, only=["issue", "approve"]),
        "timeline": [e for e in timeline(meeting) if e.action in MINUTES_EVENTS],
    })


@login_required
def minutes_docx(request, pk):
    """The issued minutes: the bytes stored at approval, never rebuilt; before that, the draft."""
    return minutes_response(queries.access_minutes(request.user, pk))


# --- verifying an approval number ----------------------------------------------------------------

@login_required
def verify(request):
    number = request.GET.get("number", "").strip()[:64]
    result = services.verify_number(number) if number else None
    scope = None
    if result is not None and result["status"] == "valid":
        item = result["item"]
        staff = getattr(request.user, "staff", None)
        at_outlet = staff is not None and staff.institution.level == Level.OUTLET
        scope = {"outlets": item.outlets.count(), "at_outlet": at_outlet,
                 "own": at_outlet and item.outlets.filter(pk=staff.institution_id).exists(),
                 "outlet": staff.institution if at_outlet else None}
    return render(request, "coordination/verify.html", {"number": number, "result": result, "scope": scope})


# --- completion of one item across its outlets (工单监测) -----------------------------------------

def _export_monitor(item, orders):
    today = clock.today()
    yes, no = _("Yes"), _("No")
    headers = [_("Outlet code"), _("Outlet"), _("Status"), _("Start"), _("Due date"), _("Overdue"),
               _("Acknowledged at"), _("Done at"), _("Note"), _("Problem raised")]
    rows = ([wo.institution.code, wo.institution.name, wo.get_status_display(), wo.start_date, wo.due_date,
             yes if dispatch_queries.is_overdue(wo, today) else no, wo.acknowledged_at, wo.done_at, wo.note,
             wo.problem_case.number if wo.problem_case_id else ""] for wo in orders)
    return export_list(f"work-orders-{item.number}.xlsx", item.number, headers, rows)


@login_required
def monitor(request, item_pk):
    item = queries.access_item(request.user, item_pk)
    if not dispatch_queries.follows_item(request.user, item):
        raise PermissionDenied
    today = clock.today()
    orders = dispatch_queries.visible_work_orders(request.user).filter(item=item)
    counts = orders.aggregate(
        total=Count("id"),
        acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
        done=Count("id", filter=Q(status=WorkOrder.Status.DONE)),
        done_on_time=Count("id", filter=Q(status=WorkOrder.Status.DONE, done_at__date__lte=F("due_date"))),
        overdue=Count("id", filter=dispatch_queries.overdue_q(today)),
        problem=Count("id", filter=Q(status=WorkOrder.Status.PROBLEM)),
    )
    counts["open"] = counts["total"] - counts["done"] - orders.filter(status=WorkOrder.Status.CANCELLED).count()
    counts["done_pct"] = round(counts["done"] * 100 / counts["total"]) if counts["total"] else 0
    only_overdue = request.GET.get("overdue") == "1"
    status = request.GET.get("status", "")
    rows = orders.select_related("institution", "problem_case", "acknowledged_by__staff", "done_by__staff")
    if only_overdue:
        rows = rows.filter(dispatch_queries.overdue_q(today))
    if status in WorkOrder.Status.values:
        rows = rows.filter(status=status)
    rows = list(rows.order_by("institution__path"))
    if request.GET.get("format") == "xlsx":
        return _export_monitor(item, rows)
    for wo in rows:
        wo.is_overdue = dispatch_queries.is_overdue(wo, today)
    return render(request, "coordination/monitor.html", {
        "item": item, "counts": counts, "rows": rows, "statuses": WorkOrder.Status.choices,
        "filters": {"overdue": only_overdue, "status": status if status in WorkOrder.Status.values else ""},
        "releases": item.releases.select_related("released_by__staff"),
    })


@login_required
@permission_required("coordination.review_item", raise_exception=True)
def reviews_waiting(request):
    """The reviewer's work list: items waiting for their department's opinion, soonest cut-off first."""
    return render(request, "coordination/reviews.html", {"opinions": queries.awaiting_opinion(request.user),
                                                         "now": clock.now()})
