"""The layers DESIGN.md draws, as behaviour: per-branch settings made with the branch (reads never
write), dispatch telling coordination through hooks, and the capacity a timeline entry."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branchops.coordination import queries as coordination_queries
from branchops.coordination.models import Settings
from branchops.core.models import TimelineEntry
from branchops.dispatch import queries as dispatch_queries
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkloadSettings
from branchops.org import services as org
from branchops.org.models import Level
from branchops.queueing.models import QueueSettings
from branchops.queueing.queries import queue_settings_for

SETTINGS = (Settings, WorkloadSettings, QueueSettings)


def _writes(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_new_branch_comes_with_its_settings(bank):
    for model in SETTINGS:
        assert model.objects.filter(branch=bank.branch).count() == 1, model.__name__
    tier2 = org.save_institution(None, code="DG", name="东莞分行", level=Level.TIER2_BRANCH,
                                 parent=bank.ho)
    for model in SETTINGS:
        assert model.objects.filter(branch=tier2).exists(), model.__name__
    # Not for a sub-branch or an outlet: they use their branch's.
    for model in SETTINGS:
        assert not model.objects.filter(branch__in=[bank.sb1, bank.o11]).exists()


def test_an_institution_that_becomes_a_branch_gets_its_settings(bank):
    sb = org.save_institution(bank.users["admin1"], code="SZ09", name="前海支行", level=Level.SUB_BRANCH,
                              parent=bank.branch)
    assert not Settings.objects.filter(branch=sb).exists()
    org.save_institution(None, instance=sb, level=Level.TIER2_BRANCH, parent=bank.ho)
    assert all(model.objects.filter(branch=sb).exists() for model in SETTINGS)


def test_reading_settings_never_writes(bank, login):
    for model in SETTINGS:
        model.objects.all().delete()  # a branch whose rows are missing: the reads give the defaults
    with CaptureQueriesContext(connection) as ctx:
        conf = coordination_queries.settings_for(bank.branch)
        share = dispatch_queries.workload_settings_for(bank.branch).capacity_share
        queue = queue_settings_for(bank.users["staff11"])
    assert conf.pk is None and conf.meeting_weekday == 2 and float(share) == 0.05 and queue.pk is None
    assert not _writes(ctx)
    client = login(bank.users["staff11"])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/coordination/verify", {"number": "运统〔2026〕第001号"}).status_code == 200
        assert client.get("/coordination/verify/", {"number": "运统〔2026〕第001号"}).status_code == 200
    assert not [sql for sql in _writes(ctx) if "settings" in sql.lower()]
    assert not any(model.objects.exists() for model in SETTINGS)


def test_capacity_change_is_on_the_outlets_timeline(bank):
    dispatch.set_capacity(bank.users["sec1"], bank.o11, 12.5, note="新增两名客服经理")
    dispatch.set_capacity(bank.users["sec1"], bank.o11, 10)
    entries = TimelineEntry.objects.filter(object_id=str(bank.o11.pk), verb="capacity_set").order_by("id")
    assert [e.data for e in entries] == [{"before": None, "after": "12.5"}, {"before": "12.5", "after": "10.0"}]
    assert "新增两名客服经理" in entries[0].message and entries[0].actor == bank.users["sec1"]


@pytest.mark.parametrize("module", ["branchops.dispatch.services", "branchops.dispatch.queries",
                                    "branchops.dispatch.views", "branchops.dispatch.api",
                                    "branchops.dispatch.models"])
def test_dispatch_code_names_no_coordination_module(module):
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert "branchops.coordination" not in source and "from ..coordination" not in source
