"""Queue analytics: the tickets themselves live in Parquet (see ``store``); the database keeps the
settings that define the KPIs and the record of every import."""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core import clock
from branchops.org.models import Institution

MAX_MAPPED_CODES = 500  # per column: far more than any queue machine's menu


def check_type_mapping(mapping) -> list[str]:
    """Every problem of a queue-type mapping, each naming the column and the log's value."""
    from .schema import MAPPED_COLUMNS

    if not isinstance(mapping, dict):
        return [str(_("The mapping must be an object of columns."))]
    problems = []
    for column, codes in mapping.items():
        if column not in MAPPED_COLUMNS:
            problems.append(str(_("“%(column)s” cannot be mapped; map business_type, queue_type or customer_tier.")
                                % {"column": column}))
            continue
        if not isinstance(codes, dict):
            problems.append(str(_("%(column)s: give pairs of value in the log and product code.") % {"column": column}))
            continue
        if len(codes) > MAX_MAPPED_CODES:
            problems.append(str(_("%(column)s: at most %(n)s values.") % {"column": column, "n": MAX_MAPPED_CODES}))
        allowed = MAPPED_COLUMNS[column]
        for value, code in codes.items():
            if (not isinstance(value, str) or not value.strip() or len(value) > 100 or value != value.strip()
                    or not value.isprintable()):
                problems.append(str(_("%(column)s: “%(value)s” is not a value a log can carry (1–100 characters, "
                                      "no leading or trailing spaces).") % {"column": column, "value": repr(value)[1:-1]}))
            elif code not in allowed:
                problems.append(str(_("%(column)s: “%(value)s” maps to “%(code)s”, which is not one of %(allowed)s.")
                                    % {"column": column, "value": value, "code": code,
                                       "allowed": ", ".join(allowed)}))
    return problems


