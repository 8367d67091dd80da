"""Workforce of the outlets (DESIGN.md §1.3): certificates and skills of customer service managers
(持证上岗, 通岗), the post models (7 → 5 → 4 posts) and the mentor → rotate → convert path (带、跟、转).

A certificate's state (valid / expiring / expired / revoked) is never stored: it is computed from the
core clock and the branch's ``expiring_days`` (``queries.certificate_state``), so it is never stale.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core.models import TimeStampedModel
from branchops.org.models import ReferenceList

# The post of the people this app is about (客服经理); a post code of org.Post.
CSM_POST = "customer_service_manager"


class CertificateType(ReferenceList):
    """A certificate a person may hold (上岗资格证书 …), with its validity; list-managed data."""

    validity_months = models.PositiveSmallIntegerField(
        _("validity (months)"), null=True, blank=True, help_text=_("Empty: the certificate does not expire."))
    required_for_csm = models.BooleanField(
        _("required to work as a customer service manager"), default=False,
        help_text=_("持证上岗: managers without a valid one are on the uncertified list."))

    class Meta(ReferenceList.Meta):
        verbose_name = _("certificate type")
        verbose_name_plural = _("certificate types")
        permissions = [("view_people", _("Can see the workforce records of the people one manages")),
                       ("view_own", _("Can see one's own workforce record")),
                       ("manage_people", _("Can certify, grant skills and mentor the people one manages"))]


class Skill(ReferenceList):
    """A cross-post skill (业务受理, 智能审核, 客户维护, 外汇, 现金); the three core ones count for 通岗."""

    is_core = models.BooleanField(_("core cross-post skill"), default=False)
    certificate_type = models.ForeignKey(
        CertificateType, null=True, blank=True, on_delete=models.PROTECT, related_name="skills",
        verbose_name=_("requires certificate"),
        help_text=_("The skill counts only while the person holds a valid certificate of this type."))

    class Meta(ReferenceList.Meta):
        verbose_name = _("skill")
        verbose_name_plural = _("skills")


class PostModel(ReferenceList):
    """A model of an outlet's posts (岗位模式): the 7-post, 5-post and 4-post models of the seed."""

    posts = models.TextField(_("posts"), help_text=_("One post per line, in order."))
    is_current = models.BooleanField(_("current model"), default=False)

    class Meta(ReferenceList.Meta):
        verbose_name = _("post model")
        verbose_name_plural = _("post models")
        constraints = [models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True),
                                               name="workforce_one_current_post_model",
                                               violation_error_message=_("Only one post model is current."))]

    def post_list(self) -> list[str]:
        return [line.strip() for line in self.posts.splitlines() if line.strip()]


class WorkforceSettings(TimeStampedModel):
    """A branch's workforce settings; created by the service that first saves them (reads use defaults)."""

    DEFAULT_EXPIRING_DAYS = 60

    branch = models.OneToOneField("org.Institution", on_delete=models.CASCADE, related_name="+",
                                  verbose_name=_("branch"))
    expiring_days = models.PositiveSmallIntegerField(
        _("expiring within (days)"), default=DEFAULT_EXPIRING_DAYS,
        help_text=_("A certificate is shown as expiring this many days before it expires."))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("workforce settings")
        verbose_name_plural = _("workforce settings")


