"""Demo service grading: the demo year's quarters graded for every demo outlet through the services.

The quarters are the last four that started within the demo year (``queueing.demo_year``): those that
have ended are opened ten days after their end, reviewed by the ``secretariat`` account and published by
another member of the secretariat (four eyes) — grade D opens its rectification case then; a quarter
still running stays a draft. Inputs come from the demo's queue logs and complaints; what BranchOps
does not hold yet (teller evaluators, surveys) is missing and the scheme's rule re-normalises the
weights — shown as missing, never made up; the inspection score and the rectifications closed on time
come from the demo's inspections (``build_demo_inspections``, built first). Outlets with no queue data
in a quarter (the demo simulates the full year for a few outlets only) are graded on what there is,
their queue figures shown as missing.

Idempotent: a branch that already has runs is left as it is.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org.models import Institution
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.models import GradingRun

from .data import BRANCH, SEED, _say, call_at
from .queueing import demo_year

PUBLISH_AFTER_DAYS = 10


def demo_quarters(today: date | None = None, count: int = 4) -> list[tuple[int, int]]:
    """The last ``count`` quarters that started within the demo year, oldest first."""
    _start, end = demo_year(today)
    year, quarter = end.year, (end.month - 1) // 3 + 1
    out = []
    for _i in range(count):
        out.append((year, quarter))
        year, quarter = services.previous_quarter(year, quarter)
    return out[::-1]


def _secretariat(branch: Institution) -> tuple:
    users = list(get_user_model().objects.filter(
        groups__name=Role.SECRETARIAT, staff__institution=branch, is_active=True).order_by("username"))
    if len(users) < 2:
        raise ValueError("The demo grading needs two secretariat members (reviewer and publisher).")
    reviewer = next((u for u in users if u.username == "secretariat"), users[0])
    return reviewer, next(u for u in users if u != reviewer)


def build_demo_grading(stdout=None, *, today: date | None = None, branch_code: str = BRANCH["code"]) -> dict:
    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None:
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    if GradingRun.objects.filter(branch=branch).exists():
        _say(stdout, _("Service grading: already present, skipped …"))
        return {"status": "already present", "runs": GradingRun.objects.filter(branch=branch).count(),
                "seconds": round(time.monotonic() - started, 1)}
    inspected = build_demo_inspections(stdout, today=today, branch_code=branch_code)
    _say(stdout, _("Service grading: the demo year's quarters …"))
    reviewer, publisher = _secretariat(branch)
    _first, last_day = demo_year(today)
    now = clock.now()
    runs = []
    for year, quarter in demo_quarters(today):
        end = services.quarter_bounds(year, quarter)[1]
        if end >= last_day:  # still running: the secretariat's draft
            runs.append(services.create_run(reviewer, branch=branch, year=year, quarter=quarter))
            continue
        opened = min(now - timedelta(days=1), clock.instant(end + timedelta(days=PUBLISH_AFTER_DAYS), 10))
        run = call_at(opened, services.create_run, reviewer, branch=branch, year=year, quarter=quarter)
        run = call_at(opened + timedelta(hours=2), services.review_run, reviewer, run)
        runs.append(call_at(opened + timedelta(days=1), services.publish_run, publisher, run))
        _rectify_grade_d(runs[-1], publisher, clock.today())
    graded = sum(r.grades.exclude(grade="").count() for r in runs)
    from .service_briefing import build_demo_briefing

    briefing = build_demo_briefing(stdout, branch_code=branch_code)  # the last complete quarter's, approved
    return {"status": "created", "runs": len(runs), "published": sum(r.status == "published" for r in runs),
            "graded": graded, "inspections": inspected, "briefing": briefing,
            "seconds": round(time.monotonic() - started, 1)}


def _rectify_grade_d(run, publisher, today: date) -> None:
    """A grade-D outlet rectifies before its case is due; a service supervisor verifies and the
    secretariat closes it. A case not yet due on ``today`` stays open (within its deadline), never late."""
    from branchops.cases import services as cases
    from branchops.cases.models import Outcome

    branch_sups, sub_sups, heads = _inspection_people(run.branch)
    for grade in run.grades.exclude(rectification=None).select_related("rectification__institution"):
        case, head = grade.rectification, heads.get(grade.outlet_id)
        verifier = sub_sups.get(case.institution.parent_id) or (branch_sups[0] if branch_sups else None)
        fixed_on = case.resolution_due - timedelta(days=3) if case.resolution_due else None
        if head is None or verifier is None or fixed_on is None or fixed_on >= today:
            continue
        at = clock.instant(fixed_on, 16)
        call_at(at, cases.submit_evidence, head, case, _("Rectified; the outlet's plan and photos attached."))
        call_at(at, cases.resolve_case, head, case, outcome=Outcome.RESOLVED, resolution=_("Rectified."))
        check = clock.instant(min(fixed_on + timedelta(days=1), today), 11)
        call_at(check, cases.verify_rectification, verifier, case, passed=True)
        call_at(check + timedelta(hours=1), cases.close_case, publisher, case)


# --- inspections -------------------------------------------------------------------------------------
# Every demo outlet is inspected once a quarter (mystery shopper, video and on-site in turn) by the
# branch's supervisors or its sub-branch's, through the services at the time each step happened: most
# visits pass, some fail an item or two (photo, finding, rectification case due by the finding's
# deadline); the outlet rectifies, a re-inspection passes it and closes the case — a few late, one
# still overdue, the latest ones still open or waiting for their re-inspection. A handful of visits
# are scheduled for the coming days (one mystery-shopper visit the outlet cannot see yet).

INSPECTION_TYPES = ("mystery", "video", "on_site")
# A tiny PNG: the demo's photo evidence of a failed item.
_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
        b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
# Items a demo visit fails most often (lobby positions empty, the six S, greetings), and rarely a veto item.
_OFTEN = ("l1", "l2", "s1", "s3", "g1", "g3", "fm2", "fm4", "ep5", "v2")
_VETO = ("fn2",)


@dataclass
class _Visit:
    outlet: Institution
    head: object
    supervisor: object
    kind: str
    day: date


def _inspection_people(branch: Institution) -> tuple:
    from branchops.org.models import Level, Staff

    staff = list(Staff.objects.filter(is_active=True, user__is_active=True, institution__path__startswith=branch.path)
                 .select_related("user", "post", "institution").order_by("staff_no"))
    branch_sups = [s.user for s in staff if s.institution_id == branch.pk and s.post and s.post.code == "service_supervisor"]
    sub_sups = {s.institution_id: s.user for s in staff if s.institution.level == Level.SUB_BRANCH
                and s.post and s.post.code == "service_supervisor"}
    heads = {}
    for s in staff:
        if s.institution.level == Level.OUTLET and s.post and s.post.code == "outlet_head":
            heads.setdefault(s.institution_id, s.user)
    return branch_sups, sub_sups, heads


def _answers(rng: random.Random, items, weak: float) -> dict:
    answers = {}
    for i in items:
        if i.na_allowed and rng.random() < 0.15:
            answers[i.code] = "na"
        elif i.code in _OFTEN and rng.random() < weak:
            answers[i.code] = "fail"
        elif i.code in _VETO and rng.random() < weak / 25:
            answers[i.code] = "fail"
        else:
            answers[i.code] = "pass"
    return answers


def _visit(visit: _Visit, scheduler, rng: random.Random, weak: float, fail=()):
    from django.core.files.uploadedfile import SimpleUploadedFile

    inspection = call_at(clock.instant(visit.day - timedelta(days=7), 9), services.schedule_inspection, scheduler,
                         outlet=visit.outlet, supervisor=visit.supervisor, planned_on=visit.day,
                         inspection_type=visit.kind)
    answers = _answers(rng, services.template_items(inspection.template), weak) | dict.fromkeys(fail, "fail")
    at = clock.instant(visit.day, 10 + rng.randint(0, 5))
    for code in [c for c, a in answers.items() if a == "fail"]:
        call_at(at, services.add_photo, visit.supervisor, inspection, code,
                SimpleUploadedFile(f"{code}.png", _PNG, content_type="image/png"))
    notes = {c: _("Seen during the visit.") for c, a in answers.items() if a == "fail"}
    return call_at(at, services.submit_inspection, visit.supervisor, inspection, answers=answers, notes=notes)


def _rectify(finding, visit: _Visit, day: date) -> None:
    """The outlet rectifies and resolves the case with its evidence on ``day``."""
    from branchops.cases import services as cases
    from branchops.cases.models import Outcome

    at = clock.instant(day, 16)
    call_at(at, cases.submit_evidence, visit.head, finding.rectification,
            _("Rectified; photos of the corrected post attached."))
    call_at(at, cases.resolve_case, visit.head, finding.rectification, outcome=Outcome.RESOLVED,
            resolution=_("Rectified."))


def _follow_up(finding, visit: _Visit, scheduler, rng: random.Random, today: date, state: str) -> None:
    """What became of a finding (``state``): closed by a passing re-inspection after the outlet
    rectified it (on time, or a few days late), rectified and waiting for its re-inspection (one of them
    scheduled), still open within its deadline, or overdue."""
    if state in ("open", "overdue"):
        return
    first = finding.inspection.planned_on + timedelta(days=1)
    if state == "closed":
        late = rng.random() < 0.12 and finding.deadline + timedelta(days=6) < today
        if late:
            fixed_on = finding.deadline + timedelta(days=rng.randint(1, 4))
            check_on = fixed_on + timedelta(days=rng.randint(1, 2))
        else:  # rectified and re-inspected by the deadline
            fixed_on = min(max(first, finding.deadline - timedelta(days=rng.randint(2, 5))), today - timedelta(days=2))
            check_on = min(fixed_on + timedelta(days=rng.randint(1, 2)), finding.deadline, today - timedelta(days=1))
        _rectify(finding, visit, fixed_on)
        again = call_at(clock.instant(fixed_on, 17), services.schedule_reinspection, scheduler, finding,
                        supervisor=visit.supervisor, planned_on=check_on)
        call_at(clock.instant(check_on, 11), services.submit_inspection, visit.supervisor, again,
                answers={finding.item.code: "pass"})
        return
    _rectify(finding, visit, min(today - timedelta(days=1), max(first, finding.deadline - timedelta(days=2))))
    if state == "reinspection":
        services.schedule_reinspection(scheduler, finding, supervisor=visit.supervisor,
                                       planned_on=today + timedelta(days=1))


def _states(findings: list, today: date) -> list[str]:
    """Past their deadline: all closed but the latest, overdue (one straggler keeps the branch's
    overdue share plausible); within it: open, rectified and waiting, re-inspection scheduled, in turn."""
    past = sorted((f for f, _v in findings if f.deadline < today), key=lambda f: (f.deadline, f.pk))
    overdue = {f.pk for f in past[-1:]}
    coming = ("open", "rectified", "reinspection")
    out, n = [], 0
    for f, _v in findings:
        if f.deadline < today:
            out.append("overdue" if f.pk in overdue else "closed")
        else:
            out.append(coming[n % 3])
            n += 1
    return out


def build_demo_inspections(stdout=None, *, today: date | None = None, branch_code: str = BRANCH["code"]) -> dict:
    """The demo year's inspections (see the section's comment). Idempotent: a branch whose outlets were
    inspected is left as it is."""
    from branchops.org.models import Level
    from branchops.service.models import Inspection

    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None:
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    if Inspection.objects.filter(outlet__path__startswith=branch.path).exists():
        return {"status": "already present"}
    _say(stdout, _("Inspections: a visit per outlet and quarter, findings and rectifications …"))
    today = today or clock.today()
    scheduler, _publisher = _secretariat(branch)
    branch_sups, sub_sups, heads = _inspection_people(branch)
    if not branch_sups and not sub_sups:
        return {"status": "no service supervisors"}  # nobody to inspect: nothing made up
    outlets = list(Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET, is_active=True)
                   .order_by("code"))
    rng = random.Random(SEED + 14)
    stats = {"inspections": 0, "findings": 0, "open": 0, "overdue": 0, "rectified": 0, "reinspection": 0,
             "closed": 0, "scheduled": 0}
    # Some outlets are weaker than others, steadily: their visits fail more items.
    weakness = {o.pk: rng.choice((0.01, 0.02, 0.03, 0.05, 0.08)) for o in outlets}
    found = []
    for n, (year, quarter) in enumerate(demo_quarters(today)):
        start, end = services.quarter_bounds(year, quarter)
        end = min(end, today - timedelta(days=4))
        for k, outlet in enumerate(outlets):
            if outlet.pk not in heads or end <= start:
                continue
            kind = INSPECTION_TYPES[(k + n) % 3]
            sups = [s for s in (sub_sups.get(outlet.parent_id), *branch_sups) if s is not None]
            if not sups:
                continue
            # Mystery shoppers come from the branch (the sub-branch's supervisor is known at the outlet).
            supervisor = rng.choice(branch_sups if kind == "mystery" and branch_sups else sups)
            day = start + timedelta(days=rng.randint(min(7, (end - start).days), (end - start).days))
            visit = _Visit(outlet, heads[outlet.pk], supervisor, kind, day)
            done = _visit(visit, scheduler, rng, weakness[outlet.pk])
            found += [(f, visit) for f in done.findings.select_related("item", "rectification", "inspection")]
    # Three visits of the last days, each with a post found empty: findings still within their deadline.
    for outlet in [o for o in outlets if o.pk in heads][6:9]:
        sups = [s for s in (sub_sups.get(outlet.parent_id), *branch_sups) if s is not None]
        if not sups:
            continue
        visit = _Visit(outlet, heads[outlet.pk], sups[0], "on_site", today - timedelta(days=3))
        done = _visit(visit, scheduler, rng, 0.0, fail=("l2",))
        found += [(f, visit) for f in done.findings.select_related("item", "rectification", "inspection")]
    stats["inspections"] = Inspection.objects.filter(outlet__path__startswith=branch.path).count()
    for (finding, visit), state in zip(found, _states(found, today), strict=True):
        _follow_up(finding, visit, scheduler, rng, today, state)
        stats["findings"] += 1
        stats[state] += 1
    for k, outlet in enumerate(outlets[:6]):  # the coming days' visits
        kind = INSPECTION_TYPES[k % 3]
        supervisor = branch_sups[k % len(branch_sups)] if branch_sups else sub_sups.get(outlet.parent_id)
        if supervisor is None:
            continue
        services.schedule_inspection(scheduler, outlet=outlet, supervisor=supervisor,
                                     planned_on=today + timedelta(days=2 + k), inspection_type=kind)
        stats["scheduled"] += 1
    stats["inspections"] = Inspection.objects.filter(outlet__path__startswith=branch.path).count()
    return {"status": "created", **stats, "seconds": round(time.monotonic() - started, 1)}
