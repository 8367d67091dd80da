"""The coordination pages: every page for every role, scope (404), the journey through the forms,
stale versions, the meeting page's actions, the export."""

import importlib.util
from datetime import timedelta
from io import BytesIO

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from branchops.coordination import queries, rules, services
from branchops.coordination.models import Condition, Item, ItemStatus, Meeting
from branchops.core import clock
from branchops.dispatch.models import WorkOrder
from tests.conftest import on_meeting_day
from tests.coordination.conftest import hold, ready

ROLES = ["sec1", "pfb1", "icc1", "head11", "leader1"]
HAS_DOCX = importlib.util.find_spec("branchops.coordination.minutes") is not None


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _errors(response):
    """The error messages of a response; a redirect is followed so that they are shown (and so
    cleared) before the next request."""
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    if response.status_code == 302 and not hasattr(response, "followed"):
        response.followed = response.client.get(response.url)
    return errors


def _lines(b, concern=False, text=""):
    return [{"dimension": b.dim["compliance"], "concern": concern, "text": text, "proposed_condition": ""}]


@pytest.fixture
def items(coord_bank, draft, media):
    """A draft, an item waiting for the meeting, and one approved and released."""
    b = coord_bank
    sec = b.users["sec1"]
    waiting = services.submit_item(b.users["pfb1"], draft(title="待议事项"))
    services.add_attachment(b.users["pfb1"], waiting, "script", SimpleUploadedFile("话术.txt", "您好".encode()))
    services.give_opinion(b.users["icc1"], waiting, recommendation="conditional",
                          lines=_lines(b, True, "需补充风险提示"))
    released = ready(b, services.submit_item(b.users["pfb1"], draft(title="已通过事项")))
    released = services.record_decision(sec, released, "approved")
    services.release_item(sec, released, override_reason="监管限时要求")
    return {"draft": draft(title="草稿事项"), "waiting": waiting, "released": released}


