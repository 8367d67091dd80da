"""The coordination mechanism: items, review opinions, weekly meetings, decisions, conditions."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from branchops.core import clock
from branchops.core.models import TimeStampedModel
from branchops.org.models import Cluster, Department, Institution, OutletType, code_validator


class ItemType(models.TextChoices):
    SYSTEM_CHANGE = "system_change", _("System function change")
    NEW_BUSINESS = "new_business", _("New business or product going live")
    CAMPAIGN = "campaign", _("Operational campaign")
    INSTRUCTION = "instruction", _("Work instruction")
    OTHER = "other", _("Other")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")
    URGENT = "urgent", _("Urgent")


URGENCY_RANK = {Urgency.URGENT: 0, Urgency.IMPORTANT: 1, Urgency.NORMAL: 2}


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    APPROVED = "approved", _("Approved")
    CONDITIONAL = "conditional", _("Conditionally approved")
    REJECTED = "rejected", _("Rejected")
    RELEASED = "released", _("Released to outlets")
    CLOSED = "closed", _("Closed")


class Decision(models.TextChoices):
    # A context of its own: minutes read 通过/有条件通过/不通过, not the status words.
    APPROVED = "approved", pgettext_lazy("decision", "Approved")
    CONDITIONAL = "conditional", pgettext_lazy("decision", "Conditionally approved")
    REJECTED = "rejected", pgettext_lazy("decision", "Rejected")


class ReviewOutcome(models.TextChoices):
    SUCCESSFUL = "successful", _("Successful")
    WITH_ISSUES = "with_issues", _("Successful with issues")
    FAILED = "failed", _("Failed")


class TargetMode(models.TextChoices):
    ALL = "all", _("All outlets")
    BY_TYPE = "by_type", _("By outlet type")
    BY_CLUSTER = "by_cluster", _("By cluster")
    LIST = "list", _("By list")


class ReviewDimension(TimeStampedModel):
    """A review dimension (合规管理, 品宣管理, 消费者权益保护 …): configuration, not code."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=64)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("review dimension")
        verbose_name_plural = _("review dimensions")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name


class ReviewRemit(models.Model):
    """Which dimensions a review department covers."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="review_remit",
                                      verbose_name=_("review department"))
    dimensions = models.ManyToManyField(ReviewDimension, verbose_name=_("dimensions"))

    class Meta:
        verbose_name = _("review remit")
        verbose_name_plural = _("review remits")

    def __str__(self):
        return str(self.department)


class ReviewRequirement(TimeStampedModel):
    """The review dimensions an item type must have answered before a decision (configuration)."""

    item_type = models.CharField(_("type"), max_length=16, choices=ItemType.choices, unique=True)
    dimensions = models.ManyToManyField(ReviewDimension, blank=True, verbose_name=_("required dimensions"))
    history = HistoricalRecords(m2m_fields=[dimensions])

    class Meta:
        verbose_name = _("review requirement")
        verbose_name_plural = _("review requirements")
        ordering = ["item_type"]

    def __str__(self):
        return str(self.get_item_type_display())


class Meeting(TimeStampedModel):
    """A weekly coordination meeting (运营沟通会), numbered per year: 第N次会议."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned (agenda open)")
        FROZEN = "frozen", _("Agenda frozen")
        HELD = "held", _("Held")
        CLOSED = "closed", _("Minutes issued")  # closing the meeting issues its minutes

    branch = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="meetings",
                               verbose_name=_("branch"))
    year = models.PositiveIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in the year"))
    held_on = models.DateField(_("date"))
    cutoff_at = models.DateTimeField(_("agenda cut-off"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PLANNED)
    location = models.CharField(_("location"), max_length=100, blank=True)
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("chair"))
    # Attendance by kind: present (出席, counts for the quorum), in attendance (列席), on leave (请假).
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="meetings_attended",
                                       verbose_name=_("present"))
    observers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="meetings_observed",
                                       verbose_name=_("in attendance"))
    on_leave = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="meetings_excused",
                                      verbose_name=_("on leave"))
    notes = models.TextField(_("notes and other business"), blank=True)
    # The minutes: closing the meeting issues them (the secretariat); the chair's approval numbers
    # them and stores the .docx once in core's store of issued documents.
    minutes_issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+", verbose_name=_("minutes issued by"))
    minutes_issued_at = models.DateTimeField(_("minutes issued at"), null=True, blank=True)
    minutes_document = models.OneToOneField("core.IssuedDocument", null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+", verbose_name=_("issued minutes"))
    history = HistoricalRecords(m2m_fields=[attendees, observers, on_leave])

    class Meta:
        verbose_name = _("coordination meeting")
        verbose_name_plural = _("coordination meetings")
        ordering = ["-held_on"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "year", "sequence"], name="coord_meeting_number"),
            models.UniqueConstraint(fields=["branch", "held_on"], name="coord_one_meeting_per_day",
                                    violation_error_message=_("The branch already has a meeting on that date.")),
        ]

    def __str__(self):
        return _("Meeting %(year)s No. %(seq)s") % {"year": self.year, "seq": self.sequence}

    @property
    def status_label(self) -> str:
        """The status as pages and lists say it: a closed meeting's minutes are issued, then approved."""
        if self.status == self.Status.CLOSED and self.minutes_document_id:
            return str(_("Minutes approved"))
        return self.get_status_display()

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("coordination:meeting", args=[self.pk])


