"""The case engine's rules: opening, transitions, guards, SLA dates, pauses, extensions, scope."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.cases import queries, rules, services
from branchops.cases.models import Case, CaseType, Category, ComplaintDetail, Extension, Status
from branchops.core.models import Notification

from .conftest import at


@pytest.mark.clock_at("2026-09-16")
def test_open_complaint_numbers_owner_and_deadlines(complaint, cases_bank):
    case = complaint(received=at(2026, 9, 16))
    assert case.number == "TS-2026-000001"
    assert case.first_contact_owner == cases_bank.users["staff11"]
    assert case.assignee == cases_bank.users["staff11"]  # 首问负责: who received it handles it first
    assert case.status == Status.NEW
    # Policy: response 1 working day, resolution 10 working days, decision 15 calendar days.
    assert case.response_due == date(2026, 9, 17)
    # 10 working days: 17, 18, 20 (make-up Sunday), 21–24, (25 is Mid-Autumn) 28, 29, 30 September.
    assert case.resolution_due == date(2026, 9, 30)
    # 16 Sep + 15 days = 1 Oct, National Day: rolls to the first working day after, 8 October.
    assert case.decision_due == date(2026, 10, 8)
    assert complaint().number == "TS-2026-000002"


def test_complaint_needs_complainant_and_channel(cases_bank):
    with pytest.raises(ValidationError) as exc:
        services.open_case(cases_bank.users["staff11"], case_type=CaseType.COMPLAINT, institution=cases_bank.o11,
                           title="x", channel="outlet", complaint={})
    assert {"channel", "complainant_name"} <= set(exc.value.message_dict)
    assert Case.objects.count() == 0


def test_outlet_cannot_open_case_for_another_outlet(cases_bank):
    with pytest.raises(ValidationError) as exc:
        services.open_case(cases_bank.users["staff11"], case_type=CaseType.FEEDBACK, institution=cases_bank.o21,
                           title="不是我的网点")
    assert "institution" in exc.value.message_dict


@pytest.mark.clock_at("2026-11-23")
def test_support_request_routes_to_category_department(cases_bank):
    cat = Category.objects.get(case_type=CaseType.SUPPORT, code="REPAIR-ATM")
    case = services.open_case(cases_bank.users["staff11"], case_type=CaseType.SUPPORT, institution=cases_bank.o11,
                              title="ATM 吞卡", category=cat, received_at=at(2026, 11, 23))
    assert case.assignee_department == cases_bank.fintech
    assert case.sla_policy.name == "设备维修"  # inherited from the parent category
    assert case.resolution_due == date(2026, 11, 26)
    # The department sees it; another outlet does not.
    assert queries.visible_cases(cases_bank.users["ft1"]).filter(pk=case.pk).exists()
    assert not queries.visible_cases(cases_bank.users["staff21"]).filter(pk=case.pk).exists()


def test_feedback_goes_to_secretariat_and_is_triaged(cases_bank):
    b = cases_bank
    case = services.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12,
                              title="新系统上线无操作指引")
    assert case.assignee_department == b.ops
    with pytest.raises(PermissionDenied):
        services.triage_feedback(b.users["staff12"], case, "to_meeting")
    case = services.triage_feedback(b.users["sec1"], case, "to_meeting", note="提交第12期运营沟通会")
    # On the next meeting's agenda (tests/coordination/test_feedback.py): open until the answer is done.
    assert case.status == Status.IN_PROGRESS and case.outcome == ""


def test_transitions_are_guarded(complaint, cases_bank):
    b = cases_bank
    case = complaint()
    with pytest.raises(ValidationError):
        services.close_case(b.users["staff11"], case)  # not resolved yet
    with pytest.raises(ValidationError) as exc:
        services.resolve_case(b.users["staff11"], case, outcome="resolved", resolution="")
    assert "resolution" in exc.value.message_dict
    case = services.accept_case(b.users["staff11"], case)
    assert case.status == Status.ACCEPTED and case.responded_at
    case = services.resolve_case(b.users["staff11"], case, outcome="resolved", resolution="已致歉并优化叫号")
    with pytest.raises(ValidationError):  # no close without call-back
        services.close_case(b.users["staff11"], case)
    services.record_callback(b.users["staff11"], case, "satisfied", "客户表示满意")
    case = services.close_case(b.users["staff11"], case)
    assert case.status == Status.CLOSED
    case = services.reopen_case(b.users["head11"], case, "客户再次来电")
    assert case.status == Status.IN_PROGRESS and case.outcome == ""


def test_on_the_spot_resolution_closes_without_callback(complaint, cases_bank):
    u = cases_bank.users["staff11"]
    case = services.resolve_case(u, complaint(), outcome="on_the_spot", resolution="现场解释，客户接受")
    assert services.close_case(u, case).status == Status.CLOSED


def test_cancel_needs_reason(complaint, cases_bank):
    case = complaint()
    with pytest.raises(ValidationError):
        services.cancel_case(cases_bank.users["staff11"], case, " ")
    assert services.cancel_case(cases_bank.users["staff11"], case, "重复登记").status == Status.CANCELLED


def test_stale_version_is_refused(complaint, cases_bank):
    case = complaint()
    shown = case.version
    services.accept_case(cases_bank.users["head11"], case, expected_version=shown)
    with pytest.raises(ValidationError):
        services.start_case(cases_bank.users["staff11"], case, expected_version=shown)


def test_assignment_stays_in_the_case_line(complaint, cases_bank, django_capture_on_commit_callbacks):
    b = cases_bank
    case = complaint()
    with pytest.raises(ValidationError):
        services.assign_case(b.users["head11"], case, assignee=b.users["staff21"])  # another sub-branch
    with django_capture_on_commit_callbacks(execute=True):
        case = services.assign_case(b.users["head11"], case, department=b.cpp)
    assert case.assignee_department == b.cpp
    assert Notification.objects.filter(recipient=b.users["staff11"]).exists()  # first-contact owner told
    # The first-contact owner still sees it; the CPP department now does too.
    assert queries.visible_cases(b.users["staff11"]).filter(pk=case.pk).exists()
    assert queries.visible_cases(b.users["cpp1"]).filter(pk=case.pk).exists()


def test_outsider_cannot_work_on_case(complaint, cases_bank):
    case = complaint()
    with pytest.raises(PermissionDenied):
        services.accept_case(cases_bank.users["staff21"], case)
    with pytest.raises(PermissionDenied):
        services.accept_case(cases_bank.users["leader1"], case)  # read-only role


@pytest.mark.clock_at("2026-11-10")
def test_pause_and_resume_shift_the_deadline(complaint, cases_bank):
    u = cases_bank.users["head11"]
    case = complaint(received=at(2026, 11, 2))  # Monday
    assert case.resolution_due == date(2026, 11, 16)
    case = services.pause_clock(u, case, "等待外部鉴定", on=date(2026, 11, 4))
    assert case.resolution_due is None and case.paused_since == date(2026, 11, 4)
    with pytest.raises(ValidationError):
        services.pause_clock(u, case, "again")
    with pytest.raises(ValidationError):
        services.resolve_case(u, case, outcome="resolved", resolution="x")
    case = services.resume_clock(u, case, on=date(2026, 11, 9))  # 4,5,6 Nov paused: 3 working days
    assert case.resolution_due == date(2026, 11, 19)
    # 17 Nov + 5 paused calendar days (4–8 Nov) = Sunday 22 Nov, rolled to Monday 23 Nov.
    assert case.decision_due == date(2026, 11, 23)


@pytest.mark.clock_at("2026-11-10")
def test_restart_on_new_facts(complaint, cases_bank):
    case = complaint(received=at(2026, 11, 2))
    case = services.restart_clock(cases_bank.users["head11"], case, "客户补充新证据", on=date(2026, 11, 10))
    assert case.clock_start == date(2026, 11, 10) and case.decision_due == date(2026, 11, 25)


@pytest.mark.clock_at("2026-11-03")
def test_particularly_complex_needs_senior_approval_and_customer_notice(complaint, cases_bank):
    b = cases_bank
    case = complaint(received=at(2026, 11, 2))
    case = services.set_complexity(b.users["head11"], case, ComplaintDetail.Complexity.COMPLEX)
    assert case.decision_due == date(2026, 12, 2)
    with pytest.raises(PermissionDenied):
        services.set_complexity(b.users["head11"], case, ComplaintDetail.Complexity.PARTICULARLY_COMPLEX,
                                customer_notified=True)
    with pytest.raises(ValidationError):
        services.set_complexity(b.users["sec1"], case, ComplaintDetail.Complexity.PARTICULARLY_COMPLEX)
    case = services.set_complexity(b.users["sec1"], case, ComplaintDetail.Complexity.PARTICULARLY_COMPLEX,
                                   customer_notified=True)
    assert case.decision_due == date(2027, 1, 4)  # 1 Jan 2027 + roll past the New Year holiday/weekend


@pytest.mark.clock_at("2026-11-03")
def test_regulator_deadline_wins_when_earlier(complaint, cases_bank):
    case = complaint(received=at(2026, 11, 2), channel="regulator",
                     complaint={"regulator_reference": "深金管投〔2026〕88号", "regulator_due": date(2026, 11, 10)})
    assert case.decision_due == date(2026, 11, 10)
    assert case.resolution_due == date(2026, 11, 10)


@pytest.mark.clock_at("2026-11-03")
def test_extension_needs_approval_from_above(complaint, cases_bank, django_capture_on_commit_callbacks):
    b = cases_bank
    case = complaint(received=at(2026, 11, 2))
    with pytest.raises(ValidationError):
        services.request_extension(b.users["head11"], case, 30, "太长")
    with django_capture_on_commit_callbacks(execute=True):
        ext = services.request_extension(b.users["head11"], case, 3, "等待监控调取")
    assert Notification.objects.filter(recipient=b.users["sec1"]).exists()
    with pytest.raises(PermissionDenied):
        services.decide_extension(b.users["head11"], ext, True)
    services.decide_extension(b.users["sec1"], ext, True, "同意")
    case.refresh_from_db()
    # 16 Nov + 3 working days is the 19th, but a complaint's target never passes the regulatory
    # decision deadline (2 Nov + 15 days = 17 Nov).
    assert case.resolution_due == date(2026, 11, 17)
    with pytest.raises(ValidationError):
        services.decide_extension(b.users["sec1"], Extension.objects.get(pk=ext.pk), False)


def test_major_complaint_fast_track(complaint, cases_bank, django_capture_on_commit_callbacks):
    b = cases_bank
    with django_capture_on_commit_callbacks(execute=True):
        complaint(is_major=True)
    assert Notification.objects.filter(recipient=b.users["leader1"], title__contains="TS-").exists()
    assert Notification.objects.filter(recipient=b.users["cpp1"]).exists()


def test_rectification_closes_only_after_verification(cases_bank):
    b = cases_bank
    case = services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                              title="神秘人检查：未执行八点服务法", channel="inspection",
                              rectification={"evidence_required": "整改后的现场照片与培训签到表"})
    u = b.users["head11"]
    case = services.resolve_case(u, case, outcome="resolved", resolution="已组织培训")
    with pytest.raises(ValidationError):
        services.close_case(u, case)
    with pytest.raises(ValidationError):  # no evidence yet
        services.verify_rectification(b.users["sb1mgr"], case, passed=True)
    services.submit_evidence(u, case, "培训签到表及照片已上传")
    with pytest.raises(PermissionDenied):
        services.verify_rectification(u, case, passed=True)
    services.verify_rectification(b.users["sb1mgr"], case, passed=True, note="复查合格")
    assert services.close_case(u, case).status == Status.CLOSED


def test_failed_verification_sends_it_back(cases_bank):
    b = cases_bank
    case = services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                              title="6S 不达标", channel="inspection", rectification={"evidence_required": "照片"})
    u = b.users["head11"]
    services.resolve_case(u, case, outcome="resolved", resolution="已整理")
    services.submit_evidence(u, case, "照片")
    case = services.verify_rectification(b.users["sb1mgr"], case, passed=False, note="柜台仍杂乱")
    assert case.status == Status.IN_PROGRESS


def test_pii_visibility(complaint, cases_bank):
    b = cases_bank
    case = complaint()
    assert rules.can_see_pii(b.users["staff11"], case)  # the first-contact owner
    assert rules.can_see_pii(b.users["head11"], case)
    assert not rules.can_see_pii(b.users["leader1"], case)


@pytest.mark.clock_at("2026-11-03")
def test_extension_moves_a_support_request(cases_bank):
    b = cases_bank
    cat = Category.objects.get(case_type=CaseType.SUPPORT, code="SUPPLY-FORMS")
    case = services.open_case(b.users["head11"], case_type=CaseType.SUPPORT, institution=b.o11, title="凭证不足",
                              category=cat, received_at=at(2026, 11, 2))
    assert case.resolution_due == date(2026, 11, 9)
    ext = services.request_extension(b.users["head11"], case, 3, "供应商缺货")
    services.decide_extension(b.users["sec1"], ext, True)
    case.refresh_from_db()
    assert case.resolution_due == date(2026, 11, 12)


def test_the_branch_leader_reads_cases_and_writes_nothing_in_them(cases_bank, complaint):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import translation

    b = cases_bank
    leader = b.users["leader1"]
    case = complaint()
    ext = services.request_extension(b.users["head11"], case, 5, "资料待补充")
    assert rules.can_view(leader, case)
    with translation.override("zh-hans"), pytest.raises(PermissionDenied, match="您的角色不能登记案件"):
        services.open_case(leader, case_type=CaseType.COMPLAINT, institution=b.o11, title="x", channel="on_site",
                           complaint={"complainant_name": "张三"})
    with pytest.raises(PermissionDenied):
        services.comment_case(leader, case, "领导批示")
    with pytest.raises(PermissionDenied):
        services.add_attachment(leader, case, SimpleUploadedFile("a.pdf", b"%PDF"))
    with pytest.raises(PermissionDenied):
        services.decide_extension(leader, ext, True)
    case.assignee = leader  # even assigned to them, a leader works on nothing
    assert not rules.can_manage(leader, case)
    assert Case.objects.count() == 1 and not case.comments.exists() and not case.attachments.exists()
    assert Extension.objects.get(pk=ext.pk).state == Extension.State.REQUESTED


def test_who_opens_which_case_type_is_refused_with_the_reason(cases_bank):
    from django.utils import translation

    b = cases_bank
    with translation.override("zh-hans"), pytest.raises(PermissionDenied, match="您的角色不能登记“整改”"):
        services.open_case(b.users["staff11"], case_type=CaseType.RECTIFICATION, institution=b.o11, title="x",
                           channel="inspection", rectification={"evidence_required": "照片"})
    with pytest.raises(PermissionDenied):
        services.open_case(b.users["sb1mgr"], case_type=CaseType.FEEDBACK, institution=b.o11, title="x")
    assert rules.opening_types(b.users["cpp1"]) == []  # a reviewer opens none
    assert not Case.objects.exists()
