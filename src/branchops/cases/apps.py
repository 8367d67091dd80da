from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "branchops.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self):
        from branchops.core import nav, periodic
        from branchops.core.audit import register_verbs

        from . import roles  # noqa: F401  grants the cases permissions to the roles
        from .models import VERB_LABELS

        register_verbs(VERB_LABELS)
        from .tasks import sla_job

        periodic.register("cases.sla", sla_job)
        from . import home
        from .queries import my_work_section

        nav.register(nav.NavItem("cases", _("Cases"), "cases:list", "inboxes", ("cases.view_case",), 200))
        nav.register_work_section("cases", my_work_section, 200)
        nav.register_work_section("cases-overview", home.overview_section, 60)
        nav.register_work_section("cases-to-verify", home.to_verify_section, 70)
        nav.register_filterable("cases:list", _("Cases"))
