"""The quarterly service & complaint briefing: each figure is its named query, hand-counted figures,
draft → issued → approved by someone else, stored once and never changed, scope, bad input."""

import importlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from branchops.cases.models import Case, Channel, ComplaintCode, ComplaintDetail, Outcome, Status
from branchops.core import clock
from branchops.core.models import IssuedDocument
from branchops.org.roles import Role
from branchops.service import briefing_queries as bq
from branchops.service import services
from branchops.service.briefing_models import Briefing, BriefingSettings
from branchops.service.models import Finding, Inspection, InspectionType

from .conftest import last_quarter


def _publish_run(b):
    run = services.create_run(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)
    run = services.review_run(b.users["sec1"], run)
    return services.publish_run(b.users["sec2"], run)


@pytest.fixture
def briefed(grading, complain):
    """The graded quarter with its run published, complaints (a major one, a media one, coded ones, one
    decided late, one the quarter before) and a draft briefing."""
    b = grading
    b.person("sup0", b.branch, [Role.SERVICE_SUPERVISOR])
    cause = ComplaintCode.objects.filter(dimension="cause").order_by("code").first()
    business = ComplaintCode.objects.filter(dimension="business").order_by("code").first()
    b.c1 = complain(b.o11, day=1, is_major=True)
    b.c2 = complain(b.o11, day=5)
    b.c3 = complain(b.o12, day=8)
    Case.objects.filter(pk=b.c3.pk).update(channel=Channel.MEDIA)  # a negative public-opinion event
    complain(b.o21, day=-3)  # the quarter before: not this briefing's
    ComplaintDetail.objects.filter(case__in=[b.c1, b.c2]).update(cause_code=cause, business_code=business)
    b.cause = cause
    # c2 was decided after its 15-day clock; c3 is complex (30 days).
    Case.objects.filter(pk=b.c2.pk).update(status=Status.RESOLVED, outcome=Outcome.RESOLVED,
                                           resolved_at=clock.instant(b.c2.decision_due + timedelta(days=2)))
    ComplaintDetail.objects.filter(case=b.c3).update(complexity=ComplaintDetail.Complexity.COMPLEX)
    b.run = _publish_run(b)
    b.briefing = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter,
                                          summary="本季度服务总体平稳。")
    return b


def test_every_figure_is_its_named_query(briefed):
    b = briefed
    shown = bq.live_figures(b.briefing)
    for f in bq.FIGURES:
        module, name = f.source.rsplit(".", 1)
        query = getattr(importlib.import_module(module), name)
        assert query is f.query
        assert shown[f.key] == query(b.branch, b.start, b.end), f.key


def test_figures_counted_by_hand(briefed):
    b = briefed
    figures = bq.live_figures(b.briefing)
    assert figures["ranking"]["run"] == b.run.pk and len(figures["ranking"]["rows"]) == 3
    graded = [r for r in figures["ranking"]["rows"] if r["grade"]]  # nothing gathered: no grade, not a D
    assert sum(figures["ranking"]["distribution"].values()) == len(graded)
    assert [m["number"] for m in figures["major"]] == [b.c1.number, b.c3.number]
    assert figures["major"][0]["major"] and figures["major"][1]["media"]
    hot = figures["hot_spots"]
    assert hot["total"] == 3 and hot["unclassified"] == 1
    assert hot["cause"] == [{"code": b.cause.code, "name": b.cause.name, "complaints": 2, "share": round(2 / 3, 4)}]
    rates = figures["rates"]
    assert (rates["complaints"], rates["outlets"], rates["per_outlet"]) == (3, 3, 1.0)
    # No queue data: no customers on record, so no rate — never a zero.
    assert rates["served"] == 0 and rates["per_10k"] is None
    assert {r["outlet"]: r["complaints"] for r in rates["rows"]} == {"SZ0101": 2, "SZ0102": 1, "SZ0201": 0}
    clocks = {c["complexity"]: c for c in figures["overdue"]}
    assert [c["days"] for c in figures["overdue"]] == [15, 30, 60]
    normal = clocks["normal"]
    # c1 opened on the quarter's second day and still open: past its 15 days whatever today is.
    assert (normal["received"], normal["late"], normal["open"], normal["open_overdue"]) == (2, 1, 1, 1)
    assert set(normal["overdue_numbers"]) == {b.c1.number, b.c2.number}
    assert clocks["complex"]["received"] == 1


