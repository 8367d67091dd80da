"""Public-phone governance (公示电话专项治理, seed 001: 2,300 entries checked, 327 wrong): the directory of
every outlet's published numbers, check campaigns that call each of them, the calls' results, and the
corrections a wrong number becomes.

A campaign fixes its list of calls when it is created (the directory may change afterwards); a call
recorded as wrong opens one correction owned by the outlet head, closed when the number is fixed —
the directory entry takes the corrected number and its timeline says so.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branchops.core.models import TimeStampedModel
from branchops.org.models import Institution


class PhoneKind(models.TextChoices):
    SERVICE = "service", _("Service phone")
    COMPLAINT = "complaint", _("Complaint phone")
    LOBBY = "lobby", _("Lobby manager")
    BUSINESS = "business", _("Business line")
    OTHER = "other", _("Other")


class PhoneEntry(TimeStampedModel):
    """One published number of an outlet (kind, number, where it is published)."""

    outlet = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="phone_entries",
                               verbose_name=_("outlet"))
    kind = models.CharField(_("kind"), max_length=16, choices=PhoneKind.choices)
    number = models.CharField(_("number"), max_length=32)
    published_at = models.CharField(_("where published"), max_length=200, blank=True)
    is_active = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("published phone number")
        verbose_name_plural = _("published phone numbers")
        ordering = ["outlet__path", "kind", "number"]
        constraints = [models.UniqueConstraint(fields=["outlet", "kind", "number"], name="service_phone_key",
                                               violation_error_message=_("The outlet already publishes this "
                                                                         "number for this kind."))]

    def __str__(self):
        return f"{self.outlet.code} {self.get_kind_display()} {self.number}"


class PhoneCampaign(TimeStampedModel):
    """A check campaign (专项治理) of the numbers published by the outlets under ``scope`` (a branch or a
    sub-branch) during a period."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=128)
    scope = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", verbose_name=_("scope"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("public-phone check")
        verbose_name_plural = _("public-phone checks")
        ordering = ["-starts_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                              name="service_phone_campaign_period")]

    def __str__(self):
        return self.name


class CallResult(models.TextChoices):
    PENDING = "pending", _("Not called yet")
    ANSWERED = "answered", _("Answered")
    WRONG = "wrong", _("Wrong number")
    UNANSWERED = "unanswered", _("Unanswered")


class PhoneCall(models.Model):
    """One number of a campaign to call; ``number`` is the number as published when the campaign began."""

    campaign = models.ForeignKey(PhoneCampaign, on_delete=models.CASCADE, related_name="calls")
    entry = models.ForeignKey(PhoneEntry, on_delete=models.PROTECT, related_name="calls")
    number = models.CharField(_("number"), max_length=32)
    result = models.CharField(_("result"), max_length=12, choices=CallResult.choices, default=CallResult.PENDING,
                              db_index=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("called by"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ["entry__outlet__path", "entry__kind", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "entry"], name="service_phone_call_once")]

    def __str__(self):
        return f"{self.campaign_id}/{self.number}"


class PhoneCorrection(models.Model):
    """A wrong number to correct: owned by the outlet head, due by a date, closed with the right number."""

    call = models.OneToOneField(PhoneCall, on_delete=models.CASCADE, related_name="correction")
    entry = models.ForeignKey(PhoneEntry, on_delete=models.PROTECT, related_name="corrections")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("owner"))
    due = models.DateField(_("due"))
    corrected_number = models.CharField(_("corrected number"), max_length=32, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("closed by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone correction")
        verbose_name_plural = _("phone corrections")
        ordering = ["closed_at", "due", "id"]

    def __str__(self):
        return f"{self.entry} → {self.corrected_number or '?'}"
