"""The queue-analytics API under /api/v1/queueing/: KPIs, one outlet's heat-map, pattern, staffing
and forecast, and the ticket/device log imports.

Thin — check the permission, parse, call ``queries`` or ``services``, render. Every endpoint needs
``queueing.view_ticketimport`` (403 without it); the figures are those of the outlets in the user's
scope (``queries.outlet_rows`` / ``queries.access_outlet``), so an outlet outside it answers the same
404 as one that does not exist. Uploading needs ``queueing.import_tickets`` as well.

Input this router cannot use — a malformed or reversed date range, an unknown level, grain or kind,
weeks outside 1–4, a file of the wrong type — answers **400** ``{"detail": {field: [message, …]}}``
naming the field, before anything is read or written. Waits and service times are in seconds,
ratios between 0 and 1.
"""

from datetime import date, datetime, timedelta
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import clock, limits
from branchops.core.api import ErrorOut, Id, run_action
from branchops.org.api import Pages, Ref
from branchops.org.scope import visible_institutions

from . import labels, queries, services
from .actions import IMPORT_ACTIONS
from .models import QueueSettings, TicketImport
from .schema import MAPPED_COLUMNS

router = Router(tags=["queueing"])

VIEW = "queueing.view_ticketimport"
IMPORT = "queueing.import_tickets"
MAX_DAYS = 366
MAX_WEEKS = 4
GRAINS = ("total", "day", "week", "month", "interval")
INVALID = 400  # input this router cannot use: 400 naming the field, as the rest of the API answers


# --- guards and parsing ------------------------------------------------------------------------

def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def unprocessable(view):
    """A ValidationError raised by the view (ours or a service's) answers 400 naming its fields."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ValidationError as exc:
            return Status(INVALID, {"detail": _messages(exc)})

    return wrapper


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _date(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({field: _("Give a date as YYYY-MM-DD.")}) from exc
    if not limits.date_in_range(day):
        raise ValidationError({field: _("Give a date between %(first)s and %(last)s.") % {
            "first": limits.MIN_DATE, "last": limits.MAX_DATE}})
    return day


def _int(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationError({field: _("Give a whole number.")}) from exc
    if abs(number) > limits.MAX_ID:
        raise ValidationError({field: _("Give a smaller number.")})
    return number


def _choice(value: str, choices, field: str) -> None:
    if value not in choices:
        raise ValidationError({field: _("Choose one of: %(values)s.") % {"values": ", ".join(choices)}})


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    """Both dates, or neither: then the newest month with data (this month when there is none)."""
    first, last = _date(start, "start"), _date(end, "end")
    if first is None and last is None:
        return _month_bounds(queries.default_month())
    if first is None or last is None:
        raise ValidationError({"start" if first is None else "end": _("Give both start and end, or neither.")})
    if first > last:
        raise ValidationError({"start": _("The start must not be after the end.")})
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError({"end": _("At most %(n)s days at a time.") % {"n": MAX_DAYS}})
    return first, last


# Empty means not given (forms send it so), hence a pattern rather than ``format: date``.
DATE = {"description": "YYYY-MM-DD, 2000-01-01 to 2100-12-31",
        "json_schema_extra": {"pattern": r"^((20\d\d|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))?$"}}
PERIOD_HELP = "Both or neither; neither means the newest month with data. At most 366 days."


class PeriodQuery(Schema):
    start: str | None = Field(None, **DATE)
    end: str | None = Field(None, **DATE)


def _ref(obj) -> dict | None:
    return {"id": obj.pk, "code": obj.code, "name": obj.name} if obj is not None else None


def _outlet(request, code: str):
    _require(request.user, VIEW)
    return queries.access_outlet(request.user, code)  # 404 alike for hidden and missing


# --- KPIs --------------------------------------------------------------------------------------

class TermOut(Schema):
    term: str
    text: str


class DefinitionsOut(Schema):
    """What the figures mean, with the user's branch settings filled in."""

    thresholds_minutes: dict[str, int] = Field(
        description="Overtime wait per customer tier (regular, vip, private): a called customer whose wait "
                    "is strictly longer counts as overtime; a tier without its own uses regular.")
    target_wait_minutes: int
    target_level: float
    abandonment_significant: float
    time_unit: str = Field("seconds", description="Unit of wait_* and service_mean")
    terms: list[TermOut]