class Item(TimeStampedModel):
    """An item (上会事项) a business department wants outlets to carry."""

    number = models.CharField(_("item number"), max_length=32, unique=True)
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="next_revision", verbose_name=_("previous revision"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="items",
                                   verbose_name=_("submitting department"))
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="items",
                                  verbose_name=_("submitter"))
    title = models.CharField(_("title"), max_length=200)
    item_type = models.CharField(_("type"), max_length=16, choices=ItemType.choices)
    background = models.TextField(_("background and plan"))
    actions = models.TextField(_("what outlets must do"))
    target_mode = models.CharField(_("target outlets"), max_length=12, choices=TargetMode.choices,
                                   default=TargetMode.ALL)
    target_types = models.ManyToManyField(OutletType, blank=True, verbose_name=_("outlet types"))
    target_clusters = models.ManyToManyField(Cluster, blank=True, verbose_name=_("clusters"))
    target_list = models.ManyToManyField(Institution, blank=True, related_name="+",
                                         verbose_name=_("listed outlets"))
    outlets = models.ManyToManyField(Institution, blank=True, related_name="coordination_items",
                                     verbose_name=_("resolved outlets"))
    effort_hours = models.DecimalField(_("effort per outlet (person-hours)"), max_digits=6, decimal_places=1)
    window_start = models.DateField(_("window start"))
    window_end = models.DateField(_("window end"))
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    customer_facing = models.BooleanField(_("customer-facing"), default=False)
    customer_impact = models.TextField(_("customer impact"), blank=True)
    online_justification = models.TextField(
        _("why this cannot be done online or centrally"), blank=True,
        help_text=_("What can be handled online or centrally (线上化/集约化) must not land on outlets."))
    status = models.CharField(_("status"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.DRAFT,
                              db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    precheck = models.JSONField(_("pre-check findings"), default=list, blank=True)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="items",
                                verbose_name=_("meeting"))
    agenda_order = models.PositiveIntegerField(_("agenda order"), default=0)
    urgent_addition_reason = models.CharField(_("added after the cut-off because"), max_length=200, blank=True)
    decision = models.CharField(_("decision"), max_length=12, choices=Decision.choices, blank=True)
    decision_reasons = models.TextField(_("reasons"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decision recorded by"))
    approval_number = models.CharField(_("approval number"), max_length=64, blank=True, db_index=True)
    approval_issued_at = models.DateTimeField(_("approval issued at"), null=True, blank=True)
    approval_revoked_at = models.DateTimeField(_("approval revoked at"), null=True, blank=True)
    approval_revoked_reason = models.CharField(_("reason for revoking"), max_length=200, blank=True)
    # Closed by the secretariat before the loop closed by itself (a stale item, a plan dropped).
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("closed by"))
    close_reason = models.CharField(_("reason for closing"), max_length=200, blank=True)
    # The post-implementation review's outcome, recorded by the meeting the post-release watch flagged it to.
    review_outcome = models.CharField(_("post-implementation review"), max_length=12,
                                      choices=ReviewOutcome.choices, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    # precheck and agenda_order change on every re-check or reorder: noise in the item's history.
    history = HistoricalRecords(excluded_fields=["version", "precheck", "agenda_order"])

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("submit_item", _("Can draft and submit items")),
            ("review_item", _("Can give review opinions")),
            ("run_meeting", _("Can run coordination meetings and record decisions")),
            ("release_item", _("Can release approved items to outlets")),
            ("export_register", _("Can export the register")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["approval_number"], condition=~Q(approval_number=""),
                                    name="coord_unique_approval_number"),
            models.CheckConstraint(condition=Q(window_end__gte=models.F("window_start")),
                                   name="coord_window_order",
                                   violation_error_message=_("The window must end on or after its start.")),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("coordination:item", args=[self.pk])


class ItemAttachment(models.Model):
    class Kind(models.TextChoices):
        SCRIPT = "script", _("Service script (服务话术)")
        GUIDE = "guide", _("Process guide")
        TRAINING = "training", _("Training material")
        EMERGENCY = "emergency", _("Emergency plan")
        OTHER = "other", _("Other")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="coordination/%Y/")
    name = models.CharField(_("name"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=clock.now)
    # Materials revised after the decision (to meet a condition, or corrected by the secretariat) are
    # versioned: the earlier version stays readable, work orders carry the current one.
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="next_version", verbose_name=_("revises"))
    is_current = models.BooleanField(_("current"), default=True, db_index=True)
    condition = models.ForeignKey("Condition", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="revisions", verbose_name=_("condition met"))
    reason = models.CharField(_("reason for the revision"), max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "uploaded_at", "id"]
        verbose_name = _("item attachment")
        verbose_name_plural = _("item attachments")

    def __str__(self):
        return self.name


class Opinion(TimeStampedModel):
    """A review department's opinion on an item; stale when the item changed after it was given."""

    class Recommendation(models.TextChoices):
        APPROVE = "approve", _("Approve")
        CONDITIONAL = "conditional", _("Approve with conditions")
        REJECT = "reject", _("Reject")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="opinions")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("review department"))
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("reviewer"))
    recommendation = models.CharField(_("recommendation"), max_length=12, choices=Recommendation.choices,
                                      blank=True)
    submitted_at = models.DateTimeField(_("given at"), null=True, blank=True)
    item_version = models.PositiveIntegerField(default=0)
    is_stale = models.BooleanField(_("stale"), default=False)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["reminded_at"])

    class Meta:
        verbose_name = _("review opinion")
        verbose_name_plural = _("review opinions")
        ordering = ["department__sort_order"]
        constraints = [models.UniqueConstraint(fields=["item", "department"], name="coord_one_opinion_per_dept")]

    def __str__(self):
        return f"{self.item_id} {self.department}"

    @property
    def has_concerns(self) -> bool:
        return any(line.concern for line in self.lines.all())


