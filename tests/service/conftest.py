from datetime import timedelta

import pytest

from branchops.core import clock
from branchops.org.roles import Role
from branchops.service import services

from ..conftest import PASSWORD  # noqa: F401


def last_quarter() -> tuple[int, int]:
    """The quarter before the clock's: always started, whatever the run day."""
    today = clock.today()
    return services.previous_quarter(today.year, (today.month - 1) // 3 + 1)


@pytest.fixture
def grading(bank):
    """The bank with a second secretariat member (reviewer and publisher differ) and the outlet head of
    the other sub-branch."""
    bank.person("sec2", bank.branch, [Role.SECRETARIAT], department=bank.ops)
    bank.person("head21", bank.o21, [Role.OUTLET_HEAD], post=bank.head)
    bank.year, bank.quarter = last_quarter()
    bank.start, bank.end = services.quarter_bounds(bank.year, bank.quarter)
    return bank


@pytest.fixture
def complain(grading):
    """A complaint received at an outlet on the given day of the graded quarter."""
    from branchops.cases import services as cases
    from branchops.cases.models import CaseType

    def make(outlet, day=10, **extra):
        return cases.open_case(grading.users["sec1"], case_type=CaseType.COMPLAINT, institution=outlet,
                               title="排队太久", channel="on_site",
                               complaint={"complainant_name": "张三", "complainant_phone": "13812345678"},
                               received_at=clock.instant(grading.start + timedelta(days=day)), **extra)

    return make


@pytest.fixture
def queue_data(grading, settings, tmp_path):
    """Three weeks of simulated ticket and device logs at the start of the graded quarter, imported."""
    from branchops.queueing import services as queueing
    from branchops.queueing import simulate

    settings.BRANCHOPS_QUEUE_DIR = tmp_path / "queueing"
    codes = [grading.o11.code, grading.o12.code, grading.o21.code]
    results = list(simulate.generate_logs(3, 21, 11, start_date=grading.start, outlet_codes=codes,
                                          patterns=["peak_queueing", "all_day_queueing", "vip_queueing"]))
    for kind, attr in (("tickets", "tickets"), ("devices", "devices")):
        path = tmp_path / f"{kind}.csv"
        simulate.write_csv([getattr(r, attr) for r in results], path)
        with path.open("rb") as fh:
            batch = queueing.import_uploaded(grading.users["admin1"], fh, path.name, kind)
        assert batch.status == "done", batch.message
    return grading


@pytest.fixture
def world(bank, settings, tmp_path):
    """The bank for inspections: photos under a temporary media folder, a supervisor of sub-branch 2,
    someone at sub-branch 1 who does not schedule, and the default checklist's items."""
    from branchops.service.models import ChecklistTemplate

    settings.MEDIA_ROOT = tmp_path
    bank.person("sup2", bank.sb2, [Role.SERVICE_SUPERVISOR])
    bank.person("sbm1", bank.sb1, [Role.OUTLET_HEAD])
    bank.v1 = ChecklistTemplate.objects.get(code="hall", version=1)
    bank.items = services.template_items(bank.v1)
    return bank
