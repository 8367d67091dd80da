"""Reads of service grading shared by the pages and the API (they never write).

Scope: a run belongs to a branch. The branch's people (and those above it) see the whole run; a
sub-branch or an outlet sees the runs of its branch once published, and only its own outlets' rows
in them. Drafts are the secretariat's working papers: seen by those who see the whole branch.
"""

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from branchops.org.models import Institution, Level
from branchops.org.scope import scope_q, scope_root, sees_everything

from .models import GradingRun, GradingScheme, OutletGrade, RunInput

GRADES = ("A", "B", "C", "D")


def visible_runs(user) -> QuerySet:
    if not user.is_authenticated or not user.has_perm("service.view_gradingrun"):
        return GradingRun.objects.none()
    qs = GradingRun.objects.select_related("branch", "scheme")
    if sees_everything(user):
        return qs
    root = scope_root(user)
    if root is None:
        return qs.none()
    whole = Q(branch__path__startswith=root.path)
    # Below the branch: the runs of one's own branch, published.
    above = Q(branch_id__in=root.ancestor_ids(), status=GradingRun.Status.PUBLISHED) if root.path else Q(pk__in=[])
    return qs.filter(whole | above)


def access_run(user, pk) -> GradingRun:
    """One run the user may see, or 404 — the same for missing and out of view."""
    try:
        return visible_runs(user).get(pk=pk)
    except (GradingRun.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def sees_whole_run(user, run: GradingRun) -> bool:
    if sees_everything(user):
        return True
    root = scope_root(user)
    return root is not None and run.branch.path.startswith(root.path)


def run_grades(user, run: GradingRun) -> QuerySet:
    """The run's outlet rows within the user's scope, best first."""
    qs = run.grades.select_related("outlet", "rectification")
    if not sees_whole_run(user, run):
        qs = qs.filter(scope_q(user, "outlet"))
    return qs.order_by("rank", "outlet__path")


def access_grade(user, run: GradingRun, outlet_id) -> OutletGrade:
    try:
        return run_grades(user, run).get(outlet_id=outlet_id)
    except (OutletGrade.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def outlet_inputs(run: GradingRun, outlet: Institution) -> dict[str, RunInput]:
    return {i.code: i for i in RunInput.objects.filter(run=run, outlet=outlet).select_related("adjusted_by__staff")}


def indicators(run: GradingRun) -> list:
    return list(run.scheme.indicators.select_related("dimension"))


def distribution(grades) -> dict[str, int]:
    counts = dict.fromkeys(GRADES, 0)
    for g in grades:
        if g.grade in counts:
            counts[g.grade] += 1
    return counts


def previous_run(run: GradingRun) -> GradingRun | None:
    year, quarter = (run.year - 1, 4) if run.quarter == 1 else (run.year, run.quarter - 1)
    return GradingRun.objects.filter(branch=run.branch, year=year, quarter=quarter,
                                     status=GradingRun.Status.PUBLISHED).first()


def movers(user, run: GradingRun, limit: int = 10) -> dict:
    """Outlets whose rank moved most since the previous published quarter: up and down."""
    before = previous_run(run)
    if before is None:
        return {"previous": None, "up": [], "down": []}
    was = {g.outlet_id: g for g in run_grades(user, before)}
    moves = []
    for g in run_grades(user, run):
        old = was.get(g.outlet_id)
        if old is not None and old.rank and g.rank and old.rank != g.rank:
            moves.append({"outlet": g.outlet, "rank": g.rank, "previous_rank": old.rank, "change": old.rank - g.rank,
                          "grade": g.grade, "previous_grade": old.grade})
    moves.sort(key=lambda m: (-abs(m["change"]), m["outlet"].path))
    return {"previous": before, "up": [m for m in moves if m["change"] > 0][:limit],
            "down": [m for m in moves if m["change"] < 0][:limit]}


def outlet_trend(user, outlet: Institution) -> list[dict]:
    """The outlet's published grades, quarter by quarter (oldest first)."""
    rows = (OutletGrade.objects.filter(outlet=outlet, run__in=visible_runs(user).filter(
        status=GradingRun.Status.PUBLISHED)).select_related("run").order_by("run__year", "run__quarter"))
    return [{"quarter": g.run.label, "run_id": g.run_id, "total": None if g.total is None else float(g.total),
             "grade": g.grade, "rank": g.rank} for g in rows]


def schemes() -> QuerySet:
    return GradingScheme.objects.prefetch_related("dimensions", "indicators", "bands", "vetoes")


def managed_branches(user) -> QuerySet:
    """The branches the user may open a run for."""
    if not user.has_perm("service.add_gradingrun"):
        return Institution.objects.none()
    qs = Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH], is_active=True)
    return qs.filter(scope_q(user, "")).order_by("path")