def _definitions(conf: QueueSettings) -> dict:
    return {"thresholds_minutes": {"regular": conf.regular_threshold_minutes, "vip": conf.vip_threshold_minutes,
                                   "private": conf.private_threshold_minutes},
            "target_wait_minutes": conf.target_wait_minutes, "target_level": float(conf.target_level),
            "abandonment_significant": float(conf.abandonment_significant), "time_unit": "seconds",
            "terms": [{"term": str(t), "text": str(x)} for t, x in labels.definitions(conf)]}


class WaitFiguresOut(Schema):
    """The wait figures of a unit (or of one customer tier); null where there is nothing to divide by."""

    arrivals: int | None = None
    served: int | None = None
    transferred: int | None = None
    abandoned: int | None = None
    called: int | None = None
    abandon_rate: float | None = None
    wait_mean: float | None = None
    wait_median: float | None = None
    wait_p90: float | None = None
    wait_max: float | None = None
    overtime: int | None = None
    overtime_ratio: float | None = None
    service_mean: float | None = None
    percentiles: str | None = Field(None, description="exact: wait_median and wait_p90 from the tickets; "
                                                      "histogram: from one-minute bins, within "
                                                      "percentile_resolution_seconds of the exact figure")
    percentile_resolution_seconds: int | None = Field(None, description="0 when exact, 60 from the histograms")


class FiguresOut(WaitFiguresOut):
    """The KPIs of a unit over a period (or one half-hour); null where there is nothing to divide by."""

    busy_seconds: float | None = None
    counter_seconds: float | None = None
    utilisation: float | None = None
    peak_queue: int | None = Field(None, description="The most called customers waiting at once (those who "
                                                     "gave up are not counted)")
    device_txns: int | None = None
    eligible_tickets: int | None = None
    migration_rate: float | None = None


class KpiRowOut(FiguresOut):
    unit: str
    unit_name: str
    period_start: date | None = Field(None, description="Grains day, week (Monday), month, interval")
    interval_idx: int | None = Field(None, description="Grain interval: half-hour of the day, 0 = 00:00")
    slot: str | None = Field(None, description="Grain interval: the half-hour's start, e.g. 09:30")


class TierRowOut(WaitFiguresOut):
    """Wait figures of one unit for one customer tier, against that tier's own overtime threshold."""

    unit: str
    unit_name: str
    customer_tier: str = Field(description="regular, vip or private")
    period_start: date | None = None
    interval_idx: int | None = None
    slot: str | None = None
    threshold_minutes: int


class CategoryRowOut(WaitFiguresOut):
    """Wait figures of one unit for one business category."""

    unit: str
    unit_name: str
    business_category: str = Field(description="A business category of the queue settings, or unmapped")
    period_start: date | None = None
    interval_idx: int | None = None
    slot: str | None = None


class KpisOut(Schema):
    start: date
    end: date
    level: str
    grain: str
    within: Ref | None
    definitions: DefinitionsOut
    rows: list[KpiRowOut]
    by_tier: list[TierRowOut] = Field(description="The wait figures of the same units per customer tier")
    by_category: list[CategoryRowOut] = Field(
        description="The wait figures of the same units per business category (the queue settings' mapping of "
                    "the log's business types; unmapped types together as 'unmapped'), exact percentiles")


class KpiQuery(PeriodQuery):
    level: str = Field("outlet", description="outlet, cluster, sub_branch or branch",
                       json_schema_extra={"enum": list(queries.LEVELS)})
    within: str | None = Field(None, description="An institution's id: only the units under it",
                               json_schema_extra={"pattern": r"^\d{0,18}$"})
    grain: str = Field("total", description="total, day, week, month or interval",
                       json_schema_extra={"enum": list(GRAINS)})


