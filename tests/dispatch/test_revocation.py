"""Revocation reaches the outlets; the secretariat cancels a work order or closes an item with a
reason — through the services, the API (which refuses what the form refuses) and the pages."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from branchops.coordination import services as coordination
from branchops.coordination.models import Item, ItemStatus
from branchops.core import clock
from branchops.core.models import Notification, TimelineEntry
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkOrder

pytestmark = pytest.mark.usefixtures("english_messages")


@pytest.fixture(autouse=True)
def _services_in_english():
    """The services' refusals are matched in English, whatever language the test run starts in."""
    from django.utils import translation

    with translation.override("en"):
        yield

COORD, DISPATCH = "/api/v1/coordination/", "/api/v1/dispatch/"


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _statuses(item):
    return set(WorkOrder.objects.filter(item=item).values_list("status", flat=True))


# --- revocation ------------------------------------------------------------------------------------

def test_revoking_cancels_open_orders_and_tells_outlets_and_submitter(coord_bank, released,
                                                                    django_capture_on_commit_callbacks):
    b = coord_bank
    item = released()
    done = WorkOrder.objects.get(item=item, institution=b.o21)
    dispatch.complete_work_order(None, done, "已完成")
    with django_capture_on_commit_callbacks(execute=True):
        coordination.revoke_approval(b.users["sec1"], item, "方案撤回")
    orders = {wo.institution_id: wo for wo in WorkOrder.objects.filter(item=item)}
    assert orders[b.o21.pk].status == "done"  # finished work stays finished
    for outlet in (b.o11, b.o12):
        wo = orders[outlet.pk]
        assert wo.status == "cancelled" and wo.cancelled_by == b.users["sec1"] and wo.cancelled_at
        assert "方案撤回" in wo.cancel_reason and item.approval_number in wo.cancel_reason
    # The outlet head and the outlet's staff are told, not other outlets' people.
    for user in ("head11", "staff11"):
        assert Notification.objects.filter(recipient=b.users[user], url=orders[b.o11.pk].get_absolute_url(),
                                           body__contains="方案撤回").exists()
    assert not Notification.objects.filter(recipient=b.users["staff21"], body__contains="方案撤回").exists()
    told = Notification.objects.get(recipient=item.submitter, body__contains="方案撤回")
    assert "2" in told.body and "方案撤回" in told.body
    # The outlet can no longer acknowledge or complete it.
    with pytest.raises(ValidationError, match="cancelled"):
        dispatch.acknowledge_work_order(b.users["head11"], orders[b.o11.pk])
    with pytest.raises(ValidationError, match="cancelled"):
        dispatch.complete_work_order(b.users["head11"], orders[b.o11.pk], "做了")
    assert coordination.verify_number(item.approval_number)["status"] == "revoked"
    item.refresh_from_db()
    assert item.status == ItemStatus.RELEASED  # not "all done": the secretariat closes it with a reason


def test_revoking_before_release_cancels_nothing_but_tells_the_submitter(coord_bank, approved,
                                                                       django_capture_on_commit_callbacks):
    b = coord_bank
    item = approved()
    with django_capture_on_commit_callbacks(execute=True):
        coordination.revoke_approval(b.users["sec1"], item, "政策调整")
    assert not WorkOrder.objects.filter(item=item).exists()
    assert "0" in Notification.objects.get(recipient=item.submitter, body__contains="政策调整").body


def test_after_revocation_the_api_refuses_the_outlet_and_the_pages_say_revoked(api, login, coord_bank, released):
    b = coord_bank
    item = released()
    wo = WorkOrder.objects.get(item=item, institution=b.o11)
    c = api(b.users["sec1"])
    assert post(c, f"{COORD}items/{item.pk}/actions/revoke", {"reason": ""}).status_code == 400
    assert _statuses(item) == {"released"}  # a refused revocation cancels nothing
    assert post(c, f"{COORD}items/{item.pk}/actions/revoke", {"reason": "方案撤回"}).status_code == 200
    head = api(b.users["head11"])
    detail = head.get(f"{DISPATCH}work-orders/{wo.pk}").json()
    assert detail["status"] == "cancelled" and "方案撤回" in detail["cancel_reason"]
    assert detail["allowed_actions"] == []
    refused = post(head, f"{DISPATCH}work-orders/{wo.pk}/actions/acknowledge")
    assert refused.status_code in (400, 403) and WorkOrder.objects.get(pk=wo.pk).status == "cancelled"
    page = login(b.users["head11"]).get(reverse("dispatch:work_order", args=[wo.pk]))
    assert b'data-cancel-reason' in page.content and "方案撤回" in page.content.decode()
    verify = login(b.users["head11"]).get(reverse("coordination:verify"), {"number": item.approval_number})
    assert "This approval number has been revoked" in verify.content.decode()