class OpinionLine(models.Model):
    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="lines")
    dimension = models.ForeignKey(ReviewDimension, on_delete=models.PROTECT, verbose_name=_("dimension"))
    concern = models.BooleanField(_("concern"), default=False)
    text = models.TextField(_("concern"), blank=True)
    proposed_condition = models.TextField(_("proposed condition"), blank=True)

    class Meta:
        ordering = ["dimension__sort_order"]
        constraints = [models.UniqueConstraint(fields=["opinion", "dimension"], name="coord_one_line_per_dim")]

    def __str__(self):
        return f"{self.dimension}: {'!' if self.concern else 'ok'}"


class Waiver(models.Model):
    """The chair's explicit waiver of a required dimension no current opinion answers (in the minutes)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="waivers")
    dimension = models.ForeignKey(ReviewDimension, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("dimension"))
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="waivers", verbose_name=_("meeting"))
    reason = models.CharField(_("reason"), max_length=200)
    waived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("waived by"))
    waived_at = models.DateTimeField(_("waived at"), default=clock.now)
    # An item changed after the waiver is judged again, like an opinion given before the change.
    is_stale = models.BooleanField(_("stale"), default=False)

    class Meta:
        verbose_name = _("review waiver")
        verbose_name_plural = _("review waivers")
        ordering = ["waived_at", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "dimension"], condition=Q(is_stale=False),
                                               name="coord_one_current_waiver_per_dim")]

    def __str__(self):
        return f"{self.item_id} {self.dimension}"


class Condition(TimeStampedModel):
    """A condition of a conditional approval, tracked until met and signed off."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MET = "met", _("Reported met")
        SIGNED_OFF = "signed_off", _("Signed off")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="conditions")
    text = models.TextField(_("condition"))
    owner_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("owner department"))
    due_date = models.DateField(_("due date"))
    proof = models.CharField(_("what proves it met"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    evidence = models.TextField(_("evidence"), blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        ordering = ["due_date", "id"]

    def __str__(self):
        return self.text[:60]


class FeedbackEntry(TimeStampedModel):
    """Outlet feedback raised to a meeting (统一收集、向上反映、协商解决): its own kind of agenda entry,
    not an item to approve. The meeting answers it and names who follows up; the feedback case stays
    open until that follow-up is reported done. An entry unanswered when its meeting closes is
    deferred: a new entry carries it to the next meeting."""

    class Status(models.TextChoices):
        OPEN = "open", _("On the agenda")
        ANSWERED = "answered", _("Answered: follow-up under way")
        DEFERRED = "deferred", _("Deferred to the next meeting")
        DONE = "done", _("Followed up")

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="feedback_entries",
                                verbose_name=_("meeting"))
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("feedback case"))
    deferred_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="deferred_to", verbose_name=_("deferred from"))
    note = models.TextField(_("secretariat's note"), blank=True)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("raised by"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(_("the meeting's answer"), blank=True)
    follow_up_department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT,
                                             related_name="+", verbose_name=_("follow-up department"))
    follow_up_person = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+", verbose_name=_("follow-up person"))
    follow_up_due = models.DateField(_("follow-up due"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("answer recorded by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    done_note = models.TextField(_("what was done"), blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("reported done by"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("feedback entry")
        verbose_name_plural = _("feedback entries")
        ordering = ["meeting", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "case"], name="coord_feedback_once_per_meeting")]

    def __str__(self):
        return f"{self.case.number} {self.case.title}"


class WatchResult(models.Model):
    """The post-release watch of one released item (``watch.evaluate``): its target outlets against the
    branch's other outlets, four weeks before the window against four weeks from its start. Stored once,
    when the four weeks after have passed; ``result`` keeps every figure and the weekly series."""

    class Status(models.TextChoices):
        OK = "ok", _("Evaluated")
        NOT_ENOUGH = "not_enough_outlets", _("Not enough outlets to compare")

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="watch", verbose_name=_("item"))
    evaluated_at = models.DateTimeField(_("evaluated at"), default=clock.now)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    flagged = models.BooleanField(_("flagged"), default=False)
    n_treated = models.PositiveIntegerField(_("target outlets"))
    n_control = models.PositiveIntegerField(_("comparison outlets"))
    result = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("post-release watch")
        verbose_name_plural = _("post-release watches")

    def __str__(self):
        return f"{self.item_id} {self.status}"