def _slot(row: dict, key: str = "interval_idx") -> dict:
    if row.get(key) is not None:
        row["slot"] = labels.slot(row[key])
    if "percentiles" in row:
        row["percentile_resolution_seconds"] = 0 if row["percentiles"] == "exact" else queries.HIST_RESOLUTION_SECONDS
    return row


@router.get("/kpis", response={200: KpisOut, INVALID: ErrorOut},
            summary="Queue KPIs of the outlets, clusters, sub-branches or branches in my scope, worst "
                    "overtime-wait ratio first. " + PERIOD_HELP)
@unprocessable
def kpis(request, params: Query[KpiQuery]):
    _require(request.user, VIEW)
    errors: dict[str, list[str]] = {}

    def check(fn, *args):
        try:
            return fn(*args)
        except ValidationError as exc:  # every field's problem at once
            for field, msgs in exc.message_dict.items():
                errors.setdefault(field, []).extend(msgs)
            return None

    period = check(_period, params.start, params.end)
    check(_choice, params.level, queries.LEVELS, "level")
    check(_choice, params.grain, GRAINS, "grain")
    within = None
    within_id = check(_int, params.within, "within")
    if within_id is not None:
        within = visible_institutions(request.user).filter(pk=within_id).first()
        if within is None:
            errors["within"] = [_("Choose an institution within your view.")]
    if errors:
        raise ValidationError(errors)
    start, end = period
    conf = queries.queue_settings_for(request.user)
    services.queue_stale_refresh(start, end)
    rows = queries.kpi_table(request.user, start, end, level=params.level, within=within, grain=params.grain,
                             conf=conf)
    tiers = queries.tier_table(request.user, start, end, level=params.level, within=within, grain=params.grain,
                               conf=conf)
    categories = queries.category_table(request.user, start, end, level=params.level, within=within,
                                        grain=params.grain, conf=conf)
    return {"start": start, "end": end, "level": params.level, "grain": params.grain, "within": _ref(within),
            "definitions": _definitions(conf), "rows": [_slot(r) for r in rows],
            "by_tier": [_slot(r) for r in tiers], "by_category": [_slot(r) for r in categories]}


# --- one outlet --------------------------------------------------------------------------------

class IntervalRowOut(FiguresOut):
    date: date
    interval_idx: int
    slot: str


class IntervalsOut(Schema):
    outlet: Ref
    start: date
    end: date
    definitions: DefinitionsOut
    business_hours: list[str] = Field(description="Opening and closing time (HH:MM) from the queue settings")
    outside_hours_days: list[date] = Field(description="Days with tickets issued outside the business hours "
                                                       "(a queue machine's wrong clock, a test run left in the log)")
    rows: list[IntervalRowOut]


@router.get("/outlets/{code}/intervals", response={200: IntervalsOut, INVALID: ErrorOut},
            summary="One outlet's KPIs per day × half-hour (the heat-maps). " + PERIOD_HELP)
@unprocessable
def outlet_intervals(request, code: str, params: Query[PeriodQuery]):
    outlet = _outlet(request, code)
    start, end = _period(params.start, params.end)
    conf = queries.queue_settings_for(request.user)
    services.queue_stale_refresh(start, end)
    rows = queries.outlet_intervals(request.user, outlet, start, end, conf, exact=True)
    return {"outlet": _ref(outlet), "start": start, "end": end, "definitions": _definitions(conf),
            "business_hours": [conf.opens_at.strftime("%H:%M"), conf.closes_at.strftime("%H:%M")],
            "outside_hours_days": queries.days_outside_hours(rows, conf),
            "rows": [_slot({**r, "date": r["period_start"]}) for r in rows]}


class LabelledOut(Schema):
    code: str
    label: str


class PatternRulesOut(Schema):
    ratio: float = Field(description="Overtime-wait ratio that marks a queueing half-hour")
    all_day_share: float = Field(description="Share of open half-hours over the ratio for all-day queueing")
    device_saturation: float = Field(description="Device utilisation that counts as saturated")


