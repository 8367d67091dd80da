"""Reads shared by the queue pages and the API: which outlets a user sees and how they group."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.http import Http404

from branchops.org.models import Institution, Level
from branchops.org.queries import branch_of
from branchops.org.scope import scope_q

from .models import QueueSettings, TicketImport

LEVELS = ("outlet", "cluster", "sub_branch", "branch")


def data_root() -> Path:
    return Path(settings.BRANCHOPS_QUEUE_DIR)


@dataclass(frozen=True)
class OutletRow:
    outlet_id: int
    outlet_code: str
    outlet_name: str
    cluster_code: str
    cluster_name: str
    sub_branch_code: str
    sub_branch_name: str
    branch_code: str
    branch_name: str
    counters: int
    smart_devices: int


def outlet_rows(user, *, within: Institution | None = None) -> list[OutletRow]:
    """The active outlets the user sees (optionally under one institution), with the cluster,
    sub-branch and branch each belongs to — the mapping the KPI engine groups by."""
    outlets = Institution.objects.filter(scope_q(user, ""), level=Level.OUTLET, is_active=True)
    if within is not None:
        outlets = outlets.filter(path__startswith=within.path)
    outlets = list(outlets.select_related("cluster").order_by("path"))
    ancestor_ids = {int(i) for o in outlets for i in o.path.strip("/").split("/") if i}
    ancestors = {a.pk: a for a in Institution.objects.filter(pk__in=ancestor_ids)
                 .only("pk", "code", "name", "short_name", "level")}
    rows = []
    for o in outlets:
        chain = [ancestors[int(i)] for i in o.path.strip("/").split("/") if i and int(i) in ancestors]
        sub = next((a for a in reversed(chain) if a.level == Level.SUB_BRANCH), None)
        branch = next((a for a in reversed(chain) if a.level in (Level.TIER2_BRANCH, Level.TIER1_BRANCH)), None)
        rows.append(OutletRow(
            o.pk, o.code, o.short_name or o.name,
            o.cluster.code if o.cluster else "", o.cluster.name if o.cluster else "",
            sub.code if sub else "", (sub.short_name or sub.name) if sub else "",
            branch.code if branch else "", (branch.short_name or branch.name) if branch else "",
            o.counters, o.smart_devices))
    return rows


def queue_settings_for(user) -> QueueSettings:
    """The settings of the user's branch (the first branch for a head-office user); the defaults,
    unsaved, where a branch has no row (reads never write: the row is made with the branch)."""
    staff = getattr(user, "staff", None)
    inst = staff.institution if staff is not None else None
    if inst is None or inst.level == Level.HEAD_OFFICE:
        inst = Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH]).order_by("path").first()
    if inst is None:
        return QueueSettings()
    branch = branch_of(inst) or inst
    return QueueSettings.objects.filter(branch=branch).first() or QueueSettings(branch=branch)


def queue_settings_copy(conf: QueueSettings) -> QueueSettings:
    """An unsaved copy of the settings (a form may change it without touching the original)."""
    import copy

    return copy.copy(conf)


def imports(user):
    if not user.has_perm("queueing.view_ticketimport"):
        return TicketImport.objects.none()
    qs = TicketImport.objects.select_related("uploaded_by", "institution")
    if user.is_superuser:
        return qs
    return qs.filter(scope_q(user, "institution") | Q(uploaded_by=user))


def access_import(user, pk) -> TicketImport:
    try:
        return imports(user).get(pk=pk)
    except (TicketImport.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# --------------------------------------------------------------------------------------------- KPIs
# Level → (code attribute, name attribute) of OutletRow.
LEVEL_FIELDS = {
    "outlet": ("outlet_code", "outlet_name"),
    "cluster": ("cluster_code", "cluster_name"),
    "sub_branch": ("sub_branch_code", "sub_branch_name"),
    "branch": ("branch_code", "branch_name"),
}
NEXT_LEVEL = {"branch": "sub_branch", "sub_branch": "outlet", "cluster": "outlet"}


def _mapping(rows: list[OutletRow], level: str):
    import pyarrow as pa

    code_attr, _name = LEVEL_FIELDS[level]
    pairs = [(r.outlet_code, getattr(r, code_attr)) for r in rows if getattr(r, code_attr)]
    return pa.table({"outlet_code": [p[0] for p in pairs], "unit": [p[1] for p in pairs]})


def _names(rows: list[OutletRow], level: str) -> dict[str, str]:
    code_attr, name_attr = LEVEL_FIELDS[level]
    return {getattr(r, code_attr): getattr(r, name_attr) for r in rows if getattr(r, code_attr)}


def _records(table) -> list[dict]:
    return table.to_pylist() if table is not None else []


HIST_RESOLUTION_SECONDS = 60  # the roll-ups' wait histograms: one-minute bins


def _exact_percentiles(out: list[dict], start, end, *, grain: str, outlets=None, mapping=None,
                       breakdown=(), thresholds=None) -> None:
    """Replace the histogram median and P90 of ``out`` by the exact ones from the tickets (DuckDB over
    the partitions, or the month compact where it is current); every row says which it carries."""
    from . import kpis

    for r in out:
        r["percentiles"] = "histogram"
    if not out:
        return
    exact = kpis.wait_kpis(data_root(), start, end, grain=grain, outlets=outlets, mapping=mapping,
                           breakdown=breakdown, thresholds=thresholds).to_pylist()
    if not exact:
        return
    keys = [k for k in exact[0] if k in ("period_start", "interval_idx", "outlet_code", "unit", *breakdown)]
    found = {tuple(e[k] for k in keys): e for e in exact}
    for r in out:
        hit = found.get(tuple(r.get(k) for k in keys))
        if hit is not None:
            r["wait_median"], r["wait_p90"], r["percentiles"] = hit["wait_median"], hit["wait_p90"], "exact"


def kpi_table(user, start, end, *, level: str = "outlet", within: Institution | None = None,
              grain: str = "total", conf: QueueSettings | None = None, cluster: str = "",
              exact: bool = True) -> list[dict]:
    """KPIs of the units at ``level`` the user sees (under ``within``), from the roll-ups.
    Each row carries ``unit`` (code) and ``unit_name``; ordered by overtime-wait ratio, worst first.
    Median and P90 are exact (``percentiles == "exact"``) unless ``exact=False`` (a long trend that shows
    no percentile): then they come from the one-minute histograms (``"histogram"``, within a minute)."""
    from . import rollup

    if level not in LEVEL_FIELDS:
        raise ValueError(f"unknown level {level!r}")
    rows = outlet_rows(user, within=within)
    if cluster:
        rows = [r for r in rows if r.cluster_code == cluster]
    if not rows:
        return []
    conf = conf or queue_settings_for(user)
    mapping = _mapping(rows, level)
    table = rollup.rollup_kpis(data_root(), start, end, grain=grain, mapping=mapping,
                               thresholds=conf.thresholds_seconds())
    names = _names(rows, level)
    out = _records(table)
    if exact:
        _exact_percentiles(out, start, end, grain=grain, mapping=mapping, thresholds=conf.thresholds_seconds())
    else:
        for r in out:
            r["percentiles"] = "histogram"
    for r in out:
        r["unit_name"] = names.get(r["unit"], r["unit"])
    out.sort(key=lambda r: (r.get("period_start") or start, -(r["overtime_ratio"] or 0), r["unit"]))
    return out


def _unit_rows(user, within: Institution | None, cluster: str, level: str) -> list[OutletRow]:
    """The user's outlets (under ``within``, in ``cluster``); none for an unknown level."""
    if level not in LEVEL_FIELDS:
        return []
    rows = outlet_rows(user, within=within)
    return [r for r in rows if r.cluster_code == cluster] if cluster else rows


