"""Shared kernel: timeline, notifications, working-day overrides, numbering, API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import clock


class TimeStampedModel(models.Model):
    # Stamped from the core clock, not auto_now: the demo and tests set what time it is.
    created_at = models.DateTimeField(_("created at"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=clock.now, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.updated_at = clock.now()  # saved when update_fields is absent or names it, like auto_now
        super().save(*args, **kwargs)


class TimelineEntry(models.Model):
    """A human sentence on a record's timeline, written by the service that made the change."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("actor"),
    )
    verb = models.CharField(_("action"), max_length=64)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"])]

    def __str__(self):
        return f"{self.verb}: {self.message}"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("recipient"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), default=clock.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.title


class CalendarDay(models.Model):
    """An override of the statutory calendar: a holiday or a make-up working day (调休).

    Needed for years that the `chinese-calendar` package does not know yet (the State Council
    publishes the next year's schedule each November) and for local bank closures.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class Sequence(models.Model):
    """Counters for human numbers (第N次会议, case numbers, 文号), one row per key and year."""

    key = models.CharField(max_length=64)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "year"], name="core_sequence_key_year")]

    def __str__(self):
        return f"{self.key}/{self.year}: {self.last}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the plain token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # For reporting scripts: such a token may only read (GET); a write answers 403.
    read_only = models.BooleanField(_("read-only"), default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def save(self, *args, **kwargs):
        # Revocation is final: nothing (the admin included) brings a revoked token back.
        if self.pk and self.revoked_at is None and ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=False).exists():
            raise ValueError("a revoked API token cannot be restored")
        super().save(*args, **kwargs)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "bo_" + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        now = clock.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IssuedDocument(models.Model):
    """A document as issued (minutes, briefings, grading results): numbered (文号), approved, and
    stored once with the bytes readers download. Never changed, never rebuilt (DESIGN.md §2): later
    changes to its source appear in the next document, not in this one."""

    kind = models.CharField(_("kind"), max_length=32, db_index=True)
    number = models.CharField(_("document number"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    content = models.BinaryField(_("content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("content type"), max_length=100)
    file_name = models.CharField(_("file name"), max_length=200)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("issued by"))
    issued_at = models.DateTimeField(_("issued at"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"))
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    source_id = models.CharField(max_length=64)
    source = GenericForeignKey("source_type", "source_id")
    stored_at = models.DateTimeField(_("stored at"), default=clock.now)

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        ordering = ["-approved_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="core_issued_document_number"),
            models.UniqueConstraint(fields=["kind", "source_type", "source_id"], name="core_issued_once_per_source"),
        ]
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self):
        return f"{self.number} {self.title}"

    def save(self, *args, **kwargs):
        # Issued is final: no change through any path that saves the row (services, admin).
        if self.pk is not None and IssuedDocument.objects.filter(pk=self.pk).exists():
            raise ValueError("an issued document never changes")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("an issued document is never deleted")
class SavedFilter(models.Model):
    """A user's named filter of one list (``list_key`` is the list's URL name, ``query`` its query
    string without the page): stored only when the user saves it, never on a GET."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters",
                             verbose_name=_("user"))
    list_key = models.CharField(_("list"), max_length=60)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filter"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["list_key", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "list_key", "name"], name="core_saved_filter_name")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse(self.list_key) + (f"?{self.query}" if self.query else "")
