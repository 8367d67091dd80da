"""The demo grading (``demo.service``) on the small bank: the demo year's quarters graded through the
services, four eyes, dated at their time, replayable, and nothing added the second time."""

import pytest

from branchops.core import clock
from branchops.demo.queueing import demo_year
from branchops.demo.service import build_demo_grading, demo_quarters
from branchops.service import services
from branchops.service.models import GradingRun

pytestmark = pytest.mark.django_db


@pytest.mark.date_sensitive
def test_demo_grades_the_last_four_quarters(queue_data):
    b = queue_data
    result = build_demo_grading(branch_code="SZ")
    assert result["status"] == "created" and result["runs"] == 4
    quarters = demo_quarters()
    assert [(r.year, r.quarter) for r in GradingRun.objects.order_by("year", "quarter")] == quarters
    assert (b.year, b.quarter) in quarters
    _first, last_day = demo_year()
    for run in GradingRun.objects.all():
        ended = services.quarter_bounds(run.year, run.quarter)[1] < last_day
        assert run.status == ("published" if ended else "draft")
        if ended:
            assert run.reviewed_by == b.users["sec1"] and run.published_by == b.users["sec2"]
            assert run.published_at <= clock.now() and run.published_at.date() > services.quarter_bounds(
                run.year, run.quarter)[1]
            assert services.replay_matches(run)
    # The quarter with queue logs grades every outlet; the others honestly show nothing to grade on.
    with_data = GradingRun.objects.get(year=b.year, quarter=b.quarter)
    assert all(g.total is not None and g.grade for g in with_data.grades.all())
    assert "inspection_score" in with_data.grades.first().missing
    others = GradingRun.objects.exclude(pk=with_data.pk)
    assert not any(g.grade for r in others for g in r.grades.all())
    assert result["graded"] == 3


def test_second_run_adds_nothing(grading):
    assert build_demo_grading(branch_code="SZ")["status"] == "created"
    count = GradingRun.objects.count()
    assert build_demo_grading(branch_code="SZ")["status"] == "already present"
    assert GradingRun.objects.count() == count


def test_needs_the_organisation(db):
    with pytest.raises(ValueError):
        build_demo_grading(branch_code="NOPE")