def test_complaints_per_10000_customers_come_from_the_queue_kpis(queue_data, complain):
    from branchops.queueing import queries as queue

    b = queue_data
    complain(b.o11)
    complain(b.o11, day=12)
    briefing = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)
    rates = bq.live_figures(briefing)["rates"]
    kpi = {r["unit"]: r for r in queue.kpi_table(b.users["sec1"], b.start, b.end, level="outlet", within=b.branch)}
    row = next(r for r in rates["rows"] if r["outlet"] == "SZ0101")
    assert row["served"] == kpi["SZ0101"]["served"]
    assert row["per_10k"] == pytest.approx(2 * 10000 / kpi["SZ0101"]["served"], abs=0.01)
    assert rates["served"] == sum(int(k["served"]) for k in kpi.values())


def test_inspection_statistics(grading):
    from branchops.service.models import ChecklistTemplate

    b = grading
    b.person("sup0", b.branch, [Role.SERVICE_SUPERVISOR])
    template = ChecklistTemplate.objects.get(code="hall", version=1)
    item = services.template_items(template)[0]
    visited = clock.instant(b.start + timedelta(days=3))
    first = Inspection.objects.create(outlet=b.o11, template=template, inspection_type=InspectionType.VIDEO,
                                      supervisor=b.users["sup0"], planned_on=b.start, status="submitted",
                                      visited_at=visited, score=80)
    Inspection.objects.create(outlet=b.o12, template=template, inspection_type=InspectionType.VIDEO,
                              supervisor=b.users["sup0"], planned_on=b.start, status="submitted", visited_at=visited,
                              score=90)
    Inspection.objects.create(outlet=b.o21, template=template, inspection_type=InspectionType.MYSTERY,
                              supervisor=b.users["sup0"], planned_on=b.end, status="scheduled")
    Finding.objects.create(inspection=first, item=item, severity="major", deadline=b.start + timedelta(days=13),
                           closed_at=visited)
    stats = bq.inspection_statistics(b.branch, b.start, b.end)
    by_type = {t["type"]: t for t in stats["by_type"]}
    assert stats["inspections"] == 2 and by_type["video"] == {"type": "video", "inspections": 2, "mean_score": 85.0}
    assert by_type["mystery"]["inspections"] == 0 and by_type["mystery"]["mean_score"] is None
    assert stats["findings"] == 1 and stats["closed"] == 1 and stats["by_severity"]["major"] == 1
    assert stats["supervisors"] == [{"supervisor": b.users["sup0"].staff.name, "inspections": 2, "findings": 1}]


def test_draft_issue_approve_stores_once_and_never_changes(briefed, complain):
    b = briefed
    sec, leader = b.users["sec1"], b.users["leader1"]
    briefing = services.add_case(sec, b.briefing, kind="positive", title="微笑服务", text="大堂经理主动引导老年客户。",
                                 outlet=b.o11)
    briefing = services.add_case(sec, briefing, kind="negative", title="离岗未告知", text="柜员离岗未放置暂停牌。")
    with pytest.raises(ValidationError):
        services.approve_briefing(leader, briefing)  # a draft: issued first
    briefing = services.issue_briefing(sec, briefing, expected_version=briefing.version)
    assert briefing.status == Briefing.Status.ISSUED and briefing.figures["hot_spots"]["total"] == 3
    with pytest.raises(ValidationError):
        services.update_briefing(sec, briefing, summary="改")  # issued: no change
    with pytest.raises(PermissionDenied):
        services.approve_briefing(b.users["sup0"], briefing)  # a supervisor reads, never approves
    complain(b.o21, day=20)  # after issue: not in the issued figures
    briefing = services.approve_briefing(leader, briefing, expected_version=briefing.version)
    year = b.year
    assert briefing.status == Briefing.Status.APPROVED
    assert briefing.document.number == f"运管服通〔{year}〕1号" == briefing.workbook.number
    assert briefing.figures["hot_spots"]["total"] == 3
    assert IssuedDocument.objects.filter(source_id=str(briefing.pk)).count() == 2
    assert briefing.document.approved_by == leader and briefing.document.issued_by == sec
    stored = bytes(briefing.document.content)
    with pytest.raises(ValidationError):
        services.approve_briefing(leader, briefing)  # approved once: never again
    with pytest.raises(ValueError):
        briefing.document.save()
    # The download serves the stored bytes, whatever changed since.
    from branchops.service.briefing_views import document_response

    assert document_response(Briefing.objects.get(pk=briefing.pk), "docx").content == stored