def tier_table(user, start, end, *, level: str = "outlet", within: Institution | None = None,
               grain: str = "total", conf: QueueSettings | None = None, cluster: str = "") -> list[dict]:
    """Wait figures per unit and customer tier (regular, VIP, private banking), each tier against its
    own overtime threshold; exact median and P90. Ordered by unit, then tier."""
    from . import rollup

    rows = _unit_rows(user, within, cluster, level)
    if not rows:
        return []
    conf = conf or queue_settings_for(user)
    th = conf.thresholds_seconds()
    mapping = _mapping(rows, level)
    out = _records(rollup.rollup_wait_kpis(data_root(), start, end, grain=grain, mapping=mapping,
                                           breakdown=("customer_tier",), thresholds=th))
    _exact_percentiles(out, start, end, grain=grain, mapping=mapping, breakdown=("customer_tier",), thresholds=th)
    names = _names(rows, level)
    for r in out:
        r["unit_name"] = names.get(r["unit"], r["unit"])
        r["threshold_minutes"] = th.get(r["customer_tier"], th["regular"]) // 60
    return out


def category_table(user, start, end, *, level: str = "outlet", within: Institution | None = None,
                   grain: str = "total", conf: QueueSettings | None = None, cluster: str = "") -> list[dict]:
    """Wait figures per unit and business category (the settings' mapping of the log's business types,
    applied now: a changed mapping shows at once). Types the mapping does not name are one row
    ``business_category == "unmapped"``, never dropped. Exact percentiles, from the tickets."""
    from . import kpis

    rows = _unit_rows(user, within, cluster, level)
    if not rows:
        return []
    conf = conf or queue_settings_for(user)
    th = conf.thresholds_seconds()
    out = kpis.wait_kpis(data_root(), start, end, grain=grain, mapping=_mapping(rows, level),
                         breakdown=("business_type",), thresholds=th, categories=conf.categories()).to_pylist()
    names = _names(rows, level)
    for r in out:
        r["business_category"] = r.pop("business_type")
        r["unit_name"] = names.get(r["unit"], r["unit"])
        r["percentiles"] = "exact"
    return out


