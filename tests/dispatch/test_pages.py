"""The dispatch pages for every role: work orders (list, detail, the outlet head's actions), the
completion of one item across outlets, the workload heat-map and the capacity editor."""

import json
import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from branchops.cases.queries import visible_cases
from branchops.coordination import services as coordination
from branchops.core import clock
from branchops.dispatch import queries, services
from branchops.dispatch.models import OutletCapacity, WorkOrder

ROLES = ["sec1", "leader1", "head11", "staff11", "staff21", "pfb1", "icc1", "sb1mgr", "admin1"]


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _order(item, outlet):
    return WorkOrder.objects.get(item=item, institution=outlet)


def _url(name, *args):
    # An item's completion across outlets is coordination's page; the rest are dispatch's.
    return reverse(f"coordination:{name}" if name == "monitor" else f"dispatch:{name}", args=args)


def _make_overdue(wo, days=3):
    """Time passes: the work order's due date is behind us (the services never move it back)."""
    WorkOrder.objects.filter(pk=wo.pk).update(due_date=clock.today() - timedelta(days=days))


# --- pages per role --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_pages_render_for_every_role(coord_bank, released, login, role):
    item = released()
    client = login(coord_bank.users[role])
    assert client.get(_url("work_orders")).status_code == 200
    assert client.get(_url("work_orders") + "?overdue=1&status=released&q=SH").status_code == 200
    assert client.get(_url("workload")).status_code == 200
    wo11 = _order(item, coord_bank.o11)
    # sb1mgr oversees o11's sub-branch; staff21 and a reviewer have no business with it.
    expected = 404 if role in ("staff21", "icc1") else 200
    assert client.get(_url("work_order", wo11.pk)).status_code == expected



def test_outlet_sees_only_its_own_work_orders(coord_bank, released, login):
    b = coord_bank
    released()
    response = login(b.users["head11"]).get(_url("work_orders"))
    rows = list(response.context["page"])
    assert rows and {wo.institution_id for wo in rows} == {b.o11.pk}
    assert "罗湖网点" not in response.content.decode()
    response = login(b.users["sec1"]).get(_url("work_orders"))
    assert {wo.institution_id for wo in response.context["page"]} == {b.o11.pk, b.o12.pk, b.o21.pk}


@pytest.mark.date_sensitive
def test_filters_overdue_highlight_and_pagination(coord_bank, released, login):
    b = coord_bank
    first = released()
    second = released(title="第二个事项", override_reason="两个事项同期落地，已与网点沟通")
    _make_overdue(_order(first, b.o21))
    client = login(b.users["sec1"])
    page = client.get(_url("work_orders")).context["page"]
    assert page.paginator.count == 6
    assert [wo.pk for wo in client.get(_url("work_orders") + f"?item={second.pk}").context["page"]] == list(
        WorkOrder.objects.filter(item=second).values_list("pk", flat=True))
    by_outlet = client.get(_url("work_orders") + f"?outlet={b.o12.pk}").context["page"]
    assert {wo.institution_id for wo in by_outlet} == {b.o12.pk} and len(by_outlet) == 2
    response = client.get(_url("work_orders") + "?overdue=1")
    overdue = list(response.context["page"])
    assert [wo.pk for wo in overdue] == [_order(first, b.o21).pk] and overdue[0].is_overdue
    html = response.content.decode()
    assert 'class="table-danger"' in html and "data-overdue" in html
    assert response.context["overdue_count"] == 1
    assert client.get(_url("work_orders") + "?status=done").context["page"].paginator.count == 0
    assert client.get(_url("work_orders") + "?q=第二个").context["page"].paginator.count == 3
    paged = client.get(_url("work_orders") + "?page_size=4&page=2").context["page"]
    assert paged.number == 2 and len(paged) == 2
    # Nonsense in the filters is ignored, not an error.
    assert client.get(_url("work_orders") + "?item=x&outlet=y&status=nope&page=zz").status_code == 200


