"""Demo workforce on the demo organisation (without tickets): certificates with some expiring, an
expired one and the uncertified with deadlines; skills; 带跟转 in each state; all through the services."""

import pytest
from django.test import override_settings

from branchops.core import clock
from branchops.demo.workforce import build_demo_workforce
from branchops.workforce import queries
from branchops.workforce.models import CSM_POST, Certificate, Mentorship, StaffSkill
from tests.conftest import run_day


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker, tmp_path_factory):
    with override_settings(BRANCHOPS_QUEUE_DIR=tmp_path_factory.mktemp("no-queue")), django_db_blocker.unblock():
        clock.travel_to(clock.instant(run_day(), 10))
        try:
            result = build_demo_workforce()
        finally:
            clock.release()
        yield result


@pytest.mark.django_db
def test_certificates_skills_and_mentorships(built):
    assert built["status"] == "created"
    licences = Certificate.objects.filter(certificate_type__code="csm_licence")
    states = {queries.certificate_state(c) for c in licences}
    assert {queries.VALID, queries.EXPIRING, queries.EXPIRED} <= states
    assert StaffSkill.objects.filter(staff__post__code=CSM_POST, source="granted").count() == built["skills"]
    assert set(Mentorship.objects.values_list("status", flat=True)) == {"mentoring", "converted"}
    assert Mentorship.objects.filter(exam_passed=True, assessment_passed=True, status="mentoring").exists()
    assert StaffSkill.objects.filter(source=StaffSkill.Source.CONVERSION).exists()
    assert build_demo_workforce()["status"] == "skipped"  # idempotent
