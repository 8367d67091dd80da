from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "branchops.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        from django.db.models.signals import post_migrate

        from branchops.core import nav

        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, dispatch_uid="org-ensure-roles")
        nav.register(nav.NavItem("org", _("Organisation"), "org:tree", "diagram-3", ("org.view_institution",), 800))