class PatternOut(Schema):
    outlet: Ref
    start: date
    end: date
    patterns: list[LabelledOut]
    open_slots: int = Field(description="Half-hours with enough customers served to count")
    queueing_slots: list[int] = Field(description="Half-hours of the day (0..47) at or over the ratio")
    saturated_slots: list[int]
    ratio: float
    vip_ratio: float
    regular_ratio: float
    measures: list[LabelledOut]
    rules: PatternRulesOut


@router.get("/outlets/{code}/pattern", response={200: PatternOut, INVALID: ErrorOut},
            summary="One outlet's queue pattern(s) over the period and the measures for them. " + PERIOD_HELP)
@unprocessable
def outlet_pattern(request, code: str, params: Query[PeriodQuery]):
    outlet = _outlet(request, code)
    start, end = _period(params.start, params.end)
    conf = queries.queue_settings_for(request.user)
    services.queue_stale_refresh(start, end)
    c = queries.outlet_pattern(request.user, outlet, start, end, conf)
    return {"outlet": _ref(outlet), "start": start, "end": end,
            "patterns": [{"code": p, "label": str(labels.PATTERNS.get(p, p))} for p in c.patterns],
            "open_slots": c.open_slots, "queueing_slots": c.queueing_slots, "saturated_slots": c.saturated_slots,
            "ratio": c.ratio, "vip_ratio": c.vip_ratio, "regular_ratio": c.regular_ratio,
            "measures": [{"code": m, "label": str(labels.MEASURES.get(m, m))} for m in c.measures],
            "rules": {"ratio": float(conf.pattern_ratio), "all_day_share": float(conf.all_day_share),
                      "device_saturation": float(conf.device_saturation)}}


class StaffingRowOut(Schema):
    date: date
    interval_idx: int
    slot: str
    arrivals: int
    service_mean: float | None
    needed: int = Field(description="Counters needed to meet the service target")
    capped: bool = Field(description="The need reached the model's ceiling")
    open: int = Field(description="Counters that served in the half-hour")
    gap: int = Field(description="needed − open: above 0 short, below 0 spare")


class TargetOut(Schema):
    wait_minutes: int
    level: float
    abandonment_significant: float


class StaffingOut(Schema):
    outlet: Ref
    start: date
    end: date
    model: str = Field(description="erlang_c, or erlang_a where customers abandon noticeably")
    abandon_share: float | None
    patience_seconds: float | None
    target: TargetOut
    rows: list[StaffingRowOut]


@router.get("/outlets/{code}/staffing", response={200: StaffingOut, INVALID: ErrorOut},
            summary="Counters needed, open and the gap per day × half-hour. " + PERIOD_HELP)
@unprocessable
def outlet_staffing(request, code: str, params: Query[PeriodQuery]):
    outlet = _outlet(request, code)
    start, end = _period(params.start, params.end)
    conf = queries.queue_settings_for(request.user)
    services.queue_stale_refresh(start, end)
    s = queries.outlet_staffing(request.user, outlet, start, end, conf)
    return {"outlet": _ref(outlet), "start": start, "end": end, "model": s["model"],
            "abandon_share": s.get("abandon_share"), "patience_seconds": s.get("patience_seconds"),
            "target": {"wait_minutes": conf.target_wait_minutes, "level": float(conf.target_level),
                       "abandonment_significant": float(conf.abandonment_significant)},
            "rows": [_slot({**r, "date": r["day"]}) for r in s["rows"]]}


class ForecastRowOut(Schema):
    date: date
    interval_idx: int
    slot: str
    forecast: float = Field(description="Expected arrivals in the half-hour")
    method: str
    closed: bool
    payday: bool


class ForecastFitOut(Schema):
    method: str = Field(description="baseline (median of the last four same weekdays), mstl or ets")
    model: str | None = Field(description="The best model candidate tried against the baseline")
    wape: float | None = Field(description="Holdout WAPE of the method used")
    wape_baseline: float | None
    wape_model: float | None
    noise_floor: float | None = Field(description="The WAPE even the true mean could not beat")
    history_days: int
    short_history: bool
    holdout_start: date | None
    holdout_end: date | None
    holdout_arrivals: int
    payday_factor: float
    note: str
    rows: list[ForecastRowOut]


