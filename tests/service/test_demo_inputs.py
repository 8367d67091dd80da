"""The demo service inputs on the small bank: tellers numbered, ratings/surveys/call-centre days imported
through the services, the year's targets set, and nothing added the second time."""

import pytest

from branchops.core import clock
from branchops.demo.queueing import demo_year
from branchops.demo.service_inputs import TARGETS, build_demo_service_inputs
from branchops.org.models import Staff
from branchops.service import queries
from branchops.service.inputs import CallCentreDay, InputImport, ServiceTarget, SurveyScore, TellerRating

pytestmark = pytest.mark.django_db


def test_demo_inputs_and_targets(grading):
    b = grading
    result = build_demo_service_inputs(branch_code="SZ")
    assert result["status"] == "created" and result["rows"] > 0
    first, last = demo_year()
    assert Staff.objects.get(user=b.users["staff11"]).teller_no
    assert TellerRating.objects.filter(outlet=b.o11).exists()
    assert not TellerRating.objects.filter(staff__isnull=False).exclude(rated_at__lte=clock.now()).exists()
    assert CallCentreDay.objects.filter(branch=b.branch).count() == (last - first).days + 1
    assert SurveyScore.objects.exists()
    assert InputImport.objects.filter(imported_by=b.users["sec1"]).exists()
    year = clock.today().year
    targets = ServiceTarget.objects.filter(branch=b.branch, year=year)
    assert targets.count() == len(TARGETS)
    answer = queries.target_progress(targets.get(metric="call_answer_rate"))
    assert answer["at_risk"] in (True, False, None)
    if queries.target_months(year):
        assert answer["months"] and answer["at_risk"] is not None
    counts = (TellerRating.objects.count(), InputImport.objects.count())
    assert build_demo_service_inputs(branch_code="SZ")["status"] == "skipped"
    assert (TellerRating.objects.count(), InputImport.objects.count()) == counts
