"""Writes of service grading: schemes (versioned), quarterly runs draft → reviewed → published, inputs
gathered from the queueing and cases queries (never recomputed here), adjustments with a reason, and
the rectification a grade D opens through the cases services.

Every service takes the acting user first (None: the system, e.g. the demo), checks the same rules
the action table offers (``rules``), runs in one transaction and writes the record's timeline.
"""

from datetime import date, timedelta
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

from . import inspecting, queries, rules, scoring
from .models import (
    Answer,
    ChecklistItem,
    ChecklistSection,
    ChecklistTemplate,
    Dimension,
    Finding,
    GradeBand,
    GradingRun,
    GradingScheme,
    Indicator,
    Inspection,
    InspectionPhoto,
    InspectionResult,
    InspectionType,
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
_SOURCES_WITH_EVIDENCE = (Source.QUEUEING, Source.CASES, Source.INSPECTION, Source.TELLER_EVALUATOR, Source.SURVEY)
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


def _inspection_figures(branch: Institution, start: date, end: date) -> dict[int, dict]:
    """Per outlet: the mean score of the quarter's submitted inspections (re-inspections excluded: they
    check one item), the inspections a veto item failed in, and the share of findings due in the
    quarter closed by their deadline (限期整改)."""
    from django.db.models import Avg, Count, Q
    from django.utils import timezone

    visits = (Inspection.objects.filter(outlet__path__startswith=branch.path, status=Inspection.Status.SUBMITTED,
                                        reinspects__isnull=True, visited_at__date__range=(start, end))
              .order_by().values("outlet_id")
              .annotate(mean=Avg("score"), vetoed=Count("id", filter=Q(vetoed=True))))
    out = {r["outlet_id"]: {"inspection_score": r["mean"], "serious_violation": r["vetoed"]} for r in visits}
    due = (Finding.objects.filter(inspection__outlet__path__startswith=branch.path, deadline__range=(start, end))
           .values_list("inspection__outlet_id", "deadline", "closed_at"))
    tally: dict[int, list[int]] = {}
    for outlet_id, deadline, closed_at in due:
        row = tally.setdefault(outlet_id, [0, 0])
        row[0] += closed_at is not None and timezone.localtime(closed_at).date() <= deadline
        row[1] += 1
    for outlet_id, (on_time, n) in tally.items():
        out.setdefault(outlet_id, {})["rectification_on_time"] = on_time / n
    return out


def _imported_values(outlet: Institution, served, imported: dict, evidence: dict) -> dict:
    """Teller-evaluator satisfaction, evaluation rate (ratings ÷ served tickets of the queue analytics)
    and survey satisfaction from the imports. No rating imported for the outlet: both rating figures
    are missing, not zero; no served tickets: the evaluation rate is missing."""
    rated = imported.get("ratings", {}).get(outlet.pk)
    survey = imported.get("surveys", {}).get(outlet.pk)
    n = rated["ratings"] if rated else 0
    return {
        "teller_satisfaction": (_dec(rated["satisfied"] / n) if n else None, Source.TELLER_EVALUATOR,
                                evidence["ratings"]),
        "evaluation_rate": (_dec(n / served) if n and served else None, Source.TELLER_EVALUATOR, evidence["ratings"]),
        "survey_satisfaction": (_dec(survey), Source.SURVEY, evidence["surveys"]),
    }


def _outlet_inputs(run: GradingRun, outlet: Institution, queue: dict, complaints: dict, evidence: dict,
                   inspected: dict | None = None, imported: dict | None = None) -> list:
    kpi = queue.get(outlet.code) or {}
    served = kpi.get("served")
    n = complaints.get(outlet.pk, 0)
    values = {code: (_dec(kpi.get(col)), Source.QUEUEING, evidence["queue"])
              for code, col in FROM_QUEUE.items()}
    values[SERVED] = (_dec(served) if served else None, Source.QUEUEING, evidence["queue"])
    values[COMPLAINTS] = (Decimal(n), Source.CASES, evidence["cases"])
    values[PER_10K] = (_per_10k(n, served), Source.CASES, evidence["cases"])
    values.update(_imported_values(outlet, served, imported or {}, evidence))
    seen = (inspected or {}).get(outlet.pk, {})
    values["serious_violation"] = (Decimal(seen.get("serious_violation", 0)), Source.INSPECTION, evidence["inspections"])
    for code in ("inspection_score", "rectification_on_time"):
        values[code] = (_dec(seen.get(code)), Source.INSPECTION, evidence["inspections"])
    rows = []
    codes = [(i.code, i.source) for i in run.scheme.indicators.all()] + [(v.code, v.source) for v in run.scheme.vetoes.all()]
    for code, source in [*codes, *CONTEXT.items()]:
        value, src, ev = values.get(code, (None, source, ""))
        rows.append(RunInput(run=run, outlet=outlet, code=code, value=value, gathered_value=value, source=src,
                             evidence=ev if value is not None or src in _SOURCES_WITH_EVIDENCE else ""))
    return rows


def _evidence(outlet: Institution, start: date, end: date) -> dict:
    from urllib.parse import urlencode

    queue = reverse("queueing:outlet", args=[outlet.code]) + "?" + urlencode(
        {"start": start.isoformat(), "end": end.isoformat()})
    cases = reverse("cases:list") + "?" + urlencode({
        "queue": "all", "case_type": "complaint", "institution": outlet.pk, "received_from": start.isoformat(),
        "received_to": end.isoformat()})
    inspections = reverse("service:inspections") + "?" + urlencode({
        "outlet": outlet.pk, "visited_from": start.isoformat(), "visited_to": end.isoformat()})
    ratings = reverse("service:ratings") + "?" + urlencode({
        "outlet": outlet.pk, "since": start.isoformat(), "until": end.isoformat()})
    surveys = reverse("service:surveys") + "?" + urlencode({"outlet": outlet.pk, "year": start.year})
    return {"queue": queue, "cases": cases, "inspections": inspections, "ratings": ratings, "surveys": surveys}


def _gather(run: GradingRun) -> None:
    """(Re)gather every outlet's inputs; values the secretariat adjusted stay as adjusted."""
    start, end = quarter_bounds(run.year, run.quarter)
    queue = _queue_figures(run.branch, start, end)
    complaints = _complaint_counts(run.branch, start, end)
    inspected = _inspection_figures(run.branch, start, end)
    imported = {"ratings": queries.rating_figures(run.branch, start, end),
                "surveys": queries.survey_figures(run.branch, run.year, run.quarter)}
    kept = {(i.outlet_id, i.code): i for i in run.inputs.filter(adjusted=True)}
    run.inputs.filter(adjusted=False).delete()
    fresh = []
    for outlet in _outlets(run.branch):
        for row in _outlet_inputs(run, outlet, queue, complaints, _evidence(outlet, start, end), inspected,
                                  imported):
            mine = kept.get((outlet.pk, row.code))
            if mine is not None:
                RunInput.objects.filter(pk=mine.pk).update(gathered_value=row.value, evidence=row.evidence)
            else:
                fresh.append(row)
    RunInput.objects.bulk_create(fresh, batch_size=2000)


# --- computing ---------------------------------------------------------------------------------------

def stored_inputs(run: GradingRun) -> dict[str, dict[str, float | None]]:
    # Unordered and without the join: 16,000 outlets' inputs are read in one pass (bench/grading.py).
    codes = dict(Institution.objects.filter(pk__in=run.inputs.values("outlet_id")).values_list("pk", "code"))
    out: dict[str, dict[str, float | None]] = {}
    rows = run.inputs.order_by().values_list("outlet_id", "code", "value").iterator(chunk_size=10_000)
    for outlet_id, key, value in rows:
        out.setdefault(codes[outlet_id], {})[key] = None if value is None else float(value)
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


# --- inspections (服务检查) --------------------------------------------------------------------------
# Checklists are versioned data; the supervisor fills an assigned inspection; each failed item is a
# finding rectified by its deadline (限期整改) through one rectification case per inspection, and a
# re-inspection that passes a finding closes it (the case once every finding is closed).

# Days to rectify a finding by its severity (限期整改).
DEADLINE_DAYS = {"serious": 5, "major": 10, "minor": 20}
PHOTO_TYPES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# What an image file starts with; the extension alone would let any file in.
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
INSPECTION_CHANGED = gettext_lazy("The inspection changed since you opened it; reload and try again.")


def template_for(on: date, code: str | None = None) -> ChecklistTemplate | None:
    """The checklist in force on a day: the latest effective one, its highest version — an inspection's
    (the outlet routines' templates have their own ``code``)."""
    qs = ChecklistTemplate.objects.filter(effective_from__lte=on)
    qs = qs.filter(code=code) if code else qs.exclude(inspection_type=InspectionType.ROUTINE)
    return qs.order_by("-effective_from", "-version").first()


def template_items(template: ChecklistTemplate) -> list[ChecklistItem]:
    return list(ChecklistItem.objects.filter(section__template=template).select_related("section"))


def _engine_items(items) -> list[inspecting.Item]:
    return [inspecting.Item(i.code, float(i.weight), i.na_allowed, i.veto) for i in items]


@transaction.atomic
def new_template_version(actor, template: ChecklistTemplate, effective_from: date) -> ChecklistTemplate:
    """A copy of the checklist, in force from ``effective_from``, to change; the inspections that
    used the old version keep it."""
    require(rules.edits_checklists, actor, template)
    if effective_from < template.effective_from:
        raise ValidationError({"effective_from": _("A new version starts on or after the version it replaces.")})
    last = ChecklistTemplate.objects.filter(code=template.code).order_by("-version").first()
    new = ChecklistTemplate.objects.create(code=template.code, version=last.version + 1, name=template.name,
                                           inspection_type=template.inspection_type, effective_from=effective_from)
    for s in template.sections.all():
        section = ChecklistSection.objects.create(template=new, code=s.code, name=s.name, sort_order=s.sort_order)
        ChecklistItem.objects.bulk_create([
            ChecklistItem(section=section, code=i.code, text=i.text, weight=i.weight, na_allowed=i.na_allowed,
                          veto=i.veto, severity=i.severity, sort_order=i.sort_order) for i in s.items.all()])
    record_timeline(actor, new, "template_versioned", _("Version %(v)s from %(d)s") % {
        "v": new.version, "d": effective_from.isoformat()})
    return new


ITEM_FIELDS = {"text", "weight", "na_allowed", "veto", "severity"}


@transaction.atomic
def update_checklist_item(actor, item: ChecklistItem, **fields) -> ChecklistItem:
    """Change an item of a checklist no inspection used yet; a used one is frozen (make a new version)."""
    require(rules.edits_checklists, actor, item.section.template)
    unknown = set(fields) - ITEM_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed here.")})
    if "weight" in fields and not (_dec(fields["weight"]) or 0) > 0:
        raise ValidationError({"weight": _("A weight is more than zero.")})
    if item.section.template.in_use:
        raise ValidationError(_("This checklist was used by an inspection and is frozen; make a new version "
                                "to change it."))
    for k, v in fields.items():
        setattr(item, k, v)
    item.full_clean()
    item.save()
    return item


def _later_version(template: ChecklistTemplate) -> ChecklistTemplate | None:
    return ChecklistTemplate.objects.filter(code=template.code, version__gt=template.version).order_by("version").first()


def _changes(item: ChecklistItem, fields: dict) -> list[str]:
    return [f"{k}: {getattr(item, k)} → {v}" for k, v in fields.items() if str(getattr(item, k)) != str(v)]


@transaction.atomic
def edit_checklist_item(actor, item: ChecklistItem, *, effective_from: date | None = None, **fields) -> ChecklistItem:
    """The checklist editing page's change of one item. A version no inspection used changes in place;
    a used one is never changed: the edit makes a new version (in force from ``effective_from``, today
    by default) and lands there, so past inspections keep the items — and the score — they had."""
    require(rules.edits_checklists, actor, item.section.template)
    template = item.section.template
    if effective_from is not None and effective_from < clock.today():
        raise ValidationError({"effective_from": _("A new version starts today or later.")})
    if template.in_use:
        later = _later_version(template)
        if later is not None:
            raise ValidationError(_("Version %(v)s of this checklist already exists: edit that one.") % {
                "v": later.version})
        template = new_template_version(actor, template, effective_from or clock.today())
        item = ChecklistItem.objects.select_related("section__template").get(
            section__template=template, section__code=item.section.code, code=item.code)
    changes = _changes(item, fields)
    item = update_checklist_item(actor, item, **fields)
    if changes:
        record_timeline(actor, template, "checklist_item_changed", f"{item.code}: " + "; ".join(changes))
    return item


def is_supervisor(user) -> bool:
    from branchops.org.roles import Role, user_roles

    return user is not None and user.is_active and Role.SERVICE_SUPERVISOR in user_roles(user)


def _schedule_errors(outlet, supervisor, planned_on, inspection_type) -> dict:
    from branchops.org.scope import in_scope

    errors = {}
    if outlet is None or outlet.level != Level.OUTLET or not outlet.is_active:
        errors["outlet"] = _("Choose an outlet.")
    if supervisor is None or not is_supervisor(supervisor):
        errors["supervisor"] = _("Choose a service supervisor.")
    elif "outlet" not in errors and not in_scope(supervisor, outlet):
        errors["supervisor"] = _("This supervisor does not cover the outlet.")
    if inspection_type not in InspectionType.values:
        errors["inspection_type"] = _("Choose mystery shopper, video or on-site.")
    if planned_on is None:
        errors["planned_on"] = _("Give the planned date.")
    elif planned_on < clock.today():
        errors["planned_on"] = _("The planned date is today or later.")
    return errors


@transaction.atomic
def schedule_inspection(actor, *, outlet: Institution, supervisor, planned_on: date, inspection_type: str,
                        template: ChecklistTemplate | None = None) -> Inspection:
    """Assign an inspection of an outlet to a supervisor on a planned date, on the checklist in force
    that day (or the one given)."""
    require(rules.schedules_inspections, actor, None)
    errors = _schedule_errors(outlet, supervisor, planned_on, inspection_type)
    if errors:
        raise ValidationError(errors)
    require(rules.schedules_inspections, actor, outlet)
    template = template or template_for(planned_on)
    if template is None:
        raise ValidationError({"planned_on": _("No checklist is in force on this date.")})
    inspection = Inspection(outlet=outlet, template=template, inspection_type=inspection_type, supervisor=supervisor,
                            planned_on=planned_on, scheduled_by=actor)
    stamp_history(inspection, actor)
    inspection.save()
    record_timeline(actor, inspection, "inspection_scheduled", _("%(type)s of %(outlet)s on %(day)s by %(who)s") % {
        "type": inspection.get_inspection_type_display(), "outlet": outlet.name, "day": planned_on.isoformat(),
        "who": supervisor.get_full_name() or supervisor.username})
    return inspection


def _inspection_items(inspection: Inspection) -> list[ChecklistItem]:
    """What the inspection answers: the whole checklist, or for a re-inspection the finding's item."""
    if inspection.reinspects_id:
        return [inspection.reinspects.item]
    return template_items(inspection.template)


def _item_by_code(inspection: Inspection, code: str) -> ChecklistItem:
    item = next((i for i in _inspection_items(inspection) if i.code == code), None)
    if item is None:
        raise ValidationError({"item": _("This inspection has no item %(code)s.") % {"code": code}})
    return item


def _photo_error(upload) -> str:
    import os

    ext = os.path.splitext(upload.name or "")[1].lower()
    if ext not in PHOTO_TYPES:
        return _("A photo is a JPEG, PNG or WebP image (not %(ext)s).") % {"ext": ext or "?"}
    if upload.size > MAX_PHOTO_BYTES:
        return _("A photo may be at most 5 MB.")
    head = upload.read(12)
    upload.seek(0)
    if not (head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        return _("This file is not an image.")
    return ""


@transaction.atomic
def add_photo(actor, inspection: Inspection, item_code: str, upload) -> InspectionPhoto:
    """Photo evidence of an item, before the inspection is submitted."""
    import os

    require(rules.assigned, actor, inspection, _("Only the assigned supervisor adds photos to an inspection."))
    rules.INSPECTION_FLOW.check(inspection, "photo")
    item = _item_by_code(inspection, item_code)
    if error := _photo_error(upload):
        raise ValidationError({"file": error})
    photo = InspectionPhoto(inspection=inspection, item=item, name=os.path.basename(upload.name)[:200],
                            size=upload.size, uploaded_by=actor, uploaded_at=clock.now())
    photo.file.save(photo.name, upload, save=False)
    photo.save()
    return photo


def _answer_errors(items, answers: dict, notes: dict) -> dict:
    texts = {i.code: i.text for i in items}
    messages = {
        "missing": _("%(code)s %(text)s: choose pass, fail or N/A."),
        "invalid": _("%(code)s %(text)s: choose pass, fail or N/A."),
        "na_not_allowed": _("%(code)s %(text)s: N/A is not allowed for this item."),
        "unknown": _("%(code)s: this checklist has no such item."),
    }
    faults = inspecting.answer_faults(_engine_items(items), answers)
    errors = [messages[f] % {"code": code, "text": texts.get(code, "")} for code, f in faults.items()]
    long_notes = [code for code, note in notes.items() if len(str(note or "")) > 500]
    out = {"answers": errors} if errors else {}
    if long_notes:
        out["notes"] = _("A note is at most 500 characters: %(codes)s.") % {"codes": ", ".join(long_notes)}
    return out


def _lock_inspection(inspection: Inspection) -> Inspection:
    locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if locked.status != Inspection.Status.SCHEDULED:
        raise ValidationError(INSPECTION_CHANGED)
    return locked


def _require_photos(inspection: Inspection, items, answers: dict) -> None:
    with_photo = set(inspection.photos.values_list("item__code", flat=True))
    unproven = [f"{i.code} {i.text}" for i in items if answers[i.code] == Answer.FAIL and i.code not in with_photo]
    if unproven:
        raise ValidationError({"photos": _("Add a photo to each failed item: %(items)s.") % {
            "items": "; ".join(unproven)}})


@transaction.atomic
def submit_inspection(actor, inspection: Inspection, *, answers: dict, notes: dict | None = None) -> Inspection:
    """The supervisor's answers (item code → pass / fail / na) and notes: scored, every failed item a
    finding, and a rectification opened for the findings. Refused, changing nothing, when an item is
    unanswered or a failed item has no photo."""
    notes = {k: str(v or "").strip() for k, v in (notes or {}).items()}
    require(rules.assigned, actor, inspection, _("Only the assigned supervisor submits an inspection."))
    rules.INSPECTION_FLOW.check(inspection, "submit")
    items = _inspection_items(inspection)
    errors = _answer_errors(items, answers, notes)
    if errors:
        raise ValidationError(errors)
    inspection = _lock_inspection(inspection)
    _require_photos(inspection, items, answers)
    result = inspecting.score(_engine_items(items), answers)
    InspectionResult.objects.bulk_create([
        InspectionResult(inspection=inspection, item=i, answer=answers[i.code], note=notes.get(i.code, "")[:500])
        for i in items])
    inspection.status, inspection.visited_at = Inspection.Status.SUBMITTED, clock.now()
    inspection.score = None if result.total is None else Decimal(str(result.total))
    inspection.vetoed = result.vetoed
    stamp_history(inspection, actor)
    inspection.save()
    record_timeline(actor, inspection, "inspection_submitted", _("Score %(score)s, %(n)s failed") % {
        "score": "—" if inspection.score is None else inspection.score, "n": len(result.failed)})
    if inspection.reinspects_id:
        _after_reinspection(actor, inspection, answers[inspection.reinspects.item.code])
    else:
        _open_findings(actor, inspection, [i for i in items if answers[i.code] == Answer.FAIL], notes)
    return inspection


def _open_findings(actor, inspection: Inspection, failed: list[ChecklistItem], notes: dict) -> None:
    """Each failed item a finding with its own rectification case: the finding's deadline (by its
    severity) is the case's due date, so the cases engine reminds, escalates and counts it overdue."""
    today = clock.today()
    for i in failed:
        finding = Finding(inspection=inspection, item=i, severity=i.severity, note=notes.get(i.code, "")[:500],
                          deadline=today + timedelta(days=DEADLINE_DAYS[i.severity]))
        case = _open_finding_rectification(actor, inspection, finding)
        finding.rectification, finding.deadline = case, case.resolution_due or finding.deadline
        finding.save()


def _open_finding_rectification(actor, inspection: Inspection, finding: Finding):
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType, Channel

    description = _("%(type)s on %(day)s, score %(score)s.") % {
        "type": inspection.get_inspection_type_display(), "day": clock.today().isoformat(),
        "score": "—" if inspection.score is None else inspection.score} + "\n" + _(
        "%(code)s %(text)s (%(severity)s) — rectify by %(day)s") % {
        "code": finding.item.code, "text": finding.item.text, "severity": finding.get_severity_display(),
        "day": finding.deadline.isoformat()} + (f"\n{finding.note}" if finding.note else "")
    return cases.open_case(
        actor, case_type=CaseType.RECTIFICATION, institution=inspection.outlet, channel=Channel.INSPECTION,
        title=_("Rectify by %(day)s: %(text)s") % {"day": finding.deadline.isoformat(), "text": finding.item.text},
        description=description, first_contact_owner=actor or inspection.supervisor,
        rectification={"evidence_required": _("The finding rectified; a re-inspection passes it."),
                       "deadline": finding.deadline},
        link_to=inspection)


def _after_reinspection(actor, inspection: Inspection, answer: str) -> None:
    finding = Finding.objects.select_for_update().get(pk=inspection.reinspects_id)
    if answer != Answer.PASS or finding.closed_at is not None:
        return  # still failing (or N/A): the finding stays open
    finding.closed_at = clock.now()
    finding.save(update_fields=["closed_at"])
    if finding.rectification_id:
        _close_rectification(actor, finding.rectification, inspection)


def _close_rectification(actor, case, inspection: Inspection) -> None:
    """Every finding passed re-inspection: the rectification is resolved, verified and closed through
    the cases services (steps the outlet already took are skipped)."""
    from branchops.cases import services as cases
    from branchops.cases.models import OPEN_STATUSES, Outcome, Status

    note = _("Re-inspection #%(id)s passed the finding.") % {"id": inspection.pk}
    if case.status in OPEN_STATUSES:
        case = cases.resolve_case(actor, case, outcome=Outcome.RESOLVED, resolution=note)
    if case.status != Status.RESOLVED:
        return  # cancelled or already closed
    if not case.rectification.evidence:
        case = cases.submit_evidence(actor, case, note)
    if case.rectification.verified_at is None:
        case = cases.verify_rectification(actor, case, passed=True, note=note)
    cases.close_case(actor, case)


@transaction.atomic
def schedule_reinspection(actor, finding: Finding, *, supervisor, planned_on: date) -> Inspection:
    """A re-inspection of one open finding (its item only), on the original inspection's checklist."""
    require(rules.reinspects, actor, finding)
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.closed_at is not None:
        raise ValidationError({"finding": _("This finding is already closed.")})
    if finding.reinspections.filter(status=Inspection.Status.SCHEDULED).exists():
        raise ValidationError({"finding": _("A re-inspection of this finding is already scheduled.")})
    original = finding.inspection
    inspection = schedule_inspection(actor, outlet=original.outlet, supervisor=supervisor, planned_on=planned_on,
                                     inspection_type=InspectionType.ON_SITE, template=original.template)
    inspection.reinspects = finding
    inspection.save(update_fields=["reinspects"])
    return inspection


# --- imported inputs (ratings, surveys, call-centre figures) and service targets ---------------------------

def import_inputs(actor, *, kind: str, branch: Institution, data: bytes, file_name: str, dry_run: bool = True):
    """Validate a file (``importing.plan_import``) and, unless ``dry_run`` or any row is bad, store its new
    rows in one transaction with the batch that brought them. All or nothing; re-importing changes nothing."""
    from django.db import IntegrityError

    from . import importing
    from .inputs import CallCentreDay, InputImport, InputKind, SurveyScore, TellerRating

    require(rules.imports_inputs, actor, branch)
    if kind not in InputKind.values:
        raise ValidationError({"kind": _("Unknown kind of import.")})
    if branch.level not in BRANCH_LEVELS:
        raise ValidationError({"branch": _("Choose a tier-1 or tier-2 branch.")})
    plan = importing.plan_import(kind, branch, data, file_name[:255], dry_run=dry_run)
    if not plan.ok or dry_run:
        return plan
    model = {InputKind.RATINGS: TellerRating, InputKind.SURVEYS: SurveyScore, InputKind.CALL_CENTRE: CallCentreDay}
    try:
        with transaction.atomic():
            batch = InputImport.objects.create(
                kind=kind, branch=branch, file_name=file_name[:255], imported_by=actor, rows=plan.rows,
                added=len(plan.new), unchanged=plan.unchanged, unmapped=len(plan.unmapped))
            extra = {"branch": branch} if kind == InputKind.CALL_CENTRE else {}
            model[kind].objects.bulk_create([model[kind](batch=batch, **extra, **row) for row in plan.new],
                                            batch_size=2000)
            record_timeline(actor, batch, "imported", _("%(file)s imported: %(added)s rows added, %(same)s already "
                                                        "stored") % {"file": batch.file_name, "added": batch.added,
                                                                     "same": batch.unchanged})
    except IntegrityError:  # another import stored the same keys meanwhile
        plan.errors.append(importing.RowError(0, "", _("Rows of this file were stored meanwhile; import it again.")))
        return plan
    plan.batch_id = batch.pk
    return plan


def _target_errors(year: int, comparison: str, metric: str, value) -> dict:
    from branchops.core import limits

    from .inputs import Comparison, Metric

    errors = {}
    if not limits.year_in_range(year):
        errors["year"] = _("The year is out of range.")
    if metric not in Metric.values:
        errors["metric"] = _("Unknown metric.")
    if comparison not in Comparison.values:
        errors["comparison"] = _("Unknown comparison.")
    if value is None or not Decimal(value).is_finite() or Decimal(value) < 0 or Decimal(value) >= 10**8:
        errors["value"] = _("Give a number from 0.")
    elif metric in RATE_METRICS and Decimal(value) > 1:
        errors["value"] = _("A rate is a share between 0 and 1 (0.9 for 90 %).")
    return errors


RATE_METRICS = ("call_answer_rate", "call_20s_level", "teller_satisfaction")


@transaction.atomic
def save_target(actor, *, branch: Institution, year: int, metric: str, comparison: str, value, note: str = ""):
    """Set (create or change) the branch's target for a metric and year; audited on the target's timeline."""
    from .inputs import ServiceTarget

    require(rules.sets_targets, actor, branch)
    if branch.level not in BRANCH_LEVELS:
        raise ValidationError({"branch": _("Choose a tier-1 or tier-2 branch.")})
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError):
        value = None
    errors = _target_errors(year, comparison, metric, value)
    if errors:
        raise ValidationError(errors)
    target = ServiceTarget.objects.select_for_update().filter(branch=branch, year=year, metric=metric).first()
    before = None if target is None else (target.comparison, str(target.value), target.note)
    if target is None:
        target = ServiceTarget(branch=branch, year=year, metric=metric)
    target.comparison, target.value, target.note = comparison, value, note[:200]
    if before == (comparison, str(target.value), target.note):
        return target
    target.save()
    record_timeline(actor, target, "target_set", _("Target set: %(metric)s %(cmp)s %(value)s") % {
        "metric": target.get_metric_display(), "cmp": target.get_comparison_display(), "value": value},
        {"before": before and list(before)})
    return target


@transaction.atomic
def delete_target(actor, target) -> None:
    require(rules.sets_targets, actor, target.branch)
    record_timeline(actor, target.branch, "target_deleted", _("Target removed: %(metric)s %(year)s")
                    % {"metric": target.get_metric_display(), "year": target.year})
    target.delete()
@transaction.atomic
def change_finding_deadline(actor, finding: Finding, *, deadline: date, reason: str) -> Finding:
    """Move a finding's deadline (限期整改) through the cases services: its rectification's due date
    moves with it (and pauses or approved extensions keep applying). Refused, changing nothing, once the
    finding or its case is closed."""
    from branchops.cases import services as cases

    require(rules.sets_deadline, actor, finding, _("Only the secretariat over the outlet or the supervisor who "
                                                   "found it moves the deadline."))
    finding = Finding.objects.select_for_update(of=("self",)).select_related("rectification", "inspection").get(pk=finding.pk)
    if not rules.deadline_movable(finding):
        raise ValidationError({"deadline": _("The finding or its rectification is closed: the deadline no longer "
                                             "changes.")})
    old = finding.deadline
    case = cases.set_rectification_deadline(actor, finding.rectification, deadline, reason)
    finding.deadline = case.resolution_due or deadline
    finding.save(update_fields=["deadline"])
    record_timeline(actor, finding.inspection, "finding_deadline", _("%(code)s: rectify by %(old)s → %(new)s (%(reason)s)")
                    % {"code": finding.item.code, "old": old.isoformat(), "new": finding.deadline.isoformat(),
                       "reason": reason.strip()})
    return finding


# The quarterly briefing's writes live in their own module.
from .briefing import (  # noqa: E402, F401
    add_case,
    approve_briefing,
    create_briefing,
    issue_briefing,
    remove_case,
    return_briefing,
    update_briefing,
)