def business_types_seen(user, conf: QueueSettings | None = None) -> list[dict]:
    """Every business type in the stored tickets of the user's outlets, with its ticket count and the
    category the mapping gives it (``unmapped`` where none): from the month roll-ups, a few rows each."""
    import duckdb

    from . import kpis

    conf = conf or queue_settings_for(user)
    outlets = [r.outlet_code for r in outlet_rows(user)]
    files = sorted(str(p) for p in (data_root() / "rollup_month").glob("month=*/data.parquet"))
    if not outlets or not files:
        return []
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        found = con.execute(
            "SELECT business_type, SUM(arrivals) FROM read_parquet(?, union_by_name = true) "
            "WHERE outlet_code IN (SELECT UNNEST(?)) GROUP BY business_type ORDER BY 2 DESC, 1",
            [files, outlets]).fetchall()
    finally:
        con.close()
    categories = conf.categories()
    return [{"business_type": t, "tickets": int(n), "business_category": categories.get(t, kpis.UNMAPPED)}
            for t, n in found if t is not None]


def outlet_intervals(user, outlet: Institution, start, end, conf: QueueSettings | None = None,
                     exact: bool = False) -> list[dict]:
    """One outlet's KPIs per day × half-hour (the heat-maps and staffing); ``exact``: exact percentiles
    (the API), else from the histograms (``percentiles`` says which)."""
    from . import rollup

    conf = conf or queue_settings_for(user)
    table = rollup.rollup_kpis(data_root(), start, end, grain="interval", outlets=[outlet.code],
                               thresholds=conf.thresholds_seconds())
    out = _records(table)
    if exact:
        _exact_percentiles(out, start, end, grain="interval", outlets=[outlet.code],
                           thresholds=conf.thresholds_seconds())
    else:
        for r in out:
            r["percentiles"] = "histogram"
    return out


def days_outside_hours(intervals: list[dict], conf: QueueSettings) -> list:
    """Days with tickets issued outside the business hours (from an outlet's interval rows)."""
    first, last = conf.business_slots()
    return sorted({r["period_start"] for r in intervals
                   if r.get("arrivals") and not first <= r["interval_idx"] < last})


def outlet_tiers(user, outlet: Institution, start, end, conf: QueueSettings | None = None) -> list[dict]:
    """One outlet's wait KPIs per half-hour of the day and tier, over the whole period (patterns)."""
    from . import rollup

    conf = conf or queue_settings_for(user)
    table = rollup.rollup_wait_kpis(data_root(), start, end, grain="interval", outlets=[outlet.code],
                                    breakdown=("customer_tier",), thresholds=conf.thresholds_seconds())
    return _records(table)


def data_months() -> list[str]:
    """Every month the store holds tickets or roll-ups of, newest first (all of them: the picker lists
    old data too)."""
    import re

    root = data_root()
    found = set()
    for table in ("tickets", "rollup_month"):
        base = root / table
        if base.exists():
            found |= {p.name.split("=", 1)[1] for p in base.glob("month=*")
                      if re.fullmatch(r"month=\d{4}-\d{2}", p.name) and any(p.iterdir())}
    return sorted(found, reverse=True)


def default_month(months: list[str] | None = None) -> str:
    """The month a page opens on: the newest with data that is not after this month (future-dated
    tickets never become everyone's default), else this month."""
    from branchops.core import clock

    this = clock.today().strftime("%Y-%m")
    months = data_months() if months is None else months
    return next((m for m in months if m <= this), this)


def month_choices(selected: str = "") -> list[tuple[str, str]]:
    """(value, label) of every month with data, the selected one included even without data, so the
    picker never shows another month than the one on the page; future months say so."""
    from django.utils.translation import gettext as _

    from branchops.core import clock

    this = clock.today().strftime("%Y-%m")
    months = data_months()
    if selected and selected not in months:
        months = sorted([*months, selected], reverse=True)
    return [(m, _("%(month)s (after today)") % {"month": m} if m > this else m) for m in months]