# --- cancelling one work order ---------------------------------------------------------------------

def test_the_secretariat_cancels_one_work_order_with_a_reason(coord_bank, released,
                                                             django_capture_on_commit_callbacks):
    b = coord_bank
    item = released()
    orders = {wo.institution_id: wo for wo in WorkOrder.objects.filter(item=item)}
    with pytest.raises(PermissionDenied):
        dispatch.cancel_work_order(b.users["head11"], orders[b.o11.pk], "不做了")
    with pytest.raises(PermissionDenied):
        dispatch.cancel_work_order(b.users["pfb1"], orders[b.o11.pk], "不做了")
    with pytest.raises(ValidationError) as exc:
        dispatch.cancel_work_order(b.users["sec1"], orders[b.o11.pk], "  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        dispatch.cancel_work_order(b.users["sec1"], orders[b.o11.pk], "长" * 201)
    assert _statuses(item) == {"released"}
    dispatch.cancel_work_order(b.users["sec1"], orders[b.o11.pk], "网点装修停业")
    assert TimelineEntry.objects.filter(object_id=str(orders[b.o11.pk].pk), verb="cancelled").exists()
    assert TimelineEntry.objects.filter(object_id=str(item.pk), message__contains="网点装修停业").exists()
    with pytest.raises(ValidationError, match="cancelled"):
        dispatch.cancel_work_order(b.users["sec1"], orders[b.o11.pk], "再次")
    # The others done: the loop closes without the cancelled one.
    dispatch.complete_work_order(None, orders[b.o12.pk], "完成")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.complete_work_order(None, orders[b.o21.pk], "完成")
    item.refresh_from_db()
    assert item.status == ItemStatus.CLOSED
    # closed by itself: dated, with no one and no reason of the secretariat's
    assert item.closed_at is not None and item.closed_at <= clock.now() and item.closed_by is None and not item.close_reason
    done = WorkOrder.objects.get(pk=orders[b.o12.pk].pk)
    with pytest.raises(ValidationError):
        dispatch.cancel_work_order(b.users["sec1"], done, "已完成的不能取消")


def test_cancel_through_the_api_and_the_page(api, login, coord_bank, released):
    b = coord_bank
    item = released()
    wo11, wo12 = (WorkOrder.objects.get(item=item, institution=o) for o in (b.o11, b.o12))
    head = api(b.users["head11"])
    assert "cancel" not in head.get(f"{DISPATCH}work-orders/{wo11.pk}").json()["allowed_actions"]
    assert post(head, f"{DISPATCH}work-orders/{wo11.pk}/actions/cancel", {"reason": "x"}).status_code == 403
    sec = api(b.users["sec1"])
    assert "cancel" in sec.get(f"{DISPATCH}work-orders/{wo11.pk}").json()["allowed_actions"]
    refused = post(sec, f"{DISPATCH}work-orders/{wo11.pk}/actions/cancel", {"reason": ""})
    assert refused.status_code == 400 and "reason" in str(refused.json()["detail"])
    assert post(sec, f"{DISPATCH}work-orders/{wo11.pk}/actions/cancel", {"reason": "长" * 201}).status_code == 400
    assert WorkOrder.objects.get(pk=wo11.pk).status == "released"
    done = post(sec, f"{DISPATCH}work-orders/{wo11.pk}/actions/cancel", {"reason": "网点停业"})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    page = login(b.users["sec1"])
    response = page.post(reverse("dispatch:action", args=[wo12.pk, "cancel"]), {"reason": ""})
    assert WorkOrder.objects.get(pk=wo12.pk).status == "released" and _messages(response)
    page.post(reverse("dispatch:action", args=[wo12.pk, "cancel"]), {"reason": "客户需求变化"})
    assert WorkOrder.objects.get(pk=wo12.pk).cancel_reason == "客户需求变化"
    # Cancelled work orders are behind the list's "all" status (it opens on open work).
    listing = page.get(reverse("dispatch:work_orders"), {"item": item.pk, "status": "all"}).content.decode()
    assert listing.count("data-cancelled") == 2


# --- closing an item administratively --------------------------------------------------------------

def test_closing_an_item_cancels_its_work_and_shows_the_reason(api, login, coord_bank, released, draft):
    b = coord_bank
    item = released()
    with pytest.raises(PermissionDenied):
        coordination.close_item(b.users["pfb1"], item, "不做了")
    with pytest.raises(ValidationError) as exc:
        coordination.close_item(b.users["sec1"], item, "")
    assert "reason" in exc.value.message_dict
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RELEASED
    coordination.close_item(b.users["sec1"], item, "首年遗留事项，已不适用")
    item.refresh_from_db()
    assert (item.status, item.close_reason, item.closed_by) == ("closed", "首年遗留事项，已不适用", b.users["sec1"])
    assert _statuses(item) == {"cancelled"}
    assert TimelineEntry.objects.filter(object_id=str(item.pk), verb="closed_by_secretariat").exists()
    with pytest.raises(ValidationError):
        coordination.close_item(b.users["sec1"], item, "再次关闭")
    # Closed items are behind the register's "all" state (it opens on items in hand).
    register = login(b.users["sec1"]).get(reverse("coordination:register"), {"state": "all"}).content.decode()
    assert "首年遗留事项，已不适用" in register
    assert "首年遗留事项，已不适用" in login(b.users["sec1"]).get(item.get_absolute_url()).content.decode()
    row = next(r for r in api(b.users["sec1"]).get(f"{COORD}items").json()["items"] if r["id"] == item.pk)
    assert row["close_reason"] == "首年遗留事项，已不适用" and row["work_orders_cancelled"] == 3


def test_closing_through_the_api_and_the_page_needs_a_reason(api, login, coord_bank, draft):
    b = coord_bank
    with pytest.raises(ValidationError):  # a draft is its department's to withdraw
        coordination.close_item(b.users["sec1"], draft(title="草稿"), "不做了")
    stale = coordination.submit_item(b.users["pfb1"], draft(title="长期挂起"))
    assert stale.meeting.status == "planned"
    c = api(b.users["pfb1"])
    assert post(c, f"{COORD}items/{stale.pk}/actions/close", {"reason": "x"}).status_code == 403
    sec = api(b.users["sec1"])
    assert "close" in sec.get(f"{COORD}items/{stale.pk}").json()["allowed_actions"]
    refused = post(sec, f"{COORD}items/{stale.pk}/actions/close", {"reason": ""})
    assert refused.status_code == 400 and "reason" in str(refused.json()["detail"])
    assert post(sec, f"{COORD}items/{stale.pk}/actions/close", {"reason": "长" * 201}).status_code == 400
    assert Item.objects.get(pk=stale.pk).status == ItemStatus.SUBMITTED
    page = login(b.users["sec1"])
    assert b'id="close"' in page.get(stale.get_absolute_url()).content
    url = reverse("coordination:item_action", args=[stale.pk, "close"])
    page.post(url, {"reason": "", "version": stale.version})
    assert Item.objects.get(pk=stale.pk).status == ItemStatus.SUBMITTED
    page.post(url, {"reason": "提交部门已放弃", "version": stale.version})
    closed = Item.objects.get(pk=stale.pk)
    assert (closed.status, closed.close_reason, closed.meeting) == ("closed", "提交部门已放弃", None)
    assert b'data-close-reason' in page.get(stale.get_absolute_url()).content


def test_cancelled_orders_are_neither_reminded_nor_overdue(coord_bank, released):
    from datetime import timedelta

    from branchops.dispatch import queries

    b = coord_bank
    item = released()
    wo = WorkOrder.objects.get(item=item, institution=b.o11)
    dispatch.cancel_work_order(b.users["sec1"], wo, "网点停业")
    today = clock.today()
    WorkOrder.objects.filter(item=item).update(due_date=today - timedelta(days=2))
    assert not queries.is_overdue(WorkOrder.objects.get(pk=wo.pk), today)
    assert set(WorkOrder.objects.filter(queries.overdue_q(today)).values_list("institution_id", flat=True)) == {
        b.o12.pk, b.o21.pk}
    assert dispatch.check_work_orders(today)["overdue"] == 2
    assert WorkOrder.objects.get(pk=wo.pk).overdue_notified_at is None
