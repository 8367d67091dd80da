"""Reads shared by the workforce pages and the API. Reads never write: a branch without saved settings
reads the defaults. Personal data goes only to those who manage the person (``rules.sees_person``):
lists are filtered to the reader's scope, or to the reader alone for a person without managers' rights."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from branchops.core import clock
from branchops.org.models import Institution, Level, Staff
from branchops.org.queries import branch_of
from branchops.org.scope import scope_filter, scope_root

from . import rules
from .models import (
    CSM_POST,
    Certificate,
    CertificateType,
    CertificationPlan,
    Mentorship,
    PostModel,
    Skill,
    StaffSkill,
    WorkforceSettings,
)

VALID, EXPIRING, EXPIRED, REVOKED = "valid", "expiring", "expired", "revoked"
STATES = {VALID: _("Valid"), EXPIRING: _("Expiring"), EXPIRED: _("Expired"), REVOKED: _("Revoked")}


# --- settings ------------------------------------------------------------------------------------

def expiring_days(branch: Institution | None) -> int:
    """The branch's expiring window; the default when none was saved (reads never write)."""
    if branch is not None:
        saved = WorkforceSettings.objects.filter(branch=branch).values_list("expiring_days", flat=True).first()
        if saved is not None:
            return saved
    return WorkforceSettings.DEFAULT_EXPIRING_DAYS


def reader_branch(user) -> Institution | None:
    root = scope_root(user)
    if root is None:
        return None
    return branch_of(root)


def reader_expiring_days(user) -> int:
    return expiring_days(reader_branch(user))


# --- certificate state ---------------------------------------------------------------------------

def certificate_state(cert: Certificate, today=None, window: int | None = None) -> str:
    """valid / expiring / expired / revoked, from the clock: never stored, so never stale."""
    today = today or clock.today()
    if cert.revoked_at is not None:
        return REVOKED
    if cert.expires_on is not None:
        if cert.expires_on < today:
            return EXPIRED
        if window is None:
            window = expiring_days(branch_of(cert.staff.institution))
        if cert.expires_on <= today + timedelta(days=window):
            return EXPIRING
    return VALID


def state_q(state: str, today, window: int) -> Q:
    """The certificates in one state, as a filter (the list's state filter)."""
    live = Q(revoked_at__isnull=True)
    soon = today + timedelta(days=window)
    return {
        REVOKED: Q(revoked_at__isnull=False),
        EXPIRED: live & Q(expires_on__lt=today),
        EXPIRING: live & Q(expires_on__gte=today, expires_on__lte=soon),
        VALID: live & (Q(expires_on__isnull=True) | Q(expires_on__gt=soon)),
    }[state]


def valid_q(today, prefix: str = "") -> Q:
    """Certificates that grant what they gate today (valid or expiring)."""
    return Q(**{f"{prefix}revoked_at__isnull": True}) & (
        Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gte": today}))


# --- people --------------------------------------------------------------------------------------

def visible_staff(user) -> QuerySet:
    """The people whose workforce record the user may read: their scope for managers, else themselves."""
    qs = Staff.objects.filter(is_active=True)
    if not user.is_authenticated:
        return qs.none()
    if rules.sees_people(user):
        return scope_filter(user, qs)
    if user.has_perm("workforce.view_own"):
        return qs.filter(user=user)
    return qs.none()


def visible_people(user, *, q: str = "", outlet: int | None = None, skill: str = "", csm_only: bool = True) -> QuerySet:
    qs = visible_staff(user).select_related("institution", "post")
    if csm_only:
        qs = qs.filter(post__code=CSM_POST)
    if outlet:
        qs = qs.filter(institution_id=outlet)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(staff_no__icontains=q) | Q(teller_no__icontains=q))
    if skill:
        qs = qs.filter(pk__in=StaffSkill.objects.filter(skill__code=skill, withdrawn_at__isnull=True).values("staff"))
    return qs.prefetch_related(Prefetch("skills", queryset=StaffSkill.objects.filter(withdrawn_at__isnull=True)
                                        .select_related("skill__certificate_type")),
                               Prefetch("certificates", queryset=Certificate.objects.select_related("certificate_type")))