@pytest.mark.parametrize("username", ROLES)
def test_every_page_renders_for_every_role(client, coord_bank, items, username):
    b = coord_bank
    user = b.users[username]
    client.force_login(user)
    meeting = items["waiting"].meeting
    pages = ["/coordination/", "/coordination/?q=事项", f"/coordination/?status=submitted&decision=approved&type=campaign"
             f"&department={b.pfb.pk}&meeting={meeting.pk}&since=2020-01-01&until=2099-12-31",
             "/coordination/?since=not-a-date&department=x&meeting=y&status=nonsense&page=9",
             "/coordination/meetings/", f"/coordination/meetings/{meeting.pk}/", "/coordination/verify/",
             "/coordination/verify/?number=" + items["released"].approval_number,
             "/coordination/verify/?number=nonsense"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, (username, url, r.status_code)
        assert b"BranchOps" in r.content
    r = client.get("/coordination/items/new/")
    assert r.status_code == (200 if user.has_perm("coordination.submit_item") else 403)
    minutes = client.get(f"/coordination/meetings/{meeting.pk}/minutes/").status_code
    if rules.reads_minutes(user, Meeting.objects.get(pk=meeting.pk)):  # who may not: tests/coordination/test_minutes.py
        assert minutes == 200
        r = client.get(f"/coordination/meetings/{meeting.pk}/minutes.docx")
        assert r.status_code == (200 if HAS_DOCX else 404)
    else:
        assert minutes == 404
    visible = set(queries.visible_items(user).values_list("pk", flat=True))
    assert visible
    for item in items.values():
        r = client.get(f"/coordination/items/{item.pk}/")
        if item.pk not in visible:
            assert r.status_code == 404, (username, item.title)
            continue
        assert r.status_code == 200, (username, item.title)
        full = queries.sees_full_item(user, item)
        assert (b'id="actions"' in r.content) == full, (username, item.title)
        assert item.title in r.content.decode()


def test_register_lists_filters_and_counts(client, coord_bank, items):
    client.force_login(coord_bank.users["sec1"])
    r = client.get("/coordination/")
    page = r.content.decode()
    for item in items.values():
        assert item.number in page
    assert 'data-figure="decided">1<' in page and 'id="chart-decisions"' in page
    assert "0/3" in page  # the released item's work orders: none done of three
    r = client.get("/coordination/?decision=approved")
    assert items["released"].number in r.content.decode() and items["waiting"].number not in r.content.decode()
    r = client.get("/coordination/?q=待议")
    assert items["waiting"].number in r.content.decode() and items["released"].number not in r.content.decode()


def test_register_export(client, coord_bank, items):
    client.force_login(coord_bank.users["sec1"])
    r = client.get("/coordination/?format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(r.content)).active
    numbers = {row[0] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert numbers == {i.number for i in items.values()}
    client.force_login(coord_bank.users["pfb1"])
    assert client.get("/coordination/?format=xlsx").status_code == 403


def test_journey_through_the_pages(client, coord_bank, media):
    b = coord_bank
    start = clock.today() + timedelta(days=14)
    # The business department drafts the item and submits it.
    client.force_login(b.users["pfb1"])
    r = client.post("/coordination/items/new/", {
        "title": "网点推广新版手机银行", "item_type": "new_business", "urgency": "normal",
        "background": "新版本上线，需网点配合推广", "actions": "向到店客户介绍新功能并协助下载",
        "target_mode": "all", "effort_hours": "4", "window_start": start.isoformat(),
        "window_end": (start + timedelta(days=13)).isoformat(), "customer_facing": "on",
        "customer_impact": "老年客户首次登录需协助", "online_justification": "新功能需要面对面指导老年客户完成首次登录，无法完全线上完成"})
    assert r.status_code == 302, r.content.decode()[:2000]
    item = Item.objects.get(title="网点推广新版手机银行")
    assert item.status == ItemStatus.DRAFT and item.outlets.count() == 3
    page = client.get(r.url).content.decode()
    assert b.o11.name in page and 'data-figure="outlets"' in page
    r = client.post(f"/coordination/items/{item.pk}/attach/",
                    {"kind": "script", "file": SimpleUploadedFile("服务话术.txt", "您好".encode())})
    assert r.status_code == 302 and item.attachments.count() == 1
    att = item.attachments.get()
    assert client.get(f"/coordination/items/{item.pk}/files/{att.pk}/").status_code == 200
    r = client.post(f"/coordination/items/{item.pk}/submit/", {"version": Item.objects.get(pk=item.pk).version})
    item.refresh_from_db()
    assert r.status_code == 302 and item.status == ItemStatus.SUBMITTED and item.meeting is not None
    assert not _errors(r)

    # The reviewer gives the opinion through the form.
    client.force_login(b.users["icc1"])
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert 'data-form="opinion"' in page and 'id="precheck"' in page
    dim = b.dim["compliance"]
    r = client.post(f"/coordination/items/{item.pk}/opinion/", {
        "version": item.version, "recommendation": "conditional", f"dim_{dim.pk}_concern": "1",
        f"dim_{dim.pk}_text": "需补充风险提示", f"dim_{dim.pk}_proposed": "补充风险提示话术"})
    assert r.status_code == 302 and not _errors(r)
    opinion = item.opinions.get(department=b.icc)
    assert opinion.recommendation == "conditional" and opinion.lines.get().concern
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert 'data-form="opinion"' not in page and 'data-opinion="ICC"' in page  # now sees the opinions

    # The secretariat freezes the agenda and decides, with one condition, from the meeting page.
    client.force_login(b.users["sec1"])
    meeting_url = f"/coordination/meetings/{item.meeting_id}/"
    r = client.post(f"{meeting_url}freeze/")
    assert r.status_code == 302 and Meeting.objects.get(pk=item.meeting_id).status == Meeting.Status.FROZEN
    on_meeting_day(item.meeting_id)
    page = client.get(meeting_url).content.decode()
    assert f'data-agenda-item="{item.pk}"' in page and 'data-form="decide"' in page and "需补充风险提示" in page
    # Nobody recorded present, legal affairs' opinion missing: the page refuses the decision, saying why.
    item.refresh_from_db()
    r = client.post(f"/coordination/items/{item.pk}/decide/", {"version": item.version, "decision": "approved"},
                    follow=True)
    assert "未达法定人数" in r.content.decode() and Item.objects.get(pk=item.pk).status == ItemStatus.SUBMITTED
    services.give_opinion(b.users["legal1"], item, recommendation="approve",
                          lines=[{"dimension": b.dim["consumer_rights"], "concern": False}])
    hold(b, item.meeting)
    item.refresh_from_db()
    r = client.post(f"/coordination/items/{item.pk}/decide/", {
        "version": item.version, "decision": "conditional", "reasons": "", "c0_text": "补充风险提示话术",
        "c0_owner": b.pfb.pk, "c0_proof": "修订后的话术文本", "c1_owner": b.pfb.pk, "next": meeting_url})
    assert r.status_code == 302 and r.url == meeting_url and not _errors(r)
    item.refresh_from_db()
    assert item.status == ItemStatus.CONDITIONAL and not item.approval_number
    cond = item.conditions.get()
    assert cond.owner_department == b.pfb and cond.due_date > item.meeting.held_on

    # The owner department reports the condition met; the secretariat signs it off.
    client.force_login(b.users["pfb1"])
    r = client.post(f"/coordination/items/{item.pk}/condition_met/", {"condition": cond.pk, "evidence": "已上传修订话术"})
    assert r.status_code == 302 and not _errors(r)
    assert Condition.objects.get(pk=cond.pk).status == Condition.Status.MET
    client.force_login(b.users["sec1"])
    r = client.post(f"/coordination/items/{item.pk}/condition_signoff/", {"condition": cond.pk, "accept": "1"})
    assert r.status_code == 302 and not _errors(r)
    item.refresh_from_db()
    assert item.status == ItemStatus.APPROVED and item.approval_number
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert item.approval_number in page and 'data-form="release"' in page

    # The secretariat releases it: one work order per outlet.
    r = client.post(f"/coordination/items/{item.pk}/release/", {"version": item.version, "stagger_groups": "1",
                                                              "override_reason": ""})
    assert r.status_code == 302 and not _errors(r)
    item.refresh_from_db()
    assert item.status == ItemStatus.RELEASED and WorkOrder.objects.filter(item=item).count() == 3
    assert 'data-figure="work_orders"' in client.get(f"/coordination/items/{item.pk}/").content.decode()

    # An outlet head checks the number, and an unknown one.
    client.force_login(b.users["head11"])
    page = client.get("/coordination/verify/", {"number": item.approval_number}).content.decode()
    assert 'data-verify="valid"' in page and 'data-own-outlet="yes"' in page and item.title in page
    page = client.get("/coordination/verify/", {"number": "运统〔2020〕第999号"}).content.decode()
    assert 'data-verify="unknown"' in page and item.title not in page


def test_outlet_gets_404_on_an_undecided_item(client, coord_bank, items):
    waiting = items["waiting"]
    att = waiting.attachments.get()
    for username in ("head11", "staff11"):
        client.force_login(coord_bank.users[username])
        assert client.get(f"/coordination/items/{waiting.pk}/").status_code == 404
        assert client.get(f"/coordination/items/{waiting.pk}/files/{att.pk}/").status_code == 404
        assert client.post(f"/coordination/items/{waiting.pk}/submit/", {"version": 1}).status_code == 404
        assert client.get(f"/coordination/items/{items['draft'].pk}/").status_code == 404
    # The released item that targets the outlet is shown in full.
    r = client.get(f"/coordination/items/{items['released'].pk}/")
    assert r.status_code == 200 and b'id="actions"' in r.content


def test_stale_version_on_decide_changes_nothing(client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    services.freeze_agenda(b.users["sec1"], item.meeting)
    on_meeting_day(item.meeting)
    item.refresh_from_db()
    shown = item.version
    services.save_item(b.users["pfb1"], item, effort_hours=5)  # someone changed it meanwhile
    client.force_login(b.users["sec1"])
    r = client.post(f"/coordination/items/{item.pk}/decide/", {"version": shown, "decision": "approved"})
    assert r.status_code == 302 and _errors(r)
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED and item.decision == "" and not item.approval_number


def test_decide_with_an_incomplete_condition_shows_field_errors(client, coord_bank, draft):
    b = coord_bank
    item = ready(b, services.submit_item(b.users["pfb1"], draft()))
    client.force_login(b.users["sec1"])
    r = client.post(f"/coordination/items/{item.pk}/decide/", {
        "version": item.version, "decision": "conditional", "c0_text": "补充话术", "c0_owner": b.pfb.pk})
    assert r.status_code == 200 and r.context["decide_form"].errors.get("c0_proof")
    assert "补充话术" in r.content.decode()  # the input is kept
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED and not item.conditions.exists()


def test_opinion_form_needs_the_concern_text(client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    client.force_login(b.users["icc1"])
    dim = b.dim["compliance"]
    r = client.post(f"/coordination/items/{item.pk}/opinion/", {
        "version": item.version, "recommendation": "conditional", f"dim_{dim.pk}_concern": "1"})
    assert r.status_code == 200 and r.context["opinion_form"].errors.get(f"dim_{dim.pk}_text")
    assert item.opinions.get(department=b.icc).submitted_at is None
    # A department that is not asked for an opinion cannot give one.
    client.force_login(b.users["pfb1"])
    assert client.post(f"/coordination/items/{item.pk}/opinion/", {"version": item.version}).status_code == 403


def test_reviewers_see_opinions_after_their_own(client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    services.give_opinion(b.users["legal1"], item, recommendation="approve",
                          lines=[{"dimension": b.dim["consumer_rights"], "concern": False}])
    client.force_login(b.users["icc1"])
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert 'data-opinion="LEGAL"' not in page and 'data-form="opinion"' in page
    client.force_login(b.users["sec1"])
    assert 'data-opinion="LEGAL"' in client.get(f"/coordination/items/{item.pk}/").content.decode()


def test_edit_marks_opinions_stale_and_only_the_department_edits(client, coord_bank, draft):
    b = coord_bank
    item = services.submit_item(b.users["pfb1"], draft())
    services.give_opinion(b.users["icc1"], item, recommendation="approve", lines=_lines(b))
    item.refresh_from_db()
    client.force_login(b.users["sec1"])  # may submit items, but for its own department only
    assert client.get(f"/coordination/items/{item.pk}/edit/").status_code == 403
    client.force_login(b.users["pfb1"])
    r = client.get(f"/coordination/items/{item.pk}/edit/")
    assert r.status_code == 200 and item.title in r.content.decode()
    data = {"version": item.version, "title": item.title, "item_type": item.item_type, "urgency": "urgent",
            "background": item.background, "actions": item.actions, "target_mode": "list",
            "target_list": [b.o11.pk, b.o12.pk], "effort_hours": "6", "window_start": item.window_start.isoformat(),
            "window_end": item.window_end.isoformat(), "online_justification": item.online_justification}
    r = client.post(f"/coordination/items/{item.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    item.refresh_from_db()
    assert item.urgency == "urgent" and set(item.outlets.all()) == {b.o11, b.o12}
    assert item.opinions.get(department=b.icc).is_stale
    page = client.get(f"/coordination/items/{item.pk}/").content.decode()
    assert "data-stale" in page
    # The version shown is stale now: a second save from the old page is refused.
    r = client.post(f"/coordination/items/{item.pk}/edit/", data)
    assert r.status_code == 200 and r.context["form"].non_field_errors()


def test_meeting_page_actions(client, coord_bank, draft):
    b = coord_bank
    sec = b.users["sec1"]
    first = services.submit_item(b.users["pfb1"], draft(title="第一项"))
    second = services.submit_item(b.users["pfb1"], draft(title="第二项"))
    for it in (first, second):
        services.give_opinion(b.users["legal1"], it, recommendation="approve",
                              lines=[{"dimension": b.dim["consumer_rights"], "concern": False}])
    services.give_opinion(b.users["icc1"], first, recommendation="approve", lines=_lines(b))
    services.give_opinion(b.users["icc1"], second, recommendation="reject", lines=_lines(b, True, "违规"))
    meeting = Meeting.objects.get(pk=first.meeting_id)
    url = f"/coordination/meetings/{meeting.pk}/"
    client.force_login(sec)
    r = client.post(f"{url}reorder/", {"item": second.pk, "direction": "up"})
    assert r.status_code == 302 and not _errors(r)
    assert list(meeting.items.order_by("agenda_order").values_list("pk", flat=True)) == [second.pk, first.pk]
    page = client.get(url).content.decode()
    consent = page[page.index('id="consent"'):page.index('id="agenda"')]
    assert f'data-agenda-item="{first.pk}"' in consent and f'data-agenda-item="{second.pk}"' not in consent
    client.post(f"{url}freeze/")
    r = client.post(f"{url}consent/")  # not before the meeting's day
    assert _errors(r)
    assert Item.objects.get(pk=first.pk).status == ItemStatus.SUBMITTED
    on_meeting_day(meeting)
    r = client.post(f"{url}consent/")  # no attendance: not quorate
    assert "未达法定人数" in " ".join(_errors(r)) and Item.objects.get(pk=first.pk).status == ItemStatus.SUBMITTED
    r = client.post(f"{url}attendance/", {"attendees": [sec.pk, b.users["icc1"].pk, b.users["legal1"].pk],
                                          "chair": sec.pk})
    assert not _errors(r) and set(Meeting.objects.get(pk=meeting.pk).attendees.all()) == {
        sec, b.users["icc1"], b.users["legal1"]}
    r = client.post(f"{url}consent/")
    assert Item.objects.get(pk=first.pk).status == ItemStatus.APPROVED
    r = client.post(f"{url}close/")  # the second is undecided
    assert _errors(r) and Meeting.objects.get(pk=meeting.pk).status != Meeting.Status.CLOSED
    second.refresh_from_db()
    r = client.post(f"/coordination/items/{second.pk}/decide/", {
        "version": second.version, "decision": "rejected", "reasons": "不具备落地条件", "next": url})
    assert r.status_code == 302 and r.url == url
    r = client.post(f"{url}close/")
    assert not _errors(r) and Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CLOSED
    page = client.get(f"{url}minutes/").content.decode()
    assert "不具备落地条件" in page and first.title in page and "icc1" in page
    # Others may not run the meeting.
    client.force_login(b.users["pfb1"])
    assert client.post(f"{url}freeze/").status_code == 403
    # The submitter revises the rejected item: a new revision linked to the old one.
    r = client.post(f"/coordination/items/{second.pk}/revise/", {"version": Item.objects.get(pk=second.pk).version})
    new = Item.objects.get(previous=second)
    assert r.status_code == 302 and r.url == f"/coordination/items/{new.pk}/"
    assert second.number in client.get(r.url).content.decode()


def test_create_meeting_and_late_item_needs_reason(client, coord_bank, draft):
    b = coord_bank
    client.force_login(b.users["sec1"])
    day = clock.today() + timedelta(days=30)
    r = client.post("/coordination/meetings/new/", {"held_on": day.isoformat(), "location": "三楼会议室"})
    meeting = Meeting.objects.get(held_on=day)
    assert r.status_code == 302 and r.url == f"/coordination/meetings/{meeting.pk}/"
    services.freeze_agenda(b.users["sec1"], meeting)
    item = services.submit_item(b.users["pfb1"], draft())
    item.refresh_from_db()
    r = client.post(f"/coordination/items/{item.pk}/schedule/", {"version": item.version, "meeting": meeting.pk})
    assert _errors(r) and Item.objects.get(pk=item.pk).meeting_id != meeting.pk
    r = client.post(f"/coordination/items/{item.pk}/schedule/", {"version": item.version, "meeting": meeting.pk,
                                                                 "reason": "监管要求本周落地"})
    assert not _errors(r) and Item.objects.get(pk=item.pk).meeting_id == meeting.pk
    client.force_login(b.users["pfb1"])
    assert client.post("/coordination/meetings/new/", {"held_on": day.isoformat()}).status_code == 403
