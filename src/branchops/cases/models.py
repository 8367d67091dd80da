"""One case engine for complaints, outlet feedback, support requests and rectifications."""

import re
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core import clock
from branchops.core.models import TimeStampedModel
from branchops.org.models import Department, Institution, code_validator


class CaseType(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    FEEDBACK = "feedback", _("Outlet feedback")
    SUPPORT = "support", _("Support request")
    RECTIFICATION = "rectification", _("Rectification")


# Case numbers: prefix per type, then year and a yearly sequence (TS-2026-000123).
NUMBER_PREFIX = {
    CaseType.COMPLAINT: "TS", CaseType.FEEDBACK: "FK", CaseType.SUPPORT: "YZ", CaseType.RECTIFICATION: "ZG",
}


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    ON_SITE = "on_site", _("On site")
    HOTLINE = "hotline", _("Hotline")
    LETTER = "letter", _("Letter")
    ONLINE = "online", _("Online")
    REGULATOR = "regulator", _("Regulator transfer")
    MEDIA = "media", _("Media")
    OUTLET = "outlet", _("Reported by the outlet")
    INSPECTION = "inspection", _("Inspection")
    GRADING = "grading", _("Service grading")
    COMPLAINT = "complaint", _("Complaint root cause")
    SYSTEM = "system", _("System")


COMPLAINT_CHANNELS = [Channel.ON_SITE, Channel.HOTLINE, Channel.LETTER, Channel.ONLINE, Channel.REGULATOR,
                      Channel.MEDIA]
# Where a rectification comes from.
RECTIFICATION_CHANNELS = [Channel.INSPECTION, Channel.COMPLAINT, Channel.GRADING]


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    ON_THE_SPOT = "on_the_spot", _("Resolved on the spot (诉前化解)")
    ANSWERED = "answered", _("Answered")
    NOT_SUPPORTED = "not_supported", _("Request not supported")
    TO_MEETING = "to_meeting", _("Raised to the coordination meeting")
    DUPLICATE = "duplicate", _("Duplicate")


class DayKind(models.TextChoices):
    WORKING = "working", _("Working days")
    CALENDAR = "calendar", _("Calendar days")


class Category(TimeStampedModel):
    """A category of a case type (a tree per type), with the department that handles it."""

    case_type = models.CharField(_("case type"), max_length=16, choices=CaseType.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent category"))
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL,
                                   verbose_name=_("responsible department"),
                                   help_text=_("Cases of this category are routed to this department."))
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["case_type", "sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["case_type", "code"], name="cases_category_code_per_type",
                                               violation_error_message=_("This code is already used for this type."))]

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class SlaPolicy(TimeStampedModel):
    """Deadlines for cases of a type (and optionally category and priority), versioned by dates.

    The most specific active policy wins: type+category+priority, then type+category, then
    type+priority, then type alone.
    """

    name = models.CharField(_("name"), max_length=100)
    case_type = models.CharField(_("case type"), max_length=16, choices=CaseType.choices)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT,
                                 verbose_name=_("category"))
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, blank=True)
    response_days = models.PositiveSmallIntegerField(_("first response (days)"))
    resolution_days = models.PositiveSmallIntegerField(_("resolution (days)"))
    decision_days = models.PositiveSmallIntegerField(
        _("regulatory decision (days)"), null=True, blank=True,
        help_text=_("Complaints: the handling decision deadline of the regulation."))
    day_kind = models.CharField(_("counted in"), max_length=8, choices=DayKind.choices, default=DayKind.WORKING)
    remind_before_days = models.PositiveSmallIntegerField(_("remind before due (days)"), default=1)
    max_extension_days = models.PositiveSmallIntegerField(_("longest extension (days)"), default=0)
    escalation = models.JSONField(
        _("escalation levels"), default=list, blank=True,
        help_text=_('List of {"level": 1, "after_overdue_days": 1, "target": "outlet_head"}: a level is reached '
                    "once the case is that many days overdue (1 = the first overdue day). Targets: "
                    "outlet_head, sub_branch, department_head, branch_leader, consumer_protection."))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["case_type", "name"]

    def __str__(self):
        return self.name


class ComplaintCode(models.Model):
    """A code of the complaint classification standard (JR/T 0169-2018), versioned by dates."""

    DIMENSIONS = [("channel", _("Business-handling channel")), ("business", _("Business type")),
                  ("cause", _("Cause"))]
    standard = models.CharField(_("standard"), max_length=32)
    dimension = models.CharField(_("dimension"), max_length=16, choices=DIMENSIONS)
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(default=1)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint code")
        verbose_name_plural = _("complaint codes")
        ordering = ["standard", "dimension", "code"]
        constraints = [models.UniqueConstraint(fields=["standard", "dimension", "code"],
                                               name="cases_complaint_code_unique")]

    def __str__(self):
        return f"{self.code} {self.name}"

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or self.effective_to >= on)


