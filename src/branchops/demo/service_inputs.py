"""Demo service inputs: teller numbers for the demo tellers, a year of teller-evaluator ratings, the
quarterly satisfaction survey and the call centre's daily figures, and the service targets of the year
(seed 004) — all through the services, as a user would import them (one import per kind and quarter,
so the import list shows who brought what).

Deterministic (seeded by outlet code and day). Ratings are a sample of about 30 a month per outlet,
so the evaluation rate (ratings ÷ served tickets) stays low and the grading marks satisfaction as
unreliable — the rule working, shown as it is. Idempotent: a branch that already has imports is left
as it is. Built before the grading so that the runs read these figures.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Institution, Level, Staff
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.inputs import InputImport

from .data import BRANCH, _say
from .queueing import demo_year

TARGETS = [  # metric, comparison, value, note (seed 004's targets of the service experience year)
    ("avg_wait_minutes", "at_most", "15", "网点客户平均等候时间缩短至15分钟以内"),
    ("call_answer_rate", "at_least", "0.90", "95599客服中心接通率达到90%"),
    ("call_20s_level", "at_least", "0.60", "20秒服务水平达到60%"),
    ("teller_satisfaction", "at_least", "0.90", "柜员服务评价满意度达到90%以上"),
    ("mystery_shopper_score", "at_least", "85", "神秘人检查得分平均提高2分以上"),
    ("complaints", "at_most", "150", "服务投诉量较上一年明显下降"),
    ("model_outlets", "at_least", "5", "创建文明规范服务示范网点"),
]


def _csv(rows: list[list]) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode("utf-8")


def _quarters(start: date, end: date) -> list[tuple[date, date]]:
    out, day = [], start
    while day <= end:
        q_end = services.quarter_bounds(day.year, (day.month - 1) // 3 + 1)[1]
        out.append((day, min(q_end, end)))
        day = q_end + timedelta(days=1)
    return out


def _tellers(outlets: list[Institution]) -> dict[str, list[str]]:
    """Give every active outlet teller a teller number (T + staff number) once; outlet code → numbers."""
    out: dict[str, list[str]] = {}
    for person in Staff.objects.filter(institution__in=outlets, is_active=True, post__code="teller").select_related(
            "institution"):
        if not person.teller_no:
            person = org.save_staff(None, person, teller_no=f"T{person.staff_no}"[:16])
        out.setdefault(person.institution.code, []).append(person.teller_no)
    return out


def _rating_rows(outlets, tellers, first: date, last: date, now) -> list[list]:
    rows = [["网点代码", "柜员号", "评价时间", "评价结果"]]
    for outlet in outlets:
        rng = random.Random(f"ratings-{outlet.code}-{first}")
        happy = 0.80 + 0.18 * random.Random(outlet.code).random()  # each outlet its own level
        numbers = tellers.get(outlet.code) or [f"T{outlet.code}X"]  # an unknown teller: kept as unmapped
        day = first
        while day <= last and clock.instant(day, 17) <= now:
            for _i in range(rng.randint(0, 2)):
                at = f"{day} {rng.randint(9, 16):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
                rating = rng.choice((4, 5)) if rng.random() < happy else rng.choice((1, 2, 3))
                rows.append([outlet.code, rng.choice(numbers), at, rating])
            day += timedelta(days=1)
    return rows


def _survey_rows(outlets, q_start: date) -> list[list]:
    quarter = f"{q_start.year}Q{(q_start.month - 1) // 3 + 1}"
    rows = [["网点代码", "期间", "得分", "样本量"]]
    for outlet in outlets:
        rng = random.Random(f"survey-{outlet.code}-{quarter}")
        rows.append([outlet.code, quarter, f"{rng.uniform(80, 97):.1f}", rng.randint(30, 120)])
    return rows


def _call_rows(first: date, last: date) -> list[list]:
    rows = [["日期", "呼入量", "接通量", "20秒内接通量"]]
    day = first
    while day <= last:
        rng = random.Random(f"calls-{day}")
        offered = rng.randint(3000, 5200)
        answered = int(offered * rng.uniform(0.85, 0.94))
        rows.append([day, offered, answered, int(offered * rng.uniform(0.52, 0.66))])
        day += timedelta(days=1)
    return rows


def build_demo_service_inputs(stdout=None, *, today: date | None = None, branch_code: str = BRANCH["code"]) -> dict:
    started = time.monotonic()
    branch = Institution.objects.filter(code=branch_code).first()
    if branch is None or InputImport.objects.filter(branch=branch).exists():
        return {"status": "skipped"}
    _say(stdout, _("Service inputs: teller ratings, surveys, call-centre figures and targets …"))
    secretariat = (get_user_model().objects.filter(groups__name=Role.SECRETARIAT, staff__institution=branch)
                   .order_by("username").first())
    outlets = list(Institution.objects.filter(path__startswith=branch.path, level=Level.OUTLET, is_active=True)
                   .order_by("code"))
    tellers = _tellers(outlets)
    first, last = demo_year(today)
    now = clock.now()
    added = 0
    for q_start, q_end in _quarters(first, last):
        for kind, rows in (("ratings", _rating_rows(outlets, tellers, q_start, q_end, now)),
                           ("call_centre", _call_rows(q_start, q_end)),
                           ("surveys", _survey_rows(outlets, q_start) if q_end == services.quarter_bounds(
                               q_start.year, (q_start.month - 1) // 3 + 1)[1] else None)):
            if not rows or len(rows) < 2:
                continue
            plan = services.import_inputs(secretariat, kind=kind, branch=branch, data=_csv(rows),
                                          file_name=f"{kind}-{q_start:%Y%m}.csv", dry_run=False)
            if not plan.ok:
                raise ValueError(f"demo {kind} import refused: {plan.errors[:3]}")
            added += len(plan.new)
    for year in sorted({first.year, last.year, clock.today().year}):
        for metric, comparison, value, note in TARGETS:
            services.save_target(secretariat, branch=branch, year=year, metric=metric, comparison=comparison,
                                 value=value, note=note)
    return {"status": "created", "rows": added, "seconds": round(time.monotonic() - started, 1)}
