"""The dispatch pages: work orders (list, detail, the outlet head's actions) and the outlet × week
workload heat-map with capacity editing. (The completion of one item across its outlets is
coordination's page: it is about the item.)

Thin: parse, call one service or query, render. Every write goes through ``services``; every read
of one work order through ``queries.access_work_order`` (404 for "not there" and "not yours" alike).
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list
from branchops.org.models import Institution, Level
from branchops.org.scope import visible_institutions

from . import forms, queries, services, workload
from .actions import WORK_ORDER_ACTIONS
from .models import OutletCapacity, WorkOrder

Status = WorkOrder.Status
WEEK_CHOICES = (4, 8, 12, 16, 26)
CHART_MAX_OUTLETS = 60  # the chart shows the busiest outlets; the table lists them all
WARN_RATIO = 0.8  # from this share of capacity an outlet-week is shown as nearly full


def _int(value):
    return limits.whole_number(value)


def _date(value) -> date | None:
    return limits.day(value)


def _error_text(exc: ValidationError, form=None) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for field, errors in exc.message_dict.items():
        label = form.fields[field].label if form is not None and field in form.fields else None
        parts += [f"{label}: {e}" if label else e for e in errors]
    return " ".join(parts)


def _form_errors(form) -> str:
    return " ".join(f"{form.fields[f].label}: {e['message']}" if f in form.fields else e["message"]
                    for f, errs in form.errors.get_json_data().items() for e in errs)


# --- the list ------------------------------------------------------------------------------------

def _list_filters(request) -> dict:
    # The list opens on the open work (soonest due first); done and cancelled behind status=all or their status.
    status = request.GET.get("status", "")
    return {
        "q": request.GET.get("q", "").strip(),
        "item": _int(request.GET.get("item")),
        "status": status if status in Status.values or status == "all" else "open",
        "outlet": _int(request.GET.get("outlet")),
        "overdue": request.GET.get("overdue") == "1",
    }


def _filtered(user, *, q="", item=None, status="", outlet=None, overdue=False):
    qs = queries.visible_work_orders(user)
    if q:
        qs = qs.filter(Q(item__number__icontains=q) | Q(item__title__icontains=q) | Q(approval_number__icontains=q))
    if item:
        qs = qs.filter(item_id=item)
    qs = queries.with_status(qs, status)
    if outlet:
        qs = qs.filter(institution_id=outlet)
    if overdue:
        qs = qs.filter(queries.overdue_q(clock.today()))
    return qs.order_by(*queries.WORK_ORDER_ORDER)


def _export(qs):
    today = clock.today()
    yes, no = _("Yes"), _("No")
    headers = [_("Item number"), _("Item"), _("Approval number"), _("Outlet code"), _("Outlet"), _("Status"),
               _("Start"), _("Due date"), _("Effort (person-hours)"), _("Overdue"), _("Acknowledged at"),
               _("Done at"), _("Note"), _("Problem raised")]
    rows = ([wo.item.number, wo.item.title, wo.approval_number, wo.institution.code, wo.institution.name,
             wo.get_status_display(), wo.start_date, wo.due_date, float(wo.hours),
             yes if queries.is_overdue(wo, today) else no, wo.acknowledged_at, wo.done_at, wo.note,
             wo.problem_case.number if wo.problem_case_id else ""]
            for wo in qs.select_related("item", "institution", "problem_case").iterator(chunk_size=2000))
    return export_list("work-orders.xlsx", _("Work orders"), headers, rows)


@login_required
@permission_required("dispatch.view_workorder", raise_exception=True)
def work_orders(request):
    filters = _list_filters(request)
    qs = _filtered(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        return _export(qs)
    page = paginate(request, qs.select_related("item", "institution", "problem_case"))
    today = clock.today()
    for wo in page:
        wo.is_overdue = queries.is_overdue(wo, today)
    visible = queries.visible_work_orders(request.user)
    outlets = list(Institution.objects.filter(pk__in=visible.values("institution_id")).order_by("path")
                   .values_list("pk", "name"))
    item = None
    if filters["item"]:  # the item heading the filtered list: through a work order the user sees
        first = visible.filter(item_id=filters["item"]).select_related("item").first()
        item = first.item if first else None
    return render(request, "dispatch/work_orders.html", {
        "page": page, "filters": filters, "statuses": Status.choices, "outlets": outlets,
        "filter_item": item,
        "overdue_count": visible.filter(queries.overdue_q(today)).count(),
        "filtered": any(v not in (None, "", False) for k, v in filters.items() if k != "status")
        or filters["status"] != "open",
    })


# --- one work order ------------------------------------------------------------------------------

def offered_actions(user, wo: WorkOrder) -> list[dict]:
    """The actions the table offers the user on the work order now, each with its form."""
    can = WORK_ORDER_ACTIONS.can(user, wo)
    out = []
    for action in WORK_ORDER_ACTIONS:
        if can[action.name]:
            form = action.form(auto_id=f"{action.name}-%s")
            out.append({"name": action.name, "label": action.label, "icon": action.icon, "style": action.style,
                        "form": form, "simple": not form.fields})
    return out


@login_required
def work_order(request, pk):
    wo = queries.access_work_order(request.user, pk)
    item = wo.item
    today = clock.today()
    return render(request, "dispatch/work_order.html", {
        "wo": wo, "item": item, "department": item.department,
        "is_overdue": queries.is_overdue(wo, today),
        "days_left": (wo.due_date - today).days,
        "days_overdue": max(0, (today - wo.due_date).days),
        "materials": item.attachments.filter(is_current=True),  # the versions the outlet works to
        "actions": offered_actions(request.user, wo),
        "can_monitor": queries.follows_item(request.user, item),
        "timeline": timeline(wo),
        "people": {"acknowledged_by": _name(wo.acknowledged_by), "done_by": _name(wo.done_by),
                   "cancelled_by": _name(wo.cancelled_by)},
    })


def _name(user) -> str:
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return staff.name if staff else user.get_username()


@login_required
def work_order_action(request, pk, action):
    if request.method != "POST":
        return redirect("dispatch:work_order", pk=pk)
    wo = queries.access_work_order(request.user, pk)
    act = WORK_ORDER_ACTIONS.authorize(request.user, wo, action)
    form = act.form(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(wo)
    try:
        result = act.run(request.user, wo, form.action_data())
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, act.done_message(result))
    return redirect(wo)


@login_required
def material(request, pk, att_pk):
    """A material of the work order's item (service scripts, guides, training, emergency plan)."""
    wo = queries.access_work_order(request.user, pk)
    att = get_object_or_404(wo.item.attachments.filter(is_current=True), pk=att_pk)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=att.name)


