"""Writes of the outlet routines (seed 003, 001): plans that schedule a check per outlet every
``frequency_days``, and the outlet's check on the routine checklist in force — scored by the inspections'
pure engine (``inspecting``), a failure opening one case through the cases services (equipment,
facilities and environment: a support request in its category; drills: a rectification by a deadline),
and the next check scheduled. Every write checks the rule the action table offers (``rules``)."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import record_timeline
from branchops.org.models import Institution, Level

from . import inspecting, routine_queries, rules
from .models import Answer
from .routine_checklists import TEMPLATES
from .routinebook import RoutineAnswer, RoutineCheck, RoutineKind, RoutinePlan
from .services import _answer_errors, _engine_items, template_for, template_items

SUPPORT_KINDS = (RoutineKind.EQUIPMENT, RoutineKind.FACILITIES, RoutineKind.ENVIRONMENT)  # the branch repairs,
# supplies or puts the hall right (the cases' support categories, ENV-TEMP for seed 001's "under 18 °C")
CATEGORY = {"ac1": "REPAIR-AC", "ac2": "REPAIR-AC", "sd1": "REPAIR-SMART", "sd2": "REPAIR-SMART", "wr2": "REPAIR-LIGHT",
            "e1": "ENV-TEMP", "e2": "ENV-AIR", "e3": "REPAIR-LIGHT", "f4": "SUPPLY-FORMS"}
KIND_CATEGORY = {RoutineKind.EQUIPMENT: "REPAIR", RoutineKind.FACILITIES: "SUPPLY", RoutineKind.ENVIRONMENT: "ENV"}
RECTIFY_DAYS = 10


@transaction.atomic
def create_plan(actor, *, name: str, kind: str, scope: Institution, frequency_days: int, starts_on: date,
                ends_on: date | None = None) -> RoutinePlan:
    """Plan a routine for every active outlet under ``scope``: each gets its first check due ``starts_on``."""
    require(rules.plans_routines, actor, scope)
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Give the plan a name.")
    if kind not in RoutineKind.values:
        errors["kind"] = _("Unknown kind of routine.")
    if scope.level not in (Level.TIER1_BRANCH, Level.TIER2_BRANCH, Level.SUB_BRANCH, Level.OUTLET):
        errors["scope"] = _("Choose a branch, a sub-branch or an outlet.")
    if not isinstance(frequency_days, int) or not 1 <= frequency_days <= 366:
        errors["frequency_days"] = _("Every 1 to 366 days.")
    if ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = _("The period ends before it starts.")
    if errors:
        raise ValidationError(errors)
    code = TEMPLATES[kind][0]
    template = template_for(starts_on, code)
    if template is None:
        raise ValidationError({"kind": _("No checklist of this routine is in force on %(day)s.")
                               % {"day": starts_on.isoformat()}})
    outlets = list(Institution.objects.filter(path__startswith=scope.path, level=Level.OUTLET, is_active=True))
    if not outlets:
        raise ValidationError({"scope": _("No outlet under %(scope)s.") % {"scope": scope.name}})
    plan = RoutinePlan.objects.create(name=name.strip()[:128], kind=kind, template_code=code, scope=scope,
                                      frequency_days=frequency_days, starts_on=starts_on, ends_on=ends_on,
                                      created_by=actor)
    RoutineCheck.objects.bulk_create([RoutineCheck(plan=plan, outlet=o, template=template, due=starts_on)
                                      for o in outlets])
    record_timeline(actor, plan, "routine_planned", _("%(n)s outlets, every %(days)s days from %(day)s") % {
        "n": len(outlets), "days": frequency_days, "day": starts_on.isoformat()})
    return plan


def _reading(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        reading = Decimal(str(value))
    except (InvalidOperation, ValueError):
        reading = None
    if reading is None or not reading.is_finite() or not Decimal("-50") <= reading <= Decimal("60"):
        raise ValidationError({"reading": _("Give the measured value as a number (°C from -50 to 60).")})
    return reading.quantize(Decimal("0.1"))


@transaction.atomic
def submit_check(actor, check: RoutineCheck, *, answers: dict, notes: dict | None = None, reading=None,
                 scenario: str = "", participants: str = "", issues: str = "") -> RoutineCheck:
    """The outlet's answers (item code → pass / fail / na): scored, a failure opening one case, the next
    check scheduled. Refused, changing nothing, when an item is unanswered, a drill lacks its scenario
    or participants, or a failure is not described."""
    require(rules.does_routine, actor, check, _("Only the outlet's own staff do its routine checks."))
    check = RoutineCheck.objects.select_for_update().select_related("plan", "outlet", "template").get(pk=check.pk)
    if not rules.routine_due(check):
        raise ValidationError({"answers": _("This check was already done.")})
    notes = {k: str(v or "").strip() for k, v in (notes or {}).items()}
    answers = {str(k): str(v or "") for k, v in (answers or {}).items()}
    check.template = routine_queries.template_of(check)
    items = template_items(check.template)
    errors = _answer_errors(items, answers, notes)
    scenario, participants, issues = (scenario or "").strip(), (participants or "").strip(), (issues or "").strip()
    if check.plan.kind == RoutineKind.DRILL:
        if not scenario:
            errors["scenario"] = _("Name the drill's scenario (e.g. fire, robbery, power cut).")
        if not participants:
            errors["participants"] = _("List who took part.")
    failed = [i for i in items if answers.get(i.code) == Answer.FAIL]
    if failed and not issues and not any(notes.get(i.code) for i in failed):
        errors["issues"] = _("Say what went wrong for the failed items.")
    try:
        reading = _reading(reading)
    except ValidationError as exc:
        errors |= exc.message_dict
    if len(scenario) > 200 or len(participants) > 500 or len(issues) > 4000:
        errors["issues"] = _("The text is too long.")
    if errors:
        raise ValidationError(errors)
    result = inspecting.score(_engine_items(items), answers)
    RoutineAnswer.objects.bulk_create([RoutineAnswer(routine_check=check, item=i, answer=answers[i.code],
                                                     note=notes.get(i.code, "")[:500]) for i in items])
    check.status, check.done_by, check.done_at = RoutineCheck.Status.DONE, actor, clock.now()
    check.score = None if result.total is None else Decimal(str(result.total))
    check.failed, check.reading = len(failed), reading
    check.scenario, check.participants, check.issues = scenario, participants, issues
    if failed:
        check.case = _open_case(actor, check, failed, notes)
    check.save()
    record_timeline(actor, check.plan, "routine_done", _("%(outlet)s: %(n)s failed") % {
        "outlet": check.outlet.code, "n": len(failed)})
    _schedule_next(check)
    return check


def _open_case(actor, check: RoutineCheck, failed, notes: dict):
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType, Channel

    lines = [f"{i.code} {i.text}" + (f"：{notes[i.code]}" if notes.get(i.code) else "") for i in failed]
    description = "\n".join([_("%(plan)s, due %(day)s.") % {"plan": check.plan.name, "day": check.due.isoformat()},
                             *lines, check.issues])
    title = _("%(kind)s failed: %(items)s") % {"kind": check.plan.get_kind_display(),
                                               "items": "、".join(i.text for i in failed)[:150]}
    if check.plan.kind in SUPPORT_KINDS:
        return cases.open_case(actor, case_type=CaseType.SUPPORT, institution=check.outlet, channel=Channel.OUTLET,
                               category=_category(check.plan.kind, failed), title=title[:200], description=description,
                               requester=actor, link_to=check)
    deadline = clock.today() + timedelta(days=RECTIFY_DAYS)
    # The outlet does not open rectifications (the cases rules): the routine opens it for the outlet.
    return cases.open_case(None, case_type=CaseType.RECTIFICATION, institution=check.outlet,
                           channel=Channel.INSPECTION,
                           title=title[:200], description=description, requester=actor, first_contact_owner=actor,
                           rectification={"evidence_required": _("The failed items put right."),
                                          "deadline": deadline},
                           link_to=check)


def _category(kind: str, failed):
    """The support category of the first failed item that has one, else the kind's (else 其他援助)."""
    from branchops.cases.models import CaseType, Category

    codes = [CATEGORY[i.code] for i in failed if i.code in CATEGORY] + [KIND_CATEGORY[kind], "OTHER"]
    found = {c.code: c for c in Category.objects.filter(case_type=CaseType.SUPPORT, code__in=codes, is_active=True)}
    return next((found[c] for c in codes if c in found), None)


def _schedule_next(check: RoutineCheck) -> None:
    plan = check.plan
    due = check.due + timedelta(days=plan.frequency_days)
    if plan.ends_on is not None and due > plan.ends_on:
        return
    template = template_for(due, plan.template_code) or check.template
    RoutineCheck.objects.get_or_create(plan=plan, outlet=check.outlet, due=due, defaults={"template": template})
