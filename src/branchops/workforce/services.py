"""Every workforce write (DESIGN.md §2): certify, revoke, grant skills, set certification deadlines,
and the mentor → rotate → convert path. Each takes the acting user first (None: the system, i.e. the
demo), checks the same predicate the pages and the API offer the action by (``rules``), refuses bad
input naming the field, runs in one transaction and writes the person's timeline."""

import calendar
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import check_lengths, record_timeline, stamp_history
from branchops.org.models import Institution, Level, Staff
from branchops.org.scope import in_scope

from . import queries, rules
from .models import (
    CSM_POST,
    Certificate,
    CertificateType,
    CertificationPlan,
    Mentorship,
    PracticeLog,
    Skill,
    StaffSkill,
    WorkforceSettings,
)

PASS_MARK = 60  # 业务考试: a score of 60 of 100 passes


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _not_future(day: date, field: str) -> None:
    if day > clock.today():
        raise ValidationError({field: _("This date is in the future.")})


def _in_reach(actor, person: Staff | None, field: str) -> None:
    """A person named in the input (a mentor, a coach) must be one the actor sees, active."""
    if person is None:
        return
    if not person.is_active or (actor is not None and not in_scope(actor, person.institution)):
        raise ValidationError({field: _("Choose an active person within your scope.")})


# --- certificates --------------------------------------------------------------------------------

@transaction.atomic
def issue_certificate(actor, staff: Staff, *, certificate_type: CertificateType, issued_on: date,
                      number: str = "", expires_on: date | None = None) -> Certificate:
    require(rules.manages_person, actor, staff)
    check_lengths(number=(number, 64))
    if not certificate_type.is_active:
        raise ValidationError({"certificate_type": _("This certificate type is no longer in use.")})
    _not_future(issued_on, "issued_on")
    if expires_on is None and certificate_type.validity_months:
        expires_on = add_months(issued_on, certificate_type.validity_months)
    if expires_on is not None and expires_on < issued_on:
        raise ValidationError({"expires_on": _("A certificate cannot expire before it is issued.")})
    cert = Certificate(staff=staff, certificate_type=certificate_type, number=number, issued_on=issued_on,
                       expires_on=expires_on, issued_by=actor)
    stamp_history(cert, actor)
    cert.save()
    record_timeline(actor, staff, "certificate_issued",
                    _("Certificate “%(type)s” recorded, valid until %(until)s")
                    % {"type": certificate_type.name, "until": expires_on or _("no expiry")})
    return cert


@transaction.atomic
def revoke_certificate(actor, certificate: Certificate, *, reason: str) -> Certificate:
    require(rules.manages_certificate, actor, certificate)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the certificate is revoked.")})
    check_lengths(reason=(reason, 200))
    cert = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if cert.revoked_at is not None:
        raise ValidationError(_("This certificate was already revoked."))
    cert.revoked_at, cert.revoked_by, cert.revoke_reason = clock.now(), actor, reason
    stamp_history(cert, actor)
    cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"])
    record_timeline(actor, cert.staff, "certificate_revoked",
                    _("Certificate “%(type)s” revoked: %(reason)s") % {"type": cert.certificate_type.name,
                                                                      "reason": reason})
    return cert


# --- skills --------------------------------------------------------------------------------------

def _grant(actor, staff: Staff, skill: Skill, day: date, source: str) -> StaffSkill:
    granted = StaffSkill(staff=staff, skill=skill, granted_on=day, granted_by=actor, source=source)
    stamp_history(granted, actor)
    granted.save()
    return granted


@transaction.atomic
def grant_skill(actor, staff: Staff, *, skill: Skill, granted_on: date | None = None) -> StaffSkill:
    require(rules.manages_person, actor, staff)
    granted_on = granted_on or clock.today()
    _not_future(granted_on, "granted_on")
    if not skill.is_active:
        raise ValidationError({"skill": _("This skill is no longer in use.")})
    Staff.objects.select_for_update().filter(pk=staff.pk).first()  # one grant at a time per person
    if staff.skills.filter(skill=skill, withdrawn_at__isnull=True).exists():
        raise ValidationError({"skill": _("This person already has this skill.")})
    gate = skill.certificate_type
    if gate is not None and gate.pk not in queries.held_types(staff):
        raise ValidationError({"skill": _("This skill needs a valid certificate “%(type)s”.") % {"type": gate.name}})
    granted = _grant(actor, staff, skill, granted_on, StaffSkill.Source.GRANTED)
    record_timeline(actor, staff, "skill_granted", _("Skill “%(skill)s” granted") % {"skill": skill.name})
    return granted