def access_person(user, pk) -> Staff:
    """The person, or 404 for missing and for not one's to see (the same answer)."""
    try:
        staff = Staff.objects.select_related("institution", "post", "user").get(pk=pk)
    except (Staff.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not rules.sees_person(user, staff):
        raise Http404
    return staff


def held_types(staff: Staff, today=None) -> set[int]:
    """The certificate types the person holds validly today."""
    today = today or clock.today()
    return set(staff.certificates.filter(valid_q(today)).values_list("certificate_type_id", flat=True))


def effective_skills(staff: Staff, today=None, held: set[int] | None = None) -> list[StaffSkill]:
    """Live skills that count today: an expired or revoked certificate no longer grants what it gated."""
    today = today or clock.today()
    if held is None:
        held = {c.certificate_type_id for c in staff.certificates.all()
                if c.revoked_at is None and (c.expires_on is None or c.expires_on >= today)}
    return [s for s in staff.skills.all() if s.withdrawn_at is None
            and (s.skill.certificate_type_id is None or s.skill.certificate_type_id in held)]


def skill_rows(staff: Staff, today=None) -> list[dict]:
    """The person's live skills, each saying whether it counts today and why not."""
    today = today or clock.today()
    held = held_types(staff, today)
    rows = []
    for s in staff.skills.filter(withdrawn_at__isnull=True).select_related("skill__certificate_type", "granted_by"):
        gate = s.skill.certificate_type
        rows.append({"skill": s, "counts": gate is None or gate.pk in held, "gate": gate})
    return rows


def certificates_of(staff: Staff) -> list[dict]:
    window = expiring_days(branch_of(staff.institution))
    today = clock.today()
    return [{"certificate": c, "state": certificate_state(c, today, window), "state_label": STATES[certificate_state(c, today, window)]}
            for c in staff.certificates.select_related("certificate_type").order_by("certificate_type__sort_order", "-issued_on")]


def visible_certificates(user, *, state: str = "", q: str = "", outlet: int | None = None,
                         certificate_type: int | None = None) -> QuerySet:
    qs = Certificate.objects.filter(staff__in=visible_staff(user)).select_related(
        "staff__institution", "certificate_type")
    if state in STATES:
        qs = qs.filter(state_q(state, clock.today(), reader_expiring_days(user)))
    if q:
        qs = qs.filter(Q(staff__name__icontains=q) | Q(staff__staff_no__icontains=q) | Q(number__icontains=q))
    if outlet:
        qs = qs.filter(staff__institution_id=outlet)
    if certificate_type:
        qs = qs.filter(certificate_type_id=certificate_type)
    return qs.order_by("expires_on", "staff__staff_no", "pk")


def uncertified(user, *, q: str = "", outlet: int | None = None) -> list[dict]:
    """持证上岗: managers in scope without a valid certificate of each required type, with their deadline
    and coaching (名单制管理, 限时达标). Overdue when the deadline has passed."""
    today = clock.today()
    required = list(CertificateType.objects.filter(is_active=True, required_for_csm=True))
    people = visible_people(user, q=q, outlet=outlet)
    plans = {(p.staff_id, p.certificate_type_id): p for p in CertificationPlan.objects.filter(
        staff__in=people.values("pk")).select_related("coach")}
    rows = []
    for person in people:
        held = {c.certificate_type_id for c in person.certificates.all()
                if c.revoked_at is None and (c.expires_on is None or c.expires_on >= today)}
        for ctype in required:
            if ctype.pk not in held:
                plan = plans.get((person.pk, ctype.pk))
                rows.append({"staff": person, "certificate_type": ctype, "plan": plan,
                             "overdue": bool(plan and plan.deadline < today)})
    return rows


def certificate_types() -> QuerySet:
    return CertificateType.objects.all()


def skills() -> QuerySet:
    return Skill.objects.select_related("certificate_type")


def core_skills() -> QuerySet:
    return Skill.objects.filter(is_core=True, is_active=True)


def post_models() -> QuerySet:
    return PostModel.objects.all()


def outlets_for(user) -> QuerySet:
    return scope_filter(user, Institution.objects.filter(level=Level.OUTLET, is_active=True), field="") \
        if rules.sees_people(user) else Institution.objects.none()


# --- mentor → rotate → convert -------------------------------------------------------------------

def visible_mentorships(user, *, status: str = "", due: bool = False, q: str = "") -> QuerySet:
    qs = Mentorship.objects.filter(staff__in=visible_staff(user)).select_related(
        "staff__institution", "mentor")
    if status in Mentorship.Status.values:
        qs = qs.filter(status=status)
    if due:
        qs = qs.filter(due_q())
    if q:
        qs = qs.filter(Q(staff__name__icontains=q) | Q(staff__staff_no__icontains=q) | Q(mentor__name__icontains=q))
    return qs.order_by("status", "due_on", "pk")


def due_q() -> Q:
    """应转尽转: open, and either exam and assessment passed (to convert now) or past the convert-by day."""
    return Q(status=Mentorship.Status.MENTORING) & (
        (Q(exam_passed=True) & Q(assessment_passed=True)) | Q(due_on__lt=clock.today()))


def access_mentorship(user, pk) -> Mentorship:
    try:
        m = Mentorship.objects.select_related("staff__institution", "mentor").get(pk=pk)
    except (Mentorship.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not rules.sees_person(user, m.staff):
        raise Http404
    return m


def access_certificate(user, pk) -> Certificate:
    try:
        c = Certificate.objects.select_related("staff__institution", "certificate_type").get(pk=pk)
    except (Certificate.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not rules.sees_person(user, c.staff):
        raise Http404
    return c


def conversion_section(user) -> dict | None:
    """The home page's 应转尽转 list for managers: who is due to convert."""
    from django.urls import reverse

    from branchops.core import nav

    if not rules.manages_people(user):
        return None
    qs = visible_mentorships(user, due=True)
    items = [nav.entry(f"{m.staff.name} · {m.staff.institution.name}", m.get_absolute_url(),
                       str(_("convert by %(day)s") % {"day": m.due_on}), overdue=m.due_on < clock.today())
             for m in qs[:8]]
    return {"title": _("Managers due to convert to all-round"), "items": items, "count": qs.count(),
            "url": reverse("workforce:mentorships") + "?due=1",
            "empty_message": _("Nobody is due to convert.")}


# --- cross-post figures --------------------------------------------------------------------------

@dataclass
class CrossPostRow:
    code: str
    name: str
    managers: int
    two_core: int
    deep: int | None
    forex: int | None
    logged: int = 0  # managers of outlets with ticket logs in the period: the base of deep and forex

    def share(self, n, base=None):
        base = self.managers if base is None else base
        return None if n is None or not base else n / base

    @property
    def two_core_share(self):
        return self.share(self.two_core)

    @property
    def deep_share(self):
        return self.share(self.deep, self.logged)

    @property
    def forex_share(self):
        return self.share(self.forex, self.logged)


def cross_post(user, start, end) -> tuple[list[CrossPostRow], CrossPostRow | None]:
    """Cross-post figures per outlet and for the whole scope, as the seed reports them:

    - two_core: managers holding (validly) at least two of the three core skills (业务受理、智能审核、客户维护);
    - deep (深度通岗): of those, the ones who actually served counter business in the period — tickets under
      their teller number in the ticket logs — i.e. cross-post rights exercised, not only held;
    - forex: managers who served foreign-exchange business in the period (ticket logs).
    Figures from ticket logs are None (missing, never zero) for an outlet without logs in the period.
    Ticket counts come from the queueing app's ``teller_activity``; nothing is recomputed here."""
    from branchops.queueing.queries import teller_activity

    today = clock.today()
    core = set(core_skills().values_list("pk", flat=True))
    people = list(visible_people(user).order_by("institution__path", "staff_no"))
    by_outlet: dict[int, list[Staff]] = {}
    for p in people:
        by_outlet.setdefault(p.institution_id, []).append(p)
    rows = []
    total = CrossPostRow("", str(_("All")), 0, 0, None, None)
    for members in by_outlet.values():
        inst = members[0].institution
        activity = teller_activity([inst.code], start, end) if inst.level == Level.OUTLET else None
        row = CrossPostRow(inst.code, inst.name, len(members), 0, None if activity is None else 0,
                           None if activity is None else 0, 0 if activity is None else len(members))
        for p in members:
            n_core = sum(1 for s in effective_skills(p, today) if s.skill_id in core)
            served = (activity or {}).get(p.teller_no, {}) if p.teller_no else {}
            if n_core >= 2:
                row.two_core += 1
                if activity is not None and served.get("served", 0) > 0:
                    row.deep += 1
            if activity is not None and served.get("forex", 0) > 0:
                row.forex += 1
        rows.append(row)
        total.managers += row.managers
        total.two_core += row.two_core
        total.logged += row.logged
        if row.deep is not None:
            total.deep = (total.deep or 0) + row.deep
            total.forex = (total.forex or 0) + row.forex
    return rows, (total if rows else None)
