"""The coordination action layer: one table answers the page's ``can``, the API's ``allowed_actions``
and the service's check; every rule a form checks is the service's too, so the API cannot skip it;
the services keep their promises (a lock, the secretariat's number, a timeline)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from branchops.coordination import rules, services
from branchops.coordination.models import Condition, Item, ItemStatus, Meeting
from branchops.core import clock
from branchops.core.audit import verb_label
from branchops.core.models import TimelineEntry
from branchops.dispatch.models import WorkOrder
from branchops.org import services as org
from branchops.org.models import Level, OutletType
from tests.coordination.conftest import hold, ready, review
from tests.coordination.test_api import URL, item_payload, ok, post

pytestmark = pytest.mark.usefixtures("english_messages")


def refused(response, status=400, field=None):
    assert response.status_code == status, response.content
    if field is not None:
        assert field in response.json()["detail"], response.json()
    return response.json()


def on_frozen_agenda(b, draft, **extra):
    """Submitted, reviewed, frozen, and at a quorate meeting on its day: ready for a decision."""
    return ready(b, services.submit_item(b.users["pfb1"], draft(**extra)))


def approved(b, draft, **extra):
    return services.record_decision(b.users["sec1"], on_frozen_agenda(b, draft, **extra), "approved")


def offered(response) -> set:
    """The actions the item page offers (its ``can``)."""
    return {name for name, yes in response.context["can"].items() if yes}


@pytest.fixture
def elsewhere(coord_bank):
    """Another tier-1 branch (a department and a cluster of its own) and a tier-2 branch under ours."""
    b = coord_bank
    b.gz = org.save_institution(None, code="GZ", name="广州分行", level=Level.TIER1_BRANCH, parent=b.ho)
    gz_sub = org.save_institution(None, code="GZ01", name="天河支行", level=Level.SUB_BRANCH, parent=b.gz)
    b.gz_cluster = org.save_cluster(None, code="G01", name="天河1+1", institution=gz_sub)
    b.gz_dept = org.save_department(None, institution=b.gz, code="GZPFB", name="广州个人金融部", is_business=True)
    b.tier2 = org.save_institution(None, code="SZ9", name="东莞二级分行", level=Level.TIER2_BRANCH, parent=b.branch)
    return b


# --- one table for the page and the API --------------------------------------------------------

@pytest.mark.parametrize("username, expected", [
    ("pfb1", {"edit", "attach", "submit", "withdraw"}),
    ("sec1", set()),  # may draft for its own department only; runs meetings, but a draft is not on one
    ("icc1", None),  # a draft is not shown to reviewers
])
def test_the_page_and_the_api_offer_the_same_actions_on_a_draft(api, client, coord_bank, draft, username, expected):
    item = draft()
    user = coord_bank.users[username]
    detail = api(user).get(f"{URL}items/{item.pk}")
    if expected is None:
        assert detail.status_code == 404
        return
    page = client.get(f"/coordination/items/{item.pk}/")
    assert set(ok(detail)["allowed_actions"]) == offered(page) == expected


def test_actions_follow_the_item_through_its_life(api, client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())

    def both(username):
        user = b.users[username]
        allowed = set(ok(api(user).get(f"{URL}items/{item.pk}"))["allowed_actions"])
        assert allowed == offered(client.get(f"/coordination/items/{item.pk}/")), username
        return allowed

    assert both("pfb1") == {"edit", "attach", "withdraw"}
    assert both("icc1") == {"opinion"}
    assert both("sec1") == {"schedule", "defer", "close"}  # the agenda is not frozen: no decision yet
    item = review(b, item)
    services.freeze_agenda(b.users["sec1"], item.meeting)
    hold(b, item.meeting)
    assert both("sec1") == {"schedule", "defer", "decide"}  # before the meeting: not closed under it
    item = services.record_decision(b.users["sec1"], Item.objects.get(pk=item.pk), "conditional", conditions=[
        {"text": "补充话术", "owner_department": b.pfb, "proof": "话术定稿"}])
    # a condition open: its department revises a material to meet it, the secretariat too
    assert both("pfb1") == {"revise_material"} and both("sec1") == {"revise_material", "close"}
    cond = item.conditions.get()
    detail = ok(api(b.users["pfb1"]).get(f"{URL}items/{item.pk}"))
    assert detail["conditions"][0]["allowed_actions"] == ["met"]
    assert ok(api(b.users["sec1"]).get(f"{URL}items/{item.pk}"))["conditions"][0]["allowed_actions"] == ["met"]
    services.report_condition_met(b.users["pfb1"], cond, "已补充")
    assert ok(api(b.users["sec1"]).get(f"{URL}items/{item.pk}"))["conditions"][0]["allowed_actions"] == ["signoff"]
    services.sign_off_condition(b.users["sec1"], cond)
    assert both("sec1") == {"revoke", "release", "make_room", "close", "revise_material"}
    assert both("pfb1") == set()  # no condition left open: the department no longer revises


def test_meeting_actions_in_the_api_and_on_the_page(api, client, coord_bank, draft):
    b = coord_bank
    meeting = services.submit_item(b.users["pfb1"], draft()).meeting
    url = f"{URL}meetings/{meeting.pk}"
    assert ok(api(b.users["sec1"]).get(url))["allowed_actions"] == ["freeze", "chair", "attendance", "reorder",
                                                                    "notes"]
    assert ok(api(b.users["pfb1"]).get(url))["allowed_actions"] == []
    page = api(b.users["sec1"]).get(f"/coordination/meetings/{meeting.pk}/")
    assert {k for k, v in page.context["can"].items() if v} == {"freeze", "chair", "attendance", "reorder", "notes"}
    services.freeze_agenda(b.users["sec1"], meeting)
    assert ok(api(b.users["sec1"]).get(url))["allowed_actions"] == ["chair", "attendance", "consent", "reorder",
                                                                    "notes", "close"]


def test_patching_one_rule_changes_the_page_the_api_and_the_service_together(api, client, coord_bank, draft,
                                                                             monkeypatch):
    b = coord_bank
    item = approved(b, draft)
    sec = b.users["sec1"]
    c = api(sec)
    assert "release" in ok(c.get(f"{URL}items/{item.pk}"))["allowed_actions"]
    assert 'data-form="release"' in client.get(f"/coordination/items/{item.pk}/").content.decode()

    monkeypatch.setattr(rules, "releases", lambda user, item: False)
    assert "release" not in ok(c.get(f"{URL}items/{item.pk}"))["allowed_actions"]
    page = client.get(f"/coordination/items/{item.pk}/")
    assert page.context["can"]["release"] is False and 'data-form="release"' not in page.content.decode()
    assert client.post(f"/coordination/items/{item.pk}/release/", {"version": item.version,
                                                                   "stagger_groups": 1}).status_code == 403
    refused(post(c, f"{URL}items/{item.pk}/actions/release", {"version": item.version}), 403)
    with pytest.raises(PermissionDenied):
        services.release_item(sec, item)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.APPROVED and not WorkOrder.objects.exists()

    # And the other way: a rule that lets the submitting department decide lets it on every path.
    monkeypatch.setattr(rules, "decides", lambda user, item: True)
    other = on_frozen_agenda(b, draft, title="另一事项")
    assert "decide" in ok(api(b.users["pfb1"]).get(f"{URL}items/{other.pk}"))["allowed_actions"]
    ok(post(api(b.users["pfb1"]), f"{URL}items/{other.pk}/actions/decide", {"decision": "approved"}))
    assert Item.objects.get(pk=other.pk).decided_by == b.users["pfb1"]


# --- rules the forms checked, now the services' (tried through the API) --------------------------

def test_targets_stay_within_the_items_branch(api, elsewhere, draft):
    b = elsewhere
    c = api(b.users["pfb1"])
    before = Item.objects.count()
    refused(post(c, f"{URL}items", item_payload(target_mode="by_cluster", cluster_codes=["G01"])),
            field="target_clusters")
    OutletType.objects.filter(code="light").update(is_active=False)
    refused(post(c, f"{URL}items", item_payload(target_mode="by_type", target_type_codes=["light"])),
            field="target_types")
    refused(post(c, f"{URL}items", item_payload(target_mode="by_type")), field="target_types")  # none chosen
    refused(post(c, f"{URL}items", item_payload(effort_hours=-2)), field="effort_hours")
    assert Item.objects.count() == before
    item = draft()
    refused(c.patch(f"{URL}items/{item.pk}", {"target_mode": "by_cluster", "cluster_codes": ["G01"]},
                    content_type="application/json"), field="target_clusters")
    item.refresh_from_db()
    assert item.target_mode == "all" and not item.target_clusters.exists() and item.outlets.count() == 3


def test_schedule_only_onto_another_open_meeting_of_the_items_branch(api, elsewhere, draft):
    b = elsewhere
    item = services.submit_item(b.users["pfb1"], draft())
    c = api(b.users["sec1"])
    url = f"{URL}items/{item.pk}/actions/schedule"
    theirs = services.create_meeting(None, b.tier2, clock.today() + timedelta(days=20))  # in sec1's view
    refused(post(c, url, {"meeting_id": theirs.pk, "reason": "x"}), field="meeting")
    refused(post(c, url, {"meeting_id": item.meeting_id}), field="meeting")  # already on it
    refused(post(c, url, {"meeting_id": item.meeting_id, "reason": "长" * 201}), field="meeting")
    later = services.create_meeting(None, b.branch, clock.today() + timedelta(days=40))
    refused(post(c, url, {"meeting_id": later.pk, "reason": "长" * 201}), field="reason")
    assert Item.objects.get(pk=item.pk).meeting_id == item.meeting_id


def test_condition_owners_are_departments_of_the_items_branch(api, elsewhere, draft):
    b = elsewhere
    item = on_frozen_agenda(b, draft)
    closed = org.save_department(None, institution=b.branch, code="OLD", name="已撤并部门", is_active=False)
    c = api(b.users["sec1"])
    url = f"{URL}items/{item.pk}/actions/decide"
    for owner in (b.gz_dept, closed):
        refused(post(c, url, {"decision": "conditional", "conditions": [
            {"text": "补充话术", "owner_department_id": owner.pk, "proof": "话术定稿"}]}),
            field="conditions.0.owner_department")
    refused(post(c, url, {"decision": "conditional", "conditions": [
        {"text": "补充话术", "owner_department_id": b.pfb.pk, "proof": "长" * 201}]}), field="conditions.0.proof")
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED and not Condition.objects.exists()


def test_attendance_is_the_branchs_active_staff(api, coord_bank, draft):
    b = coord_bank
    meeting = services.submit_item(b.users["pfb1"], draft()).meeting
    c = api(b.users["sec1"])
    url = f"{URL}meetings/{meeting.pk}/actions/attendance"
    refused(post(c, url, {"attendee_ids": [b.users["sec1"].pk, b.users["staff11"].pk]}), field="attendees")
    refused(post(c, url, {"attendee_ids": [b.users["sec1"].pk], "chair_id": b.users["head11"].pk}), field="chair")
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.PLANNED and not meeting.attendees.exists() and meeting.chair is None


def test_release_input_is_checked_by_the_service(api, coord_bank, draft):
    b = coord_bank
    item = approved(b, draft)
    c = api(b.users["sec1"])
    url = f"{URL}items/{item.pk}/actions/release"
    for groups in (0, 13):
        refused(post(c, url, {"stagger_groups": groups}), field="stagger_groups")
    refused(post(c, url, {"override_reason": "长" * 201}), field="override_reason")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.APPROVED and not WorkOrder.objects.exists()


def test_texts_are_no_longer_than_the_forms_allow(api, coord_bank, draft):
    b = coord_bank
    c = api(b.users["sec1"])
    refused(post(c, f"{URL}meetings", {"held_on": (clock.today() + timedelta(days=9)).isoformat(),
                                       "location": "长" * 101}), field="location")
    assert not Meeting.objects.exists()
    item = services.submit_item(b.users["pfb1"], draft())
    refused(post(api(b.users["pfb1"]), f"{URL}items/{item.pk}/actions/withdraw", {"reason": "长" * 201}),
            field="reason")
    c = api(b.users["sec1"])
    refused(post(c, f"{URL}items/{item.pk}/actions/defer", {"reason": "长" * 201}), field="reason")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED
    numbered = approved(b, draft, title="已通过")
    refused(post(c, f"{URL}items/{numbered.pk}/actions/revoke", {"reason": "长" * 201}), field="reason")
    assert Item.objects.get(pk=numbered.pk).approval_revoked_at is None
    conditional = services.record_decision(b.users["sec1"], on_frozen_agenda(b, draft, title="有条件"),
                                           "conditional", conditions=[
                                               {"text": "补充话术", "owner_department": b.pfb, "proof": "话术定稿"}])
    cond = conditional.conditions.get()
    services.report_condition_met(b.users["pfb1"], cond, "已补充")
    refused(post(c, f"{URL}conditions/{cond.pk}/signoff", {"accept": False, "note": "长" * 501}), field="note")
    assert Condition.objects.get(pk=cond.pk).status == Condition.Status.MET


def test_a_meeting_closes_only_once_its_agenda_is_frozen(api, coord_bank):
    b = coord_bank
    meeting = services.create_meeting(b.users["sec1"], b.branch, clock.today() + timedelta(days=9))
    c = api(b.users["sec1"])
    refused(post(c, f"{URL}meetings/{meeting.pk}/actions/close"))
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.PLANNED
    ok(post(c, f"{URL}meetings/{meeting.pk}/actions/freeze"))
    assert ok(post(c, f"{URL}meetings/{meeting.pk}/actions/close"))["status"] == "closed"
    closed = ok(c.get(f"{URL}meetings/{meeting.pk}"))
    assert closed["allowed_actions"] == []  # nothing is offered any more; asked anyway, the state says why
    assert "minutes are still open" in str(refused(post(c, f"{URL}meetings/{meeting.pk}/actions/close"))["detail"])


# --- one stale-version rule ------------------------------------------------------------------------

@pytest.mark.parametrize("action, data", [("withdraw", {}), ("defer", {"reason": "x"}),
                                          ("schedule", {"reason": "x"})])
def test_every_versioned_action_refuses_a_stale_version(client, coord_bank, draft, action, data):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    shown = item.version
    services.save_item(b.users["pfb1"], item, effort_hours=5)  # someone changed it meanwhile
    later = services.create_meeting(None, b.branch, clock.today() + timedelta(days=40))
    client.force_login(b.users["pfb1" if action == "withdraw" else "sec1"])
    r = client.post(f"/coordination/items/{item.pk}/{action}/", {"version": shown, "meeting": later.pk, **data})
    assert r.status_code == 302
    current = Item.objects.get(pk=item.pk)
    assert current.status == ItemStatus.SUBMITTED and current.meeting_id == item.meeting_id
    assert current.version == shown + 1


# --- the services' promises --------------------------------------------------------------------------

def test_add_attachment_locks_the_item_and_is_one_transaction(coord_bank, draft, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    b = coord_bank
    item = draft()
    locked = []
    real = services.lock_versioned
    monkeypatch.setattr(services, "lock_versioned", lambda obj, version, message: locked.append(
        (obj.pk, version)) or real(obj, version, message))
    services.add_attachment(b.users["pfb1"], item, "script", SimpleUploadedFile("话术.txt", b"x"),
                            expected_version=item.version)
    assert locked == [(item.pk, item.version)]
    with pytest.raises(ValidationError, match="changed by someone else"):
        services.add_attachment(b.users["pfb1"], item, "guide", SimpleUploadedFile("指引.txt", b"x"),
                                expected_version=item.version - 1)

    def fail(*args, **kwargs):
        raise RuntimeError("the timeline failed")

    monkeypatch.setattr(services, "record_timeline", fail)
    with pytest.raises(RuntimeError):
        services.add_attachment(b.users["pfb1"], item, "guide", SimpleUploadedFile("指引.txt", b"x"))
    assert list(item.attachments.values_list("kind", flat=True)) == ["script"]  # the failed one is undone


def test_an_approval_number_is_issued_by_the_secretariat_only(coord_bank, draft):
    b = coord_bank
    item = services.record_decision(b.users["sec1"], on_frozen_agenda(b, draft), "conditional", conditions=[
        {"text": "补充话术", "owner_department": b.pfb, "proof": "话术定稿"}])
    cond = item.conditions.get()
    services.report_condition_met(b.users["pfb1"], cond, "已补充")
    Condition.objects.filter(pk=cond.pk).update(status=Condition.Status.SIGNED_OFF)  # signed off, number pending
    for user in ("pfb1", "icc1", "head11"):
        with pytest.raises(PermissionDenied):
            services.issue_approval_number(b.users[user], item)
    assert not Item.objects.get(pk=item.pk).approval_number
    services.issue_approval_number(b.users["sec1"], item)
    item.refresh_from_db()
    assert item.status == ItemStatus.APPROVED and item.approval_number
    other = on_frozen_agenda(b, draft, title="未决事项")
    with pytest.raises(ValidationError):  # undecided: no number, whoever asks
        services.issue_approval_number(None, other)
    # The decision issues it as it goes — for the secretariat only.
    with pytest.raises(PermissionDenied):
        services.record_decision(b.users["pfb1"], other, "approved")
    assert not Item.objects.get(pk=other.pk).approval_number


def test_planning_reordering_and_closing_a_meeting_are_on_its_timeline(coord_bank, draft):
    b = coord_bank
    sec = b.users["sec1"]
    meeting = services.create_meeting(sec, b.branch, clock.today() + timedelta(days=30), "三楼会议室")
    first = services.submit_item(b.users["pfb1"], draft(title="一"))
    second = services.submit_item(b.users["pfb1"], draft(title="二"))
    for it in (first, second):
        if it.meeting_id != meeting.pk:
            services.schedule_item(sec, it, meeting)
    services.reorder_agenda(sec, meeting, [second.pk, first.pk])
    for it in (first, second):
        review(b, it)
    services.freeze_agenda(sec, meeting)
    hold(b, meeting)
    for it in (first, second):
        services.record_decision(sec, Item.objects.get(pk=it.pk), "approved")
    services.close_meeting(sec, meeting)
    entries = {e.verb: e for e in TimelineEntry.objects.filter(object_id=str(meeting.pk))}
    assert {"meeting_planned", "agenda_reordered", "agenda_frozen", "meeting_closed"} <= set(entries)
    assert all(entries[v].actor == sec for v in ("meeting_planned", "agenda_reordered", "meeting_closed"))
    assert "三楼会议室" in entries["meeting_planned"].message
    assert entries["agenda_reordered"].message == f"{second.number}、{first.number}"
    with translation.override("zh-hans"):
        labels = {v: verb_label(v) for v in ("meeting_planned", "agenda_reordered", "meeting_closed")}
    assert all(label != verb for verb, label in labels.items())
