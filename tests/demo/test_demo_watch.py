"""Demo of the post-release watch (slow): an item released to the peak-queueing outlets on the day a
lean remedy of the demo's queue data reaches them is flagged by the watch, with its chart; as in the
full demo, the item is decided at one of the demo cases' meetings (they fill the queue year, so a
meeting of its own could not be dated among them); the coordination demo's first-year figures stay
as they were."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase, override_settings

from branchops.coordination import queries
from branchops.coordination.models import Item, Meeting, PostReview, WatchResult
from branchops.core import clock
from branchops.demo.cases import build_demo_cases
from branchops.demo.coordination import HISTORY_END, HISTORY_START, build_demo_coordination
from branchops.demo.queueing import build_demo_tickets
from branchops.demo.watch import WatchAgenda, build_demo_watch

CASES_SCALE = 0.3  # enough feedback meetings in the year for one to take the item


@pytest.fixture(scope="module")
def built(demo_part, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-watch")
    with override_settings(BRANCHOPS_QUEUE_DIR=root), django_db_blocker.unblock():
        with TestCase.captureOnCommitCallbacks(execute=True):
            build_demo_cases(scale=CASES_SCALE, watch=WatchAgenda(clock.today()))
            build_demo_coordination()
            build_demo_tickets(tail_months=1)
            yield build_demo_watch()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_has_a_flagged_item_with_its_chart(built, client):
    assert built["status"] == "created", built
    item = Item.objects.get(number=built["item"])
    watch = WatchResult.objects.get(item=item)
    overtime = watch.result["metrics"]["overtime_ratio"]
    assert watch.flagged and overtime["flagged"], overtime
    assert overtime["effect"] < 0 and overtime["high"] < 0  # the remedy shortened the queues
    assert overtime["n_treated"] == 3 and overtime["n_control"] >= 3
    assert item.status == "closed" and item.window_start < clock.today() - timedelta(days=27)
    # decided at a meeting of the demo cases (it answered feedback too), held before the window;
    # meetings stay numbered in date order
    assert item.meeting.feedback_entries.exists() and item.meeting.held_on < item.window_start
    assert item.meeting.minutes_document is not None
    for year in {m.year for m in Meeting.objects.all()}:
        dated = list(Meeting.objects.filter(year=year).order_by("held_on").values_list("sequence", flat=True))
        assert dated == sorted(dated)
    entry = PostReview.objects.get(item=item)
    assert entry.meeting.held_on >= clock.today() and entry.status == PostReview.Status.OPEN
    client.force_login(get_user_model().objects.get(username="secretariat"))
    page = client.get(f"/coordination/items/{item.pk}/")
    assert b'id="watch-chart"' in page.content and b'id="watch-data"' in page.content
    # The coordination demo's first year is what it was: 16 meetings, 51 items, 16/30/5.
    stats = queries.statistics(get_user_model().objects.get(username="admin"), since=HISTORY_START,
                               until=HISTORY_END)
    assert (stats["meetings_held"], stats["items"]) == (16, 51)
    assert [d["count"] for d in stats["by_decision"]] == [16, 30, 5]
    assert build_demo_watch()["status"] == "already present"
