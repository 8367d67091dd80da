"""Outlet feedback through the coordination meeting in the demo (统一收集、向上反映、协商解决): the
meeting answers each feedback entry on its agenda and names who follows up; the follow-up done
resolves the feedback case (``coordination.services.answer_feedback`` / ``complete_feedback``).

Shared by the demo cases (feedback-only meetings of the demo year) and the coordination demo (its
current meetings). Every call runs at its moment through ``data.call_at``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from branchops.cases import rules as case_rules
from branchops.cases import services as case_services
from branchops.coordination import services as coord
from branchops.coordination.models import FeedbackEntry, Meeting
from branchops.core.workdays import add_working_days

from .data import BRANCH, call_at

#: The five fixed review departments (their presence makes a meeting quorate, with the chair).
REVIEW_DEPARTMENTS = ["OFFICE", "ICC", "LEGAL", "ONLINE", "FINTECH"]

#: Who follows up feedback of each category (the department the meeting names), and what they did.
FOLLOW_UP = {
    "WORKLOAD": ("OPS", "由运行管理部统筹各部门下派任务节奏：同类任务合并下发，临时任务须经运营沟通会审议并取得批准文号。",
                 "已向各业务部门通报并合并同类任务，本周起临时任务一律经秘书处统筹后下发。"),
    "SYSTEM": ("FINTECH", "由金融科技部牵头排查系统问题，两周内给出修复方案并告知网点。",
               "已定位问题并完成版本修复，已通知网点验证。"),
    "PROCESS": ("ICC", "由内控合规部统一业务口径并发布操作指引。", "操作指引已发布，网点已组织学习。"),
    "CUSTOMER": ("CPP", "由消费者权益保护部制定专门服务方案。", "服务方案已下发网点执行。"),
    "FACILITY": ("OFFICE", "由办公室安排维修和更换。", "已完成维修和更换。"),
    "OTHER": ("OPS", "由运行管理部协调相关部门处理并答复网点。", "已协调处理并答复网点。"),
}


def answer_open_entries(meeting: Meeting, moment: datetime, secretary, departments: dict, people: dict,
                        rng: random.Random) -> list[tuple[datetime, FeedbackEntry, object, str]]:
    """At a held meeting: answer every open feedback entry, one after another from ``moment``.
    Returns the follow-ups to complete: (day, entry, who, note), the day before the follow-up is due."""
    follow_ups = []
    t = moment
    for entry in meeting.feedback_entries.filter(status=FeedbackEntry.Status.OPEN).select_related(
            "case__category").order_by("id"):
        code = entry.case.category.code if entry.case.category_id else "OTHER"
        dept_code, answer, done = FOLLOW_UP.get(code, FOLLOW_UP["OTHER"])
        dept = departments[dept_code]
        due = add_working_days(meeting_day(t), rng.randint(6, 10))
        t += timedelta(minutes=rng.randint(4, 10))
        entry = call_at(t, coord.answer_feedback, secretary, entry, answer=answer, follow_up_department=dept,
                        follow_up_due=due)
        person = rng.choice(people.get(dept_code) or [secretary])
        finished = add_working_days(meeting_day(t), rng.randint(2, 5))
        follow_ups.append((finished, entry, person, done))
    return follow_ups


def meeting_day(t: datetime) -> date:
    return timezone.localdate(t)


def raise_to_meeting(moment: datetime, secretary, case, note: str, now: datetime):
    """The secretariat raises feedback to the next meeting's agenda and, as a bank's secretariat
    would, asks for the policy's longest extension at once: the weekly meeting's answer and its
    follow-up take longer than the feedback's own deadline. Another member of the secretariat
    approves it (a few minutes later, as far as ``now``)."""
    call_at(moment, case_services.triage_feedback, secretary, case, "to_meeting", note=note)
    case.refresh_from_db()
    days = case.sla_policy.max_extension_days if case.sla_policy_id else 0
    approver = _approver(case, secretary)
    approve_at = moment + timedelta(minutes=15)
    if not days or approver is None or approve_at >= now:
        return
    ext = call_at(moment + timedelta(minutes=1), case_services.request_extension, secretary, case, days,
                  "已提交运营沟通会研究，待会议答复并跟进落实，申请顺延办理时限。")
    call_at(approve_at, case_services.decide_extension, approver, ext, True, "同意，按会议答复跟进落实。")


def _approver(case, requester):
    """The first member of the branch's secretariat (by staff number) who may decide the extension."""
    people = (get_user_model().objects.filter(is_active=True, staff__institution__code=BRANCH["code"],
                                              staff__department__code="OPS")
              .exclude(pk=requester.pk).order_by("staff__staff_no"))
    return next((u for u in people if case_rules.can_decide_extension(u, case)), None)