# --- how figures read ---------------------------------------------------------------------------------

def fmt_value(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{float(value) * 100:.1f}%"
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def reason_text(entry: dict, unit: str) -> str:
    """The deduction reason of one indicator, in the user's language."""
    reason = entry.get("reason")
    if not reason:
        return ""
    p, key = reason["params"], reason["key"]
    lost = entry.get("lost") or 0
    if key == "missing_renormalised":
        return _("Missing: the other indicators' weights were re-normalised to 100.")
    if key == "missing_fixed":
        return _("Missing: given %(share)s of the weight by the scheme's rule (−%(lost)s).") % {
            "share": f"{p['share'] * 100:.0f}%", "lost": lost}
    if key == "scale":
        return _("%(value)s: full points need %(best)s (−%(lost)s).") % {
            "value": fmt_value(p["value"], unit), "best": fmt_value(p["best"], unit), "lost": lost}
    return _("%(value)s: full points at %(full)s, none at %(zero)s (−%(lost)s).") % {
        "value": fmt_value(p["value"], unit), "full": fmt_value(p["full_at"], unit),
        "zero": fmt_value(p["zero_at"], unit), "lost": lost}


def breakdown_rows(run: GradingRun, grade: OutletGrade, inputs: dict | None = None) -> list[dict]:
    """The outlet's indicators with dimension, value, points, reason and evidence, for page, API, export."""
    by_code = {b["code"]: b for b in grade.breakdown}
    rows = []
    for ind in indicators(run):
        entry = by_code.get(ind.code, {})
        stored = (inputs or {}).get(ind.code)
        rows.append({
            "code": ind.code, "name": ind.name, "dimension": ind.dimension.name, "unit": ind.unit,
            "source": ind.get_source_display(), "weight": float(ind.weight), "value": entry.get("value"),
            "value_text": fmt_value(entry.get("value"), ind.unit), "points": entry.get("points"),
            "lost": entry.get("lost", 0), "missing": entry.get("missing", False),
            "unreliable": entry.get("unreliable", False), "reason": reason_text(entry, ind.unit),
            "evidence": stored.evidence if stored else "", "adjusted": bool(stored and stored.adjusted),
            "adjust_reason": stored.reason if stored else "",
        })
    return rows


def runs_waiting(user) -> QuerySet:
    """The runs waiting for the secretariat in its branches: drafts to review, reviewed to publish."""
    root = scope_root(user)
    qs = visible_runs(user).exclude(status=GradingRun.Status.PUBLISHED)
    if root is not None and not sees_everything(user):
        qs = qs.filter(branch__path__startswith=root.path)
    return qs


def my_work_section(user) -> dict | None:
    """The home page's list of the runs waiting for the secretariat: drafts to review, reviewed to publish."""
    from django.urls import reverse

    from branchops.core import nav

    if not user.has_perm("service.change_gradingrun"):
        return None
    qs = runs_waiting(user)
    items = [nav.entry(f"{r.label} · {r.branch.name}", r.get_absolute_url(), r.get_status_display()) for r in qs[:8]]
    return {"title": _("Service grading runs to review or publish"), "items": items, "count": qs.count(),
            "url": reverse("service:runs") + "?waiting=1", "empty_message": _("No grading run is waiting.")}


# --- inspections ---------------------------------------------------------------------------------
# An outlet sees its own inspections once visited; above it, the inspections of one's outlets, but a
# mystery-shopper visit only once it has happened unless one schedules them (the outlet must not
# learn of it from its sub-branch's screen); a supervisor also sees every one assigned to them.

def inspections_due(user) -> QuerySet:
    """The visits scheduled for this supervisor and not yet submitted, soonest planned first."""
    from .models import Inspection

    return (visible_inspections(user).filter(supervisor=user, status=Inspection.Status.SCHEDULED)
            .order_by("planned_on", "id"))


def inspections_section(user) -> dict | None:
    """The home page's list of a supervisor's inspections still to make."""
    from django.urls import reverse
    from django.utils.formats import date_format

    from branchops.core import clock, nav
    from branchops.org.roles import Role, user_roles

    if Role.SERVICE_SUPERVISOR not in user_roles(user) or not user.has_perm("service.view_inspection"):
        return None
    qs = inspections_due(user).select_related("outlet")
    today = clock.today()
    items = [nav.entry(f"{i.outlet.name} · {i.get_inspection_type_display()}",
                       reverse("service:inspection", kwargs={"pk": i.pk}),
                       date_format(i.planned_on, "SHORT_DATE_FORMAT"), overdue=i.planned_on < today) for i in qs[:8]]
    return {"title": _("Inspections to make"), "items": items, "count": qs.count(),
            "url": reverse("service:inspections") + "?due=1", "empty_message": _("No inspection is scheduled for you.")}


SUPERVISOR_MINIMUM = {Level.TIER1_BRANCH: 5, Level.TIER2_BRANCH: 3}


def visible_inspections(user) -> QuerySet:
    from .models import Inspection, InspectionType

    if not user.is_authenticated or not user.has_perm("service.view_inspection"):
        return Inspection.objects.none()
    qs = Inspection.objects.select_related("outlet", "template", "supervisor")
    if sees_everything(user):
        return qs
    root = scope_root(user)
    if root is None:
        return qs.filter(supervisor=user)
    scoped = scope_q(user, "outlet")
    if root.level == Level.OUTLET:
        scoped &= Q(status=Inspection.Status.SUBMITTED)
    elif not user.has_perm("service.add_inspection"):
        scoped &= ~Q(inspection_type=InspectionType.MYSTERY, status=Inspection.Status.SCHEDULED)
    return qs.filter(scoped | Q(supervisor=user))


def access_inspection(user, pk):
    from .models import Inspection

    try:
        return visible_inspections(user).get(pk=pk)
    except (Inspection.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def access_finding(user, pk):
    """A finding of an inspection the user sees (404 alike for missing and hidden)."""
    from .models import Finding

    finding = (Finding.objects.select_related("item", "rectification", "inspection__outlet")
               .filter(pk=pk, inspection__in=visible_inspections(user)).first())
    if finding is None:
        raise Http404
    return finding


def inspection_rows(inspection) -> list[dict]:
    """The checklist as the form shows it: section, item, the answer given (if any), photos."""
    from .models import ChecklistItem

    if inspection.reinspects_id:
        items = [inspection.reinspects.item]
    else:
        items = list(ChecklistItem.objects.filter(section__template=inspection.template).select_related("section"))
    results = {r.item_id: r for r in inspection.results.all()}
    photos: dict[int, list] = {}
    for p in inspection.photos.all():
        photos.setdefault(p.item_id, []).append(p)
    return [{"item": i, "section": i.section.name, "result": results.get(i.pk), "photos": photos.get(i.pk, [])}
            for i in items]


def supervisor_counts(user, year: int, month: int | None = None) -> list[dict]:
    """Submitted inspections and their findings per supervisor and month (the piece-rate reward, 计件),
    within what the user sees."""
    from django.db.models import Count
    from django.db.models.functions import ExtractMonth

    from .models import Inspection

    qs = visible_inspections(user).filter(status=Inspection.Status.SUBMITTED, visited_at__year=year)
    if month:
        qs = qs.filter(visited_at__month=month)
    rows = (qs.order_by().annotate(month=ExtractMonth("visited_at"))
            .values("supervisor_id", "supervisor__username", "supervisor__staff__name", "month")
            .annotate(inspections=Count("id", distinct=True), findings=Count("findings", distinct=True))
            .order_by("month", "supervisor__username"))
    return [{"supervisor_id": r["supervisor_id"], "supervisor": _person(r), "month": r["month"],
             "inspections": r["inspections"], "findings": r["findings"]} for r in rows]


def _person(row) -> str:
    return row["supervisor__staff__name"] or row["supervisor__username"]


def supervisor_minimum(user) -> list[dict]:
    """Each tier-1 / tier-2 branch in view: its active service supervisors against the minimum (5 per
    tier-1 branch, 3 per tier-2)."""
    from branchops.org.models import Staff
    from branchops.org.roles import Role

    branches = Institution.objects.filter(scope_q(user, ""), level__in=list(SUPERVISOR_MINIMUM), is_active=True)
    supervisors = list(Staff.objects.filter(is_active=True, user__is_active=True,
                                            user__groups__name=Role.SERVICE_SUPERVISOR)
                       .values_list("institution__path", flat=True))
    out = []
    for b in branches.order_by("path"):
        # The tier-2 branches under a tier-1 branch meet their own minimum: their supervisors are not
        # counted twice.
        nested = [p.path for p in branches.filter(path__startswith=b.path).exclude(pk=b.pk)
                  .filter(level=Level.TIER2_BRANCH)]
        n = sum(1 for p in supervisors if p.startswith(b.path) and not any(p.startswith(x) for x in nested))
        need = SUPERVISOR_MINIMUM[b.level]
        out.append({"branch": b, "supervisors": n, "minimum": need, "short": max(0, need - n)})
    return out


def inter_rater(user) -> list[dict]:
    """A sample inspected twice: two supervisors' submitted inspections of the same outlet on the same
    day and checklist. Per supervisor pair: mean absolute difference of the totals, per-item agreement
    and Cohen's κ (``inspecting.agreement``)."""
    from . import inspecting
    from .models import Inspection

    visits: dict[tuple, list] = {}
    qs = (visible_inspections(user).filter(status=Inspection.Status.SUBMITTED, reinspects__isnull=True)
          .prefetch_related("results__item").order_by("pk"))
    for i in qs:
        visits.setdefault((i.outlet_id, i.planned_on, i.template_id), []).append(i)
    pairs: dict[tuple, list] = {}
    for group in visits.values():
        for n, first in enumerate(group):
            for second in group[n + 1:]:
                if first.supervisor_id == second.supervisor_id:
                    continue
                a, b = sorted((first, second), key=lambda i: i.supervisor_id)
                pairs.setdefault((a.supervisor, b.supervisor), []).append((_rated(a), _rated(b)))
    out = []
    for (a, b), sample in pairs.items():
        result = inspecting.agreement(sample)
        out.append({"first": a, "second": b, "pairs": result.pairs, "mean_abs_diff": result.mean_abs_diff,
                    "item_agreement": result.item_agreement, "kappa": result.kappa})
    return sorted(out, key=lambda r: (r["first"].username, r["second"].username))


def _rated(inspection) -> tuple:
    return (None if inspection.score is None else float(inspection.score),
            {r.item.code: r.answer for r in inspection.results.all()})


def schedulable(user) -> tuple[QuerySet, QuerySet]:
    """The outlets and active service supervisors in the scheduler's view (for the forms)."""
    from django.contrib.auth import get_user_model

    from branchops.org.roles import Role

    outlets = Institution.objects.filter(scope_q(user, ""), level=Level.OUTLET, is_active=True).order_by("path")
    supervisors = (get_user_model().objects.filter(is_active=True, groups__name=Role.SERVICE_SUPERVISOR,
                                                   staff__institution__in=Institution.objects.filter(scope_q(user, "")))
                   .select_related("staff").order_by("username").distinct())
    return outlets, supervisors


# --- imported inputs (ratings, surveys, call-centre days) --------------------------------------------

def visible_ratings(user, *, outlet: int | None = None, since=None, until=None, teller: str = "",
                    unmapped: bool = False) -> QuerySet:
    """Teller-evaluator ratings in the user's scope: an outlet sees its own; ``until`` is inclusive."""
    from .inputs import TellerRating

    if not user.is_authenticated or not user.has_perm("service.view_tellerrating"):
        return TellerRating.objects.none()
    qs = TellerRating.objects.select_related("outlet", "staff").filter(scope_q(user, "outlet"))
    if outlet:
        qs = qs.filter(outlet_id=outlet)
    if since:
        qs = qs.filter(rated_at__date__gte=since)
    if until:
        qs = qs.filter(rated_at__date__lte=until)
    if teller:
        qs = qs.filter(teller_no=teller)
    if unmapped:
        qs = qs.filter(staff__isnull=True)
    return qs.order_by("-rated_at", "outlet__path", "teller_no")


def visible_surveys(user, *, outlet: int | None = None, year: int | None = None) -> QuerySet:
    from .inputs import SurveyScore

    if not user.is_authenticated or not user.has_perm("service.view_tellerrating"):
        return SurveyScore.objects.none()
    qs = SurveyScore.objects.select_related("outlet").filter(scope_q(user, "outlet"))
    if outlet:
        qs = qs.filter(outlet_id=outlet)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "-quarter", "outlet__path")


def visible_call_days(user, *, branch: int | None = None, since=None, until=None) -> QuerySet:
    """Call-centre days are branch figures: seen by the branch and above, not by its outlets."""
    from .inputs import CallCentreDay

    if not user.is_authenticated or not user.has_perm("service.view_tellerrating"):
        return CallCentreDay.objects.none()
    qs = CallCentreDay.objects.select_related("branch").filter(scope_q(user, "branch"))
    if branch:
        qs = qs.filter(branch_id=branch)
    if since:
        qs = qs.filter(day__gte=since)
    if until:
        qs = qs.filter(day__lte=until)
    return qs.order_by("-day")


def visible_imports(user, *, kind: str = "") -> QuerySet:
    from .inputs import InputImport

    if not user.is_authenticated or not user.has_perm("service.view_inputimport"):
        return InputImport.objects.none()
    qs = InputImport.objects.select_related("branch", "imported_by__staff").filter(scope_q(user, "branch"))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def import_branches(user) -> QuerySet:
    """The branches the user may import service inputs for."""
    if not user.has_perm("service.add_inputimport"):
        return Institution.objects.none()
    qs = Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH], is_active=True)
    return qs.filter(scope_q(user, "")).order_by("path")