# --- workload ------------------------------------------------------------------------------------

def _workload_params(source) -> dict:
    today = clock.today()
    weeks = _int(source.get("weeks"))
    return {
        "start": workload.week_start(_date(source.get("start")) or today),
        "weeks": weeks if weeks in WEEK_CHOICES else 8,
        "under": _int(source.get("under")),
        "sort": "peak" if source.get("sort") == "peak" else "",
    }


def _workload_url(params: dict) -> str:
    query = {"start": params["start"].isoformat(), "weeks": params["weeks"]}
    if params.get("under"):
        query["under"] = params["under"]
    if params.get("sort"):
        query["sort"] = params["sort"]
    return f"{reverse('dispatch:workload')}?{urlencode(query)}"


def _level(ratio) -> str:
    if ratio is None:
        return "none"
    if ratio > 1:
        return "over"
    if ratio >= WARN_RATIO:
        return "near"
    return "ok"


def _outlets(user, under: Institution | None):
    qs = visible_institutions(user).filter(level=Level.OUTLET, is_active=True)
    if under is not None:
        qs = qs.filter(path__startswith=under.path)
    return qs.order_by("path")


def _heat_rows(data: dict, overrides: dict) -> list[dict]:
    """The heat-map's rows: each outlet's weeks as cells with their level, its peak and weeks over."""
    rows = []
    for row in data["rows"]:
        ratios = [r for r in row["ratios"] if r is not None]
        rows.append({**row, "peak": max(ratios, default=None), "override": overrides.get(row["id"]),
                     "cells": [{"load": load, "ratio": ratio, "pct": round(ratio * 100) if ratio is not None else None,
                                "level": _level(ratio) if load or ratio else "empty"}
                               for load, ratio in zip(row["loads"], row["ratios"], strict=True)],
                     "over_weeks": sum(1 for r in ratios if r > 1)})
    return rows


