"""Reads of cases shared by pages, API and exports."""

from datetime import date

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import Expression
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

from branchops.core import clock, nav
from branchops.core.workdays import calendar as working_calendar
from branchops.org.models import Institution
from branchops.org.scope import scope_q, scope_root, sees_everything

from . import sla
from .models import OPEN_STATUSES, Case, CaseType, DayKind, Status
from .roles import INSTITUTION_SCOPE_ROLES


def _role_names(user) -> set[str]:
    if not hasattr(user, "_case_roles"):
        user._case_roles = set(user.groups.values_list("name", flat=True))
    return user._case_roles


def visibility_q(user) -> Q:
    """Who sees a case: its institution's chain (for outlet and management roles), its assigned
    department, and the people on it — the first-contact owner always sees theirs."""
    if sees_everything(user):
        return Q()
    personal = Q(first_contact_owner=user) | Q(assignee=user) | Q(requester=user)
    staff = getattr(user, "staff", None)
    if staff is not None and staff.department_id:
        personal |= Q(assignee_department_id=staff.department_id)
    if _role_names(user) & {str(r) for r in INSTITUTION_SCOPE_ROLES}:
        personal |= scope_q(user, "institution")
    return personal


def visible_cases(user) -> QuerySet:
    if not user.is_authenticated or not user.has_perm("cases.view_case"):
        return Case.objects.none()
    return Case.objects.filter(visibility_q(user))


# A list's count is exact up to here and shown as "1,000+" beyond: counting further would read
# every row of the list for a figure nobody acts on.
COUNT_CAP = 1000
# A scope of up to this many institutions is read one institution at a time (each in the list's
# order by its own index); a larger one as one path.
MAX_INSTITUTION_PATHS = 64


def visibility_paths(user) -> list[Q] | None:
    """``visibility_q`` as separate paths, each served by an index in the lists' order (so a page of
    each can be read on its own and merged); None when the user sees every case. Memoised on the
    user object, i.e. once per request."""
    if not hasattr(user, "_case_paths"):
        user._case_paths = _visibility_paths(user)
    return user._case_paths


def _visibility_paths(user) -> list[Q] | None:
    if sees_everything(user):
        return None
    paths = [Q(first_contact_owner=user), Q(assignee=user), Q(requester=user)]
    staff = getattr(user, "staff", None)
    if staff is not None and staff.department_id:
        paths.append(Q(assignee_department_id=staff.department_id))
    if _role_names(user) & {str(r) for r in INSTITUTION_SCOPE_ROLES}:
        root = scope_root(user)
        if root is not None:
            if _covers_every_case(root):
                return None  # the branch-wide reader: the personal paths add nothing, skip the OR
            ids = list(Institution.objects.filter(path__startswith=root.path).values_list("pk", flat=True))
            if len(ids) <= MAX_INSTITUTION_PATHS:
                paths += [Q(institution_id=pk) for pk in ids]
            else:
                paths.append(Q(institution_id__in=ids))
    return paths


def _covers_every_case(root) -> bool:
    """Whether every case lies in ``root``'s subtree: no institution outside it but its ancestors,
    and no case filed at an ancestor."""
    ancestors = [int(pk) for pk in root.path.strip("/").split("/")[:-1]]
    if Institution.objects.exclude(path__startswith=root.path).exclude(pk__in=ancestors).exists():
        return False
    return not (ancestors and Case.objects.filter(institution_id__in=ancestors).exists())