def rating_figures(branch: Institution, start, end) -> dict[int, dict[str, int]]:
    """Per outlet of the branch: ratings given from ``start`` to ``end`` (inclusive) and how many were
    satisfied (4 or 5). The grading's source for teller-evaluator satisfaction and evaluation rate."""
    from django.db.models import Count

    from .inputs import SATISFIED_FROM, TellerRating

    rows = (TellerRating.objects.filter(outlet__path__startswith=branch.path, rated_at__date__range=(start, end))
            .order_by().values("outlet_id")
            .annotate(n=Count("id"), satisfied=Count("id", filter=Q(rating__gte=SATISFIED_FROM))))
    return {r["outlet_id"]: {"ratings": r["n"], "satisfied": r["satisfied"]} for r in rows}


def survey_figures(branch: Institution, year: int, quarter: int) -> dict[int, float]:
    from .inputs import SurveyScore

    return {outlet_id: float(score) for outlet_id, score in SurveyScore.objects.filter(
        outlet__path__startswith=branch.path, year=year, quarter=quarter).values_list("outlet_id", "score")}


# --- service targets ---------------------------------------------------------------------------------

# How each metric adds up over the year (``targets``), its ceiling and how its figure reads.
METRIC_SHAPE = {
    "avg_wait_minutes": ("mean", None, "minutes"),
    "call_answer_rate": ("mean", 1.0, "ratio"),
    "call_20s_level": ("mean", 1.0, "ratio"),
    "teller_satisfaction": ("mean", 1.0, "ratio"),
    "mystery_shopper_score": ("mean", 100.0, "score"),
    "complaints": ("sum", None, "count"),
    "model_outlets": ("last", None, "count"),
}