def _busiest_first(row) -> float:
    return -(row["peak"] or 0)


def _chart(rows: list[dict], weeks: list[dict]) -> tuple[dict, list[dict]]:
    """The ECharts heat-map of the busiest outlets (all of them when few) and the rows it shows."""
    charted = rows if len(rows) <= CHART_MAX_OUTLETS else sorted(rows, key=_busiest_first)[:CHART_MAX_OUTLETS]
    charted = list(reversed(charted))  # ECharts draws the first category at the bottom
    return {
        "weeks": [w["label"] for w in weeks],
        "outlets": [r["name"] for r in charted],
        "cells": [[x, y, cell["ratio"] if cell["ratio"] is not None else "-", cell["load"], r["capacity"]]
                  for y, r in enumerate(charted) for x, cell in enumerate(r["cells"])],
        "labels": {"load": _("Load"), "capacity": _("Capacity"), "hours": _("h"),
                   "no_capacity": _("No capacity set")},
        "warn": WARN_RATIO,
    }, charted


def _links(params: dict) -> dict:
    """The page's own address and those of the previous, next and current ranges of weeks."""
    step = timedelta(weeks=params["weeks"])
    return {"prev_url": _workload_url({**params, "start": params["start"] - step}),
            "next_url": _workload_url({**params, "start": params["start"] + step}),
            "this_url": _workload_url({**params, "start": workload.week_start(clock.today())}),
            "here": _workload_url(params)}


@login_required
@permission_required("dispatch.view_workorder", raise_exception=True)
def workload_view(request):
    params = _workload_params(request.GET)
    groups = list(visible_institutions(request.user).filter(is_active=True, level__in=[
        Level.TIER1_BRANCH, Level.TIER2_BRANCH, Level.SUB_BRANCH]).order_by("path"))
    under = next((g for g in groups if g.pk == params["under"]), None)
    outlets = list(_outlets(request.user, under))
    data = queries.heatmap(outlets, params["start"], params["weeks"])
    overrides = {c.outlet_id: c for c in OutletCapacity.objects.filter(outlet__in=[o.pk for o in outlets])}
    rows = _heat_rows(data, overrides)
    if params["sort"] == "peak":
        rows.sort(key=_busiest_first)
    weeks = [{"start": w, "end": w + timedelta(days=6), "label": f"W{w.isocalendar().week:02d} {w:%m-%d}"}
             for w in data["weeks"]]
    chart, charted = _chart(rows, weeks)
    return render(request, "dispatch/workload.html", {
        "params": params, "weeks": weeks, "rows": rows, "chart": chart, "groups": groups,
        "week_choices": WEEK_CHOICES, "can_edit": request.user.has_perm("dispatch.change_outletcapacity"),
        "chart_height": 110 + 26 * len(charted), "chart_limited": len(rows) > CHART_MAX_OUTLETS,
        "chart_max": CHART_MAX_OUTLETS,
        "summary": {"outlets": len(rows), "over_outlets": sum(1 for r in rows if r["over_weeks"]),
                    "over_cells": sum(r["over_weeks"] for r in rows),
                    "no_capacity": sum(1 for r in rows if not r["capacity"])},
        **_links(params),
    })


@login_required
@permission_required("dispatch.change_outletcapacity", raise_exception=True)
def capacity(request):
    params = _workload_params(request.POST)
    back = _workload_url(params)
    if request.method != "POST":
        return redirect(back)
    form = forms.CapacityForm(request.POST, outlets=_outlets(request.user, None))
    if not form.is_valid():
        if "outlet" in form.errors:
            raise Http404  # not an outlet of the user's scope: the same answer as "not there"
        messages.error(request, _form_errors(form))
        return redirect(back)
    outlet = form.cleaned_data["outlet"]
    try:
        cap = services.set_capacity(request.user, outlet, form.cleaned_data["weekly_hours"],
                                    form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
    else:
        messages.success(request, _("Weekly capacity of %(outlet)s set to %(hours)s h.") % {
            "outlet": outlet.name, "hours": cap.weekly_hours})
    return redirect(back)
