"""Writes of service grading: schemes (versioned), quarterly runs draft → reviewed → published, inputs
gathered from the queueing and cases queries (never recomputed here), adjustments with a reason, and
the rectification a grade D opens through the cases services.

Every service takes the acting user first (None: the system, e.g. the demo), checks the same rules
the action table offers (``rules``), runs in one transaction and writes the record's timeline.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import lock_versioned, record_timeline, stamp_history
from branchops.org.models import Institution, Level

from . import rules, scoring
from .models import (
    Dimension,
    GradeBand,
    GradingRun,
    GradingScheme,
    Indicator,
    OutletGrade,
    RunInput,
    Source,
    VetoRule,
)

BRANCH_LEVELS = (Level.TIER1_BRANCH, Level.TIER2_BRANCH)
SERVED = "customers_served"
COMPLAINTS = "complaints"
PER_10K = "complaints_per_10k"
# Figures stored beside the indicators: what a derived indicator was computed from (the evidence).
CONTEXT = {SERVED: Source.QUEUEING, COMPLAINTS: Source.CASES}
FROM_QUEUE = {"overtime_wait_ratio": "overtime_ratio", "device_migration_rate": "migration_rate"}
CHANGED = gettext_lazy("The run changed since you opened it; reload and try again.")


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


# --- schemes -----------------------------------------------------------------------------------------

def scheme_for(on: date) -> GradingScheme | None:
    """The scheme in force on a day: the latest effective one, its highest version."""
    return (GradingScheme.objects.filter(effective_from__lte=on).exclude(effective_to__lt=on)
            .order_by("-effective_from", "-version").first())


def engine_scheme(scheme: GradingScheme) -> scoring.Scheme:
    """The scheme as the pure engine reads it."""
    indicators = tuple(scoring.Indicator(
        code=i.code, weight=float(i.weight), direction=i.direction, rule=i.rule, full_at=float(i.full_at),
        zero_at=float(i.zero_at), scale=tuple((float(b), float(s)) for b, s in i.scale), dimension=i.dimension.code)
        for i in scheme.indicators.select_related("dimension"))
    bands = tuple(scoring.Band(b.grade, None if b.min_score is None else float(b.min_score),
                               None if b.quota is None else float(b.quota)) for b in scheme.bands.order_by("grade"))
    vetoes = tuple(scoring.Veto(v.code, v.code, float(v.at_least), v.grade) for v in scheme.vetoes.all())
    return scoring.Scheme(indicators, bands, scheme.method, vetoes, scheme.missing_rule, float(scheme.missing_share),
                          scheme.reliability_code, float(scheme.reliability_min), tuple(scheme.reliability_affects))


FAULTS = {
    "weights": gettext_lazy("The indicator weights must total 100."),
    "band_thresholds": gettext_lazy("Every grade band needs its lowest score (the scheme grades by thresholds)."),
    "band_order": gettext_lazy("A grade band's lowest score must be above the next grade's."),
    "band_quotas": gettext_lazy("Every grade band needs its share of outlets (the scheme grades by quotas)."),
    "quota_total": gettext_lazy("The shares of outlets must total 100%."),
}


def scheme_errors(scheme: GradingScheme) -> list[str]:
    out = []
    for fault in scoring.check_scheme(engine_scheme(scheme)):
        key, _sep, code = fault.partition(":")
        out.append(FAULTS.get(key) or _("Indicator %(code)s: its thresholds or scale do not fit its direction.")
                   % {"code": code})
    return out


@transaction.atomic
def new_scheme_version(actor, scheme: GradingScheme, effective_from: date) -> GradingScheme:
    """A scheme in use is frozen: a change starts a new version, a copy in force from ``effective_from``;
    the previous version ends the day before."""
    require(rules.edits_schemes, actor, scheme)
    if effective_from <= scheme.effective_from:
        raise ValidationError({"effective_from": _("A new version starts after the version it replaces.")})
    last = GradingScheme.objects.filter(code=scheme.code).order_by("-version").first()
    new = GradingScheme.objects.create(
        code=scheme.code, version=last.version + 1, name=scheme.name, effective_from=effective_from,
        method=scheme.method, missing_rule=scheme.missing_rule, missing_share=scheme.missing_share,
        reliability_code=scheme.reliability_code, reliability_min=scheme.reliability_min,
        reliability_affects=scheme.reliability_affects)
    dims = {}
    for d in scheme.dimensions.all():
        dims[d.pk] = Dimension.objects.create(scheme=new, code=d.code, name=d.name, sort_order=d.sort_order)
    for i in scheme.indicators.all():
        Indicator.objects.create(scheme=new, dimension=dims[i.dimension_id], code=i.code, name=i.name,
                                 source=i.source, unit=i.unit, direction=i.direction, rule=i.rule, full_at=i.full_at,
                                 zero_at=i.zero_at, scale=i.scale, weight=i.weight, sort_order=i.sort_order)
    for b in scheme.bands.all():
        GradeBand.objects.create(scheme=new, grade=b.grade, min_score=b.min_score, quota=b.quota)
    for v in scheme.vetoes.all():
        VetoRule.objects.create(scheme=new, code=v.code, name=v.name, source=v.source, at_least=v.at_least,
                                grade=v.grade)
    if scheme.effective_to is None or scheme.effective_to >= effective_from:
        GradingScheme.objects.filter(pk=scheme.pk).update(effective_to=date.fromordinal(effective_from.toordinal() - 1))
    record_timeline(actor, new, "scheme_versioned", _("Version %(v)s from %(d)s") % {
        "v": new.version, "d": effective_from.isoformat()})
    return new


INDICATOR_FIELDS = {"name", "weight", "full_at", "zero_at", "scale", "direction", "rule"}


def _scale_ok(scale) -> bool:
    import math

    if not isinstance(scale, list):
        return False
    try:
        return all(len(step) == 2 and math.isfinite(float(step[0])) and 0 <= float(step[1]) <= 1 for step in scale)
    except (TypeError, ValueError):
        return False


@transaction.atomic
def update_indicator(actor, indicator: Indicator, **fields) -> Indicator:
    """Change an indicator of a scheme no run has been reviewed under; a frozen scheme refuses (make a
    new version)."""
    require(rules.edits_schemes, actor, indicator.scheme)
    unknown = set(fields) - INDICATOR_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed here.")})
    if indicator.scheme.in_use:
        raise ValidationError(_("This scheme was used by a reviewed or published run and is frozen; "
                                "make a new version to change it."))
    if "scale" in fields and not _scale_ok(fields["scale"]):
        raise ValidationError({"scale": _("Give steps [bound, share], the share between 0 and 1, best first.")})
    for k, v in fields.items():
        setattr(indicator, k, v)
    indicator.full_clean()
    indicator.save()
    return indicator


# --- gathering inputs --------------------------------------------------------------------------------

class _BranchReader:
    """Reads the owning apps' queries as the system would, for every outlet of the run's branch (the
    run is the branch's, not the viewer's); the queries are limited to the branch by ``within``."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def has_perm(self, perm, obj=None) -> bool:
        return True


