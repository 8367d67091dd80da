"""Demo quarterly briefing: one issued and approved briefing for the last complete quarter, through the
services, after the grading published it. Its figures are the demo's own (the published run's ranking,
the quarter's complaints, inspections and queue figures, read by the briefing's queries); the cases are
picked from that run — the best-ranked outlet as the positive case, the lowest-ranked as the negative
one. Drafted by the ``secretariat`` account ten days after the run was published, issued the next day
and approved by the branch leader (``leader``) two days later, each on its date.

Idempotent: a branch that already has a briefing for the quarter is left as it is.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from branchops.core import clock
from branchops.org.models import Institution
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.briefing_models import Briefing
from branchops.service.models import GradingRun

from .data import BRANCH, _say, call_at

SUMMARY = ("本季度全辖网点服务总体平稳。服务等级评价、投诉受理与处理、服务检查情况通报如下，"
           "请各网点对照排名和典型案例查找差距，限期整改。")


def build_demo_briefing(stdout=None, *, branch_code: str = BRANCH["code"]) -> dict:
    branch = Institution.objects.filter(code=branch_code).first()
    run = (GradingRun.objects.filter(branch=branch, status=GradingRun.Status.PUBLISHED)
           .order_by("-year", "-quarter").first()) if branch else None
    if run is None:
        return {"status": "no published quarter"}
    if Briefing.objects.filter(branch=branch, year=run.year, quarter=run.quarter).exists():
        return {"status": "already present"}
    _say(stdout, _("Service briefing: the last complete quarter …"))
    users = get_user_model().objects.filter(is_active=True, staff__institution=branch)
    secretariat = users.filter(username="secretariat").first() or users.filter(groups__name=Role.SECRETARIAT).first()
    leader = users.filter(username="leader").first() or users.filter(groups__name=Role.BRANCH_LEADER).first()
    if secretariat is None or leader is None:
        raise ValueError("The demo briefing needs the secretariat and a branch leader.")
    drafted = min(clock.now() - timedelta(days=3), run.published_at + timedelta(days=10))
    briefing = call_at(drafted, services.create_briefing, secretariat, branch=branch, year=run.year,
                       quarter=run.quarter, summary=SUMMARY)
    graded = list(run.grades.exclude(rank=None).select_related("outlet").order_by("rank"))
    if graded:
        best, worst = graded[0], graded[-1]
        briefing = call_at(drafted, services.add_case, secretariat, briefing, kind="positive", outlet=best.outlet,
                           title="厅堂服务规范、客户满意度高",
                           text=f"{best.outlet.name}本季度服务等级评价排名第{best.rank}，大堂经理主动引导分流，"
                                f"厅堂1号、2号岗始终有人，客户等候时间明显缩短。")
        briefing = call_at(drafted, services.add_case, secretariat, briefing, kind="negative", outlet=worst.outlet,
                           title="服务规范执行不到位",
                           text=f"{worst.outlet.name}本季度排名第{worst.rank}，检查发现离岗未放置暂停服务牌、"
                                f"未执行唱收唱付等问题，已限期整改。")
    briefing = call_at(drafted + timedelta(days=1), services.issue_briefing, secretariat, briefing)
    briefing = call_at(drafted + timedelta(days=3), services.approve_briefing, leader, briefing)
    return {"status": "created", "quarter": briefing.label, "number": briefing.document.number}