@transaction.atomic
def withdraw_skill(actor, staff_skill: StaffSkill) -> StaffSkill:
    require(rules.manages_person, actor, staff_skill.staff)
    row = StaffSkill.objects.select_for_update().get(pk=staff_skill.pk)
    if row.withdrawn_at is not None:
        raise ValidationError(_("This skill was already withdrawn."))
    row.withdrawn_at = clock.now()
    stamp_history(row, actor)
    row.save(update_fields=["withdrawn_at", "updated_at"])
    record_timeline(actor, row.staff, "skill_withdrawn", _("Skill “%(skill)s” withdrawn") % {"skill": row.skill.name})
    return row


# --- uncertified managers: deadline and coaching ---------------------------------------------------

@transaction.atomic
def set_certification_plan(actor, staff: Staff, *, certificate_type: CertificateType, deadline: date,
                           coach: Staff | None = None, coaching: str = "") -> CertificationPlan:
    require(rules.manages_person, actor, staff)
    check_lengths(coaching=(coaching, 300))
    if deadline < clock.today():
        raise ValidationError({"deadline": _("The deadline is in the past.")})
    if coach is not None and coach.pk == staff.pk:
        raise ValidationError({"coach": _("A person cannot coach themselves.")})
    _in_reach(actor, coach, "coach")
    plan, _created = CertificationPlan.objects.select_for_update().get_or_create(
        staff=staff, certificate_type=certificate_type,
        defaults={"deadline": deadline, "coach": coach, "coaching": coaching, "set_by": actor})
    plan.deadline, plan.coach, plan.coaching, plan.set_by = deadline, coach, coaching, actor
    stamp_history(plan, actor)
    plan.save()
    record_timeline(actor, staff, "certification_plan_set",
                    _("To hold “%(type)s” by %(day)s") % {"type": certificate_type.name, "day": deadline})
    return plan


# --- mentor → rotate → convert (带、跟、转) --------------------------------------------------------------

def core_count(staff: Staff) -> int:
    core = set(queries.core_skills().values_list("pk", flat=True))
    return sum(1 for s in queries.effective_skills(staff) if s.skill_id in core)


@transaction.atomic
def start_mentorship(actor, staff: Staff, *, mentor: Staff, rotation_plan: str, due_on: date) -> Mentorship:
    """带: the sub-branch (or outlet head) names a mentor for a single-skill manager and a rotation plan."""
    require(rules.manages_person, actor, staff)
    rotation_plan = (rotation_plan or "").strip()
    errors = {}
    if not rotation_plan:
        errors["rotation_plan"] = [_("Write the rotation plan.")]
    if due_on <= clock.today():
        errors["due_on"] = [_("The convert-by day must be after today.")]
    if mentor.pk == staff.pk:
        errors["mentor"] = [_("A person cannot mentor themselves.")]
    if errors:
        raise ValidationError(errors)
    check_lengths(rotation_plan=(rotation_plan, 2000))
    _in_reach(actor, mentor, "mentor")
    if staff.post is None or staff.post.code != CSM_POST:
        raise ValidationError(_("Only customer service managers follow mentor → rotate → convert."))
    if core_count(staff) >= 2:
        raise ValidationError(_("This manager already holds two core skills: not a single-skill manager."))
    if Mentorship.objects.select_for_update().filter(staff=staff, status=Mentorship.Status.MENTORING).exists():
        raise ValidationError(_("This person already has an open mentorship."))
    m = Mentorship(staff=staff, mentor=mentor, rotation_plan=rotation_plan, started_on=clock.today(),
                   due_on=due_on, started_by=actor)
    stamp_history(m, actor)
    m.save()
    record_timeline(actor, staff, "mentorship_started", _("Mentor %(mentor)s, to convert by %(day)s")
                    % {"mentor": mentor.name, "day": due_on})
    return m


def _lock(actor, mentorship: Mentorship, move: str) -> Mentorship:
    require(rules.manages_mentorship, actor, mentorship)
    m = Mentorship.objects.select_for_update().select_related("staff", "mentor").get(pk=mentorship.pk)
    rules.MENTORSHIP_FLOW.check(m, move)
    return m


def _within(m: Mentorship, day: date, field: str) -> None:
    if day < m.started_on or day > clock.today():
        raise ValidationError({field: _("The date must fall between the start of the mentorship and today.")})


@transaction.atomic
def log_practice(actor, mentorship: Mentorship, *, on: date, skill: Skill, hours, note: str = "") -> PracticeLog:
    """跟: a stretch of practice on another post, logged while the mentorship is open."""
    m = _lock(actor, mentorship, "practice")
    _within(m, on, "on")
    check_lengths(note=(note, 300))
    if not (0 < float(hours) <= 12):
        raise ValidationError({"hours": _("Hours are more than 0 and at most 12.")})
    log = PracticeLog.objects.create(mentorship=m, on=on, skill=skill, hours=hours, note=note, logged_by=actor)
    record_timeline(actor, m, "practice_logged", _("%(hours)s h of %(skill)s on %(day)s")
                    % {"hours": hours, "skill": skill.name, "day": on})
    return log