def _outlets(branch: Institution) -> list[Institution]:
    return list(Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET, is_active=True)
                .order_by("path"))


def _queue_figures(branch: Institution, start: date, end: date) -> dict[str, dict]:
    from branchops.queueing import queries as queue
    from branchops.queueing.models import QueueSettings

    conf = QueueSettings.objects.filter(branch=branch).first() or QueueSettings(branch=branch)
    rows = queue.kpi_table(_BranchReader(), start, end, level="outlet", within=branch, grain="total", conf=conf)
    return {r["unit"]: r for r in rows}


def _complaint_counts(branch: Institution, start: date, end: date) -> dict[int, int]:
    from django.db.models import Count

    from branchops.cases import queries as cases
    from branchops.cases.models import CaseType, Status

    qs = cases.case_list(_BranchReader(), queue="all", case_type=CaseType.COMPLAINT, institution=branch.pk,
                         received_from=start, received_to=end)
    qs = qs.exclude(status=Status.CANCELLED)  # withdrawn or entered in error: not a complaint to count
    return dict(qs.order_by().values_list("institution_id").annotate(n=Count("id")))


def _dec(value) -> Decimal | None:
    if value is None:
        return None
    try:
        d = Decimal(str(round(float(value), 6)))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return d if d.is_finite() else None


