"""The work-order action table: one answer for the page's actions, the API's ``allowed_actions`` and
the services; the rules the forms checked are the services' too; the work order moves only along its
transition table."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branchops.cases.models import Case
from branchops.dispatch import rules, services
from branchops.dispatch.models import OutletCapacity, WorkOrder
from branchops.org import services as org
from branchops.org.models import Level
from branchops.org.roles import Role

URL = "/api/v1/dispatch/work-orders"

pytestmark = pytest.mark.usefixtures("english_messages")


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def page_actions(client, wo) -> list[str]:
    return [a["name"] for a in client.get(wo.get_absolute_url()).context["actions"]]


def api_actions(client, wo) -> list[str]:
    response = client.get(f"{URL}/{wo.pk}")
    assert response.status_code == 200, response.content
    return response.json()["allowed_actions"]


def test_the_page_and_the_api_offer_the_same_actions(coord_bank, released, login):
    b = coord_bank
    wo = released().work_orders.get(institution=b.o11)
    expected = {"head11": ["acknowledge", "done", "problem"], "staff11": [], "sec1": ["cancel"], "sb1mgr": []}
    for username, names in expected.items():
        client = login(b.users[username])
        assert api_actions(client, wo) == page_actions(client, wo) == names, username
    head = login(b.users["head11"])
    services.acknowledge_work_order(b.users["head11"], wo)
    assert api_actions(head, wo) == page_actions(head, wo) == ["done", "problem"]
    services.raise_problem(b.users["head11"], WorkOrder.objects.get(pk=wo.pk), "物料未到")
    assert api_actions(head, wo) == page_actions(head, wo) == ["done"]
    services.complete_work_order(b.users["head11"], WorkOrder.objects.get(pk=wo.pk), "已完成")
    assert api_actions(head, wo) == page_actions(head, wo) == []


def test_patching_the_outlet_rule_changes_the_page_the_api_and_the_service_together(coord_bank, released, login,
                                                                                   monkeypatch):
    b = coord_bank
    wo = released().work_orders.get(institution=b.o11)
    monkeypatch.setattr(rules, "acts_for_outlet", lambda user, wo: user.username == "staff11")
    head, staff = b.users["head11"], b.users["staff11"]
    client = login(head)
    assert api_actions(client, wo) == page_actions(client, wo) == []
    assert client.get(f"{URL}/{wo.pk}").json()["can_act"] is False
    assert client.post(f"/dispatch/{wo.pk}/acknowledge/").status_code == 403
    assert post(client, f"{URL}/{wo.pk}/actions/acknowledge").status_code == 403
    with pytest.raises(PermissionDenied):
        services.acknowledge_work_order(head, wo)
    client = login(staff)
    assert api_actions(client, wo) == page_actions(client, wo) == ["acknowledge", "done", "problem"]
    assert post(client, f"{URL}/{wo.pk}/actions/acknowledge").json()["status"] == "acknowledged"
    assert WorkOrder.objects.get(pk=wo.pk).acknowledged_by == staff


def test_the_outlets_input_is_checked_by_the_service(api, coord_bank, released):
    b = coord_bank
    wo = released().work_orders.get(institution=b.o11)
    c = api(b.users["head11"])
    url = f"{URL}/{wo.pk}/actions/"
    for action, data, field in (("done", {"note": "长" * 2001}, "note"),
                                ("problem", {"title": "长" * 151}, "title"),
                                ("problem", {"title": "物料未到", "description": "长" * 4001}, "description")):
        response = post(c, f"{url}{action}", data)
        assert response.status_code == 400 and field in response.json()["detail"], (action, response.content)
    wo.refresh_from_db()
    assert wo.status == "released" and wo.problem_case is None and not Case.objects.exists()


def test_a_problem_only_on_work_not_yet_done_and_only_once(api, coord_bank, released):
    b = coord_bank
    wo = released().work_orders.get(institution=b.o11)
    c = api(b.users["head11"])
    assert post(c, f"{URL}/{wo.pk}/actions/problem", {"title": "物料未到"}).status_code == 200
    again = post(c, f"{URL}/{wo.pk}/actions/problem", {"title": "又一个问题"})
    assert again.status_code == 400 and Case.objects.count() == 1
    assert post(c, f"{URL}/{wo.pk}/actions/done", {"note": "问题解决后完成"}).status_code == 200
    late = post(c, f"{URL}/{wo.pk}/actions/problem", {"title": "完成后的问题"})
    assert late.status_code == 400 and "not yet done" in str(late.json()["detail"])
    assert Case.objects.count() == 1 and WorkOrder.objects.get(pk=wo.pk).status == "done"
    with pytest.raises(ValidationError):
        services.raise_problem(b.users["head11"], wo, "直接调用也不行")


def test_capacity_only_within_the_secretariats_scope(coord_bank):
    b = coord_bank
    gz = org.save_institution(None, code="GZ", name="广州分行", level=Level.TIER1_BRANCH, parent=b.ho)
    gz_outlet = org.save_institution(None, code="GZ0001", name="天河网点", level=Level.OUTLET, parent=gz)
    with pytest.raises(PermissionDenied):
        services.set_capacity(b.users["sec1"], gz_outlet, 10)
    assert not OutletCapacity.objects.exists()
    services.set_capacity(b.users["sec1"], b.o11, 10)
    head = b.person("head_gz", gz_outlet, [Role.OUTLET_HEAD], post=b.head)
    with pytest.raises(PermissionDenied):
        services.set_capacity(head, gz_outlet, 10)
    with pytest.raises(ValidationError):
        services.set_capacity(b.users["sec1"], b.o11, 10, note="长" * 201)


def test_the_transition_table_is_the_only_way(coord_bank, released):
    b = coord_bank
    wo = released().work_orders.get(institution=b.o11)
    assert rules.WORK_ORDER_FLOW.can(wo.status, "acknowledge")
    services.complete_work_order(b.users["head11"], wo, "直接完成")  # done without acknowledging first
    wo.refresh_from_db()
    assert wo.status == "done" and wo.acknowledged_at == wo.done_at
    for move in ("acknowledge", "done", "problem"):
        assert not rules.WORK_ORDER_FLOW.can(wo.status, move)
    with pytest.raises(ValidationError, match="already acknowledged"):
        services.acknowledge_work_order(b.users["head11"], wo)
