"""Versioned materials: a decided item's material revised to meet a condition (the submitter) or
corrected after release (the secretariat) gets a new version; the earlier one stays readable; work
orders carry the current version and their outlets are told — through the services, the API (what
the rule refuses) and the pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.coordination import queries, services
from branchops.coordination.models import Condition, Item, ItemAttachment
from branchops.core.models import Notification, TimelineEntry
from branchops.dispatch.models import WorkOrder
from tests.coordination.conftest import ready

URL = "/api/v1/coordination/"


def upload(name="话术v2.txt", text="您好，请注意理财产品风险提示"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/plain")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def conditional(coord_bank, draft, media):
    """A customer-facing item with its script, conditionally approved: revise the script (PFB's condition)."""
    b = coord_bank
    item = draft()
    b.script = services.add_attachment(b.users["pfb1"], item, "script", upload("话术.txt", "您好"))
    item = ready(b, services.submit_item(b.users["pfb1"], Item.objects.get(pk=item.pk)))
    item = services.record_decision(b.users["sec1"], item, "conditional", conditions=[
        {"text": "话术补充风险提示", "owner_department": b.pfb, "proof": "修订后的话术"}])
    b.condition = item.conditions.get()
    return item


def released(b, item):
    cond = Condition.objects.get(pk=b.condition.pk)
    if cond.status == Condition.Status.OPEN:
        services.report_condition_met(b.users["pfb1"], cond, "已修订")
    services.sign_off_condition(b.users["sec1"], Condition.objects.get(pk=cond.pk))
    services.release_item(b.users["sec1"], Item.objects.get(pk=item.pk), override_reason="测试")
    return Item.objects.get(pk=item.pk)


def test_submitter_revises_to_meet_the_condition_and_the_earlier_version_stays(coord_bank, conditional):
    b, item = coord_bank, conditional
    v2 = services.revise_material(b.users["pfb1"], item, upload=upload(), reason="按条件补充风险提示",
                                  replaces=b.script.pk, condition=b.condition.pk)
    assert (v2.version, v2.kind, v2.is_current, v2.previous_id, v2.condition_id) == (
        2, "script", True, b.script.pk, b.condition.pk)
    old = ItemAttachment.objects.get(pk=b.script.pk)
    assert not old.is_current and old.file.read() == "您好".encode()  # kept, readable
    [material] = queries.material_versions(item)
    assert [v.version for v in material["versions"]] == [2, 1] and material["current"] == v2
    entry = TimelineEntry.objects.filter(verb="material_revised").get()
    assert "按条件补充风险提示" in entry.message and entry.actor == b.users["pfb1"]
    # a material added after the decision (the condition asks for an emergency plan): version 1
    plan = services.revise_material(b.users["pfb1"], item, upload=upload("应急预案.txt"), reason="条件要求",
                                    kind="emergency", condition=b.condition.pk)
    assert (plan.version, plan.kind, plan.previous_id) == (1, "emergency", None)


def test_what_the_rule_refuses(coord_bank, conditional, draft):
    b, item = coord_bank, conditional

    def revise(user, **kw):
        args = {"upload": upload(), "reason": "补充", "replaces": b.script.pk, "condition": b.condition.pk} | kw
        return services.revise_material(b.users[user], Item.objects.get(pk=item.pk), **args)

    with pytest.raises(PermissionDenied):
        revise("icc1")  # a reviewer
    with pytest.raises(PermissionDenied):
        revise("head11")  # an outlet
    refusals = {
        "condition": dict(condition=None),  # the submitter names the condition it meets
        "reason": dict(reason="  "),
        "replaces": dict(replaces=999999),
        "kind": dict(replaces=None, kind="poster"),
        "file": dict(upload=SimpleUploadedFile("空.txt", b"")),
    }
    for field, kw in refusals.items():
        with pytest.raises(ValidationError) as exc:
            revise("pfb1", **kw)
        assert field in exc.value.message_dict, (field, exc.value)
    other = draft(title="另一个事项")
    with pytest.raises(ValidationError) as exc:  # a condition of another item
        revise("pfb1", condition=Condition.objects.create(item=other, text="x", owner_department=b.pfb,
                                                          due_date=b.condition.due_date, proof="x").pk)
    assert "condition" in exc.value.message_dict
    with pytest.raises(ValidationError):  # an undecided item: materials are attached, not revised
        services.revise_material(b.users["pfb1"], other, upload=upload(), reason="x", kind="script")
    revise("pfb1")
    with pytest.raises(ValidationError) as exc:  # the superseded version
        revise("pfb1")
    assert "replaces" in exc.value.message_dict
    assert ItemAttachment.objects.filter(item=item).count() == 2  # nothing else written
    services.report_condition_met(b.users["pfb1"], Condition.objects.get(pk=b.condition.pk), "已修订")
    services.sign_off_condition(b.users["sec1"], Condition.objects.get(pk=b.condition.pk))
    current = item.attachments.get(is_current=True)
    with pytest.raises(ValidationError) as exc:  # signed off: its material no longer changes for it
        revise("pfb1", replaces=current.pk)
    assert "condition" in exc.value.message_dict


def test_a_revision_reaches_the_open_work_orders_and_their_outlets(coord_bank, conditional,
                                                                   django_capture_on_commit_callbacks):
    b = coord_bank
    item = released(b, conditional)
    wo11 = WorkOrder.objects.get(item=item, institution=b.o11)
    with pytest.raises(ValidationError):  # no open condition left: the submitter cannot revise
        services.revise_material(b.users["pfb1"], item, upload=upload(), reason="再改", replaces=b.script.pk)
    before = Notification.objects.filter(recipient=b.users["head11"]).count()
    with django_capture_on_commit_callbacks(execute=True):  # notifications go out after the commit
        v2 = services.revise_material(b.users["sec1"], item, upload=upload(), reason="监管新规：补充风险提示",
                                      replaces=b.script.pk)
    assert Notification.objects.filter(recipient=b.users["head11"]).count() == before + 1
    note = Notification.objects.filter(recipient=b.users["staff11"]).latest("pk")
    assert "监管新规" in note.body and note.url == wo11.get_absolute_url()
    assert Notification.objects.filter(recipient=b.users["pfb1"], body__contains="监管新规").exists()  # the submitter
    assert TimelineEntry.objects.filter(verb="material_changed", object_id=str(wo11.pk)).exists()
    # a done work order is not told again
    wo21 = WorkOrder.objects.get(item=item, institution=b.o21)
    from branchops.dispatch import services as dispatch
    dispatch.complete_work_order(None, wo21, "已完成")
    staff21 = Notification.objects.filter(recipient=b.users["staff21"]).count()
    with django_capture_on_commit_callbacks(execute=True):
        services.revise_material(b.users["sec1"], Item.objects.get(pk=item.pk), upload=upload("v3.txt"),
                                 reason="再更正", replaces=v2.pk)
    assert Notification.objects.filter(recipient=b.users["staff21"]).count() == staff21
    # revoked: the decision is no longer in force
    services.revoke_approval(b.users["sec1"], Item.objects.get(pk=item.pk), "停止推广")
    current = Item.objects.get(pk=item.pk).attachments.get(is_current=True)
    with pytest.raises(ValidationError):
        services.revise_material(b.users["sec1"], Item.objects.get(pk=item.pk), upload=upload(), reason="x",
                                 replaces=current.pk)


@pytest.mark.usefixtures("english_messages")
def test_api_lists_versions_and_refuses_what_the_rule_refuses(api, coord_bank, conditional):
    b, item = coord_bank, conditional
    url = f"{URL}items/{item.pk}/materials/revisions"
    body = {"file": upload(), "reason": "补充风险提示", "replaces": b.script.pk}
    refused = api(b.users["pfb1"]).post(url, body)  # the form would ask for the condition
    assert refused.status_code == 400 and "condition" in refused.json()["detail"], refused.content
    assert api(b.users["icc1"]).post(url, {**body, "file": upload()}).status_code == 403
    assert api(b.users["staff21"]).post(url, {**body, "file": upload()}).status_code == 403
    stale = api(b.users["pfb1"]).post(url, {**body, "file": upload(), "condition": b.condition.pk, "version": 1})
    assert stale.status_code in (400, 409), stale.content
    done = api(b.users["pfb1"]).post(url, {**body, "file": upload(), "condition": b.condition.pk})
    assert done.status_code == 201, done.content
    [att] = done.json()["attachments"]  # the current versions
    assert (att["version"], att["previous_id"], att["reason"]) == (2, b.script.pk, "补充风险提示")
    [material] = api(b.users["sec1"]).get(f"{URL}items/{item.pk}/materials").json()
    assert [v["version"] for v in material["versions"]] == [2, 1]
    old = api(b.users["sec1"]).get(material["versions"][1]["url"])
    assert old.status_code == 200 and b"".join(old.streaming_content) == "您好".encode()


def test_work_order_carries_the_current_version(api, login, coord_bank, conditional):
    b = coord_bank
    item = released(b, conditional)
    services.revise_material(b.users["sec1"], item, upload=upload(), reason="补充风险提示", replaces=b.script.pk)
    wo = WorkOrder.objects.get(item=item, institution=b.o11)
    [m] = api(b.users["head11"]).get(f"/api/v1/dispatch/work-orders/{wo.pk}").json()["materials"]
    assert (m["version"], m["reason"], m["name"]) == (2, "补充风险提示", "话术v2.txt")
    page = login(b.users["staff11"]).get(f"/dispatch/{wo.pk}/")
    text = page.content.decode()
    assert "话术v2.txt" in text and "补充风险提示" in text and "话术.txt<" not in text
    # through the work order only the current version; an outlet of another work order gets nothing
    assert login(b.users["staff11"]).get(f"/dispatch/{wo.pk}/materials/{b.script.pk}/").status_code == 404
    assert login(b.users["staff11"]).get(f"/dispatch/{wo.pk}/materials/{m['id']}/").status_code == 200
    other = WorkOrder.objects.get(item=item, institution=b.o21)
    assert login(b.users["staff11"]).get(f"/dispatch/{other.pk}/materials/{m['id']}/").status_code == 404


def test_item_page_shows_history_and_takes_a_revision(login, coord_bank, conditional):
    b, item = coord_bank, conditional
    c = login(b.users["pfb1"])
    page = c.get(f"/coordination/items/{item.pk}/").content.decode()
    assert 'id="revise-material"' in page
    answer = c.post(f"/coordination/items/{item.pk}/revise_material/", {
        "version": item.version, "replaces": b.script.pk, "condition": b.condition.pk, "reason": "补充风险提示",
        "file": upload()}, follow=True)
    text = answer.content.decode()
    assert answer.status_code == 200 and "material-history" in text and "补充风险提示" in text
    assert item.attachments.get(is_current=True).version == 2
    # the page refuses what the service refuses, with the reason, and changes nothing
    answer = c.post(f"/coordination/items/{item.pk}/revise_material/", {
        "version": Item.objects.get(pk=item.pk).version, "replaces": b.script.pk, "condition": b.condition.pk,
        "reason": "再改", "file": upload()}, follow=True)
    assert answer.status_code == 200 and item.attachments.count() == 2
    assert 'id="revise-material"' not in login(b.users["icc1"]).get(f"/coordination/items/{item.pk}/").content.decode()