def _per_10k(complaints: int, served) -> Decimal | None:
    if not served:
        return None  # no customers on record: the figure is missing, not zero
    return _dec(complaints * 10000 / served)


def _outlet_inputs(run: GradingRun, outlet: Institution, queue: dict, complaints: dict, evidence: dict) -> list:
    kpi = queue.get(outlet.code) or {}
    served = kpi.get("served")
    n = complaints.get(outlet.pk, 0)
    values = {code: (_dec(kpi.get(col)), Source.QUEUEING, evidence["queue"])
              for code, col in FROM_QUEUE.items()}
    values[SERVED] = (_dec(served) if served else None, Source.QUEUEING, evidence["queue"])
    values[COMPLAINTS] = (Decimal(n), Source.CASES, evidence["cases"])
    values[PER_10K] = (_per_10k(n, served), Source.CASES, evidence["cases"])
    rows = []
    codes = [(i.code, i.source) for i in run.scheme.indicators.all()] + [(v.code, v.source) for v in run.scheme.vetoes.all()]
    for code, source in [*codes, *CONTEXT.items()]:
        value, src, ev = values.get(code, (None, source, ""))
        rows.append(RunInput(run=run, outlet=outlet, code=code, value=value, gathered_value=value, source=src,
                             evidence=ev if value is not None or src in (Source.QUEUEING, Source.CASES) else ""))
    return rows


def _evidence(outlet: Institution, start: date, end: date) -> dict:
    from urllib.parse import urlencode

    queue = reverse("queueing:outlet", args=[outlet.code]) + "?" + urlencode(
        {"start": start.isoformat(), "end": end.isoformat()})
    cases = reverse("cases:list") + "?" + urlencode({
        "queue": "all", "case_type": "complaint", "institution": outlet.pk, "received_from": start.isoformat(),
        "received_to": end.isoformat()})
    return {"queue": queue, "cases": cases}


def _gather(run: GradingRun) -> None:
    """(Re)gather every outlet's inputs; values the secretariat adjusted stay as adjusted."""
    start, end = quarter_bounds(run.year, run.quarter)
    queue = _queue_figures(run.branch, start, end)
    complaints = _complaint_counts(run.branch, start, end)
    kept = {(i.outlet_id, i.code): i for i in run.inputs.filter(adjusted=True)}
    run.inputs.filter(adjusted=False).delete()
    fresh = []
    for outlet in _outlets(run.branch):
        for row in _outlet_inputs(run, outlet, queue, complaints, _evidence(outlet, start, end)):
            mine = kept.get((outlet.pk, row.code))
            if mine is not None:
                RunInput.objects.filter(pk=mine.pk).update(gathered_value=row.value, evidence=row.evidence)
            else:
                fresh.append(row)
    RunInput.objects.bulk_create(fresh, batch_size=2000)


# --- computing ---------------------------------------------------------------------------------------

def stored_inputs(run: GradingRun) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for code, key, value in run.inputs.values_list("outlet__code", "code", "value"):
        out.setdefault(code, {})[key] = None if value is None else float(value)
    return out


def replay_run(run: GradingRun) -> list[scoring.OutletResult]:
    """The run graded again from its stored inputs under the scheme it used (nothing gathered or saved)."""
    return scoring.grade_outlets(engine_scheme(run.scheme), stored_inputs(run))


def replay_matches(run: GradingRun) -> bool:
    """Whether the replay gives the stored totals, ranks and grades."""
    stored = {g.outlet.code: (None if g.total is None else float(g.total), g.rank, g.grade)
              for g in run.grades.select_related("outlet")}
    return stored == {r.outlet: (r.total, r.rank, r.grade) for r in replay_run(run)}


