"""The demo public-phone check: the directory imported, one campaign in the seed's proportion (327 wrong
of 2,300 checked), corrections in every state with few overdue, idempotent."""

import pytest

from branchops.core import clock
from branchops.demo.service_phones import SEED_CHECKED, SEED_WRONG, build_demo_phones
from branchops.service import phone_queries
from branchops.service.phonebook import PhoneCampaign, PhoneCorrection, PhoneEntry
from tests.conftest import run_day


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker):
    with django_db_blocker.unblock():
        clock.travel_to(clock.instant(run_day(), 10))
        try:
            yield build_demo_phones()
        finally:
            clock.release()


@pytest.mark.django_db
def test_campaign_in_the_seeds_proportion(built, django_user_model):
    assert built["status"] == "created"
    campaign = PhoneCampaign.objects.get()
    outlets = PhoneEntry.objects.values("outlet").distinct().count()
    assert outlets == 60 and PhoneEntry.objects.count() == built["numbers"] >= 180
    sec = django_user_model.objects.get(username="secretariat")
    f = phone_queries.campaign_figures(sec, campaign)
    assert f["checked"] == built["called"] and 0 < f["pending"] < f["total"] * 0.1
    assert abs(f["wrong"] / f["checked"] - SEED_WRONG / SEED_CHECKED) < 0.01
    assert f["unanswered"] > 0
    open_ = PhoneCorrection.objects.filter(closed_at=None)
    overdue = open_.filter(due__lt=clock.today())
    assert f["corrected"] == f["wrong"] - open_.count() and open_.count() == 3 and overdue.count() == 1
    assert all(c.owner is not None for c in PhoneCorrection.objects.all())
    # a corrected number is in the directory
    fixed = PhoneCorrection.objects.exclude(closed_at=None).first()
    assert fixed.entry.number == fixed.corrected_number
    assert build_demo_phones()["status"] == "already present"
