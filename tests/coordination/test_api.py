"""The coordination API: the journey end to end, scope (404 alike for hidden and missing, others'
items by their decision only), guards, approval-number verification and queries per request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branchops.coordination import services
from branchops.coordination.models import Item, ItemStatus
from branchops.core import clock
from tests.conftest import on_meeting_day
from tests.coordination.conftest import hold, ready, review

URL = "/api/v1/coordination/"
WO_URL = "/api/v1/dispatch/work-orders"
LIMITED_KEYS = {"view", "id", "number", "title", "department", "status", "decision", "approval_number"}

# Some assertions below match the English wording of messages.
pytestmark = pytest.mark.usefixtures("english_messages")


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def item_payload(**extra):
    start = clock.today() + timedelta(days=14)
    data = {"title": "新版手机银行上线网点推广", "item_type": "new_business", "background": "新版本上线，需网点配合推广",
            "actions": "向到店客户介绍新功能并协助下载", "effort_hours": 4, "window_start": start.isoformat(),
            "window_end": (start + timedelta(days=13)).isoformat(), "urgency": "normal", "customer_facing": True,
            "online_justification": "新功能需要面对面指导老年客户完成首次登录，无法完全线上完成"}
    data.update(extra)
    return data


def approved(b, draft, **extra):
    """An item taken through the services to an approval number."""
    item = ready(b, services.submit_item(b.users["pfb1"], draft(**extra)))
    return services.record_decision(b.users["sec1"], item, "approved")


# --- the journey -------------------------------------------------------------------------------

def test_journey_through_the_api(api, coord_bank):
    b = coord_bank
    c = api(b.users["pfb1"])
    item = ok(post(c, f"{URL}items", item_payload()), 201)
    assert item["view"] == "full" and item["status"] == "draft" and item["department"]["code"] == "PFB"
    assert [o["code"] for o in item["outlets"]] == ["SZ0101", "SZ0102", "SZ0201"]
    pk, url = item["id"], f"{URL}items/{item['id']}"
    item = ok(post(c, f"{url}/actions/submit", {"version": item["version"]}))
    assert item["status"] == "submitted" and item["meeting"] is not None
    assert {"no_script", "no_training", "no_emergency_plan"} <= {f["code"] for f in item["precheck"]}
    meeting_id = item["meeting"]["id"]

    # Reviewers: the ICC sees no opinions before giving its own; then gives one with a concern.
    c = api(b.users["icc1"])
    assert ok(c.get(url))["opinions"] is None
    item = ok(post(c, f"{url}/actions/opinion", {
        "recommendation": "conditional", "version": item["version"],
        "lines": [{"dimension": "compliance", "concern": True, "text": "需补充风险提示", "proposed_condition": "补充话术"}]}))
    [icc] = [o for o in item["opinions"] if o["department"]["code"] == "ICC"]
    assert icc["recommendation"] == "conditional" and icc["lines"][0]["dimension"]["code"] == "compliance"
    c = api(b.users["legal1"])
    ok(post(c, f"{url}/actions/opinion", {"recommendation": "approve",
                                          "lines": [{"dimension": "consumer_rights"}]}))

    # The secretariat runs the meeting.
    c = api(b.users["sec1"])
    meeting = ok(c.get(f"{URL}meetings/{meeting_id}"))
    assert [a["id"] for a in meeting["agenda"]] == [pk] and meeting["agenda"][0]["consent"] is False
    assert ok(c.get(f"{URL}meetings"))["items"][0]["id"] == meeting_id
    early = post(c, f"{url}/actions/decide", {"decision": "approved"})
    assert early.status_code == 400 and "Freeze" in str(early.json()["detail"])
    assert ok(post(c, f"{URL}meetings/{meeting_id}/actions/freeze"))["status"] == "frozen"
    on_meeting_day(meeting_id)
    meeting = ok(post(c, f"{URL}meetings/{meeting_id}/actions/attendance", {
        "attendee_ids": [b.users["sec1"].pk, b.users["icc1"].pk], "chair_id": b.users["sec1"].pk}))
    assert meeting["status"] == "held" and meeting["chair"]["username"] == "sec1"
    assert {a["username"] for a in meeting["attendees"]} == {"sec1", "icc1"}
    # Legal affairs is absent: 1 of the 2 review departments the branch needs — the API refuses to
    # decide what the meeting page would refuse, and nothing changes.
    assert meeting["quorum"]["ok"] is False and [d["code"] for d in meeting["quorum"]["review_departments_absent"]] \
        == ["LEGAL"]
    version = ok(c.get(url))["version"]
    refused = post(c, f"{url}/actions/decide", {"decision": "approved", "version": version})
    assert refused.status_code == 400 and "not quorate" in str(refused.json()["detail"]), refused.content
    assert "法律事务部" in str(refused.json()["detail"]) and Item.objects.get(pk=pk).status == "submitted"
    meeting = ok(post(c, f"{URL}meetings/{meeting_id}/actions/attendance", {
        "attendee_ids": [b.users["sec1"].pk, b.users["icc1"].pk, b.users["legal1"].pk],
        "chair_id": b.users["sec1"].pk}))
    assert meeting["quorum"]["ok"] is True and meeting["quorum"]["problems"] == []
    version = ok(c.get(url))["version"]
    item = ok(post(c, f"{url}/actions/decide", {
        "decision": "conditional", "version": version,
        "conditions": [{"text": "补充风险提示话术", "owner_department_id": b.pfb.pk, "proof": "修订后的话术文本"}]}))
    assert item["status"] == "conditional" and item["approval_number"] == ""
    [cond] = item["conditions"]
    assert cond["owner_department"]["code"] == "PFB" and cond["status"] == "open"
    blocked = post(c, f"{url}/actions/release")
    assert blocked.status_code == 400  # nothing released without a number

    # The owner department reports the condition met; the secretariat signs it off: the number.
    item = ok(post(api(b.users["pfb1"]), f"{URL}conditions/{cond['id']}/met", {"evidence": "已上传修订话术"}))
    assert item["conditions"][0]["status"] == "met"
    item = ok(post(api(b.users["sec1"]), f"{URL}conditions/{cond['id']}/signoff", {"accept": True}))
    year = clock.today().year
    assert item["status"] == "approved" and item["approval_number"] == f"运统〔{year}〕第001号"
    number = item["approval_number"]

    # An outlet verifies the number.
    v = ok(api(b.users["staff11"]).get(f"{URL}verify", {"number": number}))
    assert v["status"] == "valid" and "新版手机银行上线网点推广" in v["message"]
    assert v["item"]["outlets_count"] == 3 and v["item"]["targets_my_outlet"] is True

    # Release and the outlet's work order.
    c = api(b.users["sec1"])
    item = ok(post(c, f"{url}/actions/release", {"version": item["version"]}))
    assert item["status"] == "released" and item["work_orders"] == 3
    c = api(b.users["head11"])
    [wo] = ok(c.get(WO_URL))["items"]
    assert wo["outlet"]["code"] == "SZ0101" and wo["approval_number"] == number
    assert ok(post(c, f"{WO_URL}/{wo['id']}/actions/acknowledge"))["status"] == "acknowledged"
    done = ok(post(c, f"{WO_URL}/{wo['id']}/actions/done", {"note": "已完成培训与推广"}))
    assert done["status"] == "done" and done["note"] == "已完成培训与推广"

    # The register reflects it all.
    c = api(b.users["sec1"])
    [row] = ok(c.get(f"{URL}items", {"status": "released"}))["items"]
    assert row["id"] == pk and row["work_orders"] == 3 and row["work_orders_done"] == 1
    assert row["conditions_open"] == 0
    stats = ok(c.get(f"{URL}register/statistics"))
    assert stats["decided"] == 1 and stats["work_orders_done"] == 1 and stats["meetings_held"] == 1
    assert {d["decision"]: d["count"] for d in stats["by_decision"]}["conditional"] == 1
    history = ok(api(b.users["pfb1"]).get(f"{url}/history"))
    assert {"submitted", "opinion_given", "decided", "number_issued", "released"} <= {e["action"] for e in history}


def test_edit_with_version_and_targets(api, coord_bank):
    b = coord_bank
    c = api(b.users["pfb1"])
    item = ok(post(c, f"{URL}items", item_payload(target_mode="by_cluster", cluster_codes=["C01"])), 201)
    assert [o["code"] for o in item["outlets"]] == ["SZ0101", "SZ0102"]
    assert item["target_clusters"] == [{"code": "C01", "name": "福田1+2"}]
    url = f"{URL}items/{item['id']}"
    edited = ok(c.patch(url, {"version": item["version"], "target_mode": "list", "outlet_ids": [b.o21.pk],
                              "effort_hours": 1.1}, content_type="application/json"))
    assert [o["code"] for o in edited["outlets"]] == ["SZ0201"] and edited["effort_hours"] == 1.1
    stale = c.patch(url, {"version": item["version"], "title": "改"}, content_type="application/json")
    assert stale.status_code == 400 and "changed by someone else" in str(stale.json()["detail"])
    assert ok(c.get(url))["title"] == item["title"]
    bad = post(c, f"{URL}items", item_payload(target_type_codes=["nope"], urgency="whenever"))
    assert bad.status_code == 400 and "urgency" in bad.json()["detail"]
    bad = post(c, f"{URL}items", item_payload(target_type_codes=["nope"]))
    assert bad.status_code == 400 and "target_type_codes" in bad.json()["detail"]
    missing = post(c, f"{URL}items", {"item_type": "campaign"})
    assert missing.status_code == 400 and {"title", "effort_hours"} <= set(missing.json()["detail"])
    assert Item.objects.count() == 1


def test_withdraw_and_revise(api, coord_bank, draft):
    b = coord_bank
    c = api(b.users["pfb1"])
    item = services.submit_item(b.users["pfb1"], draft())
    assert ok(post(c, f"{URL}items/{item.pk}/actions/withdraw", {"reason": "方案调整"}))["status"] == "withdrawn"
    bad = ready(b, services.submit_item(b.users["pfb1"], draft(title="有问题的事项")))
    rejected = post(api(b.users["sec1"]), f"{URL}items/{bad.pk}/actions/decide", {"decision": "rejected"})
    assert rejected.status_code == 400 and "reasons" in rejected.json()["detail"]
    c = api(b.users["pfb1"])
    ok(post(c, f"{URL}items/{bad.pk}/actions/decide", {"decision": "rejected", "reasons": "不具备落地条件"}), 403)
    ok(post(api(b.users["sec1"]), f"{URL}items/{bad.pk}/actions/decide",
            {"decision": "rejected", "reasons": "不具备落地条件"}))
    new = ok(post(api(b.users["pfb1"]), f"{URL}items/{bad.pk}/actions/revise"))
    assert new["id"] != bad.pk and new["revision"] == 2 and new["previous"] == {"id": bad.pk, "number": bad.number}
    assert ok(c.get(f"{URL}items/{bad.pk}"))["next_revision"]["id"] == new["id"]


# --- scope -------------------------------------------------------------------------------------


def test_undecided_item_is_hidden_like_a_missing_one(api, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    c = api(b.users["staff11"])
    hidden, missing = c.get(f"{URL}items/{item.pk}"), c.get(f"{URL}items/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    assert post(c, f"{URL}items/{item.pk}/actions/submit").json() == missing.json()
    assert ok(c.get(f"{URL}items"))["items"] == []
    # The agenda shows the staff member only what they may see.
    assert ok(c.get(f"{URL}meetings/{item.meeting_id}"))["agenda"] == []
    # Reviewers see the items they are asked about, in full.
    [row] = ok(api(b.users["icc1"]).get(f"{URL}items"))["items"]
    assert row["id"] == item.pk and row["view"] == "full"
    assert ok(api(b.users["icc1"]).get(f"{URL}items/{item.pk}"))["background"] == item.background


def test_others_see_decisions_only(api, coord_bank, draft):
    b = coord_bank
    item = approved(b, draft, target_mode="list", target_list=[b.o11])
    # staff21's outlet is not targeted: the decision only, in the list and the detail.
    c = api(b.users["staff21"])
    [row] = ok(c.get(f"{URL}items"))["items"]
    assert set(row) == LIMITED_KEYS and row["view"] == "limited" and row["decision"] == "approved"
    assert row["approval_number"] == item.approval_number
    assert set(ok(c.get(f"{URL}items/{item.pk}"))) == LIMITED_KEYS
    assert c.get(f"{URL}items/{item.pk}/history").status_code == 403
    assert c.get(f"/api/v1/dispatch/items/{item.pk}/check").status_code == 403
    # staff11's outlet is targeted: the full item.
    assert ok(api(b.users["staff11"]).get(f"{URL}items/{item.pk}"))["view"] == "full"


def test_register_filters(api, coord_bank, draft):
    b = coord_bank
    a = approved(b, draft, title="甲事项")
    other = services.submit_item(b.users["pfb1"], draft(title="乙事项", item_type="campaign"))
    c = api(b.users["sec1"])

    def numbers(**params):
        return {r["number"] for r in ok(c.get(f"{URL}items", params))["items"]}

    assert numbers() == {a.number, other.number}
    assert numbers(status="submitted") == {other.number}
    assert numbers(decision="approved") == {a.number}
    assert numbers(item_type="campaign") == {other.number}
    assert numbers(q="甲") == {a.number}
    assert numbers(q=a.approval_number) == {a.number}
    assert numbers(department=b.pfb.pk) == {a.number, other.number}
    assert c.get(f"{URL}items", {"status": "nonsense"}).status_code == 400


# --- guards ------------------------------------------------------------------------------------

def test_guards(api, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    url = f"{URL}items/{item.pk}"
    c = api(b.users["sec1"])
    # Deciding on an item whose agenda is not frozen: 400, nothing changes.
    assert post(c, f"{url}/actions/decide", {"decision": "approved"}).status_code == 400
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED
    review(b, item)
    services.freeze_agenda(b.users["sec1"], item.meeting)
    hold(b, item.meeting)
    # Without the permission: 403.
    denied = post(api(b.users["pfb1"]), f"{url}/actions/decide", {"decision": "approved"})
    assert denied.status_code == 403 and denied.json()["detail"]
    assert post(api(b.users["staff11"]), f"{URL}items", item_payload()).status_code == 403
    assert post(api(b.users["pfb1"]), f"{URL}meetings/{item.meeting_id}/actions/close").status_code == 403
    # A stale version loses: two secretaries deciding at once.
    c = api(b.users["sec1"])
    shown = ok(c.get(url))["version"]
    ok(post(c, f"{url}/actions/decide", {"decision": "approved", "version": shown}))
    stale = post(c, f"{url}/actions/decide", {"decision": "rejected", "reasons": "x", "version": shown})
    assert stale.status_code == 400 and "changed by someone else" in str(stale.json()["detail"])
    # A stale version on an action whose service takes none is refused too.
    assert post(c, f"{url}/actions/revoke", {"reason": "x", "version": shown}).status_code == 400
    assert Item.objects.get(pk=item.pk).approval_revoked_at is None
    # Unknown action: 404; bad input: 400 naming the field.
    assert post(c, f"{url}/actions/explode").status_code == 404
    assert "meeting_id" in post(c, f"{url}/actions/schedule", {"meeting_id": 999999}).json()["detail"]


def test_release_needs_a_number_and_opinion_codes_are_checked(api, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    bad = post(api(b.users["icc1"]), f"{URL}items/{item.pk}/actions/opinion",
               {"recommendation": "approve", "lines": [{"dimension": "nope"}]})
    assert bad.status_code == 400 and "lines.0.dimension" in bad.json()["detail"]
    wrong = post(api(b.users["icc1"]), f"{URL}items/{item.pk}/actions/opinion",
                 {"recommendation": "approve", "lines": [{"dimension": "consumer_rights"}]})
    assert wrong.status_code == 400 and "lines.0.dimension" in wrong.json()["detail"]  # not ICC's remit
    released = post(api(b.users["sec1"]), f"{URL}items/{item.pk}/actions/release")
    assert released.status_code == 400 and "approval number" in str(released.json()["detail"])


def test_meeting_create_reorder_consent_close(api, coord_bank, draft):
    b = coord_bank
    first = services.submit_item(b.users["pfb1"], draft(title="一"))
    second = services.submit_item(b.users["pfb1"], draft(title="二"))
    for it, code in ((first, "compliance"), (second, "compliance")):
        services.give_opinion(b.users["icc1"], it, recommendation="approve",
                              lines=[{"dimension": b.dim[code], "concern": False}])
    services.give_opinion(b.users["legal1"], first, recommendation="approve",
                          lines=[{"dimension": b.dim["consumer_rights"], "concern": False}])
    c = api(b.users["sec1"])
    mid = first.meeting_id
    url = f"{URL}meetings/{mid}"
    agenda = ok(c.get(url))["agenda"]
    assert [(a["id"], a["consent"]) for a in agenda] == [(first.pk, True), (second.pk, False)]
    agenda = ok(post(c, f"{url}/actions/reorder", {"item_ids": [second.pk, first.pk]}))["agenda"]
    assert [a["id"] for a in agenda] == [second.pk, first.pk]
    assert post(c, f"{url}/actions/reorder", {"item_ids": [first.pk]}).status_code == 400
    ok(post(c, f"{url}/actions/freeze"))
    on_meeting_day(mid)
    refused = post(c, f"{url}/actions/consent")  # no attendance yet: not quorate, nothing decided
    assert refused.status_code == 400 and "not quorate" in str(refused.json()["detail"])
    assert not Item.objects.filter(meeting_id=mid).exclude(decision="").exists()
    hold(b, first.meeting)
    meeting = ok(post(c, f"{url}/actions/consent"))
    assert {a["id"]: a["decision"] for a in meeting["agenda"]} == {first.pk: "approved", second.pk: ""}
    assert post(c, f"{url}/actions/close").status_code == 400  # second is undecided
    ok(post(c, f"{URL}items/{second.pk}/actions/defer"))
    assert ok(post(c, f"{url}/actions/close"))["status"] == "closed"
    new = ok(post(c, f"{URL}meetings", {"held_on": (clock.today() + timedelta(days=60)).isoformat()}), 201)
    assert new["branch"]["code"] == "SZ" and new["status"] == "planned" and new["label"]
    assert post(c, f"{URL}meetings", {}).status_code == 400


# --- verification ------------------------------------------------------------------------------

def test_verify_valid_unknown_revoked(api, coord_bank, draft):
    b = coord_bank
    item = approved(b, draft, target_mode="list", target_list=[b.o11])
    c = api(b.users["staff21"])
    v = ok(c.get(f"{URL}verify", {"number": item.approval_number}))
    assert v["status"] == "valid" and v["item"]["number"] == item.number and v["item"]["targets_my_outlet"] is False
    assert v["item"]["window"] == {"start": item.window_start.isoformat(), "end": item.window_end.isoformat()}
    assert v["item"]["valid_until"] == (item.window_end + timedelta(days=30)).isoformat()
    unknown = ok(c.get(f"{URL}verify", {"number": "运统〔2026〕第999号"}))
    assert unknown["status"] == "unknown" and unknown["item"] is None
    assert "not reviewed" in unknown["message"] and "may decline" in unknown["message"]
    services.revoke_approval(b.users["sec1"], item, "方案撤回")
    revoked = ok(c.get(f"{URL}verify", {"number": item.approval_number}))
    assert revoked["status"] == "revoked" and "may decline" in revoked["message"] and "方案撤回" in revoked["message"]
    assert c.get(f"{URL}verify").status_code == 400


# --- queries per request -----------------------------------------------------------------------

def test_register_queries_do_not_grow_with_page_size(api, coord_bank, draft):
    b = coord_bank
    items = [services.submit_item(b.users["pfb1"], draft(title=f"事项{i}",
                                                         **({"target_mode": "list", "target_list": [b.o11]}
                                                            if i % 2 else {})))
             for i in range(22)]
    meeting = items[0].meeting
    for it in items:
        review(b, it)
    services.freeze_agenda(b.users["sec1"], meeting)
    hold(b, meeting)
    for it in items:
        it.refresh_from_db()
        services.record_decision(b.users["sec1"], it, "approved")
    for user in ("sec1", "pfb1", "icc1", "staff21"):
        c = api(b.users[user])
        counts = []
        for size in (5, 20):
            with CaptureQueriesContext(connection) as ctx:
                rows = ok(c.get(f"{URL}items", {"page_size": size}))["items"]
            assert len(rows) == size
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1], (user, counts)
    views = {r["view"] for r in ok(api(b.users["staff21"]).get(f"{URL}items", {"page_size": 30}))["items"]}
    assert views == {"full", "limited"}


def test_attachments_upload_and_download(api, coord_bank, draft, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    b = coord_bank
    item = draft()
    c = api(b.users["pfb1"])
    script = SimpleUploadedFile("话术.txt", "您好，欢迎使用新版手机银行".encode(), content_type="text/plain")
    detail = c.post(f"{URL}items/{item.pk}/attachments", {"kind": "script", "file": script})
    [att] = ok(detail, 201)["attachments"]
    assert att["kind"] == "script" and att["name"] == "话术.txt" and att["uploaded_by"]["username"] == "pfb1"
    download = c.get(att["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content).decode() == "您好，欢迎使用新版手机银行"
    bad = c.post(f"{URL}items/{item.pk}/attachments", {"kind": "poster", "file": SimpleUploadedFile("a.txt", b"x")})
    assert bad.status_code == 400 and "kind" in bad.json()["detail"]
    assert api(b.users["staff11"]).get(att["url"]).status_code == 404  # a draft: hidden
