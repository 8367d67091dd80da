from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "branchops.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        from django.db.models.signals import post_migrate

        from branchops.core import account_audit, nav

        from .roles import Role, ensure_roles

        account_audit.register_group_labels(Role.choices)
        post_migrate.connect(ensure_roles, dispatch_uid="org-ensure-roles")
        nav.register(nav.NavItem("org", _("Organisation"), "org:tree", "diagram-3", ("org.view_institution",), 800))