def visible_targets(user, *, branch: int | None = None, year: int | None = None) -> QuerySet:
    """Targets of the branches in the user's scope, or of the user's own branch (an outlet sees its
    branch's targets: they are the branch's, and the outlet works towards them)."""
    from .inputs import ServiceTarget

    if not user.is_authenticated or not user.has_perm("service.view_servicetarget"):
        return ServiceTarget.objects.none()
    qs = ServiceTarget.objects.select_related("branch")
    if not sees_everything(user):
        root = scope_root(user)
        if root is None:
            return qs.none()
        qs = qs.filter(Q(branch__path__startswith=root.path) | Q(branch_id__in=root.ancestor_ids()))
    if branch:
        qs = qs.filter(branch_id=branch)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "branch__path", "metric")


def access_target(user, pk: int):
    try:
        return visible_targets(user).get(pk=pk)
    except (ValueError, TypeError, visible_targets(user).model.DoesNotExist) as exc:
        raise Http404 from exc


def target_months(year: int) -> int:
    """The complete months of ``year`` by the clock: the progress counts whole months only."""
    from branchops.core import clock

    today = clock.today()
    if year < today.year:
        return 12
    if year > today.year:
        return 0
    return today.month - 1


def _by_month(rows) -> dict[int, float]:
    return {r["month"].month: r["value"] for r in rows if r["value"] is not None}


