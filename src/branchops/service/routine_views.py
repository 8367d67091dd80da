"""Pages of the outlet routines: the plans with their figures (the secretariat plans), the checks
(due / overdue / done, xlsx) and one check — the outlet's phone-sized form, one row per item like the
inspection form, with a drill's scenario and participants and a measured reading. Thin: parse, call one
service or query, render; the check's form is offered and run through ``ROUTINE_ACTIONS``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list

from . import routine_queries as queries
from . import routines, rules
from .actions import ROUTINE_ACTIONS
from .phone_views import _form_refused
from .routine_forms import PlanForm
from .routinebook import RoutineCheck, RoutineKind
from .services import template_items
from .views import _error_text


@login_required
def plans(request):
    if not request.user.has_perm("service.view_routineplan"):
        raise PermissionDenied
    form = None
    if rules.plans_routines(request.user):
        form = PlanForm(request.POST or None, scopes=queries.plan_scopes(request.user),
                        initial={"starts_on": clock.today(), "frequency_days": 30})
        if request.method == "POST" and form.is_valid():
            try:
                plan = routines.create_plan(request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_refused(form, exc)
            else:
                messages.success(request, _("Routine planned: %(n)s outlets.") % {"n": plan.checks.count()})
                return redirect("service:routines")
    elif request.method == "POST":
        raise PermissionDenied
    page = paginate(request, queries.visible_plans(request.user))
    today = clock.today()
    rows = [{"plan": p, "f": queries.plan_figures(request.user, p, today)} for p in page]
    return render(request, "service/routines/plans.html", {"page": page, "rows": rows, "form": form})


def _check_filters(request) -> dict:
    status = request.GET.get("status", "")
    return {"plan": limits.whole_number(request.GET.get("plan")), "status": status if status in ("due", "done") else "",
            "overdue": request.GET.get("overdue") == "1", "failed": request.GET.get("failed") == "1"}


@login_required
def checks(request):
    if not request.user.has_perm("service.view_routinecheck"):
        raise PermissionDenied
    filters = _check_filters(request)
    qs = queries.visible_checks(request.user, today=clock.today(), **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Plan"), _("Kind"), _("Outlet code"), _("Outlet"), _("Due"), _("Status"), _("Score"),
                   _("Failed items"), _("Reading"), _("Case")]
        rows = ([c.plan.name, c.plan.get_kind_display(), c.outlet.code, c.outlet.name, c.due, c.get_status_display(),
                 c.score, c.failed, c.reading, c.case.number if c.case_id else ""] for c in qs.iterator())
        return export_list("routine-checks.xlsx", _("Routine checks"), headers, rows)
    page = paginate(request, qs)
    today = clock.today()
    for c in page:
        c.overdue = c.status == RoutineCheck.Status.DUE and c.due < today
    return render(request, "service/routines/checks.html", {
        "page": page, "filters": filters, "plans": queries.visible_plans(request.user)[:200]})


def _rows(check, answers=None, notes=None) -> list:
    given = {a.item_id: a for a in check.answers.all()}
    rows = []
    for item in template_items(queries.template_of(check)):
        done = given.get(item.pk)
        rows.append({"item": item, "section": item.section.name,
                     "chosen": (answers or {}).get(item.code) or (done.answer if done else ""),
                     "note": (notes or {}).get(item.code) or (done.note if done else "")})
    return rows


@login_required
def check(request, pk):
    item = queries.access_check(request.user, pk)
    can = ROUTINE_ACTIONS.can(request.user, item)
    context = {"check": item, "can": can, "is_drill": item.plan.kind == RoutineKind.DRILL,
               "choices": [("pass", _("Pass")), ("fail", _("Fail")), ("na", _("N/A"))]}
    if request.method == "POST":
        action = ROUTINE_ACTIONS.authorize(request.user, item, "submit")
        answers = {k[len("answer-"):]: v for k, v in request.POST.items() if k.startswith("answer-")}
        notes = {k[len("note-"):]: v for k, v in request.POST.items() if k.startswith("note-")}
        for row in _rows(item):  # an item left without a choice is sent as missing, so the refusal names it
            answers.setdefault(row["item"].code, "")
        data = {"answers": answers, "notes": notes, "reading": request.POST.get("reading", "").strip() or None,
                "scenario": request.POST.get("scenario", ""), "participants": request.POST.get("participants", ""),
                "issues": request.POST.get("issues", "")}
        try:
            action.run(request.user, item, data)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return render(request, "service/routines/check.html",
                          context | {"rows": _rows(item, answers, notes), "posted": request.POST}, status=400)
        messages.success(request, action.done_message(None))
        return redirect("service:routine_check", pk=item.pk)
    return render(request, "service/routines/check.html", context | {"rows": _rows(item), "posted": {}})