def access_outlet(user, code: str) -> Institution:
    try:
        return Institution.objects.get(scope_q(user, ""), code=code, level=Level.OUTLET)
    except Institution.DoesNotExist as exc:
        raise Http404 from exc


def _device_busy(outlet: Institution, start, end) -> dict[int, float]:
    """Device busy seconds per half-hour of the day over the period, from the device log."""
    from . import kpis

    files = kpis.partition_paths(data_root(), "devices", kpis.months_between(start, end), [outlet.code])
    if not files:
        return {}
    import duckdb

    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"""SELECT CAST((EXTRACT(hour FROM start_at) * 60 + EXTRACT(minute FROM start_at)) / 30 AS INTEGER)
                       AS slot, SUM(date_diff('second', start_at, end_at))
                FROM read_parquet([{listed}]) WHERE CAST(start_at AS DATE) BETWEEN ? AND ? GROUP BY slot""",
            [start, end]).fetchall()
    finally:
        con.close()
    return {int(slot): float(busy or 0) for slot, busy in rows}


def outlet_pattern(user, outlet: Institution, start, end, conf: QueueSettings | None = None):
    """The outlet's queue pattern(s) over the period by the written rules (``patterns``)."""
    from . import patterns

    conf = conf or queue_settings_for(user)
    by_slot: dict[int, dict] = {}
    for r in outlet_tiers(user, outlet, start, end, conf):
        slot = by_slot.setdefault(r["interval_idx"], {"sr": 0, "or": 0, "sv": 0, "ov": 0, "days": set()})
        vip = r["customer_tier"] in ("vip", "private")
        slot["sv" if vip else "sr"] += r["called"] or 0
        slot["ov" if vip else "or"] += r["overtime"] or 0
        slot["days"].add(r["period_start"])
    busy = _device_busy(outlet, start, end)
    slots = []
    for idx, s in by_slot.items():
        capacity = outlet.smart_devices * 1800.0 * len(s["days"])
        slots.append(patterns.Slot(idx, s["sr"], s["or"], s["sv"], s["ov"], busy.get(idx, 0.0), capacity))
    rules = patterns.Rules(ratio=float(conf.pattern_ratio), all_day_share=float(conf.all_day_share),
                           device_saturation=float(conf.device_saturation))
    return patterns.classify(slots, rules)


def outlet_staffing(user, outlet: Institution, start, end, conf: QueueSettings | None = None,
                    intervals: list[dict] | None = None) -> dict:
    """Counters needed per day × half-hour to meet the service target (Erlang C, or Erlang A where
    customers abandon noticeably) against the counters that actually served, and the flexible-window
    proposals for the busiest day pattern."""
    import numpy as np

    from . import erlang

    conf = conf or queue_settings_for(user)
    if intervals is None:
        intervals = outlet_intervals(user, outlet, start, end, conf)
    rows = [r for r in intervals if r["arrivals"]]
    if not rows:
        return {"rows": [], "model": "erlang_c"}
    arrivals = np.array([r["arrivals"] for r in rows], dtype=float)
    aht = np.array([r["service_mean"] or 0 for r in rows], dtype=float)
    typical = float(np.median(aht[aht > 0])) if (aht > 0).any() else 300.0
    aht = np.where(aht > 0, aht, typical)
    abandoned = np.array([r["abandoned"] or 0 for r in rows], dtype=float)
    waited = np.array([(r["wait_mean"] or 0) * (r["called"] or 0) for r in rows], dtype=float)
    load = erlang.offered_load(arrivals, aht)
    share = float(abandoned.sum() / arrivals.sum())
    patience = float(erlang.estimate_patience(abandoned.sum(), waited.sum()))
    needed, used_a = erlang.counters_needed_auto(
        load, aht, conf.target_wait_minutes * 60, float(conf.target_level),
        patience_seconds=patience if np.isfinite(patience) else np.inf,
        abandon_share=share, threshold=float(conf.abandonment_significant), max_counters=60)
    out = []
    for r, n, capped in zip(rows, needed.counters.tolist(), needed.capped.tolist(), strict=True):
        open_ = round((r["counter_seconds"] or 0) / 1800)
        out.append({"day": r["period_start"], "interval_idx": r["interval_idx"], "arrivals": r["arrivals"],
                    "service_mean": r["service_mean"], "needed": int(n), "capped": bool(capped), "open": open_,
                    "gap": int(n) - open_})
    return {"rows": out, "model": "erlang_a" if bool(np.any(used_a)) else "erlang_c",
            "abandon_share": share, "patience_seconds": patience if np.isfinite(patience) else None}


