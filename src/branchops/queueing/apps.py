from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "branchops.queueing"
    label = "queueing"
    verbose_name = _("Queue analytics")

    def ready(self):
        from branchops.core import nav
        from branchops.org.signals import branch_created

        from . import roles  # noqa: F401  grants the queueing permissions to the roles
        from .services import create_settings

        branch_created.connect(create_settings, dispatch_uid="queueing-branch-settings")

        nav.register(nav.NavItem("queueing", _("Queue analytics"), "queueing:dashboard", "hourglass-split",
                                 ("queueing.view_ticketimport",), 200))
