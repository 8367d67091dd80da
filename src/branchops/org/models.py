"""The organisation: institutions from head office down to outlets, departments, clusters, staff."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branchops.core.models import TimeStampedModel

code_validator = RegexValidator(r"^[A-Za-z0-9_-]+$", _("Use letters, digits, '-' or '_' only."))


class Level(models.TextChoices):
    HEAD_OFFICE = "head_office", _("Head office")
    TIER1_BRANCH = "tier1_branch", _("Tier-1 branch")
    TIER2_BRANCH = "tier2_branch", _("Tier-2 branch")
    SUB_BRANCH = "sub_branch", _("Sub-branch")
    OUTLET = "outlet", _("Outlet")


LEVEL_RANK = {lvl: i for i, lvl in enumerate(Level.values)}


class ReferenceList(TimeStampedModel):
    """A configurable list kept by administrators: code, name, order, active."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=64)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name


class OutletType(ReferenceList):
    """Outlet types (flagship, comprehensive, light, self-service …)."""

    class Meta(ReferenceList.Meta):
        verbose_name = _("outlet type")
        verbose_name_plural = _("outlet types")


class Post(ReferenceList):
    """A post (岗位): outlet head, operations supervisor, customer service manager, teller …"""

    class Meta(ReferenceList.Meta):
        verbose_name = _("post")
        verbose_name_plural = _("posts")


class Institution(TimeStampedModel):
    """A node of the institution tree. ``path`` (materialised, '/<id>/<id>/') makes subtree
    queries one indexed prefix match, which the scope rules use on every request."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=128)
    short_name = models.CharField(_("short name"), max_length=64, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("parent institution"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("public phone"), max_length=32, blank=True)
    # Outlet-only attributes.
    outlet_type = models.ForeignKey(
        OutletType, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("outlet type")
    )
    counters = models.PositiveSmallIntegerField(_("counters"), default=0)
    smart_devices = models.PositiveSmallIntegerField(_("smart devices"), default=0)
    cluster = models.ForeignKey(
        "Cluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="outlets",
        verbose_name=_("cluster"),
    )
    is_hub = models.BooleanField(_("cluster hub"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    history = HistoricalRecords(excluded_fields=["path", "depth"])

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["path"]
        permissions = [
            ("import_org", _("Can import the organisation and staff")),
            ("export_org", _("Can export the organisation and staff")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster"], condition=Q(is_hub=True), name="org_one_hub_per_cluster",
                violation_error_message=_("A cluster has exactly one hub."),
            ),
            models.CheckConstraint(
                condition=Q(level="outlet") | (Q(cluster__isnull=True) & Q(is_hub=False)),
                name="org_only_outlets_in_clusters",
                violation_error_message=_("Only outlets belong to clusters."),
            ),
            models.CheckConstraint(
                condition=Q(level="head_office") | Q(parent__isnull=False),
                name="org_parent_required_below_head_office",
                violation_error_message=_("A parent institution is required."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_outlet(self) -> bool:
        return self.level == Level.OUTLET

    @property
    def cluster_role(self) -> str:
        if not self.cluster_id:
            return ""
        return "hub" if self.is_hub else "satellite"

    def get_cluster_role_display(self):
        return {"hub": _("Hub"), "satellite": _("Satellite"), "": ""}[self.cluster_role]

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("org:institution_detail", args=[self.pk])

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def ancestors(self):
        ids = self.ancestor_ids()[:-1]
        return Institution.objects.filter(id__in=ids).order_by("depth")


class BusinessHours(models.Model):
    """Opening hours of an outlet for one weekday (0 = Monday)."""

    WEEKDAYS = [
        (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
        (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday")),
    ]
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="business_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        ordering = ["institution", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "weekday"], name="org_hours_one_per_weekday",
                                    violation_error_message=_("One line of business hours per weekday.")),
            models.CheckConstraint(
                condition=(Q(opens_at__isnull=True) & Q(closes_at__isnull=True))
                | (Q(opens_at__isnull=False) & Q(closes_at__isnull=False) & Q(opens_at__lt=models.F("closes_at"))),
                name="org_hours_open_before_close",
                violation_error_message=_("Opening time must be before closing time."),
            ),
        ]

    def __str__(self):
        if self.is_closed:
            return f"{self.get_weekday_display()} {_('closed')}"
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    @property
    def is_closed(self) -> bool:
        return self.opens_at is None


class Cluster(TimeStampedModel):
    """A 1+N cluster (核心+卫星): one hub outlet and its satellites, staffed together."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=128)
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="clusters", verbose_name=_("managing institution")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Department(TimeStampedModel):
    """A department of a branch. Business departments submit items; review departments sit on
    the coordination meeting. Both flags are data, so the review set is configuration."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="departments", verbose_name=_("institution")
    )
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    name = models.CharField(_("name"), max_length=128)
    is_business = models.BooleanField(_("business department"), default=False)
    is_review = models.BooleanField(_("review department"), default=False)
    is_secretariat = models.BooleanField(
        _("secretariat"), default=False, help_text=_("The operations management department that runs the meeting.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["institution__path", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="org_department_code_per_institution",
                                    violation_error_message=_("This institution already has a department with this code."))
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("org:department_detail", args=[self.pk])


class Staff(TimeStampedModel):
    """A person of the bank, linked to the user account they sign in with."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff", verbose_name=_("user account")
    )
    staff_no = models.CharField(_("staff number"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("full name"), max_length=64)
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="staff", verbose_name=_("institution")
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="staff",
        verbose_name=_("department"),
    )
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("post"))
    # The number the core banking system and the teller evaluators know a teller by; ratings and
    # ticket logs map to a person through it. Unique across the installation (one bank's branch),
    # so a rating row needs no more than this number to find its teller.
    teller_no = models.CharField(_("teller number"), max_length=16, blank=True, validators=[code_validator])
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_active = models.BooleanField(_("in service"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["institution__path", "staff_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["teller_no"], condition=~Q(teller_no=""), name="org_teller_no_unique",
                violation_error_message=_("This teller number is already used by another person."),
            ),
        ]

    def __str__(self):
        return f"{self.name}（{self.staff_no}）"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("org:staff_detail", args=[self.pk])
