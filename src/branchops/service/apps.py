from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "branchops.service"
    label = "service"
    verbose_name = _("Service grading")

    def ready(self):
        from branchops.core import nav
        from branchops.core.audit import register_verbs

        from . import roles  # noqa: F401
        from .queries import inspections_section, my_work_section

        register_verbs({"run_created": _("Run created"), "run_refreshed": _("Inputs gathered again"),
                        "input_adjusted": _("Input adjusted"), "run_reviewed": _("Reviewed"),
                        "run_returned": _("Returned to draft"), "run_published": _("Published"),
                        "scheme_versioned": _("New scheme version")})
        nav.register(nav.NavItem("service", _("Service grading"), "service:runs", "award",
                                 ("service.view_gradingrun",), 170))
        nav.register_work_section("service-runs", my_work_section, 250)
        nav.register_work_section("service-inspections", inspections_section, 75)
