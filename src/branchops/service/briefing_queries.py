"""Reads of the quarterly briefing shared by its page, its documents and the API (they never write).

Every figure is one query function of the app that owns the data, named in ``FIGURES``: the briefing
shows the function beside the figure, and a test calls each one and compares. Each takes the branch and
the quarter's first and last day and answers plain data (what ``Briefing.figures`` freezes at issue)."""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branchops.core import clock
from branchops.org.models import Institution, Level
from branchops.org.scope import scope_q, sees_everything

from . import rules
from .briefing_models import Briefing
from .models import Finding, GradingRun, Inspection, InspectionType, OutletGrade

KIND = "service_briefing"  # core.IssuedDocument.kind of the .docx
WORKBOOK_KIND = "service_briefing_xlsx"  # … and of the .xlsx


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = 3 * (quarter - 1) + 1
    return date(year, first, 1), date(year, first + 2, monthrange(year, first + 2)[1])


class _SystemReader:
    """The briefing is the branch's: the owning apps' queries read the whole branch (the reader has
    been authorised on the briefing)."""

    is_authenticated = is_active = is_superuser = True
    pk = None

    def has_perm(self, perm, obj=None) -> bool:
        return True


def _outlets(branch: Institution) -> list[Institution]:
    return list(Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET, is_active=True)
                .order_by("path"))


# --- the figures -----------------------------------------------------------------------------------

def grading_ranking(branch: Institution, start: date, end: date) -> dict:
    """The published grading run of the quarter: every outlet's rank, score and grade, and the A–D
    distribution; ``run`` is None while the quarter has no published run."""
    run = GradingRun.objects.filter(branch=branch, year=start.year, quarter=(start.month - 1) // 3 + 1,
                                    status=GradingRun.Status.PUBLISHED).first()
    if run is None:
        return {"run": None, "distribution": {}, "rows": []}
    grades = OutletGrade.objects.filter(run=run).select_related("outlet").order_by("rank", "outlet__path")
    rows = [{"rank": g.rank, "outlet": g.outlet.code, "outlet_name": g.outlet.name,
             "score": None if g.total is None else float(g.total), "grade": g.grade, "vetoes": g.vetoes}
            for g in grades]
    dist = {k: 0 for k in ("A", "B", "C", "D")}
    for r in rows:
        if r["grade"] in dist:
            dist[r["grade"]] += 1
    return {"run": run.pk, "distribution": dist, "rows": rows}


def major_complaints(branch: Institution, start: date, end: date) -> list[dict]:
    from branchops.cases import queries as cases

    return cases.major_complaints(branch, start, end)


def complaint_hot_spots(branch: Institution, start: date, end: date) -> dict:
    from branchops.cases import queries as cases

    return cases.complaint_hot_spots(branch, start, end)


def customers_served(branch: Institution, start: date, end: date) -> dict[str, int]:
    """Customers served per outlet code, from the queue analytics' KPI table (never recomputed here)."""
    from branchops.queueing import queries as queue
    from branchops.queueing.models import QueueSettings

    conf = QueueSettings.objects.filter(branch=branch).first() or QueueSettings(branch=branch)
    rows = queue.kpi_table(_SystemReader(), start, end, level="outlet", within=branch, grain="total", conf=conf,
                           exact=False)
    return {r["unit"]: int(r["served"]) for r in rows if r.get("served")}


def complaint_rates(branch: Institution, start: date, end: date) -> dict:
    """Complaints per outlet and per 10,000 customers served (the regulator's measure), per outlet and
    for the branch; an outlet without served customers on record has no rate (not zero)."""
    from branchops.cases import queries as cases

    counts = cases.complaint_counts(branch, start, end)
    served = customers_served(branch, start, end)
    rows = []
    for o in _outlets(branch):
        n, s = counts.get(o.pk, 0), served.get(o.code)
        rows.append({"outlet": o.code, "outlet_name": o.name, "complaints": n, "served": s,
                     "per_10k": round(n * 10000 / s, 2) if s else None})
    rows.sort(key=lambda r: (-(r["per_10k"] if r["per_10k"] is not None else -1), -r["complaints"], r["outlet"]))
    total, outlets = sum(counts.values()), len(rows)
    all_served = sum(r["served"] or 0 for r in rows)
    return {"complaints": total, "outlets": outlets, "served": all_served,
            "per_outlet": round(total / outlets, 2) if outlets else None,
            "per_10k": round(total * 10000 / all_served, 2) if all_served else None, "rows": rows}


def overdue_complaints(branch: Institution, start: date, end: date) -> list[dict]:
    """The quarter's complaints against the 15 / 30 / 60-day decision clocks, as of today."""
    from branchops.cases import queries as cases

    return cases.complaint_clocks(branch, start, end, clock.today())