class CaseListing:
    """A list of cases read a page at a time, for the page and the API alike (Paginator and the
    API's pagination slice it and count it). With visibility paths, a page is the merge of each
    path's first rows in the list's order — one statement, each path stopping at the page's end —
    then one more for the rows themselves; ``count()`` is exact up to ``COUNT_CAP`` and
    ``COUNT_CAP + 1`` beyond ("1,000+")."""

    ordered = True

    def __init__(self, qs: QuerySet, paths: list[Q] | None):
        self.qs, self.paths = qs, paths

    def select_related(self, *fields) -> "CaseListing":
        return CaseListing(self.qs.select_related(*fields), self.paths)

    def all(self) -> "CaseListing":
        return self

    def count(self) -> int:
        if not hasattr(self, "_count"):
            if self.paths is None:
                self._count = self.qs.order_by()[:COUNT_CAP + 1].count()
            else:
                arms = [self.qs.filter(p).order_by().values_list("id")[:COUNT_CAP + 1] for p in self.paths]
                union, params = self._union(arms)
                with connections[self.qs.db].cursor() as cursor:
                    cursor.execute(f"SELECT COUNT(*) FROM ({union}) u", params)
                    self._count = min(cursor.fetchone()[0], COUNT_CAP + 1)
        return self._count

    def __len__(self) -> int:
        return self.count()

    @property
    def count_is_capped(self) -> bool:
        return self.count() > COUNT_CAP

    def __getitem__(self, k):
        if isinstance(k, int):
            return self[k:k + 1][0]
        start, stop = k.start or 0, k.stop
        if self.paths is None or stop is None:
            return list(self.qs.filter(self._visible())[k] if stop is None else self.qs[k])
        if stop <= start:
            return []
        union, params = self._union(self._arms(stop))
        with connections[self.qs.db].cursor() as cursor:
            # Column positions: a compound statement orders by its result columns.
            cursor.execute(f"{union} ORDER BY 1 ASC NULLS LAST, 2 ASC, 3 ASC LIMIT %s OFFSET %s",
                           [*params, stop - start, start])
            ids = [row[2] for row in cursor.fetchall()]
        rows = {c.pk: c for c in self.qs.filter(pk__in=ids).order_by()}
        return [rows[pk] for pk in ids if pk in rows]

    def __iter__(self):
        return iter(self[0:None])

    def _visible(self) -> Q:
        if self.paths is None:
            return Q()
        out = Q(pk__in=[])
        for p in self.paths:
            out |= p
        return out

    def _arms(self, stop: int) -> list[QuerySet]:
        """Each path's rows in the list's order. SQLite merges the paths of a compound statement in
        its ORDER BY, each read by its index and stopped by the outer LIMIT; PostgreSQL plans a
        UNION as a whole, so each path there carries its own ORDER BY and LIMIT."""
        arms = [self.qs.filter(p).values_list("resolution_due", "received_at", "id") for p in self.paths]
        if connections[self.qs.db].vendor == "sqlite":
            return [arm.order_by() for arm in arms]
        return [arm.order_by(*CASE_ORDER)[:stop] for arm in arms]

    def _union(self, arms) -> tuple[str, list]:
        parts, params = [], []
        for i, arm in enumerate(arms):
            try:
                sql, p = arm.query.get_compiler(self.qs.db).as_sql()
            except EmptyResultSet:  # a path that matches nothing (a queue this user has no part in)
                continue
            limited = arm.query.high_mark is not None
            parts.append(f"SELECT * FROM ({sql}) a{i}" if limited else sql)
            params += p
        # No path left: a statement that reads nothing, in the shape of the others.
        return " UNION ".join(parts) or "SELECT NULL, NULL, NULL WHERE 1 = 0", params


def case_listing(user, **filters) -> CaseListing:
    """The cases of a list as pages and the API read them (``CaseListing``)."""
    if not user.is_authenticated or not user.has_perm("cases.view_case"):
        return CaseListing(Case.objects.none(), None)
    # On "mine" and "first contact" the user is on every case: they are its own visibility path.
    paths = None if filters.get("queue", "open") in ("mine", "first_contact") else visibility_paths(user)
    return CaseListing(_filtered(user, Case.objects.all(), **filters), paths)


