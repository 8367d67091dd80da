"""The small seeded bank the authorisation matrix walks (tests/core/test_authorisation_matrix.py).

Every object is made through the services, as users would make it, so each route has a real id to
hit: cases of two outlets with a file and an extension waiting, items decided, released, waiting
and drafted, a condition, a meeting, work orders, a ticket import, an API token, a saved filter, a
published and a draft service-grading run and a scheme version not yet in force, imported
teller-evaluator ratings and a service target.

The users: one per role (``ROLES``) and, beside each, one of the same role outside its scope
(``OUT_OF_SCOPE``): another outlet, another sub-branch, another department, another branch (every review department of a branch reviews every item, so the
reviewer outside is another branch's).
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.cases import services as cases
from branchops.cases.defaults import load_complaint_codes, load_reference_data
from branchops.cases.models import CaseType, Category, ComplaintCode, SlaPolicy
from branchops.coordination import services as coordination
from branchops.coordination.models import ReviewDimension, ReviewRemit, ReviewRequirement
from branchops.coordination.models import Settings as CoordinationSettings
from branchops.core import clock
from branchops.core import services as core
from branchops.core.workdays import add_working_days
from branchops.org import services as org
from branchops.org.models import Level
from branchops.org.roles import Role
from branchops.queueing import services as queueing
from branchops.service import services as service
from branchops.service.models import GradingScheme, InputImport

from ..conftest import Org, ago, on_meeting_day

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# The user of each role inside the scope of the seeded work, and one of the same role outside it.
ROLES = {
    "sec1": Role.SECRETARIAT, "pfb1": Role.SUBMITTER, "icc1": Role.REVIEWER, "head11": Role.OUTLET_HEAD,
    "staff11": Role.OUTLET_STAFF, "sb1mgr": Role.SERVICE_SUPERVISOR, "leader1": Role.BRANCH_LEADER,
    "admin1": Role.ADMINISTRATOR,
}
OUT_OF_SCOPE = {
    "sec_gz": "sec1", "sub_cpp": "pfb1", "rev_gz": "icc1", "head21": "head11", "staff21": "staff11",
    "sb2mgr": "sb1mgr", "leader_gz": "leader1", "admin_gz": "admin1",
}
USERS = ["anon", *ROLES, *OUT_OF_SCOPE]


def _people(b: Org) -> None:
    b.gz = org.save_institution(None, code="GZ", name="广州分行", level=Level.TIER1_BRANCH, parent=b.ho)
    b.gz_ops = org.save_department(None, institution=b.gz, code="GZOPS", name="广州运行管理部",
                                   is_business=True, is_secretariat=True)
    b.pfb = org.save_department(None, institution=b.branch, code="PFB", name="个人金融业务部", is_business=True)
    b.cpp = org.save_department(None, institution=b.branch, code="CPP", name="消费者权益保护部", is_business=True)
    b.icc = org.save_department(None, institution=b.branch, code="ICC", name="内控合规部", is_review=True)
    b.gz_icc = org.save_department(None, institution=b.gz, code="GZICC", name="广州内控合规部", is_review=True)
    remit = ReviewRemit.objects.create(department=b.icc)
    remit.dimensions.set(ReviewDimension.objects.filter(code__in=["compliance"]))
    # Legal affairs covers consumer rights only (a review department without a remit covers everything).
    ReviewRemit.objects.create(department=b.legal).dimensions.set(ReviewDimension.objects.filter(code="consumer_rights"))
    for key, inst, role, dept, post in (
        ("admin1", b.branch, Role.ADMINISTRATOR, None, None),
        ("admin_gz", b.gz, Role.ADMINISTRATOR, None, None),
        ("sec1", b.branch, Role.SECRETARIAT, b.ops, None),
        ("sec2", b.branch, Role.SECRETARIAT, b.ops, None),  # publishes what sec1 reviewed (four eyes)
        ("sec_gz", b.gz, Role.SECRETARIAT, b.gz_ops, None),
        ("leader1", b.branch, Role.BRANCH_LEADER, None, None),
        ("leader_gz", b.gz, Role.BRANCH_LEADER, None, None),
        ("pfb1", b.branch, Role.SUBMITTER, b.pfb, None),
        ("sub_cpp", b.branch, Role.SUBMITTER, b.cpp, None),
        ("icc1", b.branch, Role.REVIEWER, b.icc, None),
        ("rev_gz", b.gz, Role.REVIEWER, b.gz_icc, None),
        ("head11", b.o11, Role.OUTLET_HEAD, None, b.head),
        ("head21", b.o21, Role.OUTLET_HEAD, None, b.head),
        ("staff11", b.o11, Role.OUTLET_STAFF, None, b.teller),
        ("staff12", b.o12, Role.OUTLET_STAFF, None, b.teller),
        ("staff21", b.o21, Role.OUTLET_STAFF, None, b.teller),
        ("sb1mgr", b.sb1, Role.SERVICE_SUPERVISOR, None, None),
        ("sb2mgr", b.sb2, Role.SERVICE_SUPERVISOR, None, None),
    ):
        b.person(key, inst, [role], department=dept, post=post)


def _cases(b: Org) -> None:
    u = b.users
    person = {"complainant_name": "张三", "complainant_phone": "13812345678"}
    b.case11 = cases.open_case(u["staff11"], case_type=CaseType.COMPLAINT, institution=b.o11, title="排队太久",
                               channel="on_site", complaint=person, received_at=ago(hours=2))
    b.case21 = cases.open_case(u["staff21"], case_type=CaseType.COMPLAINT, institution=b.o21, title="态度不好",
                               channel="on_site", complaint=person, received_at=ago(hours=3))
    b.rect11 = cases.open_case(u["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11, title="6S 不达标",
                               channel="inspection", rectification={"evidence_required": "照片"})
    b.feedback12 = cases.open_case(u["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12, title="叫号机故障")
    b.case_file = cases.add_attachment(u["staff11"], b.case11, SimpleUploadedFile("凭证.pdf", b"%PDF-1.4 x"))
    b.extension = cases.request_extension(u["head11"], b.case11, 5, "客户资料待补充")


def _item(b: Org, title: str, **extra):
    start = clock.today() + timedelta(days=14)
    fields = dict(title=title, item_type="new_business", background="新版本上线，需网点配合推广",
                  actions="向到店客户介绍新功能并协助下载", effort_hours=2, window_start=start,
                  window_end=start + timedelta(days=13), urgency="normal", customer_facing=False,
                  online_justification="新功能需要面对面指导老年客户完成首次登录，无法完全线上完成",
                  target_mode="list", target_list=[b.o11, b.o12, b.o21])
    fields.update(extra)
    return coordination.save_item(b.users["pfb1"], **fields)


def _coordination(b: Org) -> None:
    u = b.users
    released, conditional = _item(b, "手机银行推广"), _item(b, "理财双录检查")
    b.item_file = coordination.add_attachment(u["pfb1"], released, "script", SimpleUploadedFile("话术.txt", b"x"))
    released = coordination.submit_item(u["pfb1"], released)
    conditional = coordination.submit_item(u["pfb1"], conditional)
    b.meeting = released.meeting
    # The review gate of this small branch: its one review department (compliance) is the quorum and
    # every item type needs compliance; the leader chairs.
    CoordinationSettings.objects.filter(branch=b.branch).update(quorum_review_departments=1)
    for req in ReviewRequirement.objects.all():
        req.dimensions.set(ReviewDimension.objects.filter(code="compliance"))
    for item in (released, conditional):
        coordination.give_opinion(u["icc1"], item, recommendation="approve",
                                  lines=[{"dimension": ReviewDimension.objects.get(code="compliance"),
                                          "concern": False}])
    cases.triage_feedback(u["sec1"], b.feedback12, "to_meeting")  # a feedback entry of the meeting
    coordination.freeze_agenda(u["sec1"], b.meeting)
    b.waiting = coordination.submit_item(u["pfb1"], _item(b, "网点海报更换"))  # the next meeting's agenda
    b.draft = _item(b, "尚未提交的草稿")
    on_meeting_day(b.meeting)
    coordination.record_attendance(u["sec1"], b.meeting, [u["sec1"], u["icc1"], u["leader1"]], chair=u["leader1"])
    released.refresh_from_db()
    conditional.refresh_from_db()
    b.released = coordination.record_decision(u["sec1"], released, "approved")
    b.conditional = coordination.record_decision(u["sec1"], conditional, "conditional", conditions=[
        {"text": "补充风险提示话术", "owner_department": b.pfb, "proof": "修订后的话术文本"}])
    b.condition = b.conditional.conditions.get()
    b.feedback_entry = coordination.answer_feedback(
        u["sec1"], b.meeting.feedback_entries.get(case=b.feedback12), answer="统一更换叫号机",
        follow_up_department=b.pfb, follow_up_due=add_working_days(clock.today(), 3))
    coordination.release_item(u["sec1"], b.released, override_reason="矩阵测试")
    b.released.refresh_from_db()
    b.wo11 = b.released.work_orders.get(institution=b.o11)
    b.wo21 = b.released.work_orders.get(institution=b.o21)
    # The post-release watch flagged it: a post-implementation review on the next meeting's agenda.
    b.post_review = coordination.raise_post_review(None, b.released)


def _service(b: Org) -> None:
    """A published run two quarters back (outlets see their own rows), a draft run of last quarter (the
    secretariat's working paper) and a scheme version not yet in force (still editable)."""
    u = b.users
    year, quarter = service.previous_quarter(clock.today().year, (clock.today().month - 1) // 3 + 1)
    b.draft_quarter = (year, quarter)
    b.published_quarter = service.previous_quarter(year, quarter)
    published = service.create_run(u["sec1"], branch=b.branch, year=b.published_quarter[0],
                                   quarter=b.published_quarter[1])
    published = service.review_run(u["sec1"], published)
    b.published_run = service.publish_run(u["sec2"], published)
    b.draft_run = service.create_run(u["sec1"], branch=b.branch, year=year, quarter=quarter)
    current = GradingScheme.objects.order_by("-version").first()
    b.scheme_next = service.new_scheme_version(u["sec1"], current, clock.today() + timedelta(days=365))
    _inspections(b)


def _inspections(b: Org) -> None:
    """A mystery-shopper visit of SZ0101 not yet made (hidden from the outlet and its sub-branch) and a
    submitted on-site inspection of SZ0101 with one finding, whose rectification case it opened."""
    u = b.users
    b.mystery = service.schedule_inspection(u["sec1"], outlet=b.o11, supervisor=u["sb1mgr"],
                                            planned_on=clock.today(), inspection_type="mystery")
    visited = service.schedule_inspection(u["sec1"], outlet=b.o11, supervisor=u["sb1mgr"],
                                          planned_on=clock.today(), inspection_type="on_site")
    service.add_photo(u["sb1mgr"], visited, "l1", SimpleUploadedFile("l1.png", PNG))
    answers = {i.code: "pass" for i in service.template_items(visited.template)} | {"l1": "fail"}
    b.visited = service.submit_inspection(u["sb1mgr"], visited, answers=answers)
    b.finding = b.visited.findings.get()
    b.insp_rect = b.finding.rectification


def _service_inputs(b: Org) -> None:
    """Ratings imported at SZ0101 (teller of staff11) and SZ0201, and a service target of SZ this year."""
    u = b.users
    org.save_staff(None, u["staff11"].staff, teller_no="T1101")
    when = (clock.today() - timedelta(days=1)).isoformat()
    rows = f"网点代码,柜员号,评价时间,评价结果\nSZ0101,T1101,{when} 09:30:00,5\nSZ0201,T2101,{when} 10:00:00,4\n"
    plan = service.import_inputs(u["sec1"], kind="ratings", branch=b.branch, data=rows.encode(),
                                 file_name="ratings.csv", dry_run=False)
    b.input_import = InputImport.objects.get(pk=plan.batch_id)
    b.rating11 = b.input_import.ratings.get(outlet=b.o11)
    b.rating21 = b.input_import.ratings.get(outlet=b.o21)
    b.target = service.save_target(u["sec1"], branch=b.branch, year=clock.today().year,
                                   metric="call_answer_rate", comparison="at_least", value="0.9")


def _phones(b: Org) -> None:
    """Published numbers at SZ0101 and SZ0201, a check campaign of SZ: SZ0101's call not yet made,
    SZ0201's found wrong (its correction owned by head21)."""
    from branchops.service import phones

    u = b.users
    b.phone11 = phones.save_phone(u["sec1"], outlet=b.o11, kind="service", number="0755-82345678")
    b.phone21 = phones.save_phone(u["sec1"], outlet=b.o21, kind="service", number="0755-88880000")
    b.phone_campaign = phones.create_campaign(u["sec1"], name="公示电话专项治理", scope=b.branch,
                                              starts_on=clock.today(), ends_on=clock.today() + timedelta(days=30))
    b.call11 = b.phone_campaign.calls.get(entry=b.phone11)
    call21 = phones.record_call(u["sec1"], b.phone_campaign.calls.get(entry=b.phone21), result="wrong", note="空号")
    b.correction21 = call21.correction


def _routines(b: Org) -> None:
    """An equipment-check plan over SZ: every SZ outlet's first check due today (SZ0101's is the probe's)."""
    from branchops.service import routines

    plan = routines.create_plan(b.users["sec1"], name="设备月检", kind="equipment", scope=b.branch, frequency_days=30,
                                starts_on=clock.today())
    b.routine_check = plan.checks.get(outlet=b.o11)


def _briefings(b: Org) -> None:
    """Briefings of SZ: the published run's quarter approved by the leader, last quarter's a draft, and
    the quarter before the published one issued (waiting for approval)."""
    u = b.users
    (y1, q1), (y2, q2) = b.published_quarter, b.draft_quarter
    approved = service.create_briefing(u["sec1"], branch=b.branch, year=y1, quarter=q1)
    approved = service.issue_briefing(u["sec1"], approved)
    b.briefing_approved = service.approve_briefing(u["leader1"], approved)
    b.briefing_draft = service.create_briefing(u["sec1"], branch=b.branch, year=y2, quarter=q2)
    y0, q0 = service.previous_quarter(y1, q1)
    b.briefing_issued = service.issue_briefing(
        u["sec1"], service.create_briefing(u["sec1"], branch=b.branch, year=y0, quarter=q0))
    b.briefing_free = service.previous_quarter(y0, q0)  # a quarter without a briefing


def _workforce(b: Org) -> None:
    """A customer service manager of SZ0101 (csm11, not one of the matrix's users) with a certificate, a
    skill and an open mentorship (mentor staff11), all recorded by the outlet head."""
    from branchops.org.models import Post
    from branchops.workforce import services as workforce
    from branchops.workforce.models import CSM_POST, CertificateType, Skill

    csm = Post.objects.get_or_create(code=CSM_POST, defaults={"name": "客服经理"})[0]
    b.person("csm11", b.o11, [Role.OUTLET_STAFF], post=csm)
    head, b.csm11 = b.users["head11"], b.users["csm11"].staff
    b.wf_cert = workforce.issue_certificate(head, b.csm11, certificate_type=CertificateType.objects.get(code="csm_licence"),
                                            issued_on=clock.today())
    workforce.grant_skill(head, b.csm11, skill=Skill.objects.get(code="acceptance"))
    b.wf_cash = Skill.objects.get(code="cash")
    b.wf_mentorship = workforce.start_mentorship(head, b.csm11, mentor=b.users["staff11"].staff,
                                                 rotation_plan="智能审核岗轮岗四周",
                                                 due_on=clock.today() + timedelta(days=60))


def build_world(tmp_path) -> Org:
    load_reference_data(Category, SlaPolicy)
    load_complaint_codes(ComplaintCode)
    b = Org()
    _people(b)
    _cases(b)
    _coordination(b)
    _service(b)
    _service_inputs(b)
    _phones(b)
    _routines(b)
    _briefings(b)
    _workforce(b)
    ticket_file = tmp_path / "tickets.csv"
    ticket_file.write_text("x\n")
    b.ticket_import = queueing.record_file(b.users["sec1"], ticket_file, "tickets.csv", "tickets", b.branch)
    b.token, _raw = core.create_api_token(b.users["staff11"], "矩阵")
    b.saved_filter = core.save_filter(b.users["staff11"], "cases:list", "我的逾期", "queue=overdue")
    return b