class ForecastOut(Schema):
    outlet: Ref
    start: date
    weeks: int
    forecast: ForecastFitOut | None = Field(description="Null when there is not enough history yet")
    message: str
    uncovered_years: list[int] = Field(description="Years of the forecast days whose public holidays neither "
                                                   "chinese-calendar nor the bank's calendar overrides cover: "
                                                   "those days are forecast as ordinary days")
    warnings: list[str]


class ForecastQuery(Schema):
    start: str | None = Field(None, description="YYYY-MM-DD; defaults to tomorrow",
                              json_schema_extra={"format": "date"})
    weeks: str | None = Field(None, description="A whole number from 1 to 4; defaults to 2")


def _forecast(result, code: str) -> dict | None:
    info = result.outlets.get(code) if result is not None else None
    if info is None:
        return None
    f = result.forecast
    f = f[f["outlet_code"] == code].sort_values(["date", "interval"])
    rows = [{"date": d.date(), "interval_idx": int(i), "slot": labels.slot(i), "forecast": round(float(v), 3),
             "method": m, "closed": bool(c), "payday": bool(p)}
            for d, i, v, m, c, p in zip(f["date"], f["interval"], f["forecast"], f["method"], f["closed"],
                                        f["payday"], strict=True)]
    return {"method": info.method, "model": info.model, "wape": info.wape, "wape_baseline": info.wape_baseline,
            "wape_model": info.wape_model, "noise_floor": info.noise_floor, "history_days": info.history_days,
            "short_history": info.short_history, "holdout_start": result.holdout_start,
            "holdout_end": result.holdout_end, "holdout_arrivals": info.holdout_arrivals,
            "payday_factor": info.payday_factor, "note": info.note, "rows": rows}


@router.get("/outlets/{code}/forecast", response={200: ForecastOut, INVALID: ErrorOut},
            summary="Arrivals per half-hour for 1–4 weeks from start, with the method and its holdout WAPE "
                    "(null forecast while there is under a week of history)")
@unprocessable
def outlet_forecast(request, code: str, params: Query[ForecastQuery]):
    outlet = _outlet(request, code)
    start = _date(params.start, "start") or clock.today() + timedelta(days=1)
    weeks = _int(params.weeks, "weeks")
    weeks = 2 if weeks is None else weeks
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationError({"weeks": _("Between 1 and %(n)s weeks.") % {"n": MAX_WEEKS}})
    conf = queries.queue_settings_for(request.user)
    fit = _forecast(queries.outlet_forecast(request.user, outlet, start, weeks=weeks, conf=conf), outlet.code)
    message = "" if fit is not None else _(
        "Not enough history to forecast yet: at least a week of data before the start is needed.")
    uncovered = queries.forecast_uncovered_years(start, weeks)
    return {"outlet": _ref(outlet), "start": start, "weeks": weeks, "forecast": fit, "message": message,
            "uncovered_years": uncovered, "warnings": [labels.calendar_warning(uncovered)] if uncovered else []}


# --- settings ----------------------------------------------------------------------------------

class BusinessTypeOut(Schema):
    business_type: str
    tickets: int
    business_category: str = Field(description="A business category, or unmapped")


class QueueSettingsOut(Schema):
    branch: Ref | None
    regular_threshold_minutes: int
    vip_threshold_minutes: int
    private_threshold_minutes: int
    target_wait_minutes: int
    target_level: float
    abandonment_significant: float
    pattern_ratio: float
    all_day_share: float
    device_saturation: float
    paydays: str
    opens_at: str = Field(description="HH:MM, business hours used by the planner")
    closes_at: str = Field(description="HH:MM")
    type_mapping: dict[str, dict[str, str]] = Field(
        description="The log's own codes -> the product's: business_type -> business category (applied when "
                    "the KPIs are read), queue_type and customer_tier -> their codes (applied at import)")
    mapping_targets: dict[str, list[str]] = Field(description="The product codes each column maps onto")
    business_types: list[BusinessTypeOut] = Field(
        description="The business types in the stored tickets of my outlets and the category each goes to "
                    "(unmapped where the mapping names none)")
    effects: dict[str, str] = Field(description="What each setting changes")
    allowed_actions: list[str] = Field(description="change, when the user may change them")