class QueueSettings(models.Model):
    """Per-branch definitions: what counts as an overtime wait, the service target, pattern rules."""

    branch = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="queue_settings")
    regular_threshold_minutes = models.PositiveSmallIntegerField(
        _("overtime wait, regular customers (minutes)"), default=15, validators=[MinValueValidator(1), MaxValueValidator(120)])
    vip_threshold_minutes = models.PositiveSmallIntegerField(
        _("overtime wait, VIP customers (minutes)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(120)])
    private_threshold_minutes = models.PositiveSmallIntegerField(
        _("overtime wait, private-banking customers (minutes)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(120)])
    target_wait_minutes = models.PositiveSmallIntegerField(
        _("service target: called within (minutes)"), default=10, validators=[MinValueValidator(1), MaxValueValidator(120)])
    target_level = models.DecimalField(
        _("service target: share of customers"), max_digits=3, decimal_places=2, default=0.80,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.99)])
    abandonment_significant = models.DecimalField(
        _("abandonment counts as significant above"), max_digits=3, decimal_places=2, default=0.05,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text=_("Above this share of abandoned tickets staffing uses Erlang A instead of Erlang C."))
    pattern_ratio = models.DecimalField(
        _("pattern rule: overtime-wait ratio that marks a queueing half-hour"), max_digits=3,
        decimal_places=2, default=0.20,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)])
    all_day_share = models.DecimalField(
        _("pattern rule: share of open half-hours for all-day queueing"), max_digits=3, decimal_places=2,
        default=0.60, validators=[MinValueValidator(0.01), MaxValueValidator(1)])
    paydays = models.CharField(
        _("paydays (days of the month)"), max_length=40, default="10,25",
        help_text=_("Comma-separated days of the month when wages arrive; forecasts expect more customers."))
    device_saturation = models.DecimalField(
        _("pattern rule: device utilisation that counts as saturated"), max_digits=3, decimal_places=2,
        default=0.85, validators=[MinValueValidator(0.01), MaxValueValidator(1)])

    # Business hours: the planner proposes windows only inside them, and days with tickets issued
    # outside them are flagged (a queue machine with a wrong clock, or a test run left in the log).
    opens_at = models.TimeField(_("business hours: opening"), default=time(8, 30),
                                help_text=_("Flexible-window proposals start no earlier."))
    closes_at = models.TimeField(_("business hours: closing"), default=time(17, 30),
                                 help_text=_("Flexible-window proposals end no later."))
    # The log's own codes -> the product's: {"business_type": {log type: category}, "queue_type": {...},
    # "customer_tier": {...}}. Business types map at read time (KPIs by category; nothing re-imported);
    # queue types and tiers at import (they are part of a ticket's identity and pick its threshold).
    type_mapping = models.JSONField(
        _("queue-type mapping"), default=dict, blank=True,
        help_text=_("One line per code: column: value in the log = product code."))
    history = HistoricalRecords()  # the settings page's timeline shows each change before → after

    class Meta:
        verbose_name = _("queue settings")
        verbose_name_plural = _("queue settings")

    def __str__(self):
        return str(self.branch)

    def paydays_of_month(self) -> tuple[int, ...]:
        return tuple(sorted({int(p) for p in self.paydays.replace("，", ",").split(",")
                             if p.strip().isdigit() and 1 <= int(p) <= 31}))

    def business_slots(self) -> tuple[int, int]:
        """The half-hours of the business day: first (inclusive) and last (exclusive) interval index."""
        first = (self.opens_at.hour * 60 + self.opens_at.minute) // 30
        last = -(-(self.closes_at.hour * 60 + self.closes_at.minute) // 30)
        return first, last

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.opens_at is not None and self.closes_at is not None and self.opens_at >= self.closes_at:
            raise ValidationError({"closes_at": _("The closing time must be after the opening time.")})
        try:
            days = [int(p) for p in self.paydays.replace("，", ",").split(",") if p.strip()]
        except ValueError:
            raise ValidationError({"paydays": _("Give days of the month as whole numbers separated by commas, "
                                                "e.g. 10,25.")}) from None
        if any(not 1 <= d <= 31 for d in days):
            raise ValidationError({"paydays": _("Days of the month run from 1 to 31.")})
        problems = check_type_mapping(self.type_mapping)
        if problems:
            raise ValidationError({"type_mapping": problems})

    def categories(self) -> dict[str, str]:
        """Log business type -> business category: the product's own types map to themselves."""
        from .schema import BUSINESS_CATEGORIES

        out = {c: c for c in BUSINESS_CATEGORIES}
        out.update((self.type_mapping or {}).get("business_type") or {})
        return out

    def import_aliases(self) -> dict[str, dict[str, str]]:
        """The log's codes for queue types and tiers, applied by the import before its checks."""
        mapping = self.type_mapping or {}
        return {col: dict(mapping.get(col) or {}) for col in ("queue_type", "customer_tier") if mapping.get(col)}

    def thresholds_seconds(self) -> dict[str, int]:
        return {"regular": self.regular_threshold_minutes * 60, "vip": self.vip_threshold_minutes * 60,
                "private": self.private_threshold_minutes * 60}


class TicketImport(models.Model):
    """One imported file: what it added, what it refused and why (line by line)."""

    class Kind(models.TextChoices):
        TICKETS = "tickets", _("Ticket log")
        DEVICES = "devices", _("Smart-device log")

    class Status(models.TextChoices):
        AWAITING = "awaiting", _("Waiting for confirmation")
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        UNDONE = "undone", _("Undone")
        CANCELLED = "cancelled", _("Cancelled")

    class Mode(models.TextChoices):
        APPEND = "append", _("Add to the stored tickets")
        REPLACE = "replace", _("Replace the outlets' days in the file")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TICKETS)
    file_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("imported by"))
    institution = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("institution"))
    created_at = models.DateTimeField(_("uploaded at"), default=clock.now, editable=False, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveBigIntegerField(_("rows"), default=0)
    done_rows = models.PositiveBigIntegerField(default=0)
    added = models.PositiveBigIntegerField(_("added"), default=0)
    already_stored = models.PositiveBigIntegerField(_("already stored"), default=0)
    recalls = models.PositiveBigIntegerField(_("recalls"), default=0)
    rejected = models.PositiveBigIntegerField(_("rejected"), default=0)
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.APPEND)
    # Replace mode: {outlet code: [ISO days]} the file would replace, shown before it runs.
    preview = models.JSONField(_("days to replace"), default=dict, blank=True)
    replaced = models.PositiveBigIntegerField(_("stored tickets replaced"), default=0)
    txid = models.CharField(max_length=80, blank=True)  # the store transaction: its undo record
    attempts = models.PositiveSmallIntegerField(default=0)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("undone by"))

    class Meta:
        verbose_name = _("ticket import")
        verbose_name_plural = _("ticket imports")
        ordering = ["-created_at", "-id"]
        permissions = [("import_tickets", _("Can import ticket logs"))]

    def __str__(self):
        return self.file_name

    @property
    def progress(self) -> int:
        return int(100 * self.done_rows / self.total_rows) if self.total_rows else 0