def test_xlsx_export_follows_filters_and_scope(coord_bank, released, login):
    b = coord_bank
    item = released()
    response = login(b.users["sec1"]).get(_url("work_orders") + "?format=xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    ws = load_workbook(BytesIO(response.content)).active
    assert ws.max_row == 4 and ws["C2"].value == item.approval_number
    response = login(b.users["head11"]).get(_url("work_orders") + "?format=xlsx")
    ws = load_workbook(BytesIO(response.content)).active
    assert ws.max_row == 2 and ws["E2"].value == b.o11.name


# --- the outlet head's actions ---------------------------------------------------------------------

def test_work_order_page_shows_the_item_and_actions(coord_bank, released, login):
    b = coord_bank
    item = released()
    wo = _order(item, b.o11)
    response = login(b.users["head11"]).get(_url("work_order", wo.pk))
    html = response.content.decode()
    assert item.approval_number in html and item.title in html and item.actions in html
    assert [a["name"] for a in response.context["actions"]] == ["acknowledge", "done", "problem"]
    assert _url("action", wo.pk, "acknowledge") in html
    # Staff and the secretariat see the work order but cannot act on it.
    assert login(b.users["staff11"]).get(_url("work_order", wo.pk)).context["actions"] == []
    assert [a["name"] for a in login(b.users["sec1"]).get(_url("work_order", wo.pk)).context["actions"]] == [
        "cancel"]  # the secretariat only stops the work


def test_outlet_head_acknowledges_and_completes(coord_bank, released, login):
    b = coord_bank
    item = released()
    wo = _order(item, b.o11)
    client = login(b.users["head11"])
    response = client.post(_url("action", wo.pk, "acknowledge"))
    assert response.status_code == 302 and response["Location"] == wo.get_absolute_url()
    wo.refresh_from_db()
    assert wo.status == "acknowledged" and wo.acknowledged_by == b.users["head11"]
    response = client.post(_url("action", wo.pk, "acknowledge"))  # twice: refused, nothing changes
    assert any("already" in m or "已" in m for m in _messages(response))
    response = client.post(_url("action", wo.pk, "done"), {"note": ""})
    wo.refresh_from_db()
    assert wo.status == "acknowledged" and _messages(response)
    client.post(_url("action", wo.pk, "done"), {"note": "已完成全员培训，推广 35 户"})
    wo.refresh_from_db()
    assert wo.status == "done" and wo.note == "已完成全员培训，推广 35 户" and wo.done_by == b.users["head11"]
    response = client.get(_url("work_order", wo.pk))
    assert response.context["actions"] == [] and "已完成全员培训" in response.content.decode()
    assert client.get(_url("action", wo.pk, "done")).status_code == 302  # GET does nothing
    assert client.post(_url("action", wo.pk, "nonsense")).status_code == 404


def test_outlet_head_cannot_touch_another_outlets_work_order(coord_bank, released, login):
    b = coord_bank
    item = released()
    other = _order(item, b.o21)
    client = login(b.users["head11"])
    assert client.get(_url("work_order", other.pk)).status_code == 404
    for action, data in (("acknowledge", {}), ("done", {"note": "x"}), ("problem", {"title": "x"})):
        assert client.post(_url("action", other.pk, action), data).status_code == 404
    other.refresh_from_db()
    assert other.status == "released" and other.problem_case is None
    assert client.get(_url("work_order", 999999)).status_code == 404


def test_outlet_staff_sees_but_cannot_act(coord_bank, released, login):
    b = coord_bank
    wo = _order(released(), b.o11)
    assert login(b.users["staff11"]).post(_url("action", wo.pk, "acknowledge")).status_code == 403
    wo.refresh_from_db()
    assert wo.status == "released"


def test_raising_a_problem_opens_a_feedback_case_for_the_secretariat(coord_bank, released, login):
    b = coord_bank
    item = released()
    wo = _order(item, b.o11)
    client = login(b.users["head11"])
    response = client.post(_url("action", wo.pk, "problem"), {"title": ""})
    wo.refresh_from_db()
    assert wo.problem_case is None and _messages(response)
    response = client.post(_url("action", wo.pk, "problem"),
                           {"title": "宣传物料未送达", "description": "海报与折页至今未到"})
    wo.refresh_from_db()
    case = wo.problem_case
    assert wo.status == "problem" and case.case_type == "feedback" and case.institution == b.o11
    assert item.number in case.title and case.number in " ".join(_messages(response))
    page = client.get(_url("work_order", wo.pk))
    assert case.get_absolute_url() in page.content.decode()
    assert [a["name"] for a in page.context["actions"]] == ["done"]
    assert visible_cases(b.users["sec1"]).filter(pk=case.pk).exists()
    sec = login(b.users["sec1"])
    assert sec.get(case.get_absolute_url()).status_code == 200
    monitor = sec.get(_url("monitor", item.pk))
    assert monitor.context["counts"]["problem"] == 1 and case.number in monitor.content.decode()


def test_materials_download_for_the_outlet_only(coord_bank, approved, login, media):
    b = coord_bank

    def attach(item):
        upload = SimpleUploadedFile("服务话术.txt", "您好，新版手机银行……".encode())
        coordination.add_attachment(b.users["pfb1"], item, "script", upload)

    item = approved(before_submit=attach)
    coordination.release_item(b.users["sec1"], item)
    wo = _order(item, b.o11)
    att = item.attachments.get()
    client = login(b.users["head11"])
    assert "服务话术.txt" in client.get(_url("work_order", wo.pk)).content.decode()
    response = client.get(_url("material", wo.pk, att.pk))
    assert response.status_code == 200 and b"".join(response.streaming_content).decode() == "您好，新版手机银行……"
    assert login(b.users["staff21"]).get(_url("material", wo.pk, att.pk)).status_code == 404
    assert client.get(_url("material", wo.pk, att.pk + 1000)).status_code == 404


# --- completion of an item -------------------------------------------------------------------------

@pytest.mark.date_sensitive
def test_monitor_counts_done_and_overdue(coord_bank, released, login):
    b = coord_bank
    item = released()
    services.complete_work_order(b.users["head11"], _order(item, b.o11), "已完成")
    _make_overdue(_order(item, b.o21))
    for user in ("sec1", "pfb1", "leader1"):
        response = login(b.users[user]).get(_url("monitor", item.pk))
        assert response.status_code == 200, user
        counts = response.context["counts"]
        assert (counts["total"], counts["done"], counts["overdue"], counts["open"]) == (3, 1, 1, 2)
        assert counts["done_on_time"] == 1 and counts["done_pct"] == 33
    response = login(b.users["sec1"]).get(_url("monitor", item.pk) + "?overdue=1")
    assert [wo.institution_id for wo in response.context["rows"]] == [b.o21.pk]
    assert 'class="table-danger"' in response.content.decode()
    response = login(b.users["sec1"]).get(_url("monitor", item.pk) + "?format=xlsx")
    assert load_workbook(BytesIO(response.content)).active.max_row == 4


def test_monitor_is_for_the_secretariat_and_the_submitting_department(coord_bank, released, login):
    b = coord_bank
    item = released()
    for user in ("head11", "staff11", "icc1"):
        assert login(b.users[user]).get(_url("monitor", item.pk)).status_code == 403, user
    assert login(b.users["sec1"]).get(_url("monitor", 999999)).status_code == 404


def test_monitor_of_an_unreleased_item(coord_bank, approved, login):
    item = approved()
    response = login(coord_bank.users["sec1"]).get(_url("monitor", item.pk))
    assert response.status_code == 200 and response.context["counts"]["total"] == 0


def test_old_monitor_address_redirects(coord_bank, approved, login):
    item = approved()
    response = login(coord_bank.users["sec1"]).get(f"/dispatch/items/{item.pk}/?overdue=1")
    assert response.status_code == 301 and response["Location"] == _url("monitor", item.pk) + "?overdue=1"


# --- workload ------------------------------------------------------------------------------------

def test_heatmap_page_renders_with_data(coord_bank, released, login):
    b = coord_bank
    item = released(effort_hours=20, override_reason="监管限时要求")
    start = item.window_start.isoformat()
    response = login(b.users["sec1"]).get(_url("workload") + f"?start={start}&weeks=4")
    assert response.status_code == 200
    rows = {r["id"]: r for r in response.context["rows"]}
    assert set(rows) == {b.o11.pk, b.o12.pk, b.o21.pk}
    assert sum(rows[b.o11.pk]["loads"]) == pytest.approx(20, abs=0.2)
    assert rows[b.o12.pk]["over_weeks"] >= 1  # 20 h over two or three weeks, 2 h a week of capacity
    assert response.context["summary"]["over_outlets"] == 3
    html = response.content.decode()
    assert 'id="chart-workload"' in html and 'data-level="over"' in html and "echarts.min.js" in html
    chart = json.loads(re.search(r'id="workload-chart"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert len(chart["weeks"]) == 4 and set(chart["outlets"]) == {b.o11.name, b.o12.name, b.o21.name}
    assert any(isinstance(c[2], float) and c[2] > 1 for c in chart["cells"])
    # The range moves by the number of weeks shown; nonsense falls back to the defaults.
    assert response.context["params"]["weeks"] == 4
    assert "weeks=4" in response.context["next_url"]
    response = login(b.users["sec1"]).get(_url("workload") + "?start=nope&weeks=5&sort=peak")
    assert response.status_code == 200 and response.context["params"]["weeks"] == 8


def test_heatmap_shows_an_outlet_only_itself(coord_bank, released, login):
    b = coord_bank
    released()
    response = login(b.users["head11"]).get(_url("workload"))
    assert [r["id"] for r in response.context["rows"]] == [b.o11.pk]
    assert not response.context["can_edit"] and 'action="/dispatch/workload/capacity/"' not in (
        response.content.decode())
    response = login(b.users["sb1mgr"]).get(_url("workload"))
    assert {r["id"] for r in response.context["rows"]} == {b.o11.pk, b.o12.pk}


def test_capacity_edit_for_the_secretariat(coord_bank, login):
    b = coord_bank
    client = login(b.users["sec1"])
    page = client.get(_url("workload"))
    assert page.context["can_edit"] and _url("capacity") in page.content.decode()
    response = client.post(_url("capacity"), {"outlet": b.o12.pk, "weekly_hours": "12.5", "note": "新增两名客服经理",
                                             "weeks": "12"})
    assert response.status_code == 302 and "weeks=12" in response["Location"]
    cap = OutletCapacity.objects.get(outlet=b.o12)
    assert float(cap.weekly_hours) == 12.5 and cap.note == "新增两名客服经理"
    assert queries.capacities([b.o12.pk]) == {b.o12.pk: 12.5}
    rows = {r["id"]: r for r in client.get(_url("workload")).context["rows"]}
    assert rows[b.o12.pk]["capacity"] == 12.5 and rows[b.o12.pk]["override"] == cap
    response = client.post(_url("capacity"), {"outlet": b.o12.pk, "weekly_hours": "-3"})
    assert _messages(response) and float(OutletCapacity.objects.get(outlet=b.o12).weekly_hours) == 12.5
    assert client.post(_url("capacity"), {"outlet": b.sb1.pk, "weekly_hours": "3"}).status_code == 404


def test_capacity_edit_is_forbidden_to_an_outlet_head(coord_bank, login):
    b = coord_bank
    response = login(b.users["head11"]).post(_url("capacity"), {"outlet": b.o11.pk, "weekly_hours": "99"})
    assert response.status_code == 403
    assert not OutletCapacity.objects.exists()