class QueueSettingsIn(Schema):
    """Any of the settings; the others keep their values. All are checked before any is saved."""

    regular_threshold_minutes: int | None = Field(None, ge=0, le=limits.MAX_ID)
    vip_threshold_minutes: int | None = Field(None, ge=0, le=limits.MAX_ID)
    private_threshold_minutes: int | None = Field(None, ge=0, le=limits.MAX_ID)
    target_wait_minutes: int | None = Field(None, ge=0, le=limits.MAX_ID)
    target_level: float | None = Field(None, ge=0, le=1)
    abandonment_significant: float | None = Field(None, ge=0, le=1)
    pattern_ratio: float | None = Field(None, ge=0, le=1)
    all_day_share: float | None = Field(None, ge=0, le=1)
    device_saturation: float | None = Field(None, ge=0, le=1)
    paydays: str | None = Field(None, max_length=40)
    opens_at: str | None = Field(None, description="HH:MM", json_schema_extra={"pattern": r"^\d{2}:\d{2}$"})
    closes_at: str | None = Field(None, description="HH:MM", json_schema_extra={"pattern": r"^\d{2}:\d{2}$"})
    type_mapping: dict[str, dict[str, str]] | None = Field(
        None, description="The whole mapping (it replaces the stored one): {column: {value in the log: product "
                          "code}}, columns business_type, queue_type, customer_tier")


def _settings_out(conf: QueueSettings, user) -> dict:
    from . import rules

    data = {name: getattr(conf, name) for name in services.SETTINGS_FIELDS}
    for name in ("target_level", "abandonment_significant", "pattern_ratio", "all_day_share", "device_saturation"):
        data[name] = float(data[name])
    data["opens_at"], data["closes_at"] = conf.opens_at.strftime("%H:%M"), conf.closes_at.strftime("%H:%M")
    data["branch"] = _ref(conf.branch) if conf.branch_id else None
    data["type_mapping"] = conf.type_mapping or {}
    data["mapping_targets"] = {k: list(v) for k, v in MAPPED_COLUMNS.items()}
    data["business_types"] = queries.business_types_seen(user, conf)
    data["effects"] = {k: str(v) for k, v in labels.SETTING_EFFECTS.items()}
    data["allowed_actions"] = ["change"] if rules.can_change_settings(user) else []
    return data


