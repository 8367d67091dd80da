from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "branchops.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from django.db.models.signals import post_delete, post_save
        from simple_history.signals import pre_create_historical_record

        from . import account_audit, nav
        from .models import CalendarDay
        from .workdays import invalidate_overrides

        def _invalidate(**kwargs):
            invalidate_overrides()

        post_save.connect(_invalidate, sender=CalendarDay, dispatch_uid="core-calendar-save", weak=False)
        post_delete.connect(_invalidate, sender=CalendarDay, dispatch_uid="core-calendar-delete", weak=False)
        account_audit.connect()
        pre_create_historical_record.connect(_history_on_clock, dispatch_uid="core-history-clock", weak=False)
        nav.register(nav.NavItem("home", _("My work"), "home", "house", order=0))
        nav.register(nav.NavItem("calendar", _("Working-day calendar"), "calendar", "calendar3", order=900))


def _history_on_clock(sender, instance, history_instance, **kwargs):
    """History rows are dated by the core clock, like the timeline (unless a caller set the date)."""
    from . import clock

    if getattr(instance, "_history_date", None) is None:
        history_instance.history_date = clock.now()
