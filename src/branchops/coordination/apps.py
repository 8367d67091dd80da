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
        from branchops.cases.signals import feedback_raised_to_meeting
        from branchops.core import periodic
        from branchops.dispatch import queries as dispatch
        from branchops.dispatch.signals import work_order_changed
        from branchops.org.signals import branch_created

        from . import home
        from .queries import pending_loads, released_loads
        from .services import (
            check_conditions,
            create_settings,
            evaluate_due_watches,
            freeze_due_agendas,
            on_feedback_raised,
            on_work_order_changed,
            remind_reviewers,
        )

        periodic.register("coordination.freeze_agendas", lambda today: freeze_due_agendas())
        periodic.register("coordination.overdue_conditions", check_conditions)
        periodic.register("coordination.opinion_reminders", remind_reviewers)
        periodic.register("coordination.post_release_watch", evaluate_due_watches)
        dispatch.register_load_source(released_loads)
        dispatch.register_load_source(pending_loads, expected=True)
        work_order_changed.connect(on_work_order_changed, dispatch_uid="coordination-work-order-changed")
        feedback_raised_to_meeting.connect(on_feedback_raised, dispatch_uid="coordination-feedback-to-meeting")
        branch_created.connect(create_settings, dispatch_uid="coordination-branch-settings")
        nav.register_work_section("coordination-leader", home.leader_section, 10)
        nav.register_work_section("coordination-next-meeting", home.secretariat_section, 20)
        nav.register_work_section("coordination-follow-up", home.follow_up_section, 30)
        nav.register_work_section("coordination-unheld-meetings", home.unheld_meetings_section, 35)
        nav.register_work_section("coordination-reviews", home.reviewer_section, 40)
        nav.register_work_section("coordination-items", home.submitter_section, 50)
        nav.register_filterable("coordination:register", _("Coordination register"))
        nav.register_filterable("coordination:conditions", _("Conditions"))
        nav.register(nav.NavItem("coordination", _("Coordination"), "coordination:register", "people",
                                 ("coordination.view_item",), 100))