def access_case(user, pk) -> Case:
    """One case the user may see, or Http404 — the same for missing and out of view."""
    try:
        return visible_cases(user).select_related(
            "institution", "category", "first_contact_owner__staff", "assignee__staff", "assignee_department",
            "requester__staff", "sla_policy").get(pk=pk)
    except (Case.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


QUEUES = {
    "mine": "Assigned to me",
    "team": "My team's",
    "first_contact": "First contact is me",
    "overdue": "Overdue",
    "to_verify": "Rectifications to verify",
    "open": "All open",
    "all": "All",
}


def case_list(user, **filters) -> QuerySet:
    """The cases of a list, every row (exports, figures); pages and the API read ``case_listing``."""
    return _filtered(user, visible_cases(user), **filters)


class _OpenWork(Expression):
    """Open work as literal SQL: the lists' indexes are partial on it, and SQLite uses a partial index
    only when the query repeats its condition literally (a bound parameter is unknown to its
    planner); ``likely()`` tells SQLite's planner the term is not selective, so it reads the list's
    ordered index instead of the status index followed by a sort of every open case."""

    conditional = True
    output_field = BooleanField()

    def as_sql(self, compiler, connection):
        values = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # constants of the code, never input
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f'{table}."status" IN ({values})', []

    def as_sqlite(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        return f"likely({sql})", params


def open_q() -> Expression:
    return _OpenWork()


def _filtered(user, qs, *, queue: str = "open", q: str = "", case_type: str = "", status: str = "",
              institution: int | None = None, priority: str = "", major: bool | None = None,
              received_from: date | None = None, received_to: date | None = None) -> QuerySet:
    qs = qs.select_related("institution", "category", "assignee__staff", "assignee_department",
                           "first_contact_owner__staff", "sla_policy")
    today = clock.today()
    staff = getattr(user, "staff", None)
    if queue == "mine":
        qs = qs.filter(open_q(), assignee=user)
    elif queue == "team":
        team = Q(pk__in=[])
        if staff is not None and staff.department_id:
            team |= Q(assignee_department_id=staff.department_id)
        if staff is not None:
            team |= Q(institution_id=staff.institution_id)
        qs = qs.filter(open_q(), team)
    elif queue == "first_contact":
        qs = qs.filter(first_contact_owner=user)
    elif queue == "overdue":
        qs = qs.filter(open_q(), resolution_due__lt=today)
    elif queue == "to_verify":
        qs = qs.filter(to_verify_q(user))
    elif queue == "open":
        qs = qs.filter(open_q())
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q) | Q(description__icontains=q))
    if case_type:
        qs = qs.filter(case_type=case_type)
    if status:
        qs = qs.filter(status=status)
    if institution:
        path = Institution.objects.filter(pk=institution).values_list("path", flat=True).first()
        qs = qs.filter(institution__path__startswith=path) if path else qs.none()
    if priority:
        qs = qs.filter(priority=priority)
    if major is not None:
        qs = qs.filter(is_major=major)
    if received_from:
        qs = qs.filter(received_at__date__gte=received_from)
    if received_to:
        qs = qs.filter(received_at__date__lte=received_to)
    return qs.order_by(*CASE_ORDER)


# Every list of cases: the soonest resolution deadline first (none — paused or not set — last), then
# the oldest received; on the pages, the API and the exports alike.
CASE_ORDER = (F("resolution_due").asc(nulls_last=True), "received_at", "id")


def to_verify_q(user) -> Q:
    """Rectifications resolved with their evidence and not yet verified, in the scope of a user who
    verifies (``rules.may_verify`` for a whole list)."""
    if not user.has_perm("cases.verify_rectification"):
        return Q(pk__in=[])
    return (scope_q(user, "institution") & Q(case_type=CaseType.RECTIFICATION, status=Status.RESOLVED, rectification__verified_at__isnull=True)
            & ~Q(rectification__evidence=""))