def _breakdown(result: scoring.OutletResult) -> list[dict]:
    return [{"code": i.code, "value": i.value, "weight": i.weight, "points": i.points, "lost": i.lost,
             "missing": i.missing, "unreliable": i.unreliable,
             "reason": {"key": i.reason.key, "params": i.reason.params} if i.reason else None}
            for i in result.indicators]


def _compute(run: GradingRun) -> None:
    outlets = {o.code: o for o in _outlets(run.branch)}
    outlets.update({o.code: o for o in Institution.objects.filter(pk__in=run.inputs.values("outlet_id"))})
    run.grades.all().delete()
    OutletGrade.objects.bulk_create([
        OutletGrade(run=run, outlet=outlets[r.outlet], total=None if r.total is None else Decimal(str(r.total)),
                    grade=r.grade, rank=r.rank, vetoes=r.vetoes, missing=r.missing, unreliable=r.unreliable,
                    breakdown=_breakdown(r))
        for r in replay_run(run)], batch_size=2000)
    run.computed_at = clock.now()


# --- runs --------------------------------------------------------------------------------------------

def _run_errors(branch, year, quarter) -> dict:
    errors = {}
    if branch is None or branch.level not in BRANCH_LEVELS:
        errors["branch"] = _("Choose a branch (tier-1 or tier-2).")
    if not 1 <= int(quarter or 0) <= 4:
        errors["quarter"] = _("A quarter is 1 to 4.")
    elif not 2000 <= int(year or 0) <= 2100:
        errors["year"] = _("Give a year between 2000 and 2100.")
    elif quarter_bounds(year, quarter)[0] > clock.today():
        errors["quarter"] = _("This quarter has not started yet.")
    return errors


@transaction.atomic
def create_run(actor, *, branch: Institution, year: int, quarter: int) -> GradingRun:
    """A draft run for the branch's quarter under the scheme in force at the quarter's start, its
    inputs gathered and the outlets graded."""
    errors = _run_errors(branch, year, quarter)
    if errors:
        raise ValidationError(errors)
    require(rules.runs_grading, actor, branch)
    if GradingRun.objects.filter(branch=branch, year=year, quarter=quarter).exists():
        raise ValidationError({"quarter": _("This branch already has a run for the quarter.")})
    scheme = scheme_for(quarter_bounds(year, quarter)[0])
    if scheme is None:
        raise ValidationError({"quarter": _("No grading scheme is in force for this quarter.")})
    faults = scheme_errors(scheme)
    if faults:
        raise ValidationError({"__all__": faults})
    run = GradingRun(branch=branch, year=year, quarter=quarter, scheme=scheme, created_by=actor)
    stamp_history(run, actor)
    run.save()
    _gather(run)
    _compute(run)
    run.save(update_fields=["computed_at"])
    record_timeline(actor, run, "run_created", _("Run created under %(scheme)s") % {"scheme": str(scheme)})
    return run


def _move(actor, run: GradingRun, action: str, expected_version: int | None) -> GradingRun:
    require(rules.manages_run, actor, run)
    run = lock_versioned(run, expected_version, CHANGED)
    rules.RUN_FLOW.apply(run, action)
    run.version += 1
    stamp_history(run, actor)
    return run


@transaction.atomic
def refresh_run(actor, run: GradingRun, expected_version: int | None = None) -> GradingRun:
    """Gather a draft's inputs again (new tickets or complaints); adjusted values stay."""
    run = _move(actor, run, "refresh", expected_version)
    _gather(run)
    _compute(run)
    run.save()
    record_timeline(actor, run, "run_refreshed")
    return run


def _parse_value(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"value": _("Give a number, or leave it empty for missing.")}) from None
    if not d.is_finite() or d < 0 or d >= Decimal("1e8"):
        raise ValidationError({"value": _("Give a number from 0 up to 100,000,000.")})
    return d.quantize(Decimal("0.000001"))


def _adjustable_codes(run: GradingRun) -> set[str]:
    return {*run.scheme.indicators.values_list("code", flat=True), *run.scheme.vetoes.values_list("code", flat=True)}


