"""Demo service grading on the full demo organisation (without its queue year, which the queueing demo
test builds): the runs, who reviewed and published them, and that nothing is made up."""

import pytest
from django.test import override_settings

from branchops.demo.data import BRANCH
from branchops.demo.service import build_demo_grading
from branchops.service.models import GradingRun


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker, tmp_path_factory):
    with override_settings(BRANCHOPS_QUEUE_DIR=tmp_path_factory.mktemp("no-queue")), django_db_blocker.unblock():
        yield build_demo_grading()


@pytest.mark.django_db
def test_four_quarters_for_every_demo_outlet(built):
    assert built["status"] == "created" and built["runs"] == 4
    runs = GradingRun.objects.filter(branch__code=BRANCH["code"])
    for run in runs:
        assert run.grades.count() == 60
        if run.status == "published":
            assert run.reviewed_by.username == "secretariat" and run.published_by != run.reviewed_by
    # No queue logs here: every outlet is shown with its inputs missing, not graded on made-up figures.
    assert built["graded"] == 0