class PostReview(TimeStampedModel):
    """A post-implementation review on a meeting's agenda: an item the post-release watch flagged comes
    back to the meeting (its own kind of agenda entry, like feedback), which records the outcome. An
    entry still open when its meeting closes is carried to the next meeting."""

    class Status(models.TextChoices):
        OPEN = "open", _("On the agenda")
        RECORDED = "recorded", _("Outcome recorded")
        DEFERRED = "deferred", _("Deferred to the next meeting")

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="post_reviews",
                                verbose_name=_("meeting"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="post_reviews", verbose_name=_("item"))
    deferred_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="deferred_to", verbose_name=_("deferred from"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=12, choices=ReviewOutcome.choices, blank=True)
    note = models.TextField(_("the meeting's conclusion"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("post-implementation review")
        verbose_name_plural = _("post-implementation reviews")
        ordering = ["meeting", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "item"], name="coord_post_review_once_per_meeting")]

    def __str__(self):
        return str(self.item)


class Settings(models.Model):
    """Per-branch settings of the mechanism (one row per branch)."""

    branch = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="coordination_settings")
    meeting_weekday = models.PositiveSmallIntegerField(_("meeting weekday"), default=2,
                                                       help_text=_("0 = Monday … 6 = Sunday"))
    cutoff_days_before = models.PositiveSmallIntegerField(_("agenda cut-off: working days before"), default=2)
    cutoff_hour = models.PositiveSmallIntegerField(_("agenda cut-off: hour"), default=17)
    approval_format = models.CharField(
        _("approval number format"), max_length=64, default="运统〔{year}〕第{seq:03d}号",
        help_text=_("Python format with {year} and {seq}, e.g. 运统〔{year}〕第{seq:03d}号"))
    approval_valid_days = models.PositiveIntegerField(
        _("approval valid after the window (days)"), default=30,
        help_text=_("A number expires this many days after the item's window ends."))
    minutes_number_format = models.CharField(
        _("minutes number format"), max_length=64, default="运管纪要〔{year}〕{seq}号",
        help_text=_("Python format with {year} and {seq}, e.g. 运管纪要〔{year}〕{seq}号; numbered per year when "
                    "the chair approves the minutes, never renumbered."))
    condition_days = models.PositiveSmallIntegerField(_("default condition deadline (working days)"), default=5)
    quorum_chair = models.BooleanField(_("quorum: the chair present"), default=True)
    quorum_review_departments = models.PositiveSmallIntegerField(
        _("quorum: review departments present"), default=3,
        help_text=_("How many of the fixed review departments must have someone in the attendance."))
    opinion_reminder_days = models.PositiveSmallIntegerField(
        _("remind reviewers: working days before the cut-off"), default=1)
    # The seed's lean programme moved the ratio from 33 % to 14 % in a year (about 1.6 points a month):
    # 3 points in the four weeks after an item stands out from that drift.
    watch_overtime_threshold = models.DecimalField(
        _("post-release watch: overtime-wait ratio threshold"), max_digits=4, decimal_places=3, default=0.03,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("An item is flagged when its target outlets' change differs from the others' by at least "
                    "this much (0.03 = 3 percentage points) and the 95-percent interval excludes 0."))
    watch_complaints_threshold = models.DecimalField(
        _("post-release watch: complaints threshold (per 10,000 customers served)"), max_digits=6,
        decimal_places=2, default=1, validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("coordination settings")
        verbose_name_plural = _("coordination settings")

    def __str__(self):
        return str(self.branch)


VERB_LABELS = {
    "drafted": _("Drafted"), "submitted": _("Submitted"), "withdrawn": _("Withdrawn"), "revised": _("Revised"),
    "edited": _("Edited"), "opinion_given": _("Opinion given"), "opinion_stale": _("Opinion needs review again"),
    "scheduled": _("Put on the agenda"), "deferred": _("Deferred"), "decided": _("Decision recorded"),
    "condition_met": _("Condition reported met"), "condition_signed_off": _("Condition signed off"),
    "number_issued": _("Approval number issued"), "number_revoked": _("Approval number revoked"),
    "released": _("Released to outlets"), "closed": _("Closed: all work orders done"),
    "closed_by_secretariat": _("Closed by the secretariat"),
    "material_revised": _("Material revised"),
    "meeting_planned": _("Meeting planned"), "agenda_reordered": _("Agenda reordered"),
    "agenda_frozen": _("Agenda frozen"), "meeting_held": _("Meeting held"), "meeting_closed": _("Meeting closed, minutes issued"),
    "review_waived": _("Review waived by the chair"), "chair_designated": _("Chair designated"),
    "feedback_raised": _("Feedback put on the agenda"), "feedback_answered": _("Feedback answered"),
    "feedback_deferred": _("Feedback deferred"), "feedback_done": _("Feedback followed up"),
    "notes_edited": _("Other business edited"),
    "minutes_issued": _("Minutes issued"), "minutes_approved": _("Minutes approved and numbered"),
    "watch_flagged": _("Post-release watch: flagged for a post-implementation review"),
    "post_review_raised": _("Post-implementation review put on the agenda"),
    "post_review_recorded": _("Post-implementation review recorded"),
    "post_review_deferred": _("Post-implementation review deferred"),
}
