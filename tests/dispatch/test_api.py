"""The dispatch API: work orders in scope (an outlet sees only its own), the outlet's actions,
the workload heat-map, the release check and outlet capacity."""

from datetime import timedelta

import pytest

from branchops.cases.models import Case
from branchops.core import clock
from branchops.dispatch.models import OutletCapacity, WorkOrder

URL = "/api/v1/dispatch/"


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def outlets(response):
    return sorted(row["outlet"]["code"] for row in ok(response)["items"])


def test_work_orders_are_scoped(api, coord_bank, released):
    b = coord_bank
    item = released()
    assert outlets(api(b.users["head11"]).get(f"{URL}work-orders")) == ["SZ0101"]
    assert outlets(api(b.users["staff21"]).get(f"{URL}work-orders")) == ["SZ0201"]
    assert outlets(api(b.users["sec1"]).get(f"{URL}work-orders")) == ["SZ0101", "SZ0102", "SZ0201"]
    assert outlets(api(b.users["pfb1"]).get(f"{URL}work-orders")) == ["SZ0101", "SZ0102", "SZ0201"]
    # Another outlet's work order is as missing as one that does not exist.
    theirs = WorkOrder.objects.get(item=item, institution=b.o11)
    c = api(b.users["staff21"])
    hidden, missing = c.get(f"{URL}work-orders/{theirs.pk}"), c.get(f"{URL}work-orders/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    assert post(c, f"{URL}work-orders/{theirs.pk}/actions/acknowledge").json() == missing.json()


@pytest.mark.date_sensitive
def test_work_order_detail_and_filters(api, coord_bank, released):
    b = coord_bank
    item = released()
    c = api(b.users["head11"])
    [row] = ok(c.get(f"{URL}work-orders"))["items"]
    assert row["item"] == {"id": item.pk, "number": item.number, "title": item.title}
    assert row["approval_number"] == item.approval_number and row["status"] == "released"
    assert row["hours"] == 4.0 and row["overdue"] is False and row["problem_case"] is None
    wo = ok(c.get(f"{URL}work-orders/{row['id']}"))
    assert wo["actions"] == item.actions and wo["can_act"] is True and wo["materials"] == []
    assert ok(api(b.users["sec1"]).get(f"{URL}work-orders/{row['id']}"))["can_act"] is False
    c = api(b.users["sec1"])
    assert outlets(c.get(f"{URL}work-orders", {"outlet": b.o12.pk})) == ["SZ0102"]
    assert outlets(c.get(f"{URL}work-orders", {"item": item.pk, "status": "released"})) == [
        "SZ0101", "SZ0102", "SZ0201"]
    assert outlets(c.get(f"{URL}work-orders", {"overdue": True})) == []
    WorkOrder.objects.filter(institution=b.o21).update(due_date=clock.today() - timedelta(days=1))
    assert outlets(c.get(f"{URL}work-orders", {"overdue": True})) == ["SZ0201"]
    assert outlets(c.get(f"{URL}work-orders", {"overdue": False})) == ["SZ0101", "SZ0102"]
    assert c.get(f"{URL}work-orders", {"status": "nonsense"}).status_code == 400


def test_outlet_acts_on_its_work_order(api, coord_bank, released):
    b = coord_bank
    item = released()
    pk = WorkOrder.objects.get(item=item, institution=b.o11).pk
    url = f"{URL}work-orders/{pk}/actions/"
    assert post(api(b.users["staff11"]), f"{url}acknowledge").status_code == 403  # staff, not the head
    c = api(b.users["head11"])
    wo = ok(post(c, f"{url}acknowledge"))
    assert wo["status"] == "acknowledged" and wo["acknowledged_by"]["username"] == "head11"
    assert post(c, f"{url}acknowledge").status_code == 400
    empty = post(c, f"{url}done")
    assert empty.status_code == 400 and "note" in empty.json()["detail"]
    assert post(c, f"{url}explode").status_code == 404
    done = ok(post(c, f"{url}done", {"note": "已完成"}))
    assert done["status"] == "done" and done["done_by"]["username"] == "head11" and done["done_at"]


def test_problem_opens_a_feedback_case(api, coord_bank, released):
    b = coord_bank
    item = released()
    pk = WorkOrder.objects.get(item=item, institution=b.o11).pk
    c = api(b.users["head11"])
    assert "title" in post(c, f"{URL}work-orders/{pk}/actions/problem").json()["detail"]
    wo = ok(post(c, f"{URL}work-orders/{pk}/actions/problem", {"title": "宣传物料未送达", "description": "缺海报"}))
    case = Case.objects.get(number=wo["problem_case"]["number"])
    assert wo["status"] == "problem" and case.case_type == "feedback" and case.institution == b.o11
    assert wo["problem_case"]["id"] == case.pk


def test_workload_heatmap(api, coord_bank, released):
    b = coord_bank
    item = released()
    c = api(b.users["sec1"])
    heat = ok(c.get(f"{URL}workload", {"start": item.window_start.isoformat(), "weeks": 4}))
    assert len(heat["weeks"]) == 4
    monday = item.window_start - timedelta(days=item.window_start.weekday())
    assert heat["weeks"][0] == monday.isoformat()
    assert [r["code"] for r in heat["rows"]] == ["SZ0101", "SZ0102", "SZ0201"]
    row = heat["rows"][0]
    assert set(row) == {"id", "code", "name", "capacity", "loads", "expected", "ratios"}
    assert len(row["loads"]) == len(row["ratios"]) == 4
    assert round(sum(row["loads"]), 1) == 4.0  # the item's 4 hours land on the outlet's weeks
    # An outlet sees its own row; a sub-branch narrows the map.
    assert [r["code"] for r in ok(api(b.users["head11"]).get(f"{URL}workload"))["rows"]] == ["SZ0101"]
    c = api(b.users["sec1"])
    assert [r["code"] for r in ok(c.get(f"{URL}workload", {"institution": b.sb2.pk}))["rows"]] == ["SZ0201"]
    assert c.get(f"{URL}workload", {"weeks": 0}).status_code == 400
    assert len(ok(c.get(f"{URL}workload"))["weeks"]) == 8


@pytest.mark.parametrize("path", ["/api/v1/coordination/items/{pk}/release-check",
                                  "/api/v1/dispatch/items/{pk}/check"])  # the old address still answers
def test_release_check_names_the_overloaded_outlets(api, coord_bank, draft, path):
    b = coord_bank
    item = draft(effort_hours=200)
    check = ok(api(b.users["sec1"]).get(path.format(pk=item.pk)))
    assert check["item"]["number"] == item.number and check["outlets"] == 3
    assert check["over_capacity_outlets"] == 3 and isinstance(check["blackouts"], list)
    first = check["overloads"][0]
    assert set(first) == {"outlet", "week", "week_end", "load", "capacity", "excess"}
    assert set(first["outlet"]) == {"id", "code", "name"} and first["load"] > first["capacity"]
    assert api(b.users["staff11"]).get(path.format(pk=item.pk)).status_code == 404  # a draft: hidden


def test_capacity(api, coord_bank):
    b = coord_bank
    url = f"{URL}capacity/{b.o11.pk}"
    c = api(b.users["sec1"])
    default = ok(c.get(url))
    assert default["is_override"] is False and default["outlet"]["code"] == "SZ0101"
    cap = ok(c.put(url, {"weekly_hours": 12.5, "note": "人手紧张"}, content_type="application/json"))
    assert cap == {"outlet": default["outlet"], "weekly_hours": 12.5, "note": "人手紧张", "is_override": True}
    assert OutletCapacity.objects.get(outlet=b.o11).weekly_hours == 12.5
    bad = c.put(url, {"weekly_hours": -1}, content_type="application/json")
    assert bad.status_code == 400 and "weekly_hours" in bad.json()["detail"]
    bad = c.put(url, {"weekly_hours": 1000000}, content_type="application/json")
    assert bad.status_code == 400 and "weekly_hours" in bad.json()["detail"]
    assert ok(c.put(url, {"weekly_hours": "10.5"}, content_type="application/json"))["weekly_hours"] == 10.5
    bad = c.put(url, {"weekly_hours": ""}, content_type="application/json")  # the fuzz run's; the document forbids it
    assert bad.status_code == 400 and "weekly_hours" in bad.json()["detail"]
    assert OutletCapacity.objects.get(outlet=b.o11).weekly_hours == 10.5
    assert c.put(f"{URL}capacity/{b.sb1.pk}", {"weekly_hours": 1}, content_type="application/json").status_code == 404
    assert api(b.users["head11"]).put(url, {"weekly_hours": 1}, content_type="application/json").status_code == 403
    assert api(b.users["staff21"]).put(url, {"weekly_hours": 1}, content_type="application/json").status_code == 404