def test_the_issuer_never_approves(briefed, english_messages):
    from django.contrib.auth.models import Permission

    b = briefed
    head = b.users["sec2"]  # the department head: the secretariat member given the approval
    perm = Permission.objects.get(codename="approve_briefing")
    for key in ("sec1", "sec2"):
        b.users[key].user_permissions.add(perm)
    sec = type(b.users["sec1"]).objects.get(pk=b.users["sec1"].pk)
    briefing = services.issue_briefing(sec, b.briefing)
    with pytest.raises(ValidationError, match="two different people"):
        services.approve_briefing(sec, briefing)
    head = type(head).objects.get(pk=head.pk)
    assert services.approve_briefing(head, briefing).status == Briefing.Status.APPROVED


def test_return_to_draft_needs_a_reason_and_thaws_the_figures(briefed):
    b = briefed
    briefing = services.issue_briefing(b.users["sec1"], b.briefing)
    with pytest.raises(ValidationError) as exc:
        services.return_briefing(b.users["leader1"], briefing, reason=" ")
    assert "reason" in exc.value.message_dict
    briefing = services.return_briefing(b.users["leader1"], briefing, reason="补充典型案例")
    assert briefing.status == Briefing.Status.DRAFT and briefing.figures == {} and briefing.issued_by is None


def test_number_format_is_configurable_and_a_bad_one_stores_nothing(briefed):
    b = briefed
    conf = BriefingSettings.objects.create(branch=b.branch, number_format="服通{year}-{seq:02d}")
    briefing = services.issue_briefing(b.users["sec1"], b.briefing)
    assert services.approve_briefing(b.users["leader1"], briefing).document.number == f"服通{b.year}-01"
    other = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year - 1, quarter=b.quarter)
    other = services.issue_briefing(b.users["sec1"], other)
    conf.number_format = "服通{nope}"
    conf.save()
    with pytest.raises(ValidationError):
        services.approve_briefing(b.users["leader1"], other)
    other.refresh_from_db()
    assert other.status == Briefing.Status.ISSUED and other.document is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"quarter": 5}, "quarter"),
    ({"year": 1999}, "year"),
    ({"future": True}, "quarter"),
    ({"outlet": True}, "branch"),
])
def test_bad_openings_name_the_field_and_change_nothing(grading, kwargs, field):
    b = grading
    today = clock.today()
    args = {"branch": b.branch, "year": b.year, "quarter": b.quarter}
    if kwargs.pop("future", False):
        args.update(year=today.year, quarter=(today.month - 1) // 3 + 1)  # not finished yet
    if kwargs.pop("outlet", False):
        args["branch"] = b.o11
    args.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        services.create_briefing(b.users["sec1"], **args)
    assert field in exc.value.message_dict
    assert not Briefing.objects.exists()


def test_bad_cases_name_the_field(briefed):
    b = briefed
    sec = b.users["sec1"]
    for kwargs, field in (({"kind": "neutral"}, "kind"), ({"title": ""}, "title"), ({"text": "x" * 1001}, "text"),
                          ({"outlet": b.branch}, "outlet")):
        args = {"kind": "positive", "title": "好", "text": "好"} | kwargs
        with pytest.raises(ValidationError) as exc:
            services.add_case(sec, b.briefing, **args)
        assert field in exc.value.message_dict
    assert not b.briefing.cases.exists()


def test_only_the_branch_secretariat_drafts(briefed):
    b = briefed
    for key in ("head11", "leader1", "sup0", "sb1mgr"):
        with pytest.raises(PermissionDenied):
            services.create_briefing(b.users[key], branch=b.branch, year=b.year - 1, quarter=b.quarter)


def test_who_reads_which_briefing(briefed):
    b = briefed
    visible = lambda key: set(bq.visible_briefings(b.users[key]).values_list("pk", flat=True))  # noqa: E731
    pk = b.briefing.pk
    assert visible("sec1") == {pk}
    for key in ("leader1", "sup0", "head11", "staff11", "sb1mgr", "admin1"):
        assert visible(key) == set(), key  # a draft: the secretariat's working paper
    briefing = services.issue_briefing(b.users["sec1"], b.briefing)
    assert visible("leader1") == {pk} and visible("sup0") == set()
    services.approve_briefing(b.users["leader1"], briefing)
    assert visible("sup0") == {pk} and visible("leader1") == {pk}
    # Outlets and a sub-branch never: the briefing names every outlet's figures.
    for key in ("head11", "staff11", "sb1mgr", "admin1"):
        assert visible(key) == set(), key


def test_a_quarter_without_a_published_run_says_so(grading):
    b = grading
    briefing = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)
    assert bq.live_figures(briefing)["ranking"] == {"run": None, "distribution": {}, "rows": []}
    year, quarter = last_quarter()
    assert (briefing.year, briefing.quarter) == (year, quarter)
    assert timezone.now()  # the figures were read without a run: no error