@transaction.atomic
def record_exam(actor, mentorship: Mentorship, *, on: date, score: int) -> Mentorship:
    m = _lock(actor, mentorship, "exam")
    _within(m, on, "on")
    if not 0 <= score <= 100:
        raise ValidationError({"score": _("A score is between 0 and 100.")})
    m.exam_on, m.exam_score, m.exam_passed = on, score, score >= PASS_MARK
    stamp_history(m, actor)
    m.save(update_fields=["exam_on", "exam_score", "exam_passed", "updated_at"])
    record_timeline(actor, m, "exam_recorded", _("Exam: %(score)s (%(result)s)")
                    % {"score": score, "result": _("passed") if m.exam_passed else _("failed")})
    return m


@transaction.atomic
def record_assessment(actor, mentorship: Mentorship, *, on: date, passed: bool, note: str = "") -> Mentorship:
    """履职鉴定: the assessment of the rotation's work, passed or not, with a note."""
    m = _lock(actor, mentorship, "assess")
    _within(m, on, "on")
    check_lengths(note=(note, 300))
    m.assessment_on, m.assessment_passed, m.assessment_note = on, passed, note
    stamp_history(m, actor)
    m.save(update_fields=["assessment_on", "assessment_passed", "assessment_note", "updated_at"])
    record_timeline(actor, m, "assessment_recorded", _("Assessment: %(result)s")
                    % {"result": _("passed") if passed else _("failed")})
    return m


@transaction.atomic
def convert(actor, mentorship: Mentorship) -> Mentorship:
    """转: exam and assessment passed → all-round; the core skills the person lacks are granted (audited).
    A core skill gated by a certificate the person does not hold validly is refused, naming it."""
    m = _lock(actor, mentorship, "convert")
    if not (m.exam_passed and m.assessment_passed):
        raise ValidationError(_("Both the exam and the assessment must be passed before converting."))
    held = queries.held_types(m.staff)
    have = set(m.staff.skills.filter(withdrawn_at__isnull=True).values_list("skill_id", flat=True))
    missing = [s for s in queries.core_skills().select_related("certificate_type") if s.pk not in have]
    blocked = [s for s in missing if s.certificate_type_id and s.certificate_type_id not in held]
    if blocked:
        raise ValidationError(_("Certificates missing for: %(skills)s.")
                              % {"skills": "、".join(f"{s.name}（{s.certificate_type.name}）" for s in blocked)})
    today = clock.today()
    for skill in missing:
        _grant(actor, m.staff, skill, today, StaffSkill.Source.CONVERSION)
    m.status, m.converted_on, m.converted_by = Mentorship.Status.CONVERTED, today, actor
    stamp_history(m, actor)
    m.save(update_fields=["status", "converted_on", "converted_by", "updated_at"])
    names = "、".join(s.name for s in missing) or _("none missing")
    record_timeline(actor, m, "converted", _("Converted to all-round; skills granted: %(skills)s") % {"skills": names})
    record_timeline(actor, m.staff, "converted", _("Converted to all-round; skills granted: %(skills)s")
                    % {"skills": names})
    return m


@transaction.atomic
def cancel_mentorship(actor, mentorship: Mentorship, *, reason: str) -> Mentorship:
    m = _lock(actor, mentorship, "cancel")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the mentorship is cancelled.")})
    check_lengths(reason=(reason, 200))
    m.status = Mentorship.Status.CANCELLED
    stamp_history(m, actor)
    m.save(update_fields=["status", "updated_at"])
    record_timeline(actor, m, "mentorship_cancelled", reason)
    return m


# --- settings ------------------------------------------------------------------------------------

@transaction.atomic
def save_settings(actor, branch: Institution, *, expiring_days: int) -> WorkforceSettings:
    require(rules.keeps_lists, actor, None)
    if actor is not None and not in_scope(actor, branch):
        raise PermissionDenied(_("You do not have permission to do this."))
    if branch.level not in (Level.TIER1_BRANCH, Level.TIER2_BRANCH):
        raise ValidationError({"branch": _("Choose a branch.")})
    if not 1 <= expiring_days <= 365:
        raise ValidationError({"expiring_days": _("Between 1 and 365 days.")})
    conf, _created = WorkforceSettings.objects.select_for_update().get_or_create(branch=branch)
    conf.expiring_days = expiring_days
    stamp_history(conf, actor)
    conf.save()
    return conf