@transaction.atomic
def adjust_input(actor, run: GradingRun, *, outlet: Institution, code: str, value, reason: str,
                 expected_version: int | None = None) -> RunInput:
    """Set one input of a draft run by hand (a figure BranchOps does not hold yet, or a correction),
    with a reason; the gathered value is kept and the outlets are graded again."""
    reason = (reason or "").strip()
    errors = {}
    # Indicators and veto inputs only: the other stored figures are the evidence derived ones were made from.
    adjustable = code in _adjustable_codes(run)
    row = RunInput.objects.filter(run=run, outlet=outlet, code=code).first() if outlet and adjustable else None
    if outlet is None:
        errors["outlet"] = _("Choose an outlet of this run.")
    elif row is None:
        errors["code"] = _("This run has no input %(code)s for the outlet.") % {"code": code}
    if not reason:
        errors["reason"] = _("Say why the value is adjusted.")
    elif len(reason) > 2000:
        errors["reason"] = _("At most 2,000 characters.")
    if errors:
        raise ValidationError(errors)
    parsed = _parse_value(value)
    run = _move(actor, run, "adjust", expected_version)
    before = row.value
    row.value, row.adjusted, row.reason = parsed, True, reason
    row.adjusted_by, row.adjusted_at = actor, clock.now()
    row.source = Source.MANUAL if row.gathered_value is None else row.source
    stamp_history(row, actor)
    row.save()
    _compute(run)
    run.save()
    record_timeline(actor, run, "input_adjusted", _("%(outlet)s · %(code)s: %(old)s → %(new)s (%(reason)s)") % {
        "outlet": outlet.name, "code": code, "old": "—" if before is None else before,
        "new": "—" if parsed is None else parsed, "reason": reason})
    return row


@transaction.atomic
def review_run(actor, run: GradingRun, expected_version: int | None = None) -> GradingRun:
    run = _move(actor, run, "review", expected_version)
    run.reviewed_by, run.reviewed_at = actor, clock.now()
    run.save()
    record_timeline(actor, run, "run_reviewed")
    return run


@transaction.atomic
def return_run(actor, run: GradingRun, reason: str = "", expected_version: int | None = None) -> GradingRun:
    run = _move(actor, run, "return", expected_version)
    run.reviewed_by, run.reviewed_at = None, None
    run.save()
    record_timeline(actor, run, "run_returned", reason.strip()[:2000])
    return run


def _open_rectification(actor, run: GradingRun, grade: OutletGrade):
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType, Channel

    lost = [f"{b['code']}: -{b['lost']}" for b in grade.breakdown if b["lost"]]
    description = _("Grade D in the service grading of %(quarter)s (score %(total)s).") % {
        "quarter": run.label, "total": grade.total if grade.total is not None else "—"}
    if grade.vetoes:
        description += "\n" + _("Veto: %(codes)s") % {"codes": ", ".join(grade.vetoes)}
    if lost:
        description += "\n" + _("Points lost: %(lost)s") % {"lost": "; ".join(lost)}
    return cases.open_case(
        actor, case_type=CaseType.RECTIFICATION, institution=grade.outlet, channel=Channel.GRADING,
        title=_("Service grading %(quarter)s: grade D, rectify") % {"quarter": run.label}, description=description,
        first_contact_owner=actor or run.reviewed_by or run.created_by,
        rectification={"evidence_required": _("A rectification plan and proof that each lost point was addressed.")},
        link_to=run)


@transaction.atomic
def publish_run(actor, run: GradingRun, expected_version: int | None = None) -> GradingRun:
    """Publish a reviewed run — by someone other than its reviewer (four eyes); every grade D opens a
    rectification case for the outlet."""
    if actor is not None and run.reviewed_by_id == actor.pk:
        raise ValidationError(_("The run is published by someone other than the person who reviewed it."))
    run = _move(actor, run, "publish", expected_version)
    run.published_by, run.published_at = actor, clock.now()
    run.save()
    for grade in run.grades.filter(grade="D").select_related("outlet"):
        grade.rectification = _open_rectification(actor, run, grade)
        grade.save(update_fields=["rectification"])
    record_timeline(actor, run, "run_published")
    return run