def _calendar_sets(first, last, paydays_of_month: tuple[int, ...]):
    from datetime import timedelta

    from branchops.core.calendar import statutory_holiday
    from branchops.core.workdays import is_working_day

    closed, paydays = set(), set()
    d = first
    while d <= last:
        # A statutory holiday, or a weekday the bank's calendar overrides close (next year's schedule
        # entered before the chinese-calendar package knows it).
        if not is_working_day(d) and (statutory_holiday(d) or d.weekday() < 5):
            closed.add(d)
        if d.day in paydays_of_month:
            paydays.add(d)
        d += timedelta(days=1)
    return closed, paydays


def forecast_uncovered_years(start, weeks: int) -> list[int]:
    """Years of the forecast days whose public holidays nobody has given us: ``chinese-calendar`` does
    not know them (it covers up to 2026) and the bank has not entered the published schedule as
    calendar overrides — those days are forecast as ordinary days, and the pages and API say so."""
    from datetime import timedelta

    from branchops.core.workdays import uncovered_years

    last = start + timedelta(weeks=weeks) - timedelta(days=1)
    return uncovered_years(range(start.year, last.year + 1))


def outlet_forecast(user, outlet: Institution, start, weeks: int = 2, history_weeks: int = 16,
                    conf: QueueSettings | None = None):
    """Arrivals per half-hour for ``weeks`` weeks from ``start``, from the last ``history_weeks`` of
    history: the mean of the last four same weekdays, or a model where it beat that on the holdout."""
    from datetime import timedelta

    import pandas as pd

    from . import forecast

    conf = conf or queue_settings_for(user)
    first = start - timedelta(weeks=history_weeks)
    rows = [r for r in outlet_intervals(user, outlet, first, start - timedelta(days=1), conf) if r["arrivals"]]
    if not rows:
        return None
    history = pd.DataFrame({"outlet_code": outlet.code, "date": pd.to_datetime([r["period_start"] for r in rows]),
                            "interval": [r["interval_idx"] for r in rows],
                            "arrivals": [r["arrivals"] for r in rows]})
    closed, paydays = _calendar_sets(first, start + timedelta(weeks=weeks), conf.paydays_of_month())
    try:
        return forecast.forecast_arrivals(history, start, horizon_weeks=weeks, closed_dates=closed, paydays=paydays)
    except ValueError:
        return None  # under a week of history: nothing honest to say yet


def weekly_outlet_kpis(branch: Institution, outlet_codes, start, end) -> list[dict]:
    """Each outlet's KPIs per week (Monday ``period_start``) from the roll-ups, under the branch's
    overtime thresholds: a system read for analyses that are authorised by their own owner (the
    post-release watch), so no user scope here. Rows: ``outlet_code``, ``period_start``,
    ``overtime_ratio``, ``wait_mean``, ``served`` …"""
    from . import rollup

    codes = sorted(set(outlet_codes))
    if not codes:
        return []
    conf = QueueSettings.objects.filter(branch=branch).first() or QueueSettings(branch=branch)
    table = rollup.rollup_wait_kpis(data_root(), start, end, grain="week", outlets=codes,
                                    thresholds=conf.thresholds_seconds())
    return _records(table)


# Business types that are foreign-exchange business (外汇): the workforce's "did forex business" figure.
FOREX_BUSINESS_TYPES = ("currency_exchange",)


def teller_activity(outlet_codes, start, end) -> dict[str, dict] | None:
    """Tickets served per teller number at these outlets between two days (inclusive), and how many
    of them were foreign-exchange business: ``{teller_no: {"served": n, "forex": n}}``. None when no
    ticket log covers these outlets and months (the figure is then missing, never zero). The caller
    has authorised the reader on the outlets."""
    from . import kpis

    codes = [kpis.check_outlet_code(c) for c in outlet_codes]
    paths = kpis.partition_paths(data_root(), "tickets", kpis.months_between(start, end), codes) if codes else []
    if not paths:
        return None
    con = kpis.connect()
    try:
        rows = con.execute(
            f"SELECT teller_no, COUNT(*), COUNT(*) FILTER (WHERE business_type IN ({kpis._list(FOREX_BUSINESS_TYPES)})) "
            f"FROM read_parquet([{kpis._list(paths)}], hive_partitioning = false) "
            "WHERE outcome = 'served' AND teller_no IS NOT NULL AND teller_no <> '' "
            "AND ticket_date BETWEEN ? AND ? GROUP BY teller_no", [start, end]).fetchall()
    finally:
        con.close()
    return {t: {"served": int(n), "forex": int(f)} for t, n, f in rows}