class Certificate(TimeStampedModel):
    staff = models.ForeignKey("org.Staff", on_delete=models.PROTECT, related_name="certificates",
                              verbose_name=_("person"))
    certificate_type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, verbose_name=_("certificate type"))
    number = models.CharField(_("certificate number"), max_length=64, blank=True)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("recorded by"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("revoked by"))
    revoke_reason = models.CharField(_("reason"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["staff__institution__path", "staff__staff_no", "certificate_type__sort_order", "-issued_on"]
        constraints = [models.CheckConstraint(
            condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("issued_on")),
            name="workforce_certificate_expires_after_issue",
            violation_error_message=_("A certificate cannot expire before it is issued."))]

    def __str__(self):
        return f"{self.certificate_type} · {self.staff.name}"


class StaffSkill(TimeStampedModel):
    """A skill granted to a person: when and by whom; withdrawn skills keep their row."""

    class Source(models.TextChoices):
        GRANTED = "granted", _("Granted")
        CONVERSION = "conversion", _("Conversion to all-round")

    staff = models.ForeignKey("org.Staff", on_delete=models.PROTECT, related_name="skills", verbose_name=_("person"))
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, verbose_name=_("skill"))
    granted_on = models.DateField(_("granted on"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("granted by"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.GRANTED)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("skill of a person")
        verbose_name_plural = _("skills of people")
        ordering = ["skill__sort_order"]
        constraints = [models.UniqueConstraint(fields=["staff", "skill"], condition=Q(withdrawn_at__isnull=True),
                                               name="workforce_one_live_skill_per_person",
                                               violation_error_message=_("This person already has this skill."))]


class CertificationPlan(TimeStampedModel):
    """An uncertified manager's deadline and coaching (限时达标, 专门辅导帮扶)."""

    staff = models.ForeignKey("org.Staff", on_delete=models.PROTECT, related_name="certification_plans",
                              verbose_name=_("person"))
    certificate_type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, verbose_name=_("certificate type"))
    deadline = models.DateField(_("deadline"))
    coach = models.ForeignKey("org.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("coach"))
    coaching = models.CharField(_("coaching"), max_length=300, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("set by"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("certification deadline")
        verbose_name_plural = _("certification deadlines")
        constraints = [models.UniqueConstraint(fields=["staff", "certificate_type"],
                                               name="workforce_one_plan_per_person_and_type",
                                               violation_error_message=_("This person already has a deadline for this certificate."))]


class Mentorship(TimeStampedModel):
    """带、跟、转: a single-skill manager, their mentor and rotation plan, until converted to all-round."""

    class Status(models.TextChoices):
        MENTORING = "mentoring", _("Mentoring and rotating")
        CONVERTED = "converted", _("Converted")
        CANCELLED = "cancelled", _("Cancelled")

    staff = models.ForeignKey("org.Staff", on_delete=models.PROTECT, related_name="mentorships",
                              verbose_name=_("person"))
    mentor = models.ForeignKey("org.Staff", on_delete=models.PROTECT, related_name="mentees", verbose_name=_("mentor"))
    rotation_plan = models.TextField(_("rotation plan"))
    started_on = models.DateField(_("started on"))
    due_on = models.DateField(_("convert by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.MENTORING)
    exam_on = models.DateField(_("exam date"), null=True, blank=True)
    exam_score = models.PositiveSmallIntegerField(_("exam score"), null=True, blank=True)
    exam_passed = models.BooleanField(_("exam passed"), null=True)
    assessment_on = models.DateField(_("assessment date"), null=True, blank=True)
    assessment_passed = models.BooleanField(_("assessment passed"), null=True)
    assessment_note = models.CharField(_("assessment note"), max_length=300, blank=True)
    converted_on = models.DateField(_("converted on"), null=True, blank=True)
    converted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("converted by"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("started by"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mentorship")
        verbose_name_plural = _("mentorships")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["staff"], condition=Q(status="mentoring"),
                                    name="workforce_one_open_mentorship",
                                    violation_error_message=_("This person already has an open mentorship.")),
            models.CheckConstraint(condition=~Q(staff=models.F("mentor")), name="workforce_no_self_mentor",
                                   violation_error_message=_("A person cannot mentor themselves.")),
        ]

    def __str__(self):
        return f"{self.staff.name} ← {self.mentor.name}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("workforce:mentorship", args=[self.pk])

    @property
    def ready_to_convert(self) -> bool:
        return self.status == self.Status.MENTORING and bool(self.exam_passed) and bool(self.assessment_passed)


class PracticeLog(models.Model):
    """One stretch of practice on another post during the rotation (跟)."""

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="practice",
                                   verbose_name=_("mentorship"))
    on = models.DateField(_("date"))
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, verbose_name=_("skill practised"))
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=1)
    note = models.CharField(_("note"), max_length=300, blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("logged by"))

    class Meta:
        verbose_name = _("practice")
        verbose_name_plural = _("practice")
        ordering = ["-on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0) & Q(hours__lte=12),
                                              name="workforce_practice_hours_range",
                                              violation_error_message=_("Hours are more than 0 and at most 12."))]

    def __str__(self):
        return f"{self.on} {self.skill} {self.hours}"
