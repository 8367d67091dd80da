"""Imported service inputs (teller-evaluator ratings, survey scores, call-centre daily figures), the
import batches that brought them, and the branch's service targets of the year (seed 004).

Each imported row has a natural key (a rating: outlet, teller number, time; a survey score: outlet and
quarter; a call-centre day: branch and day), unique in the database: importing the same file twice
changes nothing, and a row that gives a different value for a stored key is refused, never applied.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution


class InputKind(models.TextChoices):
    RATINGS = "ratings", _("Teller-evaluator ratings")
    SURVEYS = "surveys", _("Survey scores")
    CALL_CENTRE = "call_centre", _("Call-centre daily figures")


class InputImport(TimeStampedModel):
    """One applied import file: who, when, how many rows it added and how many it found already there."""

    kind = models.CharField(_("kind"), max_length=16, choices=InputKind.choices)
    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    file_name = models.CharField(_("file"), max_length=255)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("imported by"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    added = models.PositiveIntegerField(_("added"), default=0)
    unchanged = models.PositiveIntegerField(_("already stored"), default=0)
    unmapped = models.PositiveIntegerField(_("unknown tellers"), default=0)

    class Meta:
        verbose_name = _("service data import")
        verbose_name_plural = _("service data imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.file_name}"


class Rating(models.IntegerChoices):
    VERY_SATISFIED = 5, _("Very satisfied")
    SATISFIED = 4, _("Satisfied")
    NEUTRAL = 3, _("Neutral")
    DISSATISFIED = 2, _("Dissatisfied")
    VERY_DISSATISFIED = 1, _("Very dissatisfied")


SATISFIED_FROM = 4  # a rating of 4 or 5 counts as satisfied


class TellerRating(models.Model):
    """One press on a teller evaluator (柜员服务评价器). ``staff`` is the person holding the teller number
    when it was imported; None keeps the rating as unmapped (it still counts for the outlet)."""

    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("outlet"))
    teller_no = models.CharField(_("teller number"), max_length=16)
    staff = models.ForeignKey("org.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("teller"))
    rated_at = models.DateTimeField(_("rated at"))
    rating = models.PositiveSmallIntegerField(_("rating"), choices=Rating.choices)
    batch = models.ForeignKey(InputImport, on_delete=models.PROTECT, related_name="ratings")

    class Meta:
        verbose_name = _("teller-evaluator rating")
        verbose_name_plural = _("teller-evaluator ratings")
        ordering = ["-rated_at", "outlet_id", "teller_no"]
        constraints = [
            models.UniqueConstraint(fields=["outlet", "teller_no", "rated_at"], name="service_rating_key"),
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="service_rating_range"),
        ]
        indexes = [models.Index(fields=["outlet", "rated_at"], name="service_rating_outlet_time")]

    def __str__(self):
        return f"{self.teller_no}@{self.rated_at:%Y-%m-%d %H:%M}: {self.rating}"


class SurveyScore(models.Model):
    """A third-party satisfaction survey's score of an outlet for a quarter."""

    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("outlet"))
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    sample_size = models.PositiveIntegerField(_("sample size"))
    batch = models.ForeignKey(InputImport, on_delete=models.PROTECT, related_name="surveys")

    class Meta:
        verbose_name = _("survey score")
        verbose_name_plural = _("survey scores")
        ordering = ["-year", "-quarter", "outlet__path"]
        constraints = [
            models.UniqueConstraint(fields=["outlet", "year", "quarter"], name="service_survey_key"),
            models.CheckConstraint(condition=Q(quarter__gte=1) & Q(quarter__lte=4), name="service_survey_quarter"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="service_survey_score"),
        ]

    def __str__(self):
        return f"{self.outlet_id} {self.year}Q{self.quarter}: {self.score}"


class CallCentreDay(models.Model):
    """A day of the call centre (95599) for a branch: calls offered, answered, answered within 20 s."""

    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    day = models.DateField(_("day"))
    offered = models.PositiveIntegerField(_("calls offered"))
    answered = models.PositiveIntegerField(_("calls answered"))
    answered_20s = models.PositiveIntegerField(_("answered within 20 s"))
    batch = models.ForeignKey(InputImport, on_delete=models.PROTECT, related_name="call_days")

    class Meta:
        verbose_name = _("call-centre day")
        verbose_name_plural = _("call-centre days")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "day"], name="service_call_day_key"),
            models.CheckConstraint(condition=Q(answered__lte=models.F("offered"))
                                   & Q(answered_20s__lte=models.F("answered")), name="service_call_day_counts"),
        ]

    def __str__(self):
        return f"{self.branch_id} {self.day}"


class Metric(models.TextChoices):
    """What a service target measures (seed 004's targets of the year)."""

    AVG_WAIT = "avg_wait_minutes", _("Average waiting time (minutes)")
    CALL_ANSWER_RATE = "call_answer_rate", _("Call-centre answer rate")
    CALL_20S_LEVEL = "call_20s_level", _("Call-centre 20-second service level")
    TELLER_SATISFACTION = "teller_satisfaction", _("Teller-evaluator satisfaction")
    MYSTERY_SHOPPER = "mystery_shopper_score", _("Mystery-shopper score")
    COMPLAINTS = "complaints", _("Complaints in the year")
    MODEL_OUTLETS = "model_outlets", _("Model outlets (grade A)")


class Comparison(models.TextChoices):
    AT_MOST = "at_most", _("at most")
    AT_LEAST = "at_least", _("at least")


class ServiceTarget(TimeStampedModel):
    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="service_targets",
                               verbose_name=_("branch"))
    year = models.PositiveSmallIntegerField(_("year"))
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    comparison = models.CharField(_("comparison"), max_length=8, choices=Comparison.choices)
    value = models.DecimalField(_("target value"), max_digits=12, decimal_places=4)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("service target")
        verbose_name_plural = _("service targets")
        ordering = ["-year", "branch__path", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "metric"], name="service_target_key",
                                    violation_error_message=_("The branch already has a target for this metric "
                                                              "and year.")),
        ]

    def __str__(self):
        return f"{self.branch} {self.year} {self.get_metric_display()}"
