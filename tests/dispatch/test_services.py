"""Work-order services: the loop closes when every outlet has done its work."""

import pytest

from branchops.core import clock
from branchops.core.models import Notification, TimelineEntry
from branchops.dispatch import services as dispatch
from branchops.dispatch.models import WorkOrder
from branchops.org.roles import Role


@pytest.mark.date_sensitive
def test_item_closes_when_the_last_work_order_is_done(coord_bank, released, django_capture_on_commit_callbacks):
    b = coord_bank
    item = released()
    orders = list(item.work_orders.order_by("institution__code"))
    assert len(orders) == 3
    first, *rest = orders
    dispatch.complete_work_order(None, rest[0], "done")
    head12 = b.person("head12", rest[1].institution, [Role.OUTLET_HEAD], post=b.head)
    dispatch.raise_problem(head12, rest[1], "系统无法登录")
    item.refresh_from_db()
    assert item.status == "released"  # one still open, one with a problem
    dispatch.complete_work_order(None, rest[1], "问题已解决，已完成")
    item.refresh_from_db()
    assert item.status == "released"
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.complete_work_order(None, first, "完成")
    item.refresh_from_db()
    assert item.status == "closed"
    assert not WorkOrder.objects.filter(item=item).exclude(status="done").exists()
    assert TimelineEntry.objects.filter(object_id=str(item.pk), verb="closed").count() == 1
    assert Notification.objects.filter(recipient=item.submitter, url=item.get_absolute_url()).exists()


def test_sub_branch_sees_its_outlets_work_orders_read_only(coord_bank, released):
    from branchops.dispatch.queries import visible_work_orders

    b = coord_bank
    item = released()
    seen = set(visible_work_orders(b.users["sb1mgr"]).filter(item=item).values_list("institution__code", flat=True))
    assert seen == {b.o11.code, b.o12.code}  # o21 belongs to the other sub-branch
    assert set(visible_work_orders(b.users["staff21"]).values_list("institution__code", flat=True)) == {b.o21.code}
    assert not b.users["sb1mgr"].has_perm("dispatch.change_workorder")


@pytest.mark.date_sensitive
def test_due_and_overdue_notices_go_out_once(coord_bank, released, django_capture_on_commit_callbacks):
    from datetime import timedelta


    b = coord_bank
    item = released()
    wo11 = item.work_orders.get(institution=b.o11)
    today = clock.today()
    WorkOrder.objects.filter(pk=wo11.pk).update(due_date=today + timedelta(days=1))
    WorkOrder.objects.filter(item=item).exclude(pk=wo11.pk).update(due_date=today - timedelta(days=2))
    head = b.users["head11"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = dispatch.check_work_orders(today)
    assert sent == {"due": 1, "overdue": 2}
    assert Notification.objects.filter(recipient=head, url=wo11.get_absolute_url()).count() == 1
    # The submitting department hears about the two overdue outlets, not about the one due soon.
    assert Notification.objects.filter(recipient=b.users["pfb1"], url__startswith="/dispatch/").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.check_work_orders(today) == {"due": 0, "overdue": 0}
    # Once it is late the due-soon order gets its overdue notice too; a done one never does.
    dispatch.complete_work_order(None, item.work_orders.exclude(pk=wo11.pk).first(), "完成")
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.check_work_orders(today + timedelta(days=5)) == {"due": 0, "overdue": 1}
    assert Notification.objects.filter(recipient=head, url=wo11.get_absolute_url()).count() == 2
