"""The coordination journey through the services, and every guard."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.coordination import queries, services
from branchops.coordination.models import Condition, ItemStatus, Meeting
from branchops.core import clock
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkOrder
from branchops.dispatch.queries import visible_work_orders
from tests.coordination.conftest import hold, ready


def lines(b, dept_code, concern=False, text=""):
    code = {"ICC": "compliance", "LEGAL": "consumer_rights"}[dept_code]
    return [{"dimension": b.dim[code], "concern": concern, "text": text, "proposed_condition": ""}]


def test_draft_resolves_outlets_and_submit_runs_precheck(draft, coord_bank):
    item = draft()
    assert item.status == ItemStatus.DRAFT and item.outlets.count() == 3
    item = services.submit_item(coord_bank.users["pfb1"], item)
    assert item.status == ItemStatus.SUBMITTED and item.meeting is not None
    codes = {f["code"] for f in item.precheck}
    assert {"no_script", "no_training", "no_emergency_plan"} <= codes
    assert item.opinions.count() == 2  # ICC and LEGAL are review departments


def test_only_own_department_submits(draft, coord_bank):
    with pytest.raises(PermissionDenied):
        services.save_item(coord_bank.users["staff11"], title="x")


@pytest.mark.date_sensitive
def test_full_journey(draft, coord_bank, django_capture_on_commit_callbacks):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    # Reviewers: ICC has a concern, LEGAL none.
    with pytest.raises(ValidationError):
        services.give_opinion(b.users["icc1"], item, recommendation="approve",
                              lines=lines(b, "ICC", True, "需补充风险提示"))
    services.give_opinion(b.users["icc1"], item, recommendation="conditional",
                          lines=lines(b, "ICC", True, "需补充风险提示"))
    services.give_opinion(b.users["legal1"], item, recommendation="approve", lines=lines(b, "LEGAL"))
    assert not services.is_consent(item)
    meeting = item.meeting
    with pytest.raises(ValidationError):  # agenda not frozen yet
        services.record_decision(b.users["sec1"], item, "approved")
    services.freeze_agenda(b.users["sec1"], meeting)
    hold(b, meeting)
    item.refresh_from_db()
    item = services.record_decision(b.users["sec1"], item, "conditional", conditions=[
        {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术文本"}])
    assert item.status == ItemStatus.CONDITIONAL and not item.approval_number
    with pytest.raises(ValidationError):  # nothing released without a number
        services.release_item(b.users["sec1"], item)
    cond = item.conditions.get()
    with pytest.raises(PermissionDenied):
        services.report_condition_met(b.users["icc1"], cond, "x")
    services.report_condition_met(b.users["pfb1"], cond, "已上传修订话术")
    stats = queries.statistics(b.users["sec1"])
    assert (stats["conditions_open"], stats["conditions_overdue"], stats["work_orders"]) == (1, 0, 0)
    services.sign_off_condition(b.users["sec1"], Condition.objects.get(pk=cond.pk))
    item.refresh_from_db()
    year = clock.today().year
    assert item.status == ItemStatus.APPROVED and item.approval_number == f"运统〔{year}〕第001号"
    assert services.verify_number(item.approval_number)["status"] == "valid"
    assert services.verify_number("运统〔2026〕第999号")["status"] == "unknown"
    release = services.release_item(b.users["sec1"], item)
    assert release.work_orders.count() == 3
    wo = WorkOrder.objects.get(item=item, institution=b.o11)
    with pytest.raises(PermissionDenied):
        dispatch.complete_work_order(b.users["head11"], WorkOrder.objects.get(item=item, institution=b.o21), "x")
    dispatch.acknowledge_work_order(b.users["head11"], wo)
    dispatch.complete_work_order(b.users["head11"], WorkOrder.objects.get(pk=wo.pk), "已完成培训与推广")
    stats = queries.statistics(b.users["sec1"])
    assert stats["decided"] == 1 and stats["work_orders_done"] == 1
    assert (stats["items"], stats["conditions_open"], stats["work_orders"], stats["work_orders_done_on_time"]) \
        == (1, 0, 3, 1)
    assert {d["decision"]: d["count"] for d in stats["by_decision"]} == \
        {"approved": 0, "conditional": 1, "rejected": 0}


def test_editing_after_opinion_marks_it_stale(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    services.give_opinion(b.users["legal1"], item, recommendation="approve", lines=lines(b, "LEGAL"))
    item.refresh_from_db()
    services.save_item(b.users["pfb1"], item, effort_hours=6)
    assert item.opinions.get(department=b.legal).is_stale


def test_consent_block_and_rejection_then_revision(draft, coord_bank):
    b = coord_bank
    ok = services.submit_item(b.users["pfb1"], draft(title="无异议事项"))
    bad = services.submit_item(b.users["pfb1"], draft(title="有问题的事项"))
    for it in (ok, bad):
        services.give_opinion(b.users["legal1"], it, recommendation="approve", lines=lines(b, "LEGAL"))
    services.give_opinion(b.users["icc1"], ok, recommendation="approve", lines=lines(b, "ICC"))
    services.give_opinion(b.users["icc1"], bad, recommendation="reject", lines=lines(b, "ICC", True, "违规"))
    ok.refresh_from_db()
    services.freeze_agenda(b.users["sec1"], ok.meeting)
    hold(b, ok.meeting)
    decided = services.decide_consent_block(b.users["sec1"], ok.meeting)
    assert [i.pk for i in decided] == [ok.pk]
    bad.refresh_from_db()
    with pytest.raises(ValidationError):
        services.record_decision(b.users["sec1"], bad, "rejected")  # reasons required
    bad = services.record_decision(b.users["sec1"], bad, "rejected", reasons="不具备落地条件")
    new = services.revise_item(b.users["pfb1"], bad)
    assert new.previous == bad and new.revision == 2 and new.status == ItemStatus.DRAFT
    with pytest.raises(ValidationError):
        services.save_item(b.users["pfb1"], bad, title="改")  # a decided item is fixed


@pytest.mark.date_sensitive
def test_late_item_needs_urgent_reason(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    frozen = services.freeze_agenda(b.users["sec1"], item.meeting)
    other = services.submit_item(b.users["pfb1"], draft(title="迟到事项"))
    assert other.meeting != frozen
    with pytest.raises(ValidationError):
        services.schedule_item(b.users["sec1"], other, frozen)
    services.schedule_item(b.users["sec1"], other, frozen, reason="监管要求本周落地")
    other.refresh_from_db()
    assert other.meeting == frozen and other.urgent_addition_reason


def test_stale_decision_loses(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    item = ready(b, item)
    shown = item.version
    services.record_decision(b.users["sec1"], item, "approved", expected_version=shown)
    with pytest.raises(ValidationError):
        services.record_decision(b.users["sec1"], item, "rejected", reasons="x", expected_version=shown)


@pytest.mark.date_sensitive
def test_meeting_numbering_and_close_guard(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    m = item.meeting
    assert m.sequence == 1 and m.held_on.weekday() == 2 and m.status == Meeting.Status.PLANNED
    services.freeze_agenda(b.users["sec1"], m)
    with pytest.raises(ValidationError):
        services.close_meeting(b.users["sec1"], m)
    later = services.defer_item(b.users["sec1"], item)
    assert later.meeting.sequence == 2
    services.close_meeting(b.users["sec1"], m)


def test_over_capacity_release_needs_reason(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft(effort_hours=200))
    assert any(f["code"] == "over_capacity" for f in item.precheck)
    item = ready(b, item)
    item = services.record_decision(b.users["sec1"], item, "approved")
    with pytest.raises(ValidationError) as exc:
        services.release_item(b.users["sec1"], item)
    assert "override_reason" in exc.value.message_dict
    services.release_item(b.users["sec1"], item, override_reason="监管限时要求")
    assert WorkOrder.objects.filter(item=item).count() == 3


def test_outlet_problem_opens_feedback_case(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    item = ready(b, item)
    item = services.record_decision(b.users["sec1"], item, "approved")
    services.release_item(b.users["sec1"], item)
    wo = WorkOrder.objects.get(item=item, institution=b.o11)
    case = dispatch.raise_problem(b.users["head11"], wo, "宣传物料未送达")
    assert case.case_type == "feedback" and case.links.get().object_id == str(item.pk)
    from branchops.cases.queries import visible_cases

    assert visible_cases(b.users["sec1"]).filter(pk=case.pk).exists()


def test_scope_of_items(draft, coord_bank):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    assert queries.visible_items(b.users["icc1"]).filter(pk=item.pk).exists()  # asked for an opinion
    assert not queries.visible_items(b.users["staff11"]).filter(pk=item.pk).exists()  # not decided
    assert queries.visible_items(b.users["sec1"]).filter(pk=item.pk).exists()
    assert visible_work_orders(b.users["staff11"]).count() == 0


@pytest.mark.date_sensitive
def test_conditions_reminded_when_due_and_escalated_when_overdue_once_each(
        draft, coord_bank, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from branchops.core.models import Notification
    from branchops.core.workdays import add_working_days

    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    item = ready(b, item)
    services.record_decision(b.users["sec1"], item, "conditional", conditions=[
        {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术文本"}])
    cond = item.conditions.get()
    owner, secretary = b.users["pfb1"], b.users["sec1"]

    def notices(user):
        return Notification.objects.filter(recipient=user, url=item.get_absolute_url()).count()

    before = notices(owner), notices(secretary)
    far = cond.due_date - timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_conditions(far) == 0  # not due yet
    day_before = cond.due_date - timedelta(days=1)
    assert add_working_days(day_before, services.CONDITION_REMIND_WORKING_DAYS) >= cond.due_date
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_conditions(day_before) == 1
        assert services.check_conditions(day_before) == 0
    assert notices(owner) == before[0] + 1 and notices(secretary) == before[1]  # the owner is reminded
    late = cond.due_date + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_conditions(late) == 1
        assert services.check_conditions(late) == 0
    assert notices(owner) == before[0] + 2 and notices(secretary) == before[1] + 1  # escalated to both
    cond.refresh_from_db()
    assert cond.reminded_at and cond.escalated_at