def sla_figures(user, *, since: date | None = None) -> dict:
    """Backlog and SLA compliance within the user's view (for the dashboard and the API)."""
    today = clock.today()
    qs = visible_cases(user)
    if since:
        qs = qs.filter(received_at__date__gte=since)
    open_qs = qs.filter(status__in=OPEN_STATUSES)
    by_type = {row["case_type"]: row for row in open_qs.values("case_type").annotate(
        open=Count("id"), overdue=Count("id", filter=Q(resolution_due__lt=today)))}
    finished = qs.filter(resolved_at__isnull=False, resolution_due__isnull=False)
    met = finished.filter(resolved_at__date__lte=F("resolution_due")).count()
    total = finished.count()
    return {
        "open": open_qs.count(),
        "overdue": open_qs.filter(resolution_due__lt=today).count(),
        "by_type": [{"case_type": t, "label": str(CaseType(t).label), "open": by_type.get(t, {}).get("open", 0),
                     "overdue": by_type.get(t, {}).get("overdue", 0)} for t in CaseType.values],
        "resolved": total,
        "resolved_on_time": met,
        "compliance": round(met / total, 4) if total else None,
        "by_status": dict(qs.values_list("status").annotate(n=Count("id")).order_by()),
        "statuses": {s: str(Status(s).label) for s in Status.values},
    }


def complaints_per_outlet_month(user, year: int) -> list[dict]:
    """The headline figure: complaints per outlet per month."""
    from django.db.models.functions import ExtractMonth

    rows = (visible_cases(user).filter(case_type=CaseType.COMPLAINT, received_at__year=year)
            .annotate(month=ExtractMonth("received_at"))
            .values("institution_id", "institution__code", "institution__name", "month")
            .annotate(n=Count("id")).order_by("institution__code", "month"))
    table: dict[int, dict] = {}
    for r in rows:
        entry = table.setdefault(r["institution_id"], {"institution_id": r["institution_id"],
                                                       "code": r["institution__code"],
                                                       "name": r["institution__name"], "months": [0] * 12})
        entry["months"][r["month"] - 1] = r["n"]
    out = list(table.values())
    for e in out:
        e["total"] = sum(e["months"])
    return sorted(out, key=lambda e: -e["total"])


