"""Roles are Django groups; their permissions are granted here and by later apps.

A later app adds its permissions with ``grant(Role.SECRETARIAT, "coordination.decide_item")``
at import time of its ``roles.py`` (imported from its AppConfig.ready); ``ensure_roles`` runs
after every migrate and brings the groups in line, idempotently.
"""

from collections import defaultdict

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    SECRETARIAT = "secretariat", _("Secretariat (operations management)")
    SUBMITTER = "submitter", _("Business department submitter")
    REVIEWER = "reviewer", _("Reviewer")
    OUTLET_HEAD = "outlet_head", _("Outlet head")
    OUTLET_STAFF = "outlet_staff", _("Outlet staff")
    SERVICE_SUPERVISOR = "service_supervisor", _("Service supervisor")
    BRANCH_LEADER = "branch_leader", _("Branch leader")
    ADMINISTRATOR = "administrator", _("Administrator")


VIEW_ORG = [
    "org.view_institution", "org.view_department", "org.view_staff", "org.view_cluster",
    "org.view_outlettype", "org.view_post",
]
MANAGE_ORG = [
    "org.add_institution", "org.change_institution", "org.add_department", "org.change_department",
    "org.add_staff", "org.change_staff", "org.add_cluster", "org.change_cluster",
    "org.import_org", "core.add_calendarday", "core.change_calendarday", "core.view_calendarday",
]

_GRANTS: dict[str, set[str]] = defaultdict(set)


def grant(role: str, *perms: str) -> None:
    _GRANTS[str(role)].update(perms)


for _role in Role:
    grant(_role, *VIEW_ORG)
grant(Role.ADMINISTRATOR, *MANAGE_ORG, "org.export_org")
grant(Role.SECRETARIAT, "org.export_org")
grant(Role.BRANCH_LEADER, "org.export_org")


def role_permissions(role: str) -> set[str]:
    return set(_GRANTS[str(role)])


def ensure_roles(sender=None, **kwargs) -> None:
    """Create the role groups and set their permissions to exactly what is granted."""
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    wanted = {p for perms in _GRANTS.values() for p in perms}
    by_name = {}
    for perm in Permission.objects.using(using).select_related("content_type"):
        key = f"{perm.content_type.app_label}.{perm.codename}"
        if key in wanted:
            by_name[key] = perm
    for role in Role:
        group, _created = Group.objects.using(using).get_or_create(name=role.value)
        perms = [by_name[p] for p in sorted(_GRANTS[role.value]) if p in by_name]
        group.permissions.set(perms)


def user_roles(user) -> list[str]:
    if not user.is_authenticated:
        return []
    names = {g.name for g in user.groups.all()}
    return [r.value for r in Role if r.value in names]
