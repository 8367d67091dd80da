"""Two secretaries recording a decision at once (PostgreSQL): one wins, the other is told it changed."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from branchops.coordination import services
from branchops.coordination.models import Item
from branchops.core.models import TimelineEntry
from branchops.org.roles import Role
from tests.cases.test_concurrency import run_together
from tests.coordination.conftest import ready

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.fixture
def on_agenda(coord_bank, draft):
    b = coord_bank
    b.person("sec2", b.branch, [Role.SECRETARIAT], department=b.ops)
    return ready(b, services.submit_item(b.users["pfb1"], draft()))


def _decide(user, pk, decision, version):
    with translation.override("en"):
        return services.record_decision(user, Item.objects.get(pk=pk), decision, reasons="与现有活动冲突",
                                        expected_version=version)


def test_two_secretaries_deciding_from_the_same_page(coord_bank, on_agenda):
    b, item = coord_bank, on_agenda
    shown = item.version
    results, errors = run_together(
        lambda: _decide(b.users["sec1"], item.pk, "approved", shown),
        lambda: _decide(b.users["sec2"], item.pk, "rejected", shown),
    )
    assert len([r for r in results if r is not None]) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError) and "changed by someone else" in str(errors[0])
    item.refresh_from_db()
    winner = next(r for r in results if r is not None)
    assert item.decision == winner.decision and item.version == winner.version
    assert TimelineEntry.objects.filter(object_id=str(item.pk), verb="decided").count() == 1
    assert bool(item.approval_number) == (item.decision == "approved")


def test_two_secretaries_without_a_version_the_second_finds_it_decided(coord_bank, on_agenda):
    b, item = coord_bank, on_agenda
    results, errors = run_together(
        lambda: _decide(b.users["sec1"], item.pk, "approved", None),
        lambda: _decide(b.users["sec2"], item.pk, "rejected", None),
    )
    assert len(errors) == 1 and "already been decided" in str(errors[0])
    assert TimelineEntry.objects.filter(object_id=str(item.pk), verb="decided").count() == 1
