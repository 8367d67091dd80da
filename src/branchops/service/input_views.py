"""Pages of the imported service inputs (ratings, survey scores, call-centre days) and of the service
targets. Thin: parse, call one service or query, render. Scope: every list reads through ``queries``
(an outlet sees its own ratings); the import and the targets' edits go through ``services``, which
check the same rules the pages use to offer them (``rules``)."""

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list

from . import input_files, queries, rules, services
from .inputs import Comparison, InputKind, Metric


class InputImportForm(djforms.Form):
    kind = djforms.ChoiceField(label=gettext_lazy("kind"), choices=InputKind.choices)
    branch = djforms.ModelChoiceField(label=gettext_lazy("branch"), queryset=None)
    file = djforms.FileField(label=gettext_lazy("file"), help_text=gettext_lazy("xlsx or CSV (UTF-8 or GB18030)."))

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        if branches is not None and len(branches) == 1:
            self.fields["branch"].initial = branches[0]


class TargetForm(djforms.Form):
    branch = djforms.ModelChoiceField(label=gettext_lazy("branch"), queryset=None)
    year = djforms.IntegerField(label=gettext_lazy("year"), min_value=limits.MIN_YEAR, max_value=limits.MAX_YEAR)
    metric = djforms.ChoiceField(label=gettext_lazy("metric"), choices=Metric.choices)
    comparison = djforms.ChoiceField(label=gettext_lazy("comparison"), choices=Comparison.choices)
    value = djforms.DecimalField(label=gettext_lazy("target value"), max_digits=12, decimal_places=4,
                                 help_text=gettext_lazy("A rate as a share: 0.9 for 90 %."))
    note = djforms.CharField(label=gettext_lazy("note"), max_length=200, required=False)

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        if branches is not None and len(branches) == 1:
            self.fields["branch"].initial = branches[0]


def _columns():
    return [{"kind": kind, "label": label, "headers": [c.header for c in input_files.COLUMNS[kind]],
             "keys": [c.key for c in input_files.COLUMNS[kind]]} for kind, label in InputKind.choices]


@login_required
def imports(request):
    """The imports so far (who, when, rows) and, for the secretariat, an upload checked first (dry run)."""
    can_import = rules.imports_inputs(request.user)
    if not can_import and not request.user.has_perm("service.view_inputimport"):
        raise PermissionDenied
    branches = queries.import_branches(request.user)
    form = InputImportForm(request.POST or None, request.FILES or None, branches=branches) if can_import else None
    result = None
    if form is not None and request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        apply = request.POST.get("apply") == "1"
        data = upload.read(limits.MAX_IMPORT_BYTES + 1)
        result = services.import_inputs(request.user, kind=form.cleaned_data["kind"],
                                        branch=form.cleaned_data["branch"], data=data, file_name=upload.name,
                                        dry_run=not apply)
        if apply and result.ok:
            messages.success(request, _("Imported: %(added)s rows added, %(same)s already stored.")
                             % {"added": len(result.new), "same": result.unchanged})
            return redirect("service:inputs")
    kind = request.GET.get("kind", "")
    page = paginate(request, queries.visible_imports(request.user, kind=kind if kind in InputKind.values else ""))
    return render(request, "service/inputs.html", {
        "form": form, "result": result, "page": page, "kind": kind, "kinds": InputKind.choices,
        "columns": _columns(),
    })