def _wait_months(branch, year: int, months: int) -> dict[int, float]:
    from datetime import date

    from branchops.queueing import queries as queue
    from branchops.queueing.models import QueueSettings

    conf = QueueSettings.objects.filter(branch=branch).first() or QueueSettings(branch=branch)
    rows = queue.kpi_table(_SystemReader(), date(year, 1, 1), _month_end(year, months), level="branch",
                           within=branch, grain="month", conf=conf)
    out = {}
    for r in rows:
        start = r.get("period_start")
        if start is not None and r.get("wait_mean") is not None and r["unit"] == branch.code:
            out[start.month] = float(r["wait_mean"]) / 60
    return out


def _month_end(year: int, months: int):
    from calendar import monthrange
    from datetime import date

    return date(year, months, monthrange(year, months)[1])


class _SystemReader:
    """Targets are the branch's figures: read them whole, whoever looks (the page is scoped already)."""

    is_authenticated = is_active = is_superuser = True
    pk = None

    def has_perm(self, perm, obj=None) -> bool:
        return True


def _call_months(branch, year: int, field: str) -> dict[int, float]:
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    from .inputs import CallCentreDay

    rows = (CallCentreDay.objects.filter(branch=branch, day__year=year).annotate(month=TruncMonth("day"))
            .order_by().values("month").annotate(part=Sum(field), whole=Sum("offered")))
    return {r["month"].month: r["part"] / r["whole"] for r in rows if r["whole"]}


