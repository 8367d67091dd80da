"""Demo service grading: the demo year's quarters graded for every demo outlet through the services.

The quarters are the last four that started within the demo year (``queueing.demo_year``): those that
have ended are opened ten days after their end, reviewed by the ``secretariat`` account and published by
another member of the secretariat (four eyes) — grade D opens its rectification case then; a quarter
still running stays a draft. Inputs come from the demo's queue logs and complaints; what BranchOps
does not hold yet (teller evaluators, surveys, inspections) is missing and the scheme's rule
re-normalises the weights — shown as missing, never made up. Outlets with no queue data in a quarter
(the demo simulates the full year for a few outlets only) are shown as not graded.

Idempotent: a branch that already has runs is left as it is.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org.models import Institution
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.models import GradingRun

from .data import BRANCH, _say, call_at
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
    graded = sum(r.grades.exclude(grade="").count() for r in runs)
    return {"status": "created", "runs": len(runs), "published": sum(r.status == "published" for r in runs),
            "graded": graded, "seconds": round(time.monotonic() - started, 1)}