def _time(value: str, field: str):
    from datetime import time

    try:
        hours, minutes = (int(p) for p in value.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValidationError({field: _("Give a time as HH:MM, e.g. 08:30.")}) from exc


@router.get("/settings", response=QueueSettingsOut,
            summary="My branch's queue settings (overtime thresholds, service target, pattern rules, business "
                    "hours) and what each changes")
def get_settings(request):
    _require(request.user, "queueing.view_queuesettings")
    return _settings_out(queries.queue_settings_for(request.user), request.user)


@router.patch("/settings", response={200: QueueSettingsOut, INVALID: ErrorOut},
              summary="Change my branch's queue settings (the secretariat); the KPIs use them at once")
@unprocessable
def patch_settings(request, payload: QueueSettingsIn):
    _require(request.user, "queueing.change_queuesettings")
    fields = payload.dict(exclude_unset=True)
    errors: dict[str, list[str]] = {}
    for name in ("opens_at", "closes_at"):
        if fields.get(name) is not None:
            try:
                fields[name] = _time(fields[name], name)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    missing = [name for name, value in fields.items() if value is None]
    for name in missing:
        errors[name] = [_("Give a value or leave the field out.")]
    if errors:
        raise ValidationError(errors)
    conf = queries.queue_settings_for(request.user)
    conf = services.save_settings(request.user, conf.branch if conf.branch_id else None, **fields)
    return _settings_out(conf, request.user)


# --- imports -----------------------------------------------------------------------------------

class PersonOut(Schema):
    id: int
    username: str
    name: str


def _person(user) -> dict | None:
    if user is None:
        return None
    staff = getattr(user, "staff", None)
    return {"id": user.pk, "username": user.get_username(), "name": staff.name if staff else user.get_username()}


class ImportFields(Schema):
    id: int
    kind: str = Field(description="tickets or devices")
    file_name: str
    status: str = Field(description="queued, running, done or failed")
    uploaded_by: PersonOut | None
    institution: Ref | None
    created_at: datetime
    finished_at: datetime | None
    total_rows: int
    done_rows: int
    progress: int = Field(description="Percent of the rows read")
    added: int
    already_stored: int
    recalls: int
    rejected: int
    message: str
    mode: str = Field(description="append (add to the stored tickets) or replace (the outlets' days in the file)")
    replaced: int = Field(description="Stored tickets removed because their outlet-day was replaced")
    undone_at: datetime | None


class ImportOut(ImportFields):
    """An import in the list (read from the queryset)."""

    @staticmethod
    def resolve_uploaded_by(obj):
        return _person(obj.uploaded_by)

    @staticmethod
    def resolve_institution(obj):
        return _ref(obj.institution)


class RejectedRowOut(Schema):
    line: int | None
    field: str | None
    reason: str
    reason_label: str
    value: str | None


class ImportDetailOut(ImportFields):
    errors: list[RejectedRowOut] = Field(description="The refused rows by line (the first 1000)")
    preview: dict[str, list[str]] = Field(description="Replace mode: the stored days (by outlet code) the file "
                                                      "replaces; status awaiting until confirmed")
    preview_lines: list[str]
    allowed_actions: list[str] = Field(description="confirm, cancel (a replace awaiting confirmation), undo")


def _import_detail(batch: TicketImport, user=None) -> dict:
    data = ImportOut.from_orm(batch).dict()
    data["preview"], data["preview_lines"] = batch.preview, services.preview_lines(batch)
    data["allowed_actions"] = IMPORT_ACTIONS.allowed(user, batch) if user is not None else []
    data["errors"] = [{"line": e.get("line"), "field": e.get("field"), "reason": e.get("reason", ""),
                       "reason_label": services.reason_label(e.get("reason", "")),
                       "value": None if e.get("value") is None else str(e["value"])} for e in batch.errors]
    return data


@router.get("/imports", response=list[ImportOut], summary="Log imports within my view, newest first")
@paginate(Pages)
def list_imports(request):
    _require(request.user, VIEW)
    return queries.imports(request.user).select_related("uploaded_by__staff")


@router.get("/imports/{int:pk}", response=ImportDetailOut, summary="One import, with its refused rows by line")
def get_import(request, pk: Id):
    _require(request.user, VIEW)
    return _import_detail(queries.access_import(request.user, pk), request.user)


@router.post("/imports/{int:pk}/actions/{action}", response={200: ImportDetailOut, INVALID: ErrorOut},
             summary="confirm (run a replace-mode import after its preview), cancel it, or undo a finished "
                     "import (removes what it added, puts back what it replaced)")
@unprocessable
def import_action(request, pk: Id, action: str):
    _require(request.user, VIEW)
    batch = queries.access_import(request.user, pk)
    run_action(IMPORT_ACTIONS, request.user, batch, action, None)
    return _import_detail(queries.access_import(request.user, pk), request.user)


@router.post("/imports", response={201: ImportDetailOut, INVALID: ErrorOut},
             summary="Upload a ticket or smart-device log (.csv, .xlsx or .parquet); files up to 30 MB are "
                     "imported at once, larger ones are queued (status queued)")
@unprocessable
def create_import(request, file: File[UploadedFile | None] = None, kind: Form[str] = "tickets",
                  mode: Form[str] = "append"):
    _require(request.user, VIEW)
    _require(request.user, IMPORT)
    if file is None:
        raise ValidationError({"file": _("Choose a file to import.")})
    _choice(kind, TicketImport.Kind.values, "kind")
    _choice(mode, TicketImport.Mode.values, "mode")
    batch = services.import_uploaded(request.user, file, file.name, kind, size=file.size, mode=mode)
    return Status(201, _import_detail(queries.access_import(request.user, batch.pk), request.user))