def _satisfaction_months(branch, year: int) -> dict[int, float]:
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from .inputs import SATISFIED_FROM, TellerRating

    rows = (TellerRating.objects.filter(outlet__path__startswith=branch.path, rated_at__year=year)
            .annotate(month=TruncMonth("rated_at")).order_by().values("month")
            .annotate(n=Count("id"), ok=Count("id", filter=Q(rating__gte=SATISFIED_FROM))))
    return {r["month"].month: r["ok"] / r["n"] for r in rows if r["n"]}


def _mystery_months(branch, year: int) -> dict[int, float]:
    from django.db.models import Avg
    from django.db.models.functions import TruncMonth

    from .models import Inspection, InspectionType

    rows = (Inspection.objects.filter(outlet__path__startswith=branch.path, status=Inspection.Status.SUBMITTED,
                                      inspection_type=InspectionType.MYSTERY, reinspects__isnull=True,
                                      visited_at__year=year)
            .annotate(month=TruncMonth("visited_at")).order_by().values("month").annotate(value=Avg("score")))
    return {m: float(v) for m, v in _by_month(rows).items()}


def _complaint_months(branch, year: int, months: int) -> dict[int, float]:
    from datetime import date

    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from branchops.cases import queries as cases
    from branchops.cases.models import CaseType, Status

    qs = cases.case_list(_SystemReader(), queue="all", case_type=CaseType.COMPLAINT, institution=branch.pk,
                         received_from=date(year, 1, 1), received_to=_month_end(year, months))
    rows = (qs.exclude(status=Status.CANCELLED).annotate(month=TruncMonth("received_at")).order_by()
            .values("month").annotate(value=Count("id")))
    found = _by_month(rows)
    return {m: float(found.get(m, 0)) for m in range(1, months + 1)}  # a month without complaints counts 0


