"""Third-party apps in the bank's language: their admin sections get Chinese names (the apps ship
none, or only an English one), and the admin strings Django's own catalogue leaves untranslated are
marked here so `makemessages` keeps their Chinese in our catalogue."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_tasks_db.apps import TasksAppConfig


class SignInLockoutConfig(AxesAppConfig):
    verbose_name = _("Sign-in lock-out")


class TaskResultsConfig(TasksAppConfig):
    verbose_name = _("Background tasks")


THIRD_PARTY_STRINGS = [
    # django-axes models
    gettext_noop("access attempt"), gettext_noop("access attempts"),
    gettext_noop("access failure"), gettext_noop("access failures"),
    gettext_noop("access log"), gettext_noop("access logs"),
    gettext_noop("access attempt expiration"), gettext_noop("access attempt expirations"),
    # django-tasks-db model
    gettext_noop("Task Result"), gettext_noop("Task Results"),
    # the admin index's table captions (Django 5.2)
    gettext_noop("Model name"), gettext_noop("Add link"), gettext_noop("Change or view list link"),
]