def my_work_section(user) -> dict | None:
    """The home page's list of the cases waiting for this user, soonest deadline first."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    if not user.has_perm("cases.view_case"):
        return None
    qs = case_list(user, queue="mine")
    today = clock.today()
    items = [nav.entry(f"{c.number} {c.title}", c.get_absolute_url(),
                       _("resolve by %(date)s") % {"date": date_format(c.resolution_due, "SHORT_DATE_FORMAT")}
                       if c.resolution_due else "", overdue=bool(c.resolution_due and c.resolution_due < today))
             for c in qs[:8]]
    return {"title": _("My open cases"), "items": items, "count": qs.count(),
            "url": reverse("cases:list") + "?queue=mine", "empty_message": _("No open cases are waiting for you.")}


def sla_state(case, due: date | None, today: date) -> dict | None:
    """How a deadline stands: met, breached (with the days overdue), due_soon, on_track, paused."""
    if case.status == Status.CANCELLED:
        return None
    if due is None:
        return {"state": sla.PAUSED} if case.paused_since and case.is_open else None
    policy = case.sla_policy
    kind = sla.DayKind.CALENDAR if policy is not None and policy.day_kind == DayKind.CALENDAR else sla.DayKind.WORKING
    done = timezone.localtime(case.resolved_at).date() if case.resolved_at and not case.is_open else None
    state = sla.evaluate(today, due, done, policy.remind_before_days if policy else 1, working_calendar, kind)
    return {"state": state.state, "days_left": state.days_left, "overdue_days": state.overdue_days,
            "done": done is not None, "working_days": kind == sla.DayKind.WORKING}


def weekly_complaints(institution_ids, start: date, end: date) -> dict[tuple[int, date], int]:
    """Complaints received per institution and week (the Monday it starts), ``start``…``end``
    inclusive, local dates: a system read for analyses authorised by their own owner (the
    post-release watch compares outlets' complaints before and after an item)."""
    from datetime import timedelta

    out: dict[tuple[int, date], int] = {}
    rows = Case.objects.filter(case_type=CaseType.COMPLAINT, institution_id__in=list(institution_ids),
                               received_at__date__gte=start, received_at__date__lte=end)
    for inst, received in rows.values_list("institution_id", "received_at").iterator():
        day = timezone.localdate(received)
        key = (inst, day - timedelta(days=day.weekday()))
        out[key] = out.get(key, 0) + 1
    return out


# --- a branch's complaints over a period, for briefings -------------------------------------------------
# System reads (the caller has authorised its reader on the branch): complaints received at the
# branch's institutions from ``start`` to ``end`` inclusive (local dates), cancelled ones left out
# (withdrawn or entered in error: not a complaint to count).

def branch_complaints(within, start: date, end: date) -> QuerySet:
    return (Case.objects.filter(case_type=CaseType.COMPLAINT, institution__path__startswith=within.path,
                                received_at__date__gte=start, received_at__date__lte=end)
            .exclude(status=Status.CANCELLED))


def complaint_counts(within, start: date, end: date) -> dict[int, int]:
    """Complaints per institution id."""
    return dict(branch_complaints(within, start, end).order_by().values_list("institution_id")
                .annotate(n=Count("id")))


def major_complaints(within, start: date, end: date) -> list[dict]:
    """Major complaints (重大投诉) and negative public-opinion events (舆情: received through the media),
    oldest first."""
    from .models import Channel

    qs = (branch_complaints(within, start, end).filter(Q(is_major=True) | Q(channel=Channel.MEDIA))
          .select_related("institution").order_by("received_at", "id"))
    return [{"number": c.number, "title": c.title, "outlet": c.institution.code, "outlet_name": c.institution.name,
             "received": timezone.localdate(c.received_at).isoformat(), "major": c.is_major,
             "media": c.channel == Channel.MEDIA, "status": c.status} for c in qs]


def complaint_hot_spots(within, start: date, end: date, limit: int = 10) -> dict:
    """Complaint hot spots by the codes of JR/T 0169: the most frequent causes and business types
    (each with its share of the period's complaints), and how many carry no code."""
    qs = branch_complaints(within, start, end)
    total = qs.count()

    def top(field: str) -> list[dict]:
        rows = (qs.exclude(**{f"complaint__{field}": None}).order_by()
                .values(f"complaint__{field}__code", f"complaint__{field}__name").annotate(n=Count("id"))
                .order_by("-n", f"complaint__{field}__code")[:limit])
        return [{"code": r[f"complaint__{field}__code"], "name": r[f"complaint__{field}__name"],
                 "complaints": r["n"], "share": round(r["n"] / total, 4)} for r in rows]

    return {"total": total, "cause": top("cause_code"), "business": top("business_code"),
            "unclassified": qs.filter(complaint__cause_code__isnull=True).count()}


CLOCK_DAYS = {"normal": 15, "complex": 30, "particularly_complex": 60}


def complaint_clocks(within, start: date, end: date, today: date) -> list[dict]:
    """The period's complaints against the regulatory decision clocks (15 / 30 / 60 days by
    complexity; ``decision_due`` as the cases engine computed it): decided on time, decided late, open
    past the deadline on ``today``, and the numbers of those overdue."""
    from .models import ComplaintDetail

    qs = branch_complaints(within, start, end).select_related("complaint")
    out = {k: {"complexity": k, "days": d, "received": 0, "on_time": 0, "late": 0, "open_overdue": 0, "open": 0,
               "overdue_numbers": []} for k, d in CLOCK_DAYS.items()}
    for c in qs.order_by("received_at", "id"):
        detail = getattr(c, "complaint", None)
        row = out[detail.complexity if detail else ComplaintDetail.Complexity.NORMAL]
        row["received"] += 1
        done = timezone.localdate(c.resolved_at) if c.resolved_at and not c.is_open else None
        if done is not None:
            late = c.decision_due is not None and done > c.decision_due
            row["late" if late else "on_time"] += 1
        else:
            row["open"] += 1
            late = c.decision_due is not None and c.decision_due < today
            row["open_overdue"] += late
        if late:
            row["overdue_numbers"].append(c.number)
    return list(out.values())
