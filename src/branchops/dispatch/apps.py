from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "branchops.dispatch"
    label = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self):
        from branchops.core import nav, periodic
        from branchops.core.audit import register_verbs
        from branchops.org.signals import branch_created

        from . import home, roles  # noqa: F401
        from .services import check_work_orders, create_settings

        periodic.register("dispatch.work_orders_due", check_work_orders)
        branch_created.connect(create_settings, dispatch_uid="dispatch-branch-settings")

        register_verbs({"acknowledged": _("Acknowledged"), "done": _("Done"), "problem": _("Problem raised"),
                        "capacity_set": _("Capacity set"), "cancelled": _("Work order cancelled"),
                        "rescheduled": _("Work order moved"),
                        "material_changed": _("New version of a material")})

        nav.register(nav.NavItem("workorders", _("Work orders"), "dispatch:work_orders", "clipboard-check",
                                 ("dispatch.view_workorder",), 150))
        nav.register_work_section("dispatch-work-orders", home.work_orders_section, 80)
        nav.register_filterable("dispatch:work_orders", _("Work orders"))
