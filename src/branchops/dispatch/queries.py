from datetime import date

from django.db.models import Q, QuerySet
from django.http import Http404

from branchops.org.models import Level
from branchops.org.scope import scope_q, sees_everything

from .models import WorkOrder


def visible_work_orders(user) -> QuerySet:
    """An outlet sees its own work orders; a sub-branch those of its outlets; the secretariat and
    leaders those in their scope; the submitting department those of its items."""
    if not user.is_authenticated or not user.has_perm("dispatch.view_workorder"):
        return WorkOrder.objects.none()
    if sees_everything(user):
        return WorkOrder.objects.all()
    staff = getattr(user, "staff", None)
    q = Q(institution_id=staff.institution_id) if staff else Q(pk__in=[])
    # Sub-branch staff oversee their outlets' work (read-only: only an outlet's head acts on it).
    at_sub_branch = staff is not None and staff.institution.level == Level.SUB_BRANCH
    if at_sub_branch or user.has_perm("coordination.run_meeting") or user.has_perm("coordination.export_register"):
        q |= scope_q(user, "institution")
    if staff is not None and staff.department_id:
        q |= Q(item__department_id=staff.department_id)
    return WorkOrder.objects.filter(q)


def access_work_order(user, pk) -> WorkOrder:
    try:
        return visible_work_orders(user).select_related("item", "institution", "problem_case").get(pk=pk)
    except (WorkOrder.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def is_overdue(wo: WorkOrder, today: date) -> bool:
    return wo.status != WorkOrder.Status.DONE and wo.due_date < today


def overdue_q(today: date) -> Q:
    return Q(due_date__lt=today) & ~Q(status=WorkOrder.Status.DONE)
