from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoordinationConfig(AppConfig):
    name = "branchops.coordination"
    label = "coordination"
    verbose_name = _("Coordination")

    def ready(self):
        from branchops.core import nav
        from branchops.core.audit import register_verbs

        from . import roles  # noqa: F401  grants the coordination permissions to the roles
        from .models import VERB_LABELS

        register_verbs(VERB_LABELS)
        from branchops.core import periodic

        from .services import check_conditions, freeze_due_agendas

        periodic.register("coordination.freeze_agendas", freeze_due_agendas)
        periodic.register("coordination.overdue_conditions", check_conditions)
        nav.register(nav.NavItem("coordination", _("Coordination"), "coordination:register", "people",
                                 ("coordination.view_item",), 100))
