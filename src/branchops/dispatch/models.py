"""Release to outlets: work orders, outlet capacity and blackout periods."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from branchops.core import clock
from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution


class WorkloadSettings(models.Model):
    """Per-branch workload rules: the default share of staff time outlets keep for work from above."""

    branch = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="workload_settings",
                                  verbose_name=_("branch"))
    capacity_share = models.DecimalField(
        _("share of staff time for work from above"), max_digits=4, decimal_places=2, default=0.05,
        help_text=_("Default weekly capacity = head-count × 40 h × this share."))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("workload settings")
        verbose_name_plural = _("workload settings")

    def __str__(self):
        return str(self.branch)


class OutletCapacity(models.Model):
    """An outlet's weekly capacity for work pushed from above, when it differs from the default
    (head-count × 40 h × the branch's share)."""

    outlet = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="capacity",
                                  verbose_name=_("outlet"))
    weekly_hours = models.DecimalField(_("weekly hours"), max_digits=6, decimal_places=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("outlet capacity")
        verbose_name_plural = _("outlet capacities")

    def __str__(self):
        return f"{self.outlet}: {self.weekly_hours} h"


class Blackout(models.Model):
    """A period when no new work should land on outlets (month-, quarter-, year-end, holidays)."""

    name = models.CharField(_("name"), max_length=100)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))

    class Meta:
        verbose_name = _("blackout period")
        verbose_name_plural = _("blackout periods")
        ordering = ["start"]

    def __str__(self):
        return f"{self.name} {self.start}–{self.end}"


class Release(models.Model):
    """One release of an item: who, when, and why it went out despite a capacity warning."""

    item = models.ForeignKey("coordination.Item", on_delete=models.PROTECT, related_name="releases")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=clock.now, editable=False)
    over_capacity = models.JSONField(default=list, blank=True)
    override_reason = models.CharField(_("released despite capacity because"), max_length=200, blank=True)

    class Meta:
        ordering = ["-released_at"]

    def __str__(self):
        return f"{self.item_id} {self.released_at}"


class WorkOrder(TimeStampedModel):
    class Status(models.TextChoices):
        RELEASED = "released", _("Released")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DONE = "done", _("Done")
        PROBLEM = "problem", _("Problem raised")
        CANCELLED = "cancelled", pgettext_lazy("work order", "Cancelled")

    # A lazy reference: dispatch's code never imports coordination (DESIGN.md §2).
    item = models.ForeignKey("coordination.Item", on_delete=models.PROTECT, related_name="work_orders",
                             verbose_name=_("item"))
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="work_orders")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="work_orders",
                                    verbose_name=_("outlet"))
    approval_number = models.CharField(_("approval number"), max_length=64)
    start_date = models.DateField(_("start"))
    due_date = models.DateField(_("due date"), db_index=True)
    hours = models.DecimalField(_("effort (person-hours)"), max_digits=6, decimal_places=1)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RELEASED,
                              db_index=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    problem_case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("problem raised"))
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("cancelled by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    # When the "due soon" and "overdue" notices went out: each is sent once.
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["reminded_at", "overdue_notified_at"])

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["due_date", "id"]
        permissions = [("cancel_workorder", _("Can cancel work orders"))]
        constraints = [models.UniqueConstraint(fields=["item", "institution"], name="dispatch_one_order_per_outlet")]
        indexes = [models.Index(fields=["institution", "status"], name="dispatch_inst_status")]

    def __str__(self):
        return f"{self.item.number} → {self.institution}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("dispatch:work_order", args=[self.pk])
