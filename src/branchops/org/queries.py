"""Reads of the organisation shared by pages, API and exports — always within the user's scope."""

from django.db.models import Count, Q, QuerySet

from .models import Cluster, Department, Institution, Level, Staff
from .roles import Role
from .scope import access_object, scope_filter, scope_root, visible_institutions


def institutions(user, *, q: str = "", level: str = "", parent: int | None = None,
                 outlet_type: str = "", cluster: str = "", active: bool | None = None) -> QuerySet:
    qs = visible_institutions(user).select_related("parent", "outlet_type", "cluster")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(short_name__icontains=q)
                       | Q(address__icontains=q))
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=parent)
    if outlet_type:
        qs = qs.filter(outlet_type__code=outlet_type)
    if cluster:
        qs = qs.filter(cluster__code=cluster)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("path")


def branch_of(inst: Institution) -> Institution | None:
    """The nearest tier-1 or tier-2 branch at or above an institution (None for the head office)."""
    return (Institution.objects.filter(id__in=inst.ancestor_ids(), level__in=[Level.TIER1_BRANCH,
                                                                             Level.TIER2_BRANCH])
            .order_by("-depth").first())


def institution_tree(user) -> list[dict]:
    """The visible part of the tree as nested dicts, in one query."""
    rows = list(visible_institutions(user).select_related("outlet_type").annotate(
        staff_count=Count("staff", filter=Q(staff__is_active=True))).order_by("path"))
    nodes = {inst.pk: {"inst": inst, "children": []} for inst in rows}
    roots = []
    for inst in rows:
        parent = nodes.get(inst.parent_id)
        (parent["children"] if parent else roots).append(nodes[inst.pk])
    return roots


def access_institution(user, pk) -> Institution:
    return access_object(user, Institution.objects.select_related("parent", "outlet_type", "cluster"),
                         perm="org.view_institution", field="", pk=pk)


def departments(user, *, q: str = "", institution: int | None = None, kind: str = "") -> QuerySet:
    qs = scope_filter(user, Department.objects.select_related("institution")).annotate(
        staff_count=Count("staff", filter=Q(staff__is_active=True)))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if institution:
        qs = qs.filter(institution_id=institution)
    if kind == "business":
        qs = qs.filter(is_business=True)
    elif kind == "review":
        qs = qs.filter(is_review=True)
    return qs.order_by("institution__path", "sort_order", "code")


def access_department(user, pk) -> Department:
    return access_object(user, Department.objects.select_related("institution"), perm="org.view_department", pk=pk)


def staff(user, *, q: str = "", institution: int | None = None, department: int | None = None,
          post: str = "", role: str = "", active: bool | None = True) -> QuerySet:
    qs = scope_filter(user, Staff.objects.select_related("institution", "department", "post", "user"))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(staff_no__icontains=q) | Q(teller_no__iexact=q) | Q(user__username__icontains=q)
                       | Q(phone__icontains=q))
    if institution:
        root = Institution.objects.filter(pk=institution).values_list("path", flat=True).first()
        qs = qs.filter(institution__path__startswith=root) if root else qs.none()
    if department:
        qs = qs.filter(department_id=department)
    if post:
        qs = qs.filter(post__code=post)
    if role:
        qs = qs.filter(user__groups__name=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("institution__path", "staff_no")


def access_staff(user, pk) -> Staff:
    return access_object(user, Staff.objects.select_related("institution", "department", "post", "user"),
                         perm="org.view_staff", pk=pk)


def clusters(user) -> QuerySet:
    return scope_filter(user, Cluster.objects.select_related("institution")).annotate(
        outlet_count=Count("outlets")).order_by("code")


def scope_summary(user) -> dict:
    root = scope_root(user)
    visible = visible_institutions(user)
    return {
        "root": root,
        "outlets": visible.filter(level=Level.OUTLET, is_active=True).count(),
        "staff": scope_filter(user, Staff.objects.filter(is_active=True)).count(),
    }


def role_labels(user) -> list[str]:
    names = {g.name for g in user.groups.all()}
    return [str(r.label) for r in Role if r.value in names]


def roles_by_user(user_ids) -> dict[int, list[str]]:
    from django.contrib.auth.models import Group

    out: dict[int, list[str]] = {}
    through = Group.user_set.through.objects.filter(user_id__in=user_ids, group__name__in=Role.values)
    for user_id, name in through.values_list("user_id", "group__name"):
        out.setdefault(user_id, []).append(name)
    return out
