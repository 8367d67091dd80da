"""The demo outlet routines: four plans over the branch, checks done with some failures as cases, a
few overdue checks, and the cases they opened almost all settled (none overdue)."""

import pytest

from branchops.cases.models import OPEN_STATUSES, Case
from branchops.core import clock
from branchops.demo.service_routines import build_demo_routines
from branchops.service import routine_queries
from branchops.service.routinebook import RoutineCheck, RoutinePlan
from tests.conftest import run_day


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker):
    with django_db_blocker.unblock():
        clock.travel_to(clock.instant(run_day(), 10))
        try:
            yield build_demo_routines()
        finally:
            clock.release()


@pytest.mark.django_db
def test_routines_done_failed_and_overdue(built, django_user_model):
    assert built["status"] == "created" and built["done"] > 300 and built["failed"] > 10
    assert RoutinePlan.objects.count() == 4
    assert 1 <= built["overdue"] <= 3
    sec = django_user_model.objects.get(username="secretariat")
    env = RoutinePlan.objects.get(kind="environment")
    f = routine_queries.plan_figures(sec, env, clock.today())
    assert f["outlets_cold"] >= 1 and f["done"] > 100
    case_ids = RoutineCheck.objects.exclude(case=None).values("case")
    open_cases = Case.objects.filter(pk__in=case_ids, status__in=OPEN_STATUSES)
    assert open_cases.count() < built["failed"] * 0.3
    assert not open_cases.filter(resolution_due__lt=clock.today()).exists()
    drill = RoutineCheck.objects.filter(plan__kind="drill", status="done").first()
    assert drill.scenario and drill.participants
    assert build_demo_routines()["status"] == "already present"
