"""Service grading (服务等级评价): grading schemes as versioned data, quarterly runs, their stored inputs
and the grades they gave.

A scheme is reference data with effective dates; a run keeps the scheme version it was computed
under, and once a run using a scheme is reviewed or published the scheme is frozen — changing it means
a new version (``services.new_scheme_version``). Every input a run used is stored with its source and
evidence, so a published run can be replayed to the same grades.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution

from . import scoring


class Method(models.TextChoices):
    THRESHOLDS = scoring.THRESHOLDS, _("Score thresholds")
    QUOTAS = scoring.QUOTAS, _("Ranking quotas")


class MissingRule(models.TextChoices):
    RENORMALISE = scoring.RENORMALISE, _("Re-normalise the other weights")
    FIXED = scoring.FIXED, _("A fixed share of the weight")


class Direction(models.TextChoices):
    HIGHER = scoring.HIGHER, _("Higher is better")
    LOWER = scoring.LOWER, _("Lower is better")


class Rule(models.TextChoices):
    LINEAR = scoring.LINEAR, _("Linear between thresholds")
    SCALE = scoring.SCALE, _("By a scale")


class Source(models.TextChoices):
    QUEUEING = "queueing", _("Queue analytics")
    CASES = "cases", _("Complaints")
    TELLER_EVALUATOR = "teller_evaluator", _("Teller evaluators")
    SURVEY = "survey", _("Satisfaction survey")
    INSPECTION = "inspection", _("Inspections")
    MANUAL = "manual", _("Entered by the secretariat")


class Unit(models.TextChoices):
    RATIO = "ratio", _("Percentage")
    SCORE = "score", _("Score")
    PER_10K = "per_10k", _("Per 10,000 customers")
    COUNT = "count", _("Count")


class GradingScheme(TimeStampedModel):
    code = models.CharField(_("code"), max_length=32)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=128)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    method = models.CharField(_("grading method"), max_length=16, choices=Method.choices, default=Method.THRESHOLDS)
    missing_rule = models.CharField(_("missing-input rule"), max_length=16, choices=MissingRule.choices,
                                    default=MissingRule.RENORMALISE)
    missing_share = models.DecimalField(_("share of the weight for a missing input"), max_digits=4,
                                        decimal_places=3, default=0)
    reliability_code = models.CharField(_("reliability indicator"), max_length=32, blank=True)
    reliability_min = models.DecimalField(_("reliable from"), max_digits=8, decimal_places=4, default=0)
    reliability_affects = models.JSONField(_("figures made unreliable"), default=list, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("grading scheme")
        verbose_name_plural = _("grading schemes")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="service_scheme_code_version"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                                   name="service_scheme_dates",
                                   violation_error_message=_("A scheme ends after it starts.")),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def in_use(self) -> bool:
        """Frozen: a reviewed or published run was graded under it."""
        return self.runs.exclude(status=GradingRun.Status.DRAFT).exists()


class Dimension(models.Model):
    scheme = models.ForeignKey(GradingScheme, on_delete=models.CASCADE, related_name="dimensions")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("dimension")
        verbose_name_plural = _("dimensions")
        ordering = ["sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="service_dimension_code")]

    def __str__(self):
        return self.name


class Indicator(models.Model):
    scheme = models.ForeignKey(GradingScheme, on_delete=models.CASCADE, related_name="indicators")
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.RATIO)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    rule = models.CharField(_("scoring rule"), max_length=8, choices=Rule.choices, default=Rule.LINEAR)
    full_at = models.DecimalField(_("full points at"), max_digits=10, decimal_places=4, default=1)
    zero_at = models.DecimalField(_("no points at"), max_digits=10, decimal_places=4, default=0)
    scale = models.JSONField(_("scale"), default=list, blank=True,
                             help_text=_("Steps [bound, share of the weight], best first."))
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["dimension__sort_order", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="service_indicator_code"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="service_indicator_weight_positive",
                                   violation_error_message=_("A weight is more than zero.")),
        ]

    def __str__(self):
        return self.name


class GradeBand(models.Model):
    scheme = models.ForeignKey(GradingScheme, on_delete=models.CASCADE, related_name="bands")
    grade = models.CharField(_("grade"), max_length=1, choices=[(g, g) for g in scoring.GRADES])
    min_score = models.DecimalField(_("lowest score"), max_digits=6, decimal_places=2, null=True, blank=True)
    quota = models.DecimalField(_("share of outlets"), max_digits=4, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = _("grade band")
        verbose_name_plural = _("grade bands")
        ordering = ["grade"]
        constraints = [models.UniqueConstraint(fields=["scheme", "grade"], name="service_band_grade")]

    def __str__(self):
        return self.grade


class VetoRule(models.Model):
    """一票否决: an event that gives the grade whatever the score."""

    scheme = models.ForeignKey(GradingScheme, on_delete=models.CASCADE, related_name="vetoes")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=128)
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    at_least = models.DecimalField(_("from (count)"), max_digits=6, decimal_places=2, default=1)
    grade = models.CharField(_("grade"), max_length=1, choices=[(g, g) for g in scoring.GRADES], default="D")

    class Meta:
        verbose_name = _("veto rule")
        verbose_name_plural = _("veto rules")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="service_veto_code")]

    def __str__(self):
        return self.name


class GradingRun(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEWED = "reviewed", _("Reviewed")
        PUBLISHED = "published", _("Published")

    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="grading_runs",
                               verbose_name=_("branch"))
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    scheme = models.ForeignKey(GradingScheme, on_delete=models.PROTECT, related_name="runs",
                               verbose_name=_("grading scheme"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("published by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords(excluded_fields=["version", "computed_at"])

    class Meta:
        verbose_name = _("grading run")
        verbose_name_plural = _("grading runs")
        ordering = ["-year", "-quarter", "branch__path"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "quarter"], name="service_run_branch_quarter",
                                    violation_error_message=_("This branch already has a run for the quarter.")),
            models.CheckConstraint(condition=Q(quarter__gte=1) & Q(quarter__lte=4), name="service_run_quarter",
                                   violation_error_message=_("A quarter is 1 to 4.")),
        ]

    def __str__(self):
        return f"{self.branch} {self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("service:run", args=[self.pk])


class RunInput(models.Model):
    """One input of one outlet in a run: the value (None: missing), where it came from and the evidence.
    The secretariat may adjust it in a draft, with a reason; the gathered value is kept beside it."""

    run = models.ForeignKey(GradingRun, on_delete=models.CASCADE, related_name="inputs")
    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("input"), max_length=32)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=6, null=True, blank=True)
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    gathered_value = models.DecimalField(_("gathered value"), max_digits=14, decimal_places=6, null=True, blank=True)
    adjusted = models.BooleanField(_("adjusted"), default=False)
    reason = models.TextField(_("reason for the adjustment"), blank=True)
    adjusted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    adjusted_at = models.DateTimeField(_("adjusted at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("run input")
        verbose_name_plural = _("run inputs")
        ordering = ["outlet__path", "code"]
        constraints = [
            models.UniqueConstraint(fields=["run", "outlet", "code"], name="service_input_unique"),
            models.CheckConstraint(condition=Q(adjusted=False) | ~Q(reason=""), name="service_adjust_needs_reason",
                                   violation_error_message=_("An adjustment needs a reason.")),
        ]

    def __str__(self):
        return f"{self.run_id}/{self.outlet_id}/{self.code}"


class OutletGrade(models.Model):
    run = models.ForeignKey(GradingRun, on_delete=models.CASCADE, related_name="grades")
    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="service_grades")
    total = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    vetoes = models.JSONField(default=list, blank=True)
    missing = models.JSONField(default=list, blank=True)
    unreliable = models.JSONField(default=list, blank=True)
    breakdown = models.JSONField(default=list, blank=True)
    rectification = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("rectification"))

    class Meta:
        verbose_name = _("outlet grade")
        verbose_name_plural = _("outlet grades")
        ordering = ["rank", "outlet__path"]
        constraints = [models.UniqueConstraint(fields=["run", "outlet"], name="service_grade_unique")]

    def __str__(self):
        return f"{self.run_id}/{self.outlet_id}: {self.grade}"


# --- inspections (服务检查) --------------------------------------------------------------------------

class InspectionType(models.TextChoices):
    MYSTERY = "mystery", _("Mystery shopper")
    VIDEO = "video", _("Video check")
    ON_SITE = "on_site", _("On-site check")
    ROUTINE = "routine", _("Outlet routine")  # done by the outlet itself (``routinebook``), never scheduled here


class ChecklistTemplate(TimeStampedModel):
    """A checklist as versioned data. Once an inspection used a version it is frozen: a change is a new
    version (``services.new_template_version``), so a past inspection keeps the items it was scored on."""

    code = models.CharField(_("code"), max_length=32)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=128)
    inspection_type = models.CharField(_("inspection type"), max_length=16, choices=InspectionType.choices)
    effective_from = models.DateField(_("effective from"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="service_template_code_version")]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def in_use(self) -> bool:
        return self.inspections.exists()


class ChecklistSection(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="sections")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=128)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("checklist section")
        verbose_name_plural = _("checklist sections")
        ordering = ["sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["template", "code"], name="service_section_code")]

    def __str__(self):
        return self.name


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    SERIOUS = "serious", _("Serious")


class ChecklistItem(models.Model):
    section = models.ForeignKey(ChecklistSection, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("code"), max_length=32)
    text = models.CharField(_("item"), max_length=300)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    na_allowed = models.BooleanField(_("N/A allowed"), default=False)
    veto = models.BooleanField(_("veto item"), default=False)
    severity = models.CharField(_("severity when failed"), max_length=8, choices=Severity.choices,
                                default=Severity.MINOR)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["section__sort_order", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["section", "code"], name="service_item_code"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="service_item_weight_positive",
                                   violation_error_message=_("A weight is more than zero.")),
        ]

    def __str__(self):
        return f"{self.code} {self.text}"


class Inspection(TimeStampedModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SUBMITTED = "submitted", _("Submitted")

    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="inspections",
                               verbose_name=_("outlet"))
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="inspections",
                                 verbose_name=_("checklist"))
    inspection_type = models.CharField(_("inspection type"), max_length=16, choices=InspectionType.choices)
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspections",
                                   verbose_name=_("supervisor"))
    planned_on = models.DateField(_("planned date"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED,
                              db_index=True)
    visited_at = models.DateTimeField(_("visited at"), null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    vetoed = models.BooleanField(_("veto item failed"), default=False)
    # A re-inspection checks one finding of an earlier inspection again.
    reinspects = models.ForeignKey("Finding", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="reinspections", verbose_name=_("re-inspection of"))
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-planned_on", "-id"]

    def __str__(self):
        return f"{self.outlet} {self.planned_on} ({self.get_inspection_type_display()})"


class Answer(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NA = "na", _("N/A")


class InspectionResult(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(_("answer"), max_length=4, choices=Answer.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        ordering = ["item__section__sort_order", "item__sort_order"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="service_result_unique")]

    def __str__(self):
        return f"{self.inspection_id}/{self.item_id}: {self.answer}"


def photo_path(instance, filename):
    return f"inspections/{instance.inspection_id}/{filename}"


class InspectionPhoto(models.Model):
    """Photo evidence of a failed item, stored like case attachments."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(_("file"), upload_to=photo_path)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["id"]

    def __str__(self):
        return self.name


class Finding(models.Model):
    """A failed item of a submitted inspection; rectified by its deadline (限期整改) through a
    rectification case, closed when a re-inspection passes it."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    deadline = models.DateField(_("rectify by"))
    rectification = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("rectification"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["inspection", "item__section__sort_order", "item__sort_order"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="service_finding_unique")]

    def __str__(self):
        return f"{self.inspection_id}/{self.item.code}"


# Imported inputs and service targets live in their own module; imported here so Django registers them.
from .briefing_models import Briefing, BriefingCase, BriefingSettings  # noqa: E402, F401
from .inputs import (  # noqa: E402, F401
    CallCentreDay,
    InputImport,
    ServiceTarget,
    SurveyScore,
    TellerRating,
)

# The public-phone directory and its check campaigns (公示电话专项治理).
from .phonebook import PhoneCall, PhoneCampaign, PhoneCorrection, PhoneEntry  # noqa: E402, F401

# Outlet routines (equipment checks, drills, facilities, environment) on the same checklists.
from .routinebook import RoutineAnswer, RoutineCheck, RoutinePlan  # noqa: E402, F401
