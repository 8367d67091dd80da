"""The quarterly service & complaint briefing (季度服务与投诉情况通报) of a branch: drafted by the
secretariat (its figures live, its positive and negative cases chosen with a short text), issued (the
figures frozen), approved by a branch leader or the department head — someone else — and then stored
once, numbered, in core's store of issued documents (.docx and .xlsx) and never changed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution


class Briefing(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        APPROVED = "approved", _("Approved")

    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="service_briefings",
                               verbose_name=_("branch"))
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    summary = models.TextField(_("overview"), blank=True, max_length=4000)
    # The figures as issued: what the approver reads and the stored documents are built from.
    figures = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("issued by"))
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    document = models.OneToOneField("core.IssuedDocument", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("issued document"))
    workbook = models.OneToOneField("core.IssuedDocument", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("issued workbook"))
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords(excluded_fields=["version", "figures"])

    class Meta:
        verbose_name = _("service briefing")
        verbose_name_plural = _("service briefings")
        ordering = ["-year", "-quarter", "branch__path"]
        permissions = [("approve_briefing", _("Can approve service briefings"))]
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "quarter"], name="service_briefing_branch_quarter",
                                    violation_error_message=_("This branch already has a briefing for the quarter.")),
            models.CheckConstraint(condition=Q(quarter__gte=1) & Q(quarter__lte=4), name="service_briefing_quarter",
                                   violation_error_message=_("A quarter is 1 to 4.")),
        ]

    def __str__(self):
        return f"{self.branch} {self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("service:briefing", args=[self.pk])


class BriefingCase(models.Model):
    """A positive or negative service case (正反面典型案例) the secretariat puts in the briefing."""

    class Kind(models.TextChoices):
        POSITIVE = "positive", _("Positive case")
        NEGATIVE = "negative", _("Negative case")

    briefing = models.ForeignKey(Briefing, on_delete=models.CASCADE, related_name="cases")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    outlet = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("outlet"))
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=1000)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("briefing case")
        verbose_name_plural = _("briefing cases")
        ordering = ["kind", "id"]

    def __str__(self):
        return self.title


class BriefingSettings(models.Model):
    """Per branch: how the briefings' document number (文号) reads."""

    branch = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="briefing_settings")
    number_format = models.CharField(
        _("briefing number format"), max_length=64, default="运管服通〔{year}〕{seq}号",
        help_text=_("Python format with {year} and {seq}, e.g. 运管服通〔{year}〕{seq}号; numbered per year when "
                    "the briefing is approved, never renumbered."))

    class Meta:
        verbose_name = _("briefing settings")
        verbose_name_plural = _("briefing settings")

    def __str__(self):
        return str(self.branch)
