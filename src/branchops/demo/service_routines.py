"""Demo outlet routines (seed 003: equipment checks, emergency drills; seed 001: convenience facilities,
the winter-temperature campaign): four plans over the demo branch, each outlet doing its checks on or
just after the due day through the services. About one check in twelve fails and opens its support
request or rectification; the outlet (rectifications) or the secretariat (support requests) resolves
them within days, so only the last week's few stay open and none is overdue. Two outlets have not yet
done their latest equipment check, so the overdue list is not empty. Deterministic, idempotent."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.cases import services as cases
from branchops.cases.models import CaseType, Outcome
from branchops.org.models import Institution
from branchops.org.roles import Role
from branchops.service import routines
from branchops.service.routinebook import RoutineCheck, RoutinePlan
from branchops.service.services import template_items

from .data import BRANCH, _say, anchor, call_at

PLANS = [  # name, kind, every (days), first due (days before today)
    ("网点设备月度检查（空调、饮水机、自助设备、线路）", "equipment", 30, 65),
    ("便民设施月度检查（轮椅、爱心雨伞、急救药箱）", "facilities", 30, 50),
    ("网点应急预案演练（季度）", "drill", 90, 100),
    ("冬季营业厅温度与空气质量专项检查", "environment", 7, 20),
]
FAIL_SHARE = 0.08
SCENARIOS = ["火灾疏散", "抢劫应急处置", "停电应急", "客户突发疾病救助", "系统故障应急"]


def _doers(branch) -> dict:
    users = (get_user_model().objects.filter(is_active=True, groups__name__in=[Role.OUTLET_HEAD, Role.OUTLET_STAFF],
                                             staff__institution__path__startswith=branch.path)
             .select_related("staff").order_by("username"))
    out: dict[int, list] = {}
    for u in users:
        out.setdefault(u.staff.institution_id, []).append(u)
    return out


def _settle(case, head, sec, day) -> None:
    """The outlet puts a rectification right; the secretariat answers a support request."""
    from branchops.core import clock

    at = clock.instant(day, 16)
    if case.case_type == CaseType.RECTIFICATION:
        call_at(at, cases.submit_evidence, head, case, _("Put right; photos attached."))
        call_at(at, cases.resolve_case, head, case, outcome=Outcome.RESOLVED, resolution=_("Put right."))
    else:
        call_at(at, cases.resolve_case, sec, case, outcome=Outcome.RESOLVED, resolution=_("Repaired or supplied."))


def build_demo_routines(stdout=None, *, branch_code: str = BRANCH["code"]) -> dict:
    from branchops.core import clock

    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None:
        raise ValueError("The demo organisation is missing: run build_demo() first.")
    if RoutinePlan.objects.filter(scope=branch).exists():
        _say(stdout, _("Outlet routines: already present, skipped …"))
        return {"status": "already present"}
    _say(stdout, _("Outlet routines: plans, checks, failures as cases …"))
    today = anchor().date()
    sec = (get_user_model().objects.filter(groups__name=Role.SECRETARIAT, staff__institution=branch, is_active=True)
           .order_by("username").first())
    doers = _doers(branch)
    rng = random.Random(f"routines-{branch_code}")
    lagging = set()
    done = failed = 0
    for name, kind, every, back in PLANS:
        start = today - timedelta(days=back)
        plan = call_at(clock.instant(start - timedelta(days=3), 9), routines.create_plan, sec, name=name, kind=kind,
                       scope=branch, frequency_days=every, starts_on=start)
        if kind == "equipment":
            lagging = set(plan.checks.order_by("outlet__code").values_list("outlet_id", flat=True)[:2])
        while True:
            due = list(RoutineCheck.objects.filter(plan=plan, status=RoutineCheck.Status.DUE, due__lt=today)
                       .select_related("outlet", "template", "plan").order_by("due", "outlet__code"))
            if not due:
                break
            for check in due:
                people = doers.get(check.outlet_id)
                last_round = check.due + timedelta(days=every) >= today
                if not people or (kind == "equipment" and last_round and check.outlet_id in lagging):
                    check.status = "skip"  # left overdue on purpose (or nobody at the outlet to do it)
                    continue
                day = min(today - timedelta(days=1), check.due + timedelta(days=rng.randint(0, 1)))
                items = template_items(check.template)
                answers = {i.code: ("na" if i.na_allowed and rng.random() < 0.05 else "pass") for i in items}
                extra = {}
                if rng.random() < FAIL_SHARE:
                    bad = rng.choice([i for i in items if not i.veto])
                    answers[bad.code] = "fail"
                    extra["issues"] = _("%(item)s: not as required.") % {"item": bad.text}
                if kind == "drill":
                    extra |= {"scenario": rng.choice(SCENARIOS), "participants": "、".join(u.staff.name for u in people),
                              "issues": extra.get("issues", "")}
                if kind == "environment":
                    cold = answers.get("e1") == "fail"
                    extra["reading"] = Decimal(str(round(rng.uniform(15.5, 17.8) if cold else rng.uniform(18.5, 23), 1)))
                result = call_at(clock.instant(day, 10 + rng.randint(0, 6)), routines.submit_check, people[0], check,
                                 answers=answers, **extra)
                done += 1
                if result.case_id:
                    failed += 1
                    fixed = day + timedelta(days=rng.randint(1, 4))
                    if fixed < today:  # the last days' failures are still being handled (within their due date)
                        _settle(result.case, people[0], sec, fixed)
            if all(getattr(c, "status", "") == "skip" for c in due):
                break
    overdue = RoutineCheck.objects.filter(plan__scope=branch, status=RoutineCheck.Status.DUE, due__lt=today).count()
    _say(stdout, _("Outlet routines: %(done)s checks done, %(failed)s failed, %(overdue)s overdue.")
         % {"done": done, "failed": failed, "overdue": overdue})
    return {"status": "created", "done": done, "failed": failed, "overdue": overdue,
            "seconds": round(time.monotonic() - started, 1)}