# A complaint's classification: the detail's field and the standard's dimension it takes a code of.
CODE_FIELDS = (("channel_code", "channel"), ("business_code", "business"), ("cause_code", "cause"))

phone_validator = RegexValidator(re.compile(r"^[0-9+\-() ]{3,32}$"),
                                 _("Enter a phone number: digits, spaces, +, - and brackets."))
id_number_validator = RegexValidator(re.compile(r"^[0-9A-Za-z]{6,32}$"),
                                     _("Enter an ID number: letters and digits only."))


class Case(TimeStampedModel):
    number = models.CharField(_("number"), max_length=32, unique=True)
    case_type = models.CharField(_("type"), max_length=16, choices=CaseType.choices, db_index=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT,
                                 verbose_name=_("category"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(_("source channel"), max_length=16, choices=Channel.choices)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="cases",
                                    verbose_name=_("outlet / institution"))
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("requester"))
    first_contact_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="first_contact_cases",
        verbose_name=_("first-contact owner"),
        help_text=_("Who first received it: stays accountable until it is closed (首问负责)."))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="assigned_cases", verbose_name=_("assignee"))
    assignee_department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="cases", verbose_name=_("assigned department"))
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW,
                              db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    received_at = models.DateTimeField(_("received at"), default=clock.now)
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.PROTECT,
                                   verbose_name=_("SLA policy"))
    clock_start = models.DateField(_("clock started"), help_text=_("Receipt, or the day new facts restarted it."))
    response_due = models.DateField(_("response due"), null=True, blank=True, db_index=True)
    resolution_due = models.DateField(_("resolution due"), null=True, blank=True, db_index=True)
    decision_due = models.DateField(_("decision due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    paused_since = models.DateField(_("clock paused since"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    is_major = models.BooleanField(_("major complaint"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords(excluded_fields=["version"])

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("manage_case", _("Can accept, assign and resolve cases")),
            ("view_pii", _("Can see complainants' personal data unmasked")),
            ("verify_rectification", _("Can verify rectifications")),
            ("approve_extension", _("Can approve deadline extensions")),
            ("triage_feedback", _("Can triage outlet feedback")),
            ("export_case", _("Can export cases")),
        ]
        indexes = [
            models.Index(fields=["status", "resolution_due"], name="cases_open_due"),
            models.Index(fields=["institution", "status"], name="cases_inst_status"),
            models.Index(fields=["case_type", "received_at"], name="cases_type_received"),
            # The lists' order (queries.CASE_ORDER) for every visibility path, so each path's page
            # is read in order and stops at one page (issue 18): open work, and all work for the
            # two large paths (the institution, the department).
            # An ascending index serves "nulls last" on both databases (PostgreSQL stores nulls last;
            # SQLite reads the nulls after the range).
            models.Index(fields=["resolution_due", "received_at", "id"], name="cases_order_open",
                         condition=Q(status__in=["new", "accepted", "in_progress"])),
            models.Index(fields=["resolution_due", "received_at", "id"], name="cases_order_all"),
            *[models.Index(fields=[field, "resolution_due", "received_at", "id"],
                           name=f"cases_{short}_open", condition=Q(status__in=["new", "accepted", "in_progress"]))
              for field, short in (("institution", "inst"), ("assignee", "asg"), ("first_contact_owner", "fco"),
                                   ("requester", "req"), ("assignee_department", "dept"))],
            *[models.Index(fields=[field, "resolution_due", "received_at", "id"], name=f"cases_{short}_all")
              for field, short in (("institution", "inst"), ("assignee_department", "dept"))],
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                                   name="cases_cancel_needs_reason",
                                   violation_error_message=_("A cancelled case needs a reason.")),
            models.CheckConstraint(condition=~Q(status__in=["resolved", "closed"]) | ~Q(outcome=""),
                                   name="cases_resolved_needs_outcome",
                                   violation_error_message=_("A resolved case needs an outcome.")),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("cases:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ComplaintDetail(models.Model):
    """What only complaints carry: the complainant, the standard's codes, regulator data, call-back."""

    class Complexity(models.TextChoices):
        NORMAL = "normal", _("Normal (15 days)")
        COMPLEX = "complex", _("Complex (30 days)")
        PARTICULARLY_COMPLEX = "particularly_complex", _("Particularly complex (60 days, approved)")

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")
        BASICALLY = "basically", _("Basically satisfied")
        UNSATISFIED = "unsatisfied", _("Unsatisfied")
        UNREACHABLE = "unreachable", _("Could not be reached")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="complaint", primary_key=True)
    complainant_name = models.CharField(_("complainant name"), max_length=64)
    complainant_phone = models.CharField(_("complainant phone"), max_length=32, blank=True,
                                         validators=[phone_validator])
    complainant_id_number = models.CharField(_("complainant ID number"), max_length=32, blank=True,
                                             validators=[id_number_validator])
    channel_code = models.ForeignKey(ComplaintCode, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("business-handling channel"))
    business_code = models.ForeignKey(ComplaintCode, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", verbose_name=_("business type"))
    cause_code = models.ForeignKey(ComplaintCode, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("cause"))
    complexity = models.CharField(_("complexity"), max_length=24, choices=Complexity.choices,
                                  default=Complexity.NORMAL)
    regulator_reference = models.CharField(_("regulator reference"), max_length=64, blank=True)
    regulator_due = models.DateField(_("regulator's deadline"), null=True, blank=True)
    customer_notified_of_extension = models.BooleanField(_("customer told of the extension"), default=False)
    root_cause = models.TextField(_("root cause"), blank=True)
    improvement = models.TextField(_("improvement made"), blank=True)
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    callback_satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices,
                                             blank=True)
    callback_note = models.TextField(_("call-back note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("complaint details")
        verbose_name_plural = _("complaint details")

    def __str__(self):
        return f"{self.case_id}: {self.complainant_name}"


class RectificationDetail(models.Model):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="rectification", primary_key=True)
    evidence_required = models.TextField(_("evidence required"))
    evidence = models.TextField(_("evidence provided"), blank=True)
    # 限期整改: the day set by whoever found the problem (an inspection's finding); the case's
    # resolution_due follows it (moved by pauses and approved extensions) instead of the SLA policy.
    deadline = models.DateField(_("rectify by"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("verified by"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_note = models.TextField(_("verification note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rectification details")
        verbose_name_plural = _("rectification details")

    def __str__(self):
        return str(self.case_id)


class Comment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("time"), default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self):
        return self.body[:40]


def attachment_path(instance, filename):
    return f"cases/{instance.case_id}/{filename}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=clock.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name


class CaseLink(models.Model):
    """A link to another case or to any record (a coordination item, a work order, an inspection)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    target_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    label = models.CharField(_("label"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")

    def __str__(self):
        return self.label


class Pause(models.Model):
    """The SLA clock stopped (e.g. waiting for an external appraisal), with the reason."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    started_on = models.DateField(_("paused on"))
    ended_on = models.DateField(_("resumed on"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["started_on", "id"]
        verbose_name = _("clock pause")
        verbose_name_plural = _("clock pauses")
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(ended_on__isnull=True),
                                               name="cases_one_open_pause")]

    def __str__(self):
        return f"{self.started_on}–{self.ended_on or ''} {self.reason}"


class Extension(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("days"))
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("deadline extension")
        verbose_name_plural = _("deadline extensions")

    def __str__(self):
        return f"+{self.days} ({self.state})"


class Escalation(models.Model):
    """An escalation level reached by an overdue case; unique per case and level, so applying
    escalations twice changes nothing."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(_("level"))
    target = models.CharField(_("escalated to"), max_length=32)
    escalated_at = models.DateTimeField(default=clock.now)
    notified = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["level"]
        constraints = [models.UniqueConstraint(fields=["case", "level"], name="cases_escalation_once_per_level")]

    def __str__(self):
        return f"{self.case_id} L{self.level}"


class Reminder(models.Model):
    """A reminder sent before a deadline; unique per case, deadline kind and due date."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16)
    due = models.DateField()
    sent_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "kind", "due"], name="cases_reminder_once")]

    def __str__(self):
        return f"{self.case_id} {self.kind} {self.due}"


class PiiAccess(models.Model):
    """Every unmasked view of a complainant's personal data."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pii_accesses")
    viewed_at = models.DateTimeField(default=clock.now)
    via = models.CharField(max_length=16)  # page / api / export
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-viewed_at"]
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")

    def __str__(self):
        return f"{self.user_id} {self.case_id} {self.viewed_at}"


VERB_LABELS = {  # lazy: registered with core.audit at start-up
    "opened": _("Opened"),
    "accepted": _("Accepted"),
    "assigned": _("Assigned"),
    "started": _("Work started"),
    "commented": _("Comment"),
    "resolved": _("Resolved"),
    "closed": _("Closed"),
    "reopened": _("Reopened"),
    "cancelled": _("Cancelled"),
    "due_changed": _("Deadline changed"),
    "paused": _("Clock paused"),
    "resumed": _("Clock resumed"),
    "restarted": _("Clock restarted"),
    "extension_requested": _("Extension requested"),
    "extension_decided": _("Extension decided"),
    "escalated": _("Escalated"),
    "reminded": _("Reminder sent"),
    "called_back": _("Customer called back"),
    "verified": _("Rectification verified"),
    "triaged": _("Triaged"),
    "raised_to_meeting": _("Raised to the coordination meeting"),
    "linked": _("Linked"),
    "attached": _("File attached"),
    "marked_major": _("Marked as major complaint"),
}
