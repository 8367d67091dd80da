"""The service-grading pages: runs (list, open one), a run (distribution, ranking, movers, the
secretariat's actions, xlsx export) and one outlet's breakdown with its rank and trend.

Thin: parse, call one service or query, render. Every write goes through the action table; every read
of a run through ``queries.access_run`` (404 alike for "not there" and "not yours").
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.core.audit import timeline
from branchops.core.xlsx import export_list
from branchops.org.models import Institution, Level

from . import forms, queries, rules, services
from .actions import FINDING_ACTIONS, INSPECTION_ACTIONS, RUN_ACTIONS

GRADE_COLOURS = {"A": "success", "B": "primary", "C": "warning", "D": "danger"}


def _error_text(exc: ValidationError, form=None) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for field, errors in exc.message_dict.items():
        label = form.fields[field].label if form is not None and field in form.fields else None
        parts += [f"{label}: {e}" if label else e for e in errors]
    return " ".join(parts)


def _form_errors(form) -> str:
    return " ".join(f"{form.fields[f].label if f in form.fields else ''}: {e}".lstrip(": ")
                    for f, errs in form.errors.items() for e in errs)


def _outlets(run):
    return Institution.objects.filter(path__startswith=run.branch.path, level=Level.OUTLET)


def _action_form(action, run, **kwargs):
    if action.name == "adjust":
        return action.form(outlets=_outlets(run), **kwargs)
    return action.form(**kwargs)


def offered_actions(user, run) -> list[dict]:
    can = RUN_ACTIONS.can(user, run)
    out = []
    for action in RUN_ACTIONS:
        if can[action.name] and action.name != "adjust":  # adjust is offered beside each input
            form = _action_form(action, run, auto_id=f"{action.name}-%s")
            out.append({"name": action.name, "label": action.label, "icon": action.icon, "style": action.style,
                        "form": form, "simple": not form.fields, "confirm": action.confirm or ""})
    return out


@login_required
@permission_required("service.view_gradingrun", raise_exception=True)
def runs(request):
    branches = queries.managed_branches(request.user)
    today = clock.today()
    year, quarter = services.previous_quarter(today.year, (today.month - 1) // 3 + 1)
    form = forms.RunForm(branches=branches, initial={"year": year, "quarter": quarter,
                                                     "branch": branches.first()})
    waiting = request.GET.get("waiting") == "1"  # the home page's "runs to review or publish"
    return render(request, "service/runs.html", {
        "runs": queries.runs_waiting(request.user) if waiting else queries.visible_runs(request.user),
        "waiting": waiting, "form": form if branches.exists() else None,
        "colours": GRADE_COLOURS,
    })


@login_required
@permission_required("service.view_gradingscheme", raise_exception=True)
def schemes(request):
    rows = [{"scheme": s, "faults": services.scheme_errors(s)} for s in queries.schemes()]
    return render(request, "service/schemes.html", {"rows": rows, "can_edit": rules.edits_schemes(request.user)})


@login_required
def scheme_version(request, pk):
    if request.method != "POST":
        return redirect("service:schemes")
    scheme = queries.schemes().filter(pk=pk).first()
    if scheme is None:
        raise Http404
    form = forms.VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("service:schemes")
    try:
        new = services.new_scheme_version(request.user, scheme, form.cleaned_data["effective_from"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
        return redirect("service:schemes")
    messages.success(request, _("Version %(v)s made: change it before a run uses it.")
                     % {"v": new.version})
    return redirect(reverse("service:schemes") + f"#scheme-{new.pk}")


@login_required
def run_new(request):
    if request.method != "POST":
        return redirect("service:runs")
    if not rules.opens_runs(request.user):
        raise PermissionDenied
    form = forms.RunForm(request.POST, branches=queries.managed_branches(request.user))
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("service:runs")
    try:
        run = services.create_run(request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
        return redirect("service:runs")
    messages.success(request, _("Run opened: inputs gathered and the outlets graded."))
    return redirect(run)


def _chart(grades, dist) -> dict:
    return {"grades": list(dist), "counts": list(dist.values()),
            "labels": {"outlets": _("Outlets"), "score": _("Score")},
            "ranking": [{"name": g.outlet.name, "score": float(g.total) if g.total is not None else None,
                         "grade": g.grade} for g in grades[:30]]}


@login_required
def run(request, pk):
    run = queries.access_run(request.user, pk)
    grades = list(queries.run_grades(request.user, run))
    dist = queries.distribution(grades)
    indicators = queries.indicators(run)
    rows = []
    for g in grades:
        by_code = {b["code"]: b for b in g.breakdown}
        rows.append({"grade": g, "cells": [by_code.get(i.code, {}) for i in indicators]})
    whole = queries.sees_whole_run(request.user, run)
    return render(request, "service/run.html", {
        "run": run, "rows": rows, "indicators": indicators, "distribution": dist, "colours": GRADE_COLOURS,
        "movers": queries.movers(request.user, run) if whole else None, "whole": whole,
        "actions": offered_actions(request.user, run), "timeline": timeline(run) if whole else [],
        "chart": _chart(grades, dist) if whole else None,
    })


@login_required
def run_outlet(request, pk, outlet_pk):
    run = queries.access_run(request.user, pk)
    grade = queries.access_grade(request.user, run, outlet_pk)
    inputs = queries.outlet_inputs(run, grade.outlet)
    can_adjust = RUN_ACTIONS.can(request.user, run, only=["adjust"])["adjust"]
    extra = [i for code, i in inputs.items() if code not in {b["code"] for b in grade.breakdown}]
    trend = queries.outlet_trend(request.user, grade.outlet)
    return render(request, "service/outlet.html", {
        "run": run, "grade": grade, "rows": queries.breakdown_rows(run, grade, inputs), "extra": extra,
        "vetoes": list(run.scheme.vetoes.all()), "can_adjust": can_adjust, "colours": GRADE_COLOURS,
        "count": run.grades.exclude(rank=None).count(),  # the rank is among every graded outlet of the run
        "trend": trend, "trend_chart": {"x": [t["quarter"] for t in trend], "y": [t["total"] for t in trend],
                                        "label": _("Score")},
    })


@login_required
def run_action(request, pk, action):
    if request.method != "POST":
        return redirect("service:run", pk=pk)
    run = queries.access_run(request.user, pk)
    act = RUN_ACTIONS.authorize(request.user, run, action)
    form = _action_form(act, run, data=request.POST)
    back = request.POST.get("next", "")
    target = back if back.startswith(reverse("service:run", args=[run.pk])) else run.get_absolute_url()
    return run_form_action(request, act, run, form, target)


def run_form_action(request, act, obj, form, target):
    """A page's action form posted: the action run with the form's data and the version the page showed,
    its refusal or its done message shown, and back to ``target``."""
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(target)
    data = form.action_data()
    version = request.POST.get("version", "")
    data["expected_version"] = int(version) if version.isdigit() else None
    try:
        result = act.run(request.user, obj, data)
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, act.done_message(result))
    return redirect(target)


@login_required
def run_export(request, pk):
    run = queries.access_run(request.user, pk)
    indicators = queries.indicators(run)
    headers = [_("Rank"), _("Outlet code"), _("Outlet"), _("Score"), _("Grade"), _("Veto"), _("Missing"),
               _("Unreliable")]
    headers += [f"{i.name} ({_('value')})" for i in indicators] + [f"{i.name} ({_('points')})" for i in indicators]
    out = []
    for g in queries.run_grades(request.user, run):
        by_code = {b["code"]: b for b in g.breakdown}
        out.append([g.rank, g.outlet.code, g.outlet.name, g.total, g.grade, ", ".join(g.vetoes), ", ".join(g.missing),
                    ", ".join(g.unreliable)]
                   + [by_code.get(i.code, {}).get("value") for i in indicators]
                   + [by_code.get(i.code, {}).get("points") for i in indicators])
    return export_list(f"service-grading-{run.branch.code}-{run.label}.xlsx", run.label, headers, out)



# --- inspections -------------------------------------------------------------------------------------

def _date_param(request, key):
    from datetime import date

    try:
        return date.fromisoformat(request.GET.get(key, ""))
    except ValueError:
        return None


@login_required
@permission_required("service.view_inspection", raise_exception=True)
def inspections(request):
    """Inspections in view (the grading's evidence link filters by outlet and visit dates)."""
    due = request.GET.get("due") == "1"  # the home page's "inspections to make"
    qs = queries.inspections_due(request.user) if due else queries.visible_inspections(request.user)
    outlet = request.GET.get("outlet", "")
    if outlet.isdigit():
        qs = qs.filter(outlet_id=int(outlet))
    start, end = _date_param(request, "visited_from"), _date_param(request, "visited_to")
    if start:
        qs = qs.filter(visited_at__date__gte=start)
    if end:
        qs = qs.filter(visited_at__date__lte=end)
    form = None
    if rules.schedules_inspections(request.user):
        outlets, supervisors = queries.schedulable(request.user)
        form = forms.ScheduleForm(outlets=outlets, supervisors=supervisors, initial={"planned_on": clock.today()})
    return render(request, "service/inspections.html", {"inspections": qs[:300], "form": form, "due": due})


def _refused(request, exc_or_form, form=None) -> None:
    if isinstance(exc_or_form, ValidationError):
        messages.error(request, _error_text(exc_or_form, form))
    else:
        messages.error(request, _form_errors(exc_or_form))


@login_required
def inspection_new(request):
    if request.method != "POST":
        return redirect("service:inspections")
    if not rules.schedules_inspections(request.user):
        raise PermissionDenied
    outlets, supervisors = queries.schedulable(request.user)
    form = forms.ScheduleForm(request.POST, outlets=outlets, supervisors=supervisors)
    if not form.is_valid():
        _refused(request, form)
        return redirect("service:inspections")
    try:
        made = services.schedule_inspection(request.user, **form.cleaned_data)
    except ValidationError as exc:
        _refused(request, exc, form)
        return redirect("service:inspections")
    messages.success(request, _("Inspection scheduled."))
    return redirect("service:inspection", pk=made.pk)


def _finding_form(user, action, finding, **kwargs):
    if action.name == "reinspect":
        return action.form(supervisors=queries.schedulable(user)[1], **kwargs)
    return action.form(**kwargs)


def _finding_action(request, pk, name):
    """A finding's action from the inspection page, through the action table (404 hidden, 403 not
    allowed, the service's refusal as a message)."""
    finding = queries.access_finding(request.user, pk)
    back = redirect("service:inspection", pk=finding.inspection_id)
    if request.method != "POST":
        return back
    action = FINDING_ACTIONS.authorize(request.user, finding, name)
    form = _finding_form(request.user, action, finding, data=request.POST)
    if not form.is_valid():
        _refused(request, form)
        return back
    try:
        result = action.run(request.user, finding, form.action_data())
    except ValidationError as exc:
        _refused(request, exc, form)
        return back
    messages.success(request, action.done_message(result))
    return redirect("service:inspection", pk=result.pk) if name == "reinspect" else back


@login_required
def reinspect(request, pk):
    return _finding_action(request, pk, "reinspect")


@login_required
def finding_deadline(request, pk):
    return _finding_action(request, pk, "deadline")


@login_required
def inspection(request, pk):
    """The phone-sized form for the assigned supervisor (one item a row: pass / fail / N/A, note, photo),
    the answers and findings for everyone else who may see it."""
    item = queries.access_inspection(request.user, pk)
    if request.method == "POST":
        answers = {k[len("answer-"):]: v for k, v in request.POST.items() if k.startswith("answer-")}
        notes = {k[len("note-"):]: v for k, v in request.POST.items() if k.startswith("note-")}
        rows = queries.inspection_rows(item)
        # An item left without a choice is sent as missing, so the refusal names it.
        for row in rows:
            answers.setdefault(row["item"].code, "")
        photo = INSPECTION_ACTIONS.authorize(request.user, item, "photo")
        submit = INSPECTION_ACTIONS.authorize(request.user, item, "submit")
        try:
            # Photos are kept even when the submission is refused: the supervisor adds what is missing.
            for key, upload in request.FILES.items():
                if key.startswith("photo-"):
                    photo.run(request.user, item, {"item": key[len("photo-"):], "file": upload})
            submit.run(request.user, item, {"answers": answers, "notes": notes})
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return render(request, "service/inspection.html", _inspection_context(request, item, answers, notes),
                          status=400)
        messages.success(request, _("Inspection submitted."))
        return redirect("service:inspection", pk=item.pk)
    return render(request, "service/inspection.html", _inspection_context(request, item))


def _findings(user, item) -> list:
    """The inspection's findings, each with the forms of what ``can`` offers on it (their own ids:
    several forms on one page)."""
    findings = list(item.findings.select_related("item", "rectification", "inspection__outlet"))
    for f in findings:
        f.can = FINDING_ACTIONS.can(user, f)
        f.due = f.rectification.resolution_due if f.rectification_id and f.rectification.resolution_due else f.deadline
        f.overdue = f.closed_at is None and f.due < clock.today()
        if f.can["reinspect"]:
            f.reinspect_form = _finding_form(user, FINDING_ACTIONS.get("reinspect"), f, auto_id=f"re{f.pk}-%s",
                                             initial={"planned_on": clock.today()})
        if f.can["deadline"]:
            f.deadline_form = forms.DeadlineForm(auto_id=f"dl{f.pk}-%s", initial={"deadline": f.due})
    return findings


def _inspection_context(request, item, answers=None, notes=None) -> dict:
    rows = queries.inspection_rows(item)
    for row in rows:
        code = row["item"].code
        row["chosen"] = (answers or {}).get(code) or (row["result"].answer if row["result"] else "")
        row["note"] = (notes or {}).get(code) or (row["result"].note if row["result"] else "")
    can = INSPECTION_ACTIONS.can(request.user, item)
    return {"inspection": item, "rows": rows, "can": can, "can_fill": can["submit"],
            "findings": _findings(request.user, item),
            "choices": [("pass", _("Pass")), ("fail", _("Fail")), ("na", _("N/A"))]}


@login_required
@permission_required("service.view_inspection", raise_exception=True)
def supervisors(request):
    """Piece-rate counts per supervisor and month, and the supervisor minimum per branch."""
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else clock.today().year
    return render(request, "service/supervisors.html", {
        "year": year, "counts": queries.supervisor_counts(request.user, year),
        "minimum": queries.supervisor_minimum(request.user), "agreement": queries.inter_rater(request.user)})


# --- checklist templates -----------------------------------------------------------------------------

@login_required
@permission_required("service.view_inspection", raise_exception=True)
def checklists(request):
    """Every checklist version: which is in force, which were used (frozen)."""
    rows = list(queries.checklists())
    current = services.template_for(clock.today())
    return render(request, "service/checklists.html", {"rows": rows, "current": current})


def _item_forms(template) -> list[dict]:
    return [{"item": i, "form": forms.ChecklistItemForm(auto_id=f"i{i.pk}-%s", initial={
        "text": i.text, "weight": i.weight, "na_allowed": i.na_allowed, "veto": i.veto, "severity": i.severity})}
        for i in queries.checklist_items(template)]


@login_required
@permission_required("service.view_inspection", raise_exception=True)
def checklist(request, pk):
    """One version's sections and items; the secretariat and the administrator edit each item here."""
    template = queries.access_checklist(pk)
    editable = rules.edits_checklists(request.user, template)
    rows = _item_forms(template) if editable else [{"item": i} for i in queries.checklist_items(template)]
    return render(request, "service/checklist.html", {
        "template": template, "rows": rows, "editable": editable, "timeline": timeline(template),
        "later": template.__class__.objects.filter(code=template.code, version__gt=template.version).first()})


@login_required
def checklist_item(request, pk, code):
    template = queries.access_checklist(pk)
    item = next((i for i in queries.checklist_items(template) if i.code == code), None)
    if item is None:
        raise Http404
    if request.method != "POST":
        return redirect("service:checklist", pk=template.pk)
    if not rules.edits_checklists(request.user, template):
        raise PermissionDenied
    form = forms.ChecklistItemForm(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return redirect("service:checklist", pk=template.pk)
    try:
        changed = services.edit_checklist_item(request.user, item, **form.action_data())
    except ValidationError as exc:
        _refused(request, exc, form)
        return redirect("service:checklist", pk=template.pk)
    made = changed.section.template
    if made.pk != template.pk:
        messages.success(request, _("Version %(new)s made from %(day)s with the change; inspections that used "
                                    "version %(old)s keep it.") % {
            "new": made.version, "day": made.effective_from.isoformat(), "old": template.version})
    else:
        messages.success(request, _("Item saved."))
    return redirect(reverse("service:checklist", args=[made.pk]) + f"#item-{changed.code}")