def inspection_statistics(branch: Institution, start: date, end: date) -> dict:
    """The quarter's submitted inspections by type (count, mean score), findings by severity and how
    many are closed, and per supervisor (the piece-rate count, 计件)."""
    from django.db.models import Avg

    visits = Inspection.objects.filter(outlet__path__startswith=branch.path, status=Inspection.Status.SUBMITTED,
                                       visited_at__date__range=(start, end))
    by_type = {r["inspection_type"]: r for r in visits.filter(reinspects__isnull=True).order_by()
               .values("inspection_type").annotate(n=Count("id"), mean=Avg("score"))}
    findings = Finding.objects.filter(inspection__in=visits)
    severity = dict(findings.order_by().values_list("severity").annotate(n=Count("id")))
    people = (visits.order_by().values("supervisor__username", "supervisor__staff__name")
              .annotate(inspections=Count("id", distinct=True), findings=Count("findings", distinct=True))
              .order_by("-inspections", "supervisor__username"))
    return {
        "inspections": visits.count(), "reinspections": visits.filter(reinspects__isnull=False).count(),
        "by_type": [{"type": t, "inspections": by_type[t]["n"] if t in by_type else 0,
                     "mean_score": round(float(by_type[t]["mean"]), 2) if t in by_type and by_type[t]["mean"] is not None
                     else None} for t in InspectionType.values],
        "findings": findings.count(), "closed": findings.filter(closed_at__isnull=False).count(),
        "by_severity": {k: severity.get(k, 0) for k in ("serious", "major", "minor")},
        "supervisors": [{"supervisor": p["supervisor__staff__name"] or p["supervisor__username"],
                         "inspections": p["inspections"], "findings": p["findings"]} for p in people],
    }


@dataclass(frozen=True)
class Figure:
    key: str
    title: object
    query: object  # (branch, start, end) -> plain data

    @property
    def source(self) -> str:
        return f"{self.query.__module__}.{self.query.__name__}"


FIGURES = [
    Figure("ranking", _("Service grading ranking"), grading_ranking),
    Figure("major", _("Major complaints and negative public-opinion events"), major_complaints),
    Figure("hot_spots", _("Complaint hot spots (JR/T 0169)"), complaint_hot_spots),
    Figure("rates", _("Complaints per outlet and per 10,000 customers served"), complaint_rates),
    Figure("overdue", _("Complaints against the 15/30/60-day clocks"), overdue_complaints),
    Figure("inspections", _("Inspection statistics"), inspection_statistics),
]


def live_figures(briefing: Briefing) -> dict:
    start, end = quarter_bounds(briefing.year, briefing.quarter)
    return {f.key: f.query(briefing.branch, start, end) for f in FIGURES}


def figures(briefing: Briefing) -> dict:
    """The figures as issued (frozen), or — for a draft — as they stand now."""
    return briefing.figures if briefing.status != Briefing.Status.DRAFT and briefing.figures else live_figures(briefing)


# --- who reads which briefing ----------------------------------------------------------------------

def visible_briefings(user) -> QuerySet:
    """Drafts to the secretariat of the branch; issued ones also to their approvers; approved ones to
    every reader of the branch (secretariat, branch leaders, service supervisors) — outlets none."""
    if not user.is_authenticated or not reads_briefings(user):
        return Briefing.objects.none()
    qs = Briefing.objects.select_related("branch", "document", "workbook", "issued_by__staff")
    if sees_everything(user):
        return qs
    qs = qs.filter(scope_q(user, "branch"))
    if user.has_perm("service.change_briefing"):
        return qs
    if user.has_perm("service.approve_briefing"):
        return qs.exclude(status=Briefing.Status.DRAFT)
    return qs.filter(status=Briefing.Status.APPROVED)


def reads_briefings(user) -> bool:
    """The role reads briefings at all (which ones: ``visible_briefings``)."""
    return user.has_perm("service.view_briefing") or user.has_perm("service.approve_briefing")


def access_briefing(user, pk) -> Briefing:
    """One briefing the user may read, or 404 — the same for missing and out of view; 403 for a role that
    reads no briefing at all."""
    if not reads_briefings(user):
        raise PermissionDenied
    try:
        briefing = visible_briefings(user).get(pk=pk)
    except (Briefing.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not rules.reads_briefing(user, briefing):
        raise Http404
    return briefing


def briefing_list(user, *, q: str = "", status: str = "", year: int | None = None) -> QuerySet:
    qs = visible_briefings(user)
    if q:
        qs = qs.filter(Q(branch__name__icontains=q) | Q(branch__code__icontains=q) | Q(document__number__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "-quarter", "branch__path")


def briefing_branches(user) -> QuerySet:
    """The branches the user drafts briefings for."""
    if not rules.drafts_briefings(user):
        return Institution.objects.none()
    return (Institution.objects.filter(scope_q(user, ""), level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH],
                                       is_active=True).order_by("path"))


def briefing_cases(briefing: Briefing) -> list:
    return list(briefing.cases.select_related("outlet"))


def local_day(moment) -> str:
    return timezone.localdate(moment).isoformat() if moment else ""
