"""Post-release watch through the services and the API: evaluated once the four weeks after have
passed, flagged items on the next meeting's agenda as a post-implementation review, the outcome
recorded on the item; outlets do not see the watch."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.coordination import services
from branchops.coordination.models import Item, ItemStatus, PostReview, ReviewOutcome, WatchResult
from branchops.core import clock
from branchops.org import services as org
from branchops.org.models import Level
from branchops.org.roles import Role

from .conftest import hold, ready

URL = "/api/v1/coordination/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def watch_bank(coord_bank):
    """Four more outlets: seven in all — the item targets four, three are the comparison."""
    b = coord_bank
    for k in range(3, 7):
        setattr(b, f"o2{k}", org.save_institution(None, code=f"SZ020{k}", name=f"罗湖{k}号网点", level=Level.OUTLET,
                                                 parent=b.sb2, outlet_type=b.light, counters=4))
    b.targets = [b.o11, b.o12, b.o23, b.o24]
    b.person("ops_head", b.branch, [Role.SECRETARIAT], department=b.ops)
    return b


def released(b, draft, targets):
    item = ready(b, services.submit_item(b.users["pfb1"], draft(target_mode="list", target_list=targets)))
    item = services.record_decision(b.users["sec1"], item, "approved")
    services.release_item(b.users["sec1"], item, override_reason="试点")
    return Item.objects.get(pk=item.pk)


def planted_kpis(monkeypatch, item, effect: float):
    """Weekly queue KPIs from the roll-ups, replaced by planted figures: every outlet at 30 % before,
    the comparison 2 points lower after, the targets ``effect`` further (each outlet a little apart)."""
    from branchops.queueing import queries as queue_queries

    before, after = services.watch_weeks(item)
    targets = set(item.outlets.values_list("code", flat=True))

    def fake(branch, codes, start, end):
        assert start == before[0] and end == after[-1] + timedelta(days=6)
        rows = []
        for n, code in enumerate(sorted(codes)):
            spread = (n % 3) * 0.01
            for monday in before + after:
                ratio = 0.30 + spread
                if monday in after:
                    ratio += -0.02 + (effect if code in targets else 0.0)
                rows.append({"outlet_code": code, "period_start": monday, "overtime_ratio": ratio,
                             "served": 1500, "wait_mean": 600.0})
        return rows

    monkeypatch.setattr(queue_queries, "weekly_outlet_kpis", fake)


def after_the_watch(item):
    return clock.travel(services.watch_weeks(item)[1][-1] + timedelta(days=8))


def test_planted_effect_flags_the_item_to_the_next_meeting(watch_bank, draft, monkeypatch):
    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.10)
    with pytest.raises(ValidationError):  # the four weeks after have not passed
        services.evaluate_watch(None, item)
    with after_the_watch(item):
        assert services.evaluate_due_watches() == 1
        assert services.evaluate_due_watches() == 0  # once
        watch = WatchResult.objects.get(item=item)
        assert watch.flagged and (watch.n_treated, watch.n_control) == (4, 3)
        overtime = watch.result["metrics"]["overtime_ratio"]
        assert overtime["effect"] == pytest.approx(0.10) and overtime["low"] > 0
        assert len(watch.result["series"]["weeks"]) == 8
        [entry] = PostReview.objects.filter(item=item)
        assert entry.meeting.held_on >= clock.today() and entry.status == PostReview.Status.OPEN


def test_no_effect_is_stored_but_not_flagged(watch_bank, draft, monkeypatch):
    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.0)
    with after_the_watch(item):
        services.evaluate_due_watches()
    watch = WatchResult.objects.get(item=item)
    assert watch.status == WatchResult.Status.OK and not watch.flagged
    assert not PostReview.objects.exists()


def test_too_few_outlets_gives_no_figure(watch_bank, draft, monkeypatch):
    b = watch_bank
    item = released(b, draft, [b.o11, b.o12, b.o21, b.o23, b.o24, b.o25])  # one outlet left to compare with
    planted_kpis(monkeypatch, item, effect=0.20)
    with after_the_watch(item):
        services.evaluate_due_watches()
    watch = WatchResult.objects.get(item=item)
    assert watch.status == WatchResult.Status.NOT_ENOUGH and not watch.flagged
    assert watch.result["metrics"]["overtime_ratio"]["effect"] is None
    assert not PostReview.objects.exists()


def test_the_meeting_records_the_outcome_on_the_item(watch_bank, draft, monkeypatch, api):
    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.10)
    with after_the_watch(item):
        services.evaluate_due_watches()
        entry = PostReview.objects.get(item=item)
        meeting = entry.meeting
        # Not before the agenda is frozen; not by an outlet or a submitter.
        with pytest.raises(ValidationError):
            services.record_post_review(b.users["sec1"], entry, outcome="failed", note="x")
        services.freeze_agenda(b.users["sec1"], meeting)
        hold(b, meeting)
        with pytest.raises(PermissionDenied):
            services.record_post_review(b.users["pfb1"], entry, outcome="successful")
        with pytest.raises(ValidationError) as err:  # "with issues" needs the conclusion
            services.record_post_review(b.users["sec1"], entry, outcome="with_issues")
        assert "note" in err.value.message_dict
        # The API refuses what the form refuses: an unknown outcome, a missing note.
        c = api(b.users["sec1"])
        for payload in ({"outcome": "great"}, {"outcome": "failed"}):
            response = c.post(f"{URL}post-reviews/{entry.pk}/actions/record", payload, content_type="application/json")
            assert response.status_code == 400, response.content
        assert PostReview.objects.get(pk=entry.pk).status == PostReview.Status.OPEN
        c = api(b.users["staff11"])
        response = c.post(f"{URL}post-reviews/{entry.pk}/actions/record", {"outcome": "successful"},
                          content_type="application/json")
        assert response.status_code == 404
        c = api(b.users["leader1"])  # the chair
        response = c.post(f"{URL}post-reviews/{entry.pk}/actions/record",
                          {"outcome": "with_issues", "note": "排队改善明显，但需补充老年客户引导"},
                          content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "with_issues" and response.json()["allowed_actions"] == []
    item.refresh_from_db()
    assert item.review_outcome == ReviewOutcome.WITH_ISSUES
    rows = api(b.users["sec1"]).get(f"{URL}items").json()["items"]
    assert [r["review_outcome"] for r in rows if r["id"] == item.pk] == ["with_issues"]


def test_an_open_review_moves_to_the_next_meeting_when_the_minutes_close(watch_bank, draft, monkeypatch):
    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.10)
    with after_the_watch(item):
        services.evaluate_due_watches()
        entry = PostReview.objects.get(item=item)
        services.freeze_agenda(b.users["sec1"], entry.meeting)
        hold(b, entry.meeting)
        services.close_meeting(b.users["sec1"], entry.meeting)
        entry.refresh_from_db()
        assert entry.status == PostReview.Status.DEFERRED
        later = PostReview.objects.get(deferred_from=entry)
        assert later.meeting.held_on > entry.meeting.held_on and later.status == PostReview.Status.OPEN


def test_watch_api_readers_and_outlets(watch_bank, draft, monkeypatch, api):
    b = watch_bank
    item = released(b, draft, b.targets)
    url = f"{URL}items/{item.pk}/watch"
    assert api(b.users["sec1"]).get(url).json()["status"] == "pending"
    planted_kpis(monkeypatch, item, effect=0.10)
    with after_the_watch(item):
        services.evaluate_due_watches()
    data = api(b.users["pfb1"]).get(url).json()
    assert data["status"] == "ok" and data["flagged"] is True
    assert data["metrics"][0]["metric"] == "overtime_ratio" and data["metrics"][0]["flagged"] is True
    assert data["series"]["weeks"][0] == data["before"][0]
    # A targeted outlet reads the item (its work order) but not the comparison of outlets.
    assert api(b.users["staff11"]).get(f"{URL}items/{item.pk}").status_code == 200
    assert api(b.users["staff11"]).get(url).status_code == 404
    assert api(b.users["sec1"]).get(f"{URL}items/999999/watch").status_code == 404
    # The item page shows the chart's data for the secretariat and nothing of it for the outlet.
    page = api(b.users["sec1"]).get(f"/coordination/items/{item.pk}/")
    assert b"watch-chart" in page.content and b"watch-data" in page.content
    page = api(b.users["staff11"]).get(f"/coordination/items/{item.pk}/")
    assert page.status_code == 200 and b"watch-chart" not in page.content


def test_only_released_items_are_watched(watch_bank, draft):
    b = watch_bank
    item = services.submit_item(b.users["pfb1"], draft())
    with pytest.raises(ValidationError):
        services.evaluate_watch(None, item)
    assert item.status == ItemStatus.SUBMITTED


def test_the_meeting_page_records_the_outcome_and_the_register_exports_it(watch_bank, draft, monkeypatch, login):
    import io

    from openpyxl import load_workbook

    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.10)
    with after_the_watch(item):
        services.evaluate_due_watches()
        entry = PostReview.objects.get(item=item)
        services.freeze_agenda(b.users["sec1"], entry.meeting)
        hold(b, entry.meeting)
        c = login(b.users["sec1"])
        page = c.get(f"/coordination/meetings/{entry.meeting.pk}/")
        assert f'data-post-review="{entry.pk}"'.encode() in page.content
        assert b'data-form="post-review-record"' in page.content
        # The form refuses "failed" without the conclusion, as the service does; nothing changes.
        c.post(f"/coordination/post-reviews/{entry.pk}/record/", {"outcome": "failed"})
        assert PostReview.objects.get(pk=entry.pk).status == PostReview.Status.OPEN
        c.post(f"/coordination/post-reviews/{entry.pk}/record/", {"outcome": "successful"})
        assert PostReview.objects.get(pk=entry.pk).outcome == ReviewOutcome.SUCCESSFUL
        assert b'data-form="post-review-record"' not in c.get(f"/coordination/meetings/{entry.meeting.pk}/").content
    response = c.get("/coordination/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = next(r for r in rows if "Post-implementation review" in r or "实施后评估" in r)
    col = header.index("Post-implementation review" if "Post-implementation review" in header else "实施后评估")
    assert [r[col] for r in rows if r and item.number in r] in (["Successful"], ["成功"])


def test_the_minutes_carry_the_post_implementation_review(watch_bank, draft, monkeypatch, api, login):
    """Page, API and the issued .docx alike: what the watch flagged, and the meeting's outcome."""
    from io import BytesIO

    from django.utils import translation
    from docx import Document

    from branchops.coordination.models import Meeting

    b = watch_bank
    item = released(b, draft, b.targets)
    planted_kpis(monkeypatch, item, effect=0.10)
    with after_the_watch(item):
        services.evaluate_due_watches()
        entry = PostReview.objects.get(item=item)
        meeting = entry.meeting
        services.freeze_agenda(b.users["sec1"], meeting)
        hold(b, meeting)
        services.record_post_review(b.users["leader1"], entry, outcome="with_issues", note="排队改善明显，需补充老年客户引导")
        minutes = api(b.users["sec1"]).get(f"{URL}meetings/{meeting.pk}/minutes").json()
        [row] = minutes["post_reviews"]
        assert (row["item"]["number"], row["outcome"], row["status"]) == (item.number, "with_issues", "recorded")
        [metric] = [m for m in row["flagged_metrics"] if m["metric"] == "overtime_ratio"]
        assert metric["effect"] == pytest.approx(0.10) and metric["low"] > 0
        page = login(b.users["sec1"]).get(f"/coordination/meetings/{meeting.pk}/minutes/").content.decode()
        assert f'data-minutes-post-review="{entry.pk}"' in page and "排队改善明显" in page
        assert 'data-minutes-outcome="with_issues"' in page
        services.close_meeting(b.users["sec1"], Meeting.objects.get(pk=meeting.pk))
        services.approve_minutes(b.users["leader1"], Meeting.objects.get(pk=meeting.pk))
        content = login(b.users["leader1"]).get(f"/coordination/meetings/{meeting.pk}/minutes.docx").content
    text = "\n".join(p.text for p in Document(BytesIO(content)).paragraphs)
    with translation.override("zh-hans"):
        outcome = str(ReviewOutcome.WITH_ISSUES.label)
    assert "实施后评估" in text and item.number in text and outcome in text and "排队改善明显" in text
    assert "超时等候率变化+0.1000" in text
    # the meeting's status says the minutes are approved (not "closed")
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert meeting.status_label == str(translation.gettext("Minutes approved"))