def _model_outlet_months(branch, year: int) -> dict[int, float]:
    from django.db.models import Count

    rows = (OutletGrade.objects.filter(run__branch=branch, run__year=year, run__status=GradingRun.Status.PUBLISHED)
            .order_by().values("run__quarter").annotate(n=Count("id", filter=Q(grade="A"))))
    return {r["run__quarter"] * 3: float(r["n"]) for r in rows}


def metric_months(branch: Institution, year: int, metric: str) -> dict[int, float]:
    """The metric's figure per complete month of the year so far, from the owning app's queries."""
    months = target_months(year)
    if months == 0:
        return {}
    series = {
        "avg_wait_minutes": lambda: _wait_months(branch, year, months),
        "call_answer_rate": lambda: _call_months(branch, year, "answered"),
        "call_20s_level": lambda: _call_months(branch, year, "answered_20s"),
        "teller_satisfaction": lambda: _satisfaction_months(branch, year),
        "mystery_shopper_score": lambda: _mystery_months(branch, year),
        "complaints": lambda: _complaint_months(branch, year, months),
        "model_outlets": lambda: _model_outlet_months(branch, year),
    }[metric]()
    return {m: v for m, v in series.items() if m <= months}


def target_progress(target) -> dict:
    """Progress of one target: its monthly figures, the trend projected to December and whether it is at risk."""
    from . import targets

    how, ceiling, unit = METRIC_SHAPE[target.metric]
    points = metric_months(target.branch, target.year, target.metric)
    p = targets.project(points, how=how, comparison=target.comparison, target=float(target.value), ceiling=ceiling)
    return {"target": target, "unit": unit, "how": how, "months": points, "year_to_date": p.year_to_date,
            "projected": p.projected, "slope": p.slope, "at_risk": p.at_risk, "line": p.line}


def rating_outlets(user) -> QuerySet:
    """The outlets the user may filter ratings and surveys by."""
    return Institution.objects.filter(scope_q(user, ""), level=Level.OUTLET).order_by("path")


def target_branches(user) -> QuerySet:
    """The branches the user may set targets for."""
    if not user.has_perm("service.change_servicetarget"):
        return Institution.objects.none()
    qs = Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH], is_active=True)
    return qs.filter(scope_q(user, "")).order_by("path")
def checklists():
    """Every checklist template version, newest version of each code first."""
    from django.db.models import Count, Exists, OuterRef

    from .models import ChecklistTemplate, Inspection

    return (ChecklistTemplate.objects.annotate(
        item_count=Count("sections__items", distinct=True),
        used=Exists(Inspection.objects.filter(template=OuterRef("pk"))))
        .order_by("code", "-version"))


def access_checklist(pk):
    """A checklist version (reference data: everyone signed in reads it); 404 when missing."""
    found = checklists().filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def checklist_items(template) -> list:
    from .models import ChecklistItem

    return list(ChecklistItem.objects.filter(section__template=template).select_related("section"))
