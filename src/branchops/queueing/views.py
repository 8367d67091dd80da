"""Pages of the queue analytics: branch dashboard with drill-down, outlet page (heat-maps, pattern,
staffing, forecast), imports with progress and rejected rows."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list
from branchops.org.models import Institution, Level
from branchops.org.scope import visible_institutions

from . import labels, queries, rules, services
from .actions import IMPORT_ACTIONS
from .forms import QueueSettingsForm
from .models import TicketImport

VIEW = "queueing.view_ticketimport"
MAX_DAYS = 366


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _period(get) -> tuple[date, date, str]:
    """start/end from ?month=YYYY-MM or ?start=&end=; default the newest month with data."""
    month = get.get("month") or ""
    try:
        if month:  # the month picker wins: its form also carries the range shown before
            if len(month) != 7:
                raise ValueError(month)
            return (*_month_bounds(month), month)
        if get.get("start") and get.get("end"):
            start, end = date.fromisoformat(get["start"]), date.fromisoformat(get["end"])
            if start > end or (end - start).days > MAX_DAYS:
                raise ValueError
            return start, end, ""
    except ValueError as exc:
        raise Http404 from exc
    month = queries.default_month()
    return (*_month_bounds(month), month)


def _pct(x):
    return None if x is None else round(100 * x, 1)


def _shape(rows: list[dict]) -> list[dict]:
    for r in rows:
        r["overtime_pct"] = _pct(r.get("overtime_ratio"))
        r["abandon_pct"] = _pct(r.get("abandon_rate"))
        r["utilisation_pct"] = _pct(r.get("utilisation"))
        r["migration_pct"] = _pct(r.get("migration_rate"))
        for k in ("wait_mean", "wait_median", "wait_p90", "service_mean"):
            r[k + "_min"] = None if r.get(k) is None else round(r[k] / 60, 1)
        # "≈" before a median or P90 read off the one-minute histograms (exact ones carry no mark).
        r["approx"] = "" if r.get("percentiles") == "exact" else "≈"
        if r.get("customer_tier"):
            r["tier_label"] = labels.TIERS.get(r["customer_tier"], r["customer_tier"])
    return rows


KPI_HEADERS = (
    ("unit_name", "Unit"), ("arrivals", "Arrivals"), ("served", "Served"), ("abandoned", "Abandoned"),
    ("abandon_pct", "Abandoned (%)"), ("wait_mean_min", "Mean wait (min)"), ("wait_median_min", "Median wait (min)"),
    ("wait_p90_min", "P90 wait (min)"), ("overtime_pct", "Overtime-wait ratio (%)"),
    ("service_mean_min", "Mean service time (min)"), ("utilisation_pct", "Counter utilisation (%)"),
    ("peak_queue", "Peak queue"), ("migration_pct", "Device migration (%)"),
)


def _export(rows, filename, title, first=()):
    headers = [_(h) for _k, h in first] + [_(h) for _k, h in KPI_HEADERS]
    keys = [k for k, _h in first] + [k for k, _h in KPI_HEADERS]
    return export_list(filename, title, headers, ([r.get(k) for k in keys] for r in rows))


def _within(request) -> Institution | None:
    """?within=: the institution the table is narrowed to, one of the user's (404 otherwise)."""
    if not request.GET.get("within"):
        return None
    try:
        return visible_institutions(request.user).get(pk=int(request.GET["within"]))
    except (Institution.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def _level(request, within: Institution | None, cluster: str) -> str:
    """?level=; by default the outlets of a cluster or a sub-branch, else the sub-branches."""
    level = request.GET.get("level") or (
        "outlet" if cluster or (within and within.level == Level.SUB_BRANCH) else "sub_branch")
    if level not in queries.LEVEL_FIELDS:
        raise Http404
    return level


def _month_query(month: str, sep: str = "&") -> str:
    return f"{sep}month={month}" if month else ""


def _drill_down(user, rows: list[dict], level: str, month: str) -> None:
    """Each row's link one level down: a sub-branch or a cluster opens its outlets, an outlet its page."""
    subs = {i.code: i.pk for i in visible_institutions(user).filter(level=Level.SUB_BRANCH)}
    for r in rows:
        if level == "outlet":
            r["url"] = reverse("queueing:outlet", args=[r["unit"]]) + _month_query(month, "?")
        elif level == "sub_branch" and r["unit"] in subs:
            r["url"] = f"?level=outlet&within={subs[r['unit']]}" + _month_query(month)
        elif level == "cluster":
            r["url"] = f"?level=outlet&cluster={r['unit']}" + _month_query(month)


def _dashboard_chart(user, rows: list[dict], end: date, within, conf, cluster: str) -> dict:
    """The branch's monthly trend up to ``end`` (about a year) and the ranking of the rows."""
    trend_start = (end.replace(day=1) - timedelta(days=330)).replace(day=1)
    # The trend shows means and ratios only: the histograms answer it without reading a year of tickets.
    trend = _shape(queries.kpi_table(user, trend_start, end, level="branch", within=within,
                                     grain="month", conf=conf, cluster=cluster, exact=False))
    return {
        "months": [r["period_start"].strftime("%Y-%m") for r in trend],
        "ratio": [r["overtime_pct"] for r in trend],
        "wait": [r["wait_mean_min"] for r in trend],
        "labels": {"ratio": _("Overtime-wait ratio (%)"), "wait": _("Mean wait (min)")},
        "ranking": {"units": [r["unit_name"] for r in reversed(rows[:20])],
                    "ratio": [r["overtime_pct"] for r in reversed(rows[:20])]},
    }


@login_required
@permission_required(VIEW, raise_exception=True)
def dashboard(request):
    start, end, month = _period(request.GET)
    conf = queries.queue_settings_for(request.user)
    within = _within(request)
    cluster = request.GET.get("cluster", "")
    level = _level(request, within, cluster)
    services.queue_stale_refresh(start, end)
    rows = _shape(queries.kpi_table(request.user, start, end, level=level, within=within, conf=conf,
                                    cluster=cluster))
    if request.GET.get("format") == "xlsx":
        return _export(rows, f"queue-{level}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx", _("Queue KPIs"))
    total = _shape(queries.kpi_table(request.user, start, end, level="branch", within=within, conf=conf,
                                     cluster=cluster))
    # One branch in scope; a head-office user seeing several gets no single summary.
    summary = total[0] if len(total) == 1 else None
    tiers = _shape(queries.tier_table(request.user, start, end, level="branch", within=within, conf=conf,
                                      cluster=cluster)) if summary else []
    _drill_down(request.user, rows, level, month)
    return render(request, "queueing/dashboard.html", {
        "rows": rows, "summary": summary, "tiers": tiers, "level": level, "within": within, "cluster": cluster, "start": start, "end": end,
        "month": month, "months": queries.month_choices(month), "conf": conf,
        "chart": _dashboard_chart(request.user, rows, end, within, conf, cluster),
        "levels": [(k, labels.LEVELS[k]) for k in ("sub_branch", "cluster", "outlet")],
        "definitions": labels.definitions(conf),
    })


def _export_intervals(outlet, intervals: list[dict], start: date, end: date):
    for r in intervals:
        r["slot"] = labels.slot(r["interval_idx"])
    return _export(intervals, f"queue-{outlet.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx", outlet.code,
                   first=(("period_start", "Date"), ("slot", "Half-hour")))


def _heat(intervals: list[dict], staffing_rows: list[dict]) -> dict:
    """The heat-maps: mean wait, and counters needed − open, per half-hour and day."""
    slots = sorted({r["interval_idx"] for r in intervals})
    dates = sorted({r["period_start"] for r in intervals})
    return {
        "slots": [labels.slot(s) for s in slots],
        "days": [d.strftime("%m-%d") for d in dates],
        "wait": [[slots.index(r["interval_idx"]), dates.index(r["period_start"]), r["wait_mean_min"] or 0]
                 for r in intervals],
        "gap": [[slots.index(r["interval_idx"]), dates.index(r["day"]), r["gap"]]
                for r in staffing_rows if r["interval_idx"] in slots and r["day"] in dates],
        "labels": {"wait": _("Mean wait (min)"), "gap": _("Counters needed − open")},
    }


def _forecast_chart(fc, outlet) -> tuple[dict | None, dict | None]:
    """The forecast arrivals per half-hour (those above zero) and the model's notes for the outlet."""
    if fc is None or fc.forecast.empty:
        return None, None
    f = fc.forecast.sort_values(["date", "interval"])
    f = f[f["forecast"] > 0]
    chart = {"x": [f"{d:%m-%d} {labels.slot(i)}" for d, i in zip(f["date"], f["interval"], strict=True)],
             "y": [round(float(v), 1) for v in f["forecast"]], "label": _("Forecast arrivals")}
    return chart, fc.outlets.get(outlet.code)


def _forecast_warning(start: date) -> str:
    uncovered = queries.forecast_uncovered_years(start, 2)
    return labels.calendar_warning(uncovered) if uncovered else ""


def _outlet_analysis(user, outlet, start: date, end: date, conf, intervals: list[dict]) -> dict:
    """What the log of the period says beyond its figures: pattern, staffing and proposals, forecast."""
    if not intervals:
        return {"pattern": None, "staffing": {"rows": []}, "proposals": labels.proposals([], outlet.counters or None),
                "forecast": None}
    staffing = queries.outlet_staffing(user, outlet, start, end, conf, intervals=intervals)
    # The outlet record may lag the queue machine's counter numbers: trust what the log shows served.
    most = max([outlet.counters, *(r["open"] for r in staffing["rows"])], default=0)
    return {"pattern": queries.outlet_pattern(user, outlet, start, end, conf), "staffing": staffing,
            "proposals": labels.proposals(staffing["rows"], most or None, conf.business_slots()),
            "forecast": queries.outlet_forecast(user, outlet, end + timedelta(days=1), weeks=2, conf=conf)}


@login_required
@permission_required(VIEW, raise_exception=True)
def outlet(request, code):
    outlet = queries.access_outlet(request.user, code)
    start, end, month = _period(request.GET)
    conf = queries.queue_settings_for(request.user)
    services.queue_stale_refresh(start, end)
    intervals = _shape(queries.outlet_intervals(request.user, outlet, start, end, conf))
    if request.GET.get("format") == "xlsx":
        return _export_intervals(outlet, intervals, start, end)
    days = _shape(queries.kpi_table(request.user, start, end, level="outlet", within=outlet, grain="day", conf=conf))
    total = _shape(queries.kpi_table(request.user, start, end, level="outlet", within=outlet, conf=conf))
    outside = set(queries.days_outside_hours(intervals, conf))
    for d in days:
        d["outside_hours"] = d["period_start"] in outside
    tiers = _shape(queries.tier_table(request.user, start, end, level="outlet", within=outlet, conf=conf))
    found = _outlet_analysis(request.user, outlet, start, end, conf, intervals)
    pattern = found["pattern"]
    fc_chart, fc_info = _forecast_chart(found["forecast"], outlet)
    return render(request, "queueing/outlet.html", {
        "outlet": outlet, "start": start, "end": end, "month": month, "months": queries.month_choices(month),
        "total": total[0] if total else None, "days": days, "pattern": pattern,
        "pattern_labels": labels.PATTERNS,
        "pattern_slots": [labels.slot(s) for s in pattern.queueing_slots] if pattern else [], "measure_labels": labels.MEASURES,
        "staffing": found["staffing"], "proposals": found["proposals"], "heat": _heat(intervals, found["staffing"]["rows"]),
        "heat_height": 90 + 18 * len({r["period_start"] for r in intervals}),
        "forecast": fc_chart, "forecast_info": fc_info, "forecast_start": end + timedelta(days=1), "conf": conf,
        "forecast_warning": _forecast_warning(end + timedelta(days=1)),
        "definitions": labels.definitions(conf), "slot_label": labels.slot,
        "tiers": tiers, "outside_hours": sorted(outside),
    })


@login_required
@permission_required(VIEW, raise_exception=True)
def imports(request):
    can_import = request.user.has_perm("queueing.import_tickets")
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file to import."))
            return redirect("queueing:imports")
        try:
            batch = services.import_uploaded(request.user, upload, upload.name, request.POST.get("kind", "tickets"),
                                             size=upload.size, mode=request.POST.get("mode", "append"))
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
            return redirect("queueing:imports")
        return redirect("queueing:import", batch.pk)
    page = paginate(request, queries.imports(request.user))
    return render(request, "queueing/imports.html", {
        "page": page, "can_import": can_import, "kinds": TicketImport.Kind.choices,
        "modes": TicketImport.Mode.choices,
        "columns": labels.TICKET_COLUMNS_HELP,
    })


@login_required
@permission_required(VIEW, raise_exception=True)
def import_detail(request, pk):
    batch = queries.access_import(request.user, pk)
    errors = [{**e, "reason_label": services.reason_label(e["reason"])} for e in batch.errors]
    if request.GET.get("format") == "xlsx":
        return export_list(f"import-{batch.pk}-rejected.xlsx", _("Rejected rows"),
                           [_("Line"), _("Field"), _("Reason"), _("Value")],
                           ([e["line"], e["field"], e["reason_label"], e["value"]] for e in errors))
    template = "queueing/_import_status.html" if request.headers.get("HX-Request") else "queueing/import.html"
    offered = [a for a in IMPORT_ACTIONS if IMPORT_ACTIONS.can(request.user, batch, [a.name])[a.name]]
    return render(request, template, {"batch": batch, "page": paginate(request, errors, 50),
                                      "preview": services.preview_lines(batch), "actions": offered})


@login_required
@permission_required(VIEW, raise_exception=True)
def import_action(request, pk, action):
    if request.method != "POST":
        return redirect("queueing:import", pk)
    batch = queries.access_import(request.user, pk)
    act = IMPORT_ACTIONS.authorize(request.user, batch, action)
    try:
        result = act.run(request.user, batch, {})
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        messages.success(request, act.done_message(result))
    return redirect("queueing:import", pk)


@login_required
@permission_required("queueing.view_queuesettings", raise_exception=True)
def settings_page(request):
    """The branch's queue settings with what each changes; the secretariat edits them here."""
    conf = queries.queue_settings_for(request.user)
    can_change = rules.can_change_settings(request.user)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        # A copy: the form's own validation must not touch the settings shown if it fails.
        form = QueueSettingsForm(request.POST, instance=queries.queue_settings_copy(conf))
        if form.is_valid():
            try:
                services.save_settings(request.user, conf.branch if conf.branch_id else None,
                                       **{k: form.cleaned_data[k] for k in services.SETTINGS_FIELDS})
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Queue settings saved; the figures use them from now on."))
                return redirect("queueing:settings")
    else:
        form = QueueSettingsForm(instance=conf)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "queueing/settings.html", {
        "form": form, "conf": conf, "can_change": can_change,
        "timeline": timeline(conf) if conf.pk else [], "definitions": labels.definitions(conf),
        "business_types": queries.business_types_seen(request.user, conf)})
