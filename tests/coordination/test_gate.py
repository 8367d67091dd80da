"""The review gate (issue 12): a decision needs, for every dimension the item's type requires, a current
opinion from each review department whose remit covers it — or the chair's recorded waiver — at a
quorate meeting; deferring needs neither. Through the services, the API (sending what the form would
refuse) and the pages; the chair, the reviewers' work list and its reminder."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from branchops.coordination import queries, services
from branchops.coordination.models import (
    Item,
    ItemStatus,
    ItemType,
    ReviewRemit,
    ReviewRequirement,
    Settings,
    Waiver,
)
from branchops.core import clock
from branchops.core.models import Notification, TimelineEntry
from branchops.core.workdays import add_working_days
from branchops.org.roles import Role
from tests.conftest import on_meeting_day
from tests.coordination.conftest import hold, review
from tests.coordination.test_api import URL, ok, post

pytestmark = pytest.mark.usefixtures("english_messages", "english_services")


@pytest.fixture
def english_services():
    """The services' messages in English, as the API's under ``english_messages``."""
    with translation.override("en"):
        yield

DECISIONS = [("approved", {}), ("conditional", {"conditions": [{"text": "补充话术", "proof": "话术定稿"}]}),
             ("rejected", {"reasons": "不具备落地条件"})]


def _decide(b, item, decision, extra):
    extra = dict(extra)
    if "conditions" in extra:
        extra["conditions"] = [{**c, "owner_department": b.pfb} for c in extra["conditions"]]
    return services.record_decision(b.users["sec1"], Item.objects.get(pk=item.pk), decision, **extra)


def _opinion(b, user, item, codes):
    services.give_opinion(b.users[user], Item.objects.get(pk=item.pk), recommendation="approve",
                          lines=[{"dimension": b.dim[c], "concern": False} for c in codes])


@pytest.fixture
def held(coord_bank, draft):
    """An item on a frozen agenda at a quorate meeting chaired by the branch leader; opinions as the test gives."""
    b = coord_bank

    def make(before_freeze=lambda item: None, **extra):
        item = services.submit_item(b.users["pfb1"], draft(**extra))
        before_freeze(item)
        services.freeze_agenda(b.users["sec1"], item.meeting)
        hold(b, item.meeting)
        return Item.objects.get(pk=item.pk)

    return make


# --- configuration -----------------------------------------------------------------------------

def test_the_seed_defaults_are_configuration(db):
    """The migration's defaults (the test bank's fixture narrows them; here they are untouched)."""
    required = {r.item_type: {d.code for d in r.dimensions.all()} for r in ReviewRequirement.objects.all()}
    assert set(required) == set(ItemType.values)
    assert required["new_business"] == {"compliance", "brand", "consumer_rights", "process", "training", "channel",
                                        "emergency"}
    assert required["instruction"] == {"compliance", "process", "training"}
    assert [d.code for d in queries.required_dimensions("instruction")] == ["compliance", "process", "training"]


# --- the gate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("decision,extra", DECISIONS)
def test_every_decision_needs_the_missing_review(coord_bank, held, decision, extra):
    b = coord_bank
    item = held(before_freeze=lambda it: _opinion(b, "icc1", it, ["compliance"]))  # legal affairs never answers
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, decision, extra)
    message = str(exc.value)
    assert "消费者权益保护" in message and "法律事务部" in message and "no opinion" in message
    assert "合规管理" not in message  # what was answered is not named
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED and item.decision == "" and not item.conditions.exists()
    # Deferring needs no review.
    assert services.defer_item(b.users["sec1"], item).meeting_id != item.meeting_id


def test_a_stale_opinion_does_not_count(coord_bank, draft, held):
    b = coord_bank

    def reviewed_then_changed(item):
        review(b, item)
        services.save_item(b.users["pfb1"], Item.objects.get(pk=item.pk), effort_hours=6)  # opinions go stale

    item = held(before_freeze=reviewed_then_changed)
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, "approved", {})
    assert "stale" in str(exc.value) and "内控合规部" in str(exc.value) and "法律事务部" in str(exc.value)


def test_a_reviewer_covering_part_of_the_remit_does_not_satisfy_it(coord_bank, held):
    b = coord_bank
    ReviewRemit.objects.get(department=b.icc).dimensions.add(b.dim["process"])
    ReviewRequirement.objects.get(item_type="new_business").dimensions.add(b.dim["process"])

    def partly(item):
        _opinion(b, "icc1", item, ["compliance"])  # process omitted
        _opinion(b, "legal1", item, ["consumer_rights"])

    item = held(before_freeze=partly)
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, "approved", {})
    assert "流程或制度指引（内控合规部：dimension not answered）" in str(exc.value)
    row = next(r for r in queries.review_status(item) if r["dimension"].code == "process")
    assert not row["satisfied"] and row["answers"][0]["state"] == "omitted"


def test_a_dimension_no_department_covers_is_named(coord_bank, held):
    b = coord_bank
    ReviewRequirement.objects.get(item_type="new_business").dimensions.add(b.dim["emergency"])
    item = held(before_freeze=lambda it: review(b, it))
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, "approved", {})
    assert "应急处理（no review department's remit covers it）" in str(exc.value)


def test_the_requirement_is_per_item_type(coord_bank, held):
    b = coord_bank
    ReviewRequirement.objects.get(item_type="instruction").dimensions.set([b.dim["compliance"]])
    item = held(before_freeze=lambda it: _opinion(b, "icc1", it, ["compliance"]), item_type="instruction")
    assert _decide(b, item, "approved", {}).status == ItemStatus.APPROVED


def test_the_consent_block_leaves_an_incomplete_review_alone(coord_bank, draft):
    b = coord_bank
    full = review(b, services.submit_item(b.users["pfb1"], draft(title="评议齐全")))
    part = services.submit_item(b.users["pfb1"], draft(title="评议不全"))
    _opinion(b, "icc1", part, ["compliance"])
    Item.objects.filter(pk=part.pk).update(meeting=full.meeting)
    services.freeze_agenda(b.users["sec1"], full.meeting)
    hold(b, full.meeting)
    assert [i.pk for i in services.decide_consent_block(b.users["sec1"], full.meeting)] == [full.pk]
    assert Item.objects.get(pk=part.pk).status == ItemStatus.SUBMITTED


# --- the waiver --------------------------------------------------------------------------------

def test_the_chair_waives_with_a_reason_and_the_decision_goes_through(coord_bank, held, client):
    b = coord_bank
    item = held(before_freeze=lambda it: _opinion(b, "icc1", it, ["compliance"]))
    leader, sec = b.users["leader1"], b.users["sec1"]
    consumer = b.dim["consumer_rights"]
    with pytest.raises(PermissionDenied):  # the secretariat runs the meeting, the chair waives
        services.waive_review(sec, item, [consumer], "时间紧")
    with pytest.raises(ValidationError) as exc:
        services.waive_review(leader, item, [consumer], "  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # answered: nothing to waive
        services.waive_review(leader, item, [b.dim["compliance"]], "不需要")
    assert "dimensions" in exc.value.message_dict and "合规管理" in str(exc.value)
    assert not Waiver.objects.exists()

    [waiver] = services.waive_review(leader, item, [consumer], "法律事务部书面确认无消保影响，会上口头通报")
    assert (waiver.waived_by, waiver.meeting_id, waiver.is_stale) == (leader, item.meeting_id, False)
    assert TimelineEntry.objects.filter(object_id=str(item.pk), verb="review_waived").exists()
    decided = _decide(b, item, "approved", {})
    assert decided.status == ItemStatus.APPROVED and decided.approval_number

    # Shown on the item page and in the minutes (page and .docx).
    client.force_login(sec)
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert 'data-waiver="consumer_rights"' in page and "书面确认无消保影响" in page
    minutes = client.get(f"/coordination/meetings/{item.meeting_id}/minutes/").content.decode()
    assert 'data-minutes-waiver="consumer_rights"' in minutes
    from io import BytesIO

    from docx import Document

    from branchops.coordination.minutes import build_minutes_docx

    text = "\n".join(p.text for p in Document(BytesIO(build_minutes_docx(item.meeting))).paragraphs)
    assert "评议豁免" in text and "消费者权益保护：法律事务部书面确认无消保影响" in text and "主持人leader1" in text


def test_the_api_refuses_what_the_form_refuses_and_the_chair_waives_through_it(api, coord_bank, held):
    b = coord_bank
    item = held(before_freeze=lambda it: _opinion(b, "icc1", it, ["compliance"]))
    url = f"{URL}items/{item.pk}"
    sec, leader = api(b.users["sec1"]), None
    detail = ok(sec.get(url))
    gate = {r["dimension"]["code"]: r for r in detail["review_gate"]}
    assert gate["compliance"]["satisfied"] and not gate["consumer_rights"]["satisfied"]
    assert gate["consumer_rights"]["answers"] == [{"department": {"id": b.legal.pk, "code": "LEGAL",
                                                                  "name": "法律事务部"}, "state": "none"}]
    assert "waive" not in detail["allowed_actions"]  # not the chair
    refused = post(sec, f"{url}/actions/decide", {"decision": "approved", "version": detail["version"]})
    assert refused.status_code == 400 and "法律事务部" in str(refused.json()["detail"])
    assert post(sec, f"{url}/actions/waive", {"dimensions": ["consumer_rights"], "reason": "x"}).status_code == 403

    leader = api(b.users["leader1"])  # a branch leader: read-only on items, but the chair of this meeting
    detail = ok(leader.get(url))
    assert detail["allowed_actions"] == ["waive"]
    bad = post(leader, f"{url}/actions/waive", {"dimensions": ["nonsense"], "reason": "x", "version": detail["version"]})
    assert bad.status_code == 400 and "dimensions" in bad.json()["detail"]
    bad = post(leader, f"{url}/actions/waive", {"dimensions": ["consumer_rights"], "version": detail["version"]})
    assert bad.status_code == 400 and "reason" in bad.json()["detail"]
    assert post(leader, f"{url}/actions/decide", {"decision": "approved"}).status_code == 403  # no more than that
    assert not Waiver.objects.exists()
    detail = ok(post(leader, f"{url}/actions/waive", {"dimensions": ["consumer_rights"], "reason": "会上口头确认",
                                                      "version": detail["version"]}))
    assert detail["waivers"][0]["dimension"]["code"] == "consumer_rights"
    assert detail["waivers"][0]["waived_by"]["username"] == "leader1" and detail["review_gate"][1]["waived"]
    sec = api(b.users["sec1"])  # one test client: signed in again as the secretariat
    version = ok(sec.get(url))["version"]
    assert ok(post(sec, f"{url}/actions/decide", {"decision": "approved", "version": version}))["approval_number"]


def test_the_chair_waives_on_the_page(client, coord_bank, held):
    b = coord_bank
    item = held(before_freeze=lambda it: _opinion(b, "icc1", it, ["compliance"]))
    client.force_login(b.users["leader1"])
    page = client.get(f"/coordination/items/{item.pk}/")
    assert 'data-form="waive"' in page.content.decode()
    r = client.post(f"/coordination/items/{item.pk}/waive/", {"version": item.version, "reason": ""}, follow=True)
    assert not Waiver.objects.exists() and r.status_code == 200
    r = client.post(f"/coordination/items/{item.pk}/waive/", {
        "version": item.version, "dimensions": [b.dim["consumer_rights"].pk], "reason": "会上口头确认"})
    assert r.status_code in (200, 302) and Waiver.objects.get().reason == "会上口头确认"
    client.force_login(b.users["sec1"])
    assert client.post(f"/coordination/items/{item.pk}/waive/", {
        "version": item.version, "dimensions": [b.dim["consumer_rights"].pk], "reason": "x"}).status_code == 403


def test_a_waiver_lapses_when_the_item_changes(coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    # A meeting planned with its chair; the item moved onto it.
    meeting = services.create_meeting(b.users["sec1"], b.branch, item.meeting.held_on + timedelta(days=7),
                                      chair=b.users["leader1"])
    item = services.schedule_item(b.users["sec1"], item, meeting)
    _opinion(b, "icc1", item, ["compliance"])
    services.freeze_agenda(b.users["sec1"], meeting)
    on_meeting_day(meeting)  # a waiver is the meeting's act: on its day (the agenda still open until held)
    services.waive_review(b.users["leader1"], Item.objects.get(pk=item.pk), [b.dim["consumer_rights"]], "口头确认")
    services.save_item(b.users["pfb1"], Item.objects.get(pk=item.pk), effort_hours=8)  # the frozen agenda is open
    assert Waiver.objects.get().is_stale
    assert [r["dimension"].code for r in queries.review_gap(item)] == ["compliance", "consumer_rights"]


# --- the chair and the quorum ------------------------------------------------------------------

def test_the_chair_is_branch_staff_in_a_chairing_role(api, coord_bank):
    b = coord_bank
    day = timezone.localdate() + timedelta(days=30)
    for who in ("pfb1", "head11", "icc1"):
        with pytest.raises(ValidationError) as exc:
            services.create_meeting(b.users["sec1"], b.branch, day, chair=b.users[who])
        assert "chair" in exc.value.message_dict
    refused = post(api(b.users["sec1"]), f"{URL}meetings", {"held_on": day.isoformat(), "chair_id": b.users["pfb1"].pk})
    assert refused.status_code == 400 and "chair" in refused.json()["detail"]
    assert not type(b.branch).objects.get(pk=b.branch.pk).meetings.exists()
    created = ok(post(api(b.users["sec1"]), f"{URL}meetings", {"held_on": day.isoformat(),
                                                                "chair_id": b.users["leader1"].pk}), 201)
    assert created["chair"]["username"] == "leader1"


def test_the_page_plans_a_meeting_with_its_chair(client, coord_bank):
    b = coord_bank
    client.force_login(b.users["sec1"])
    day = (timezone.localdate() + timedelta(days=30)).isoformat()
    client.post("/coordination/meetings/new/", {"held_on": day, "chair": b.users["pfb1"].pk})
    assert not b.branch.meetings.exists()  # not offered, and refused
    client.post("/coordination/meetings/new/", {"held_on": day, "chair": b.users["leader1"].pk})
    assert b.branch.meetings.get().chair == b.users["leader1"]


def test_without_quorum_the_meeting_only_defers(coord_bank, draft):
    b = coord_bank
    item = review(b, services.submit_item(b.users["pfb1"], draft()))
    meeting = services.freeze_agenda(b.users["sec1"], item.meeting)
    hold(b, meeting, attendees=("sec1", "icc1"))  # legal affairs absent
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, "approved", {})
    assert "not quorate" in str(exc.value) and "法律事务部" in str(exc.value) and "1 of the review" in str(exc.value)
    hold(b, meeting, chair=None, attendees=("sec1", "icc1", "legal1"))  # the chair named on the meeting stays
    meeting.refresh_from_db()
    assert queries.quorum(meeting)["ok"] is False and "the chair is not in the attendance" in \
        queries.quorum(meeting)["problems"]
    Settings.objects.filter(branch=b.branch).update(quorum_chair=False)  # the branch's own rule
    assert _decide(b, item, "approved", {}).status == ItemStatus.APPROVED


def test_a_meeting_without_a_chair_is_not_quorate(coord_bank, draft):
    b = coord_bank
    item = review(b, services.submit_item(b.users["pfb1"], draft()))
    services.freeze_agenda(b.users["sec1"], item.meeting)
    hold(b, item.meeting, chair=None)
    with pytest.raises(ValidationError) as exc:
        _decide(b, item, "rejected", {"reasons": "x"})
    assert "no chair is designated" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.decide_consent_block(b.users["sec1"], item.meeting)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED


def test_the_secretariat_designates_or_changes_the_chair(api, client, coord_bank, draft):
    b = coord_bank
    meeting = services.submit_item(b.users["pfb1"], draft()).meeting
    with pytest.raises(ValidationError) as exc:
        services.designate_chair(b.users["sec1"], meeting, b.users["icc1"])
    assert "chair" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.designate_chair(b.users["leader1"], meeting, b.users["leader1"])  # the secretariat's to do
    url = f"{URL}meetings/{meeting.pk}/actions/chair"
    refused = post(api(b.users["sec1"]), url, {"chair_id": b.users["pfb1"].pk})
    assert refused.status_code == 400 and "chair" in refused.json()["detail"]
    assert post(api(b.users["pfb1"]), url, {"chair_id": b.users["leader1"].pk}).status_code == 403
    meeting.refresh_from_db()
    assert meeting.chair is None
    assert ok(post(api(b.users["sec1"]), url, {"chair_id": b.users["leader1"].pk}))["chair"]["username"] == "leader1"
    client.force_login(b.users["sec1"])
    client.post(f"/coordination/meetings/{meeting.pk}/chair/", {"chair": b.users["sec1"].pk})
    meeting.refresh_from_db()
    assert meeting.chair == b.users["sec1"]
    assert TimelineEntry.objects.filter(object_id=str(meeting.pk), verb="chair_designated").count() == 2


def test_the_chair_must_be_fit_when_attendance_names_one(api, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    services.freeze_agenda(b.users["sec1"], item.meeting)
    on_meeting_day(item.meeting)
    r = post(api(b.users["sec1"]), f"{URL}meetings/{item.meeting_id}/actions/attendance",
             {"attendee_ids": [b.users["icc1"].pk], "chair_id": b.users["icc1"].pk})
    assert r.status_code == 400 and "chair" in r.json()["detail"]
    assert type(item.meeting).objects.get(pk=item.meeting_id).chair is None


# --- the reviewers' work list and its reminder -------------------------------------------------

def test_reviewers_see_what_waits_for_their_opinion(api, client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    waiting = ok(api(b.users["icc1"]).get(f"{URL}reviews/waiting"))
    assert [(w["item"]["id"], w["state"], w["meeting"]["id"]) for w in waiting] == [(item.pk, "none", item.meeting_id)]
    assert w_cutoff(waiting[0]) == item.meeting.cutoff_at
    client.force_login(b.users["icc1"])
    assert f'data-waiting-item="{item.pk}"' in client.get("/coordination/reviews/").content.decode()
    _opinion(b, "icc1", item, ["compliance"])
    assert ok(api(b.users["icc1"]).get(f"{URL}reviews/waiting")) == []
    services.save_item(b.users["pfb1"], Item.objects.get(pk=item.pk), effort_hours=7)
    assert [w["state"] for w in ok(api(b.users["icc1"]).get(f"{URL}reviews/waiting"))] == ["stale"]
    # A department answering part of its remit still owes the rest.
    ReviewRemit.objects.get(department=b.icc).dimensions.add(b.dim["process"])
    ReviewRequirement.objects.get(item_type="new_business").dimensions.add(b.dim["process"])
    _opinion(b, "icc1", item, ["compliance"])
    [w] = ok(api(b.users["icc1"]).get(f"{URL}reviews/waiting"))
    assert w["state"] == "partial" and [m["code"] for m in w["missing"]] == ["process"]
    # Not a reviewer: 403; the legal reviewer's own list.
    assert api(b.users["pfb1"]).get(f"{URL}reviews/waiting").status_code == 403
    client.force_login(b.users["pfb1"])
    assert client.get("/coordination/reviews/").status_code == 403
    assert [w["review_department"]["code"] for w in ok(api(b.users["legal1"]).get(f"{URL}reviews/waiting"))] == [
        "LEGAL"]


def w_cutoff(row):
    from django.utils.dateparse import parse_datetime

    return parse_datetime(row["cutoff_at"])


def test_one_reminder_per_item_and_department_before_the_cut_off(coord_bank, draft,
                                                                 django_capture_on_commit_callbacks):
    b = coord_bank
    b.person("icc2", b.branch, [Role.REVIEWER], department=b.icc)
    item = services.submit_item(b.users["pfb1"], draft())
    _opinion(b, "legal1", item, ["consumer_rights"])  # legal affairs has answered: not reminded
    cutoff_day = timezone.localtime(item.meeting.cutoff_at).date()

    def reminders(user):
        return Notification.objects.filter(recipient=b.users[user], title__contains="cut-off").count()

    far = cutoff_day - timedelta(days=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_reviewers(far) == 0
    day_before = add_working_days(cutoff_day, -1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_reviewers(day_before) == 1
        assert services.remind_reviewers(day_before) == 0
        assert services.remind_reviewers(cutoff_day) == 0
    assert (reminders("icc1"), reminders("icc2"), reminders("legal1")) == (1, 1, 0)
    from branchops.core import periodic

    assert "coordination.opinion_reminders" in periodic.registered()


def test_no_waiver_before_the_meetings_date(api, coord_bank, draft):
    """A frozen agenda is not a meeting held: the chair waives at the meeting, on its day or later —
    the service, the API and the page's offer alike."""
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    meeting = services.designate_chair(b.users["sec1"], item.meeting, b.users["leader1"])
    _opinion(b, "icc1", item, ["compliance"])
    services.freeze_agenda(b.users["sec1"], meeting)
    assert clock.today() < meeting.held_on
    with pytest.raises(ValidationError) as exc:
        services.waive_review(b.users["leader1"], Item.objects.get(pk=item.pk), [b.dim["consumer_rights"]], "口头确认")
    assert "held_on" in exc.value.message_dict
    leader = api(b.users["leader1"])
    detail = ok(leader.get(f"{URL}items/{item.pk}"))
    assert "waive" not in detail["allowed_actions"]
    refused = post(leader, f"{URL}items/{item.pk}/actions/waive", {"dimensions": ["consumer_rights"], "reason": "口头确认",
                                                                  "version": detail["version"]})
    assert refused.status_code == 400 and "held_on" in refused.json()["detail"], refused.content
    assert not Waiver.objects.exists()
    on_meeting_day(meeting)
    assert "waive" in ok(leader.get(f"{URL}items/{item.pk}"))["allowed_actions"]
    services.waive_review(b.users["leader1"], Item.objects.get(pk=item.pk), [b.dim["consumer_rights"]], "口头确认")
    assert Waiver.objects.count() == 1
