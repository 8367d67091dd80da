"""Reads of the outlet routines, shared by pages, API and xlsx (never writing). Scope: an outlet sees its
own checks; a plan over the branch is seen by its outlets (their checks only)."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from branchops.org.models import Institution, Level
from branchops.org.scope import scope_q, scope_root, sees_everything

from .routinebook import COLD, RoutineCheck, RoutinePlan


def visible_plans(user) -> QuerySet:
    if not (user.is_authenticated and user.has_perm("service.view_routineplan")):
        return RoutinePlan.objects.none()
    qs = RoutinePlan.objects.select_related("scope")
    if not sees_everything(user):
        root = scope_root(user)
        if root is None:
            return RoutinePlan.objects.none()
        qs = qs.filter(Q(scope__path__startswith=root.path) | Q(scope_id__in=root.ancestor_ids()))
    return qs.order_by("-starts_on", "-id")


def visible_checks(user, *, plan: int | None = None, outlet: int | None = None, status: str = "",
                   overdue: bool = False, failed: bool = False, today=None) -> QuerySet:
    if not (user.is_authenticated and user.has_perm("service.view_routinecheck")):
        return RoutineCheck.objects.none()
    qs = (RoutineCheck.objects.filter(scope_q(user, "outlet"), plan__in=visible_plans(user))
          .select_related("plan", "outlet", "template", "done_by__staff", "case"))
    if plan:
        qs = qs.filter(plan_id=plan)
    if outlet:
        qs = qs.filter(outlet_id=outlet)
    if status:
        qs = qs.filter(status=status)
    if overdue and today is not None:
        qs = qs.filter(status=RoutineCheck.Status.DUE, due__lt=today)
    if failed:
        qs = qs.filter(failed__gt=0)
    return qs.order_by("status", "due", "outlet__path", "id")


def access_check(user, pk: int) -> RoutineCheck:
    check = visible_checks(user).filter(pk=pk).first()
    if check is None:
        raise Http404
    return check


def plan_figures(user, plan: RoutinePlan, today) -> dict:
    """Per plan within the reader's scope: checks done, failed, cases opened, due and overdue, and the
    outlets with a failed check (seed 001's counts: 138 outlets under 18 °C, 38 with poor air) and with
    a reading under 18 °C."""
    qs = visible_checks(user, plan=plan.pk).order_by()
    done, due = Q(status=RoutineCheck.Status.DONE), Q(status=RoutineCheck.Status.DUE)
    # aggregated under names that are no field's (an alias named like a field would shadow it)
    f = qs.aggregate(n_checks=Count("id"), n_done=Count("id", filter=done),
                     n_failed=Count("id", filter=done & Q(failed__gt=0)), n_cases=Count("case", distinct=True),
                     n_to_do=Count("id", filter=due), n_overdue=Count("id", filter=due & Q(due__lt=today)),
                     n_outlets_failed=Count("outlet", filter=done & Q(failed__gt=0), distinct=True),
                     n_outlets_cold=Count("outlet", filter=done & Q(reading__lt=COLD), distinct=True))
    return {key[2:]: value for key, value in f.items()}


def template_of(check: RoutineCheck):
    """The checklist a check is answered on: a done check keeps its own; a due one takes the version of
    its routine in force on its due day (a version made after it was scheduled applies)."""
    from .models import ChecklistTemplate

    if check.status == RoutineCheck.Status.DONE:
        return check.template
    return (ChecklistTemplate.objects.filter(code=check.plan.template_code, effective_from__lte=check.due)
            .order_by("-effective_from", "-version").first() or check.template)


def plan_scopes(user) -> QuerySet:
    if not user.has_perm("service.add_routineplan"):
        return Institution.objects.none()
    return (Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH, Level.SUB_BRANCH,
                                                  Level.OUTLET], is_active=True)
            .filter(scope_q(user, "")).order_by("path"))
