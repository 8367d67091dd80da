from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "branchops.queueing"
    label = "queueing"
    verbose_name = _("Queue analytics")

    def ready(self):
        from branchops.core import nav

        from . import roles  # noqa: F401  grants the queueing permissions to the roles

        nav.register(nav.NavItem("queueing", _("Queue analytics"), "queueing:dashboard", "hourglass-split",
                                 ("queueing.view_ticketimport",), 200))
