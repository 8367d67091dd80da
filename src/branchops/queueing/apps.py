from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "branchops.queueing"
    label = "queueing"
    verbose_name = _("Queue analytics")

    def ready(self):
        from branchops.core import nav, periodic
        from branchops.org.signals import branch_created

        from . import home, roles  # noqa: F401  (roles grants the queueing permissions to the roles)
        from .services import create_settings, recover_interrupted

        branch_created.connect(create_settings, dispatch_uid="queueing-branch-settings")

        nav.register(nav.NavItem("queueing", _("Queue analytics"), "queueing:dashboard", "hourglass-split",
                                 ("queueing.view_ticketimport",), 200))
        nav.register_work_section("queueing-outlet-yesterday", home.outlet_yesterday_section, 90)
        nav.register_work_section("queueing-branch-trend", home.branch_trend_section, 65)
        # Imports left running by a process that died are finished or rolled back; stale roll-ups refreshed.
        periodic.register("queueing.recover_imports", recover_interrupted)