@login_required
def input_import(request, pk):
    batch = queries.visible_imports(request.user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    return render(request, "service/input_import.html", {"batch": batch, "timeline": timeline(batch)})


def _rating_filters(request) -> dict:
    return {
        "outlet": limits.whole_number(request.GET.get("outlet")),
        "since": limits.day(request.GET.get("since")),
        "until": limits.day(request.GET.get("until")),
        "teller": request.GET.get("teller", "").strip()[:16],
        "unmapped": request.GET.get("unmapped") == "1",
    }


@login_required
def ratings(request):
    if not request.user.has_perm("service.view_tellerrating"):
        raise PermissionDenied
    filters = _rating_filters(request)
    qs = queries.visible_ratings(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Teller number"), _("Teller"), _("Rated at"), _("Rating")]
        rows = ([r.outlet.code, r.outlet.name, r.teller_no, r.staff.name if r.staff else "",
                 r.rated_at, r.rating] for r in qs.iterator())
        return export_list("ratings.xlsx", _("Teller-evaluator ratings"), headers, rows)
    from django.db.models import Count, Q

    from .inputs import SATISFIED_FROM

    tally = qs.order_by().aggregate(n=Count("id"), ok=Count("id", filter=Q(rating__gte=SATISFIED_FROM)))
    return render(request, "service/ratings.html", {
        "page": paginate(request, qs), "filters": filters, "tally": tally,
        "satisfaction": tally["ok"] / tally["n"] if tally["n"] else None,
        "outlets": queries.rating_outlets(request.user),
    })


@login_required
def surveys(request):
    if not request.user.has_perm("service.view_tellerrating"):
        raise PermissionDenied
    filters = {"outlet": limits.whole_number(request.GET.get("outlet")),
               "year": limits.whole_number(request.GET.get("year"))}
    if filters["year"] is not None and not limits.year_in_range(filters["year"]):
        filters["year"] = None
    qs = queries.visible_surveys(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Quarter"), _("Score"), _("Sample size")]
        rows = ([s.outlet.code, s.outlet.name, f"{s.year}Q{s.quarter}", s.score, s.sample_size] for s in qs)
        return export_list("surveys.xlsx", _("Survey scores"), headers, rows)
    return render(request, "service/surveys.html", {"page": paginate(request, qs), "filters": filters,
                                                    "outlets": queries.rating_outlets(request.user)})


@login_required
def call_centre(request):
    if not request.user.has_perm("service.view_tellerrating"):
        raise PermissionDenied
    filters = {"since": limits.day(request.GET.get("since")), "until": limits.day(request.GET.get("until"))}
    qs = queries.visible_call_days(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Branch"), _("Day"), _("Calls offered"), _("Calls answered"), _("Answered within 20 s")]
        rows = ([d.branch.code, d.day, d.offered, d.answered, d.answered_20s] for d in qs)
        return export_list("call-centre.xlsx", _("Call-centre days"), headers, rows)
    return render(request, "service/call_centre.html", {"page": paginate(request, qs), "filters": filters})


# --- targets -------------------------------------------------------------------------------------

def _year(request) -> int:
    year = limits.whole_number(request.GET.get("year")) or clock.today().year
    return year if limits.year_in_range(year) else clock.today().year


def _save_target(request, form) -> bool:
    """The form's target saved through the service; its refusals shown on the form's fields."""
    try:
        services.save_target(request.user, **form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return False
    messages.success(request, _("Target saved."))
    return True


def _targets_xlsx(rows):
    headers = [_("Branch"), _("Year"), _("Metric"), _("Comparison"), _("Target value"), _("Year to date"),
               _("Projected for the year"), _("At risk")]
    out = ([r["target"].branch.name, r["target"].year, r["target"].get_metric_display(),
            r["target"].get_comparison_display(), r["target"].value, r["year_to_date"], r["projected"],
            "" if r["at_risk"] is None else (_("Yes") if r["at_risk"] else _("No"))] for r in rows)
    return export_list("service-targets.xlsx", _("Service targets"), headers, out)


@login_required
def targets(request):
    if not request.user.has_perm("service.view_servicetarget"):
        raise PermissionDenied
    year = _year(request)
    form = None
    if rules.sets_targets(request.user):
        form = TargetForm(request.POST or None, branches=queries.target_branches(request.user),
                          initial={"year": year})
        if request.method == "POST" and form.is_valid() and _save_target(request, form):
            return redirect(f"{request.path}?year={form.cleaned_data['year']}")
    elif request.method == "POST":
        raise PermissionDenied
    rows = [queries.target_progress(t) for t in queries.visible_targets(request.user, year=year)]
    if request.GET.get("format") == "xlsx":
        return _targets_xlsx(rows)
    for i, row in enumerate(rows):
        row["chart_id"] = f"target-chart-{i}"
        row["shown"] = {k: _shown(row[k], row["unit"]) for k in ("year_to_date", "projected")}
        row["shown"]["value"] = _shown(row["target"].value, row["unit"])
    return render(request, "service/targets.html", {
        "rows": rows, "year": year, "form": form, "years": range(year - 2, year + 3),
        "months": queries.target_months(year),
        "charts": {"labels": {"actual": _("Actual"), "trend": _("Trend"), "target": _("Target")},
                   "months": [_("Month %(m)s") % {"m": m} for m in range(1, 13)],
                   "items": [_chart(r) for r in rows]},
    })


def _scaled(value, unit: str):
    if value is None:
        return None
    return round(float(value) * (100 if unit == "ratio" else 1), 2)


def _shown(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{float(value) * 100:.1f}%"
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _chart(row: dict) -> dict:
    """One target's chart: actual months, the trend line to December, the target as a flat line."""
    unit, months, line = row["unit"], row["months"], row["line"]
    last = max(months) if months else 0
    trend = [None] * 12
    for m, v in line.items():
        trend[m - 1] = _scaled(v, unit)
    if last and line:
        trend[last - 1] = _scaled(months[last], unit)  # the trend starts from the last actual month
    return {"id": row["chart_id"], "title": str(row["target"].get_metric_display()),
            "unit": "%" if unit == "ratio" else "",
            "actual": [_scaled(months.get(m), unit) for m in range(1, 13)], "trend": trend,
            "target": _scaled(row["target"].value, unit)}


@login_required
def target_delete(request, pk):
    target = queries.access_target(request.user, pk)
    if request.method != "POST" or not rules.sets_targets(request.user, target.branch):
        raise PermissionDenied
    services.delete_target(request.user, target)
    messages.success(request, _("Target removed."))
    return redirect(reverse("service:targets") + f"?year={target.year}")
