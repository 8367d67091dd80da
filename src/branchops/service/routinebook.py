"""Outlet routines as checklists (seed 003: periodic equipment checks, emergency-plan drills 预案演练;
seed 001: convenience facilities, the environment campaigns — winter temperature under 18 °C, air
quality): a plan gives every outlet under its scope a check every ``frequency_days``; the outlet does it
on a phone-sized form against the routine checklist version in force on the due day (the inspections'
versioned templates), and a failed check opens a support request or a rectification through the cases
engine. Doing a check schedules the next one."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution

COLD = Decimal("18")  # seed 001: halls under 18 °C in winter (the environment campaign's figure)


class RoutineKind(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment check")
    DRILL = "drill", _("Emergency-plan drill")
    FACILITIES = "facilities", _("Convenience facilities")
    ENVIRONMENT = "environment", _("Environment campaign")


class RoutinePlan(TimeStampedModel):
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=RoutineKind.choices)
    template_code = models.CharField(_("checklist"), max_length=32)
    scope = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("scope"))
    frequency_days = models.PositiveSmallIntegerField(_("every (days)"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("routine plan")
        verbose_name_plural = _("routine plans")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(frequency_days__gte=1) & Q(frequency_days__lte=366),
                                   name="service_routine_frequency"),
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                                   name="service_routine_period"),
        ]

    def __str__(self):
        return self.name


class RoutineCheck(models.Model):
    class Status(models.TextChoices):
        DUE = "due", _("To do")
        DONE = "done", _("Done")

    plan = models.ForeignKey(RoutinePlan, on_delete=models.CASCADE, related_name="checks")
    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="routine_checks",
                               verbose_name=_("outlet"))
    template = models.ForeignKey("ChecklistTemplate", on_delete=models.PROTECT, related_name="routine_checks",
                                 verbose_name=_("checklist"))
    due = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DUE, db_index=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("done by"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    failed = models.PositiveSmallIntegerField(_("failed items"), default=0)
    reading = models.DecimalField(_("reading"), max_digits=6, decimal_places=1, null=True, blank=True,
                                  help_text=_("A measured value, e.g. the hall's temperature in °C."))
    scenario = models.CharField(_("scenario"), max_length=200, blank=True)
    participants = models.CharField(_("participants"), max_length=500, blank=True)
    issues = models.TextField(_("what went wrong"), blank=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("case"))

    class Meta:
        verbose_name = _("routine check")
        verbose_name_plural = _("routine checks")
        ordering = ["status", "due", "outlet__path", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "outlet", "due"], name="service_routine_check_once")]
        indexes = [models.Index(fields=["status", "due"], name="service_routine_due")]

    def __str__(self):
        return f"{self.plan.name} · {self.outlet.name} · {self.due:%Y-%m-%d}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("service:routine_check", args=[self.pk])


class RoutineAnswer(models.Model):
    routine_check = models.ForeignKey(RoutineCheck, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey("ChecklistItem", on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(_("answer"), max_length=4)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["routine_check", "item"], name="service_routine_answer_once")]

    def __str__(self):
        return f"{self.routine_check_id}/{self.item_id}: {self.answer}"
