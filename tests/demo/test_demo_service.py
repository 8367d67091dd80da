"""Demo service grading and inspections on the full demo organisation (without its queue year, which
the queueing demo test builds): the runs, who reviewed and published them, the inspections in every
state, and that nothing is made up."""

from datetime import timedelta

import pytest
from django.test import override_settings

from branchops.cases.models import OPEN_STATUSES, Status
from branchops.core import clock
from branchops.demo.data import BRANCH
from branchops.demo.service import build_demo_grading
from branchops.service.models import Finding, GradingRun, Inspection, RunInput
from tests.conftest import run_day


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker, tmp_path_factory):
    with override_settings(BRANCHOPS_QUEUE_DIR=tmp_path_factory.mktemp("no-queue"),
                           MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        # Built on the run's day (a module fixture runs before each test's clock is set).
        clock.travel_to(clock.instant(run_day(), 10))
        try:
            result = build_demo_grading()
        finally:
            clock.release()
        yield result


@pytest.mark.django_db
def test_four_quarters_for_every_demo_outlet(built):
    assert built["status"] == "created" and built["runs"] == 4
    runs = GradingRun.objects.filter(branch__code=BRANCH["code"])
    for run in runs:
        assert run.grades.count() == 60
        if run.status == "published":
            assert run.reviewed_by.username == "secretariat" and run.published_by != run.reviewed_by
    # No queue logs here: the queue figures are missing for every outlet, never made up.
    assert not RunInput.objects.filter(run__in=runs, code="overtime_wait_ratio").exclude(value=None).exists()
    # The inspections grade them: every published quarter's outlets have an inspection score.
    published = runs.filter(status="published")
    assert published.exists()
    for run in published:
        scores = RunInput.objects.filter(run=run, code="inspection_score")
        assert scores.exclude(value=None).count() >= 50
        assert run.grades.exclude(grade="").count() >= 50


@pytest.mark.django_db
def test_inspections_in_every_state(built):
    stats = built["inspections"]
    assert stats["status"] == "created" and stats["inspections"] >= 200
    qs = Inspection.objects.filter(outlet__path__startswith="")
    assert set(qs.values_list("inspection_type", flat=True)) == {"mystery", "video", "on_site"}
    assert qs.filter(status="scheduled", planned_on__gte=clock.today()).count() >= 5  # the coming days
    assert qs.filter(status="scheduled", inspection_type="mystery").exists()
    assert qs.filter(status="submitted", findings__isnull=True).exists()  # done, nothing found
    findings = Finding.objects.select_related("rectification")
    closed = findings.exclude(closed_at=None)
    assert closed.exists() and all(f.rectification.status == Status.CLOSED for f in closed)
    assert Inspection.objects.filter(reinspects__in=closed).count() >= closed.count()
    open_ = findings.filter(closed_at=None)
    rectified = [f for f in open_ if f.rectification.status == Status.RESOLVED]  # waiting for the re-inspection
    still_open = [f for f in open_ if f.rectification.status in OPEN_STATUSES]
    assert rectified and still_open
    overdue = [f for f in still_open if f.rectification.resolution_due < clock.today()]
    assert len(overdue) == 1  # plausible: one straggler, not a pile
    assert [f for f in still_open if f.rectification.resolution_due >= clock.today()]  # open within the deadline
    assert Inspection.objects.filter(reinspects__in=rectified, status="scheduled").exists()
    # A finding's deadline is its case's due date; some were closed late.
    assert all(f.deadline == f.rectification.resolution_due for f in findings)
    late = [f for f in closed if f.closed_at.date() > f.deadline]
    assert late and len(late) < len(closed) / 4
    # Visits spread over the last quarters, by several supervisors.
    assert qs.filter(planned_on__lt=clock.today() - timedelta(days=180)).exists()
    assert qs.values("supervisor").distinct().count() >= 3


@pytest.mark.django_db
def test_grade_d_rectifications_are_worked_before_they_are_due(built):
    """A published quarter's grade D opens a rectification; the demo outlet rectifies it before it is
    due, a supervisor verifies and the secretariat closes it — none is left overdue."""
    from branchops.service.models import OutletGrade

    cases = [g.rectification for g in OutletGrade.objects.exclude(rectification=None).select_related(
        "rectification__rectification")]
    today = clock.today()
    assert not [c.number for c in cases if c.status in OPEN_STATUSES and c.resolution_due < today]
    for c in cases:
        if c.resolution_due - timedelta(days=3) < today:
            assert c.status == Status.CLOSED and c.rectification.verified_at is not None, c.number


@pytest.mark.django_db
def test_one_approved_briefing_for_the_last_complete_quarter(built):
    from branchops.service.briefing_models import Briefing

    assert built["briefing"]["status"] == "created"
    run = GradingRun.objects.filter(branch__code=BRANCH["code"], status="published").order_by("-year", "-quarter")[0]
    briefing = Briefing.objects.get()
    assert (briefing.year, briefing.quarter, briefing.status) == (run.year, run.quarter, "approved")
    assert briefing.figures["ranking"]["run"] == run.pk and len(briefing.figures["ranking"]["rows"]) == 60
    assert briefing.document.approved_by.username == "leader" and briefing.issued_by.username == "secretariat"
    assert briefing.document.approved_at <= clock.now() and briefing.cases.count() == 2
    assert built["briefing"]["number"] == briefing.document.number == briefing.workbook.number
