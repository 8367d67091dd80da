"""Issue 17 §2: lists open on open work, soonest due first (done and closed behind a filter), the
same order on the page, the API and the xlsx export; the conditions list across items; saved filters
(stored on a POST only, each user's own)."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from branchops.cases import services as cases
from branchops.cases.defaults import load_reference_data
from branchops.cases.models import Case, CaseType, Category, SlaPolicy
from branchops.coordination import services as coordination
from branchops.core import clock
from branchops.core.models import SavedFilter
from branchops.core.workdays import add_working_days
from branchops.dispatch import services as dispatch
from tests.conftest import ago
from tests.coordination.conftest import coord_bank, draft, ready  # noqa: F401
from tests.dispatch.conftest import approved, media, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _xlsx_column(response, column: int) -> list:
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)
                                     if response.streaming else response.content)).active
    return [row[column] for row in sheet.iter_rows(min_row=2, values_only=True) if row[column] is not None]


# --- work orders -----------------------------------------------------------------------------------

@pytest.fixture
def orders(coord_bank, released):  # noqa: F811
    """Two released items, the later-due one released first; one of the sooner item's orders done."""
    start = clock.today() + timedelta(days=14)
    late = released(title="晚到期事项", window_start=start, window_end=start + timedelta(days=20))
    soon = released(title="早到期事项", window_start=start, window_end=start + timedelta(days=6),
                    override_reason="测试：两项同时下发")
    done = soon.work_orders.get(institution=coord_bank.o11)
    dispatch.complete_work_order(coord_bank.users["head11"], done, "已完成")
    return late, soon, done


def test_the_work_order_list_opens_on_open_work_soonest_due_first(coord_bank, orders, login):  # noqa: F811
    late, soon, done = orders
    client = login(coord_bank.users["sec1"])
    page = client.get("/dispatch/")
    rows = list(page.context["page"])
    assert done not in rows  # done work behind the filter
    assert [wo.due_date for wo in rows] == sorted(wo.due_date for wo in rows)
    assert rows[0].item_id == soon.pk and rows[-1].item_id == late.pk
    everything = list(client.get("/dispatch/?status=all").context["page"])
    assert done in everything and len(everything) == len(rows) + 1
    assert list(client.get("/dispatch/?status=done").context["page"]) == [done]
    # The export: the same rows in the same order.
    assert _xlsx_column(client.get("/dispatch/?format=xlsx"), 0) == [wo.item.number for wo in rows]


def test_the_work_order_api_orders_by_due_date_and_filters_open_work(coord_bank, orders, api):  # noqa: F811
    late, soon, done = orders
    client = api(coord_bank.users["sec1"])
    every = client.get("/api/v1/dispatch/work-orders").json()["items"]
    assert [r["due_date"] for r in every] == sorted(r["due_date"] for r in every)
    assert done.pk in [r["id"] for r in every]
    open_rows = client.get("/api/v1/dispatch/work-orders?status=open").json()["items"]
    assert done.pk not in [r["id"] for r in open_rows] and len(open_rows) == len(every) - 1
    assert client.get("/api/v1/dispatch/work-orders?status=soon").status_code == 400


# --- cases -----------------------------------------------------------------------------------------

@pytest.fixture
def case_rows(bank):
    load_reference_data(Category, SlaPolicy)
    person = {"complainant_name": "张三", "complainant_phone": "13812345678"}
    made = [cases.open_case(bank.users["staff11"], case_type=CaseType.COMPLAINT, institution=bank.o11,
                            title=f"投诉{n}", channel="on_site", complaint=person, received_at=ago(days=n))
            for n in (1, 5, 3)]
    made.append(cases.open_case(bank.users["staff11"], case_type=CaseType.FEEDBACK, institution=bank.o11,
                                title="意见"))
    return made


def _case_key(case: Case):
    return (case.resolution_due is None, case.resolution_due or clock.today(), case.received_at, case.pk)


def test_cases_are_listed_by_resolution_deadline_then_received_page_api_and_export(bank, case_rows, login):
    client = login(bank.users["sec1"])
    expected = sorted(Case.objects.filter(pk__in=[c.pk for c in case_rows]), key=_case_key)
    assert [c.pk for c in expected] != [c.pk for c in sorted(expected, key=lambda c: c.received_at, reverse=True)] \
        or len({c.resolution_due for c in expected}) == 1
    page = [c.pk for c in client.get("/cases/").context["page"]]
    assert page == [c.pk for c in expected]
    api = [r["id"] for r in client.get("/api/v1/cases/").json()["items"]]
    assert api == page
    assert _xlsx_column(client.get("/cases/?format=xlsx"), 0) == [c.number for c in expected]


# --- items and conditions --------------------------------------------------------------------------

@pytest.fixture
def conditional(coord_bank, draft):  # noqa: F811
    b = coord_bank
    item = ready(b, coordination.submit_item(b.users["pfb1"], draft(title="有条件事项")))
    later = add_working_days(clock.today(), 10)
    sooner = add_working_days(clock.today(), 3)
    item = coordination.record_decision(b.users["sec1"], item, "conditional", conditions=[
        {"text": "后到期条件", "owner_department": b.pfb, "proof": "文本", "due_date": later},
        {"text": "先到期条件", "owner_department": b.icc, "proof": "文本", "due_date": sooner}])
    return item


def test_the_conditions_list_across_items_soonest_due_first(coord_bank, conditional, login):  # noqa: F811
    b = coord_bank
    client = login(b.users["sec1"])
    rows = list(client.get("/coordination/conditions/").context["page"])
    assert [c.text for c in rows] == ["先到期条件", "后到期条件"]
    assert [c.text for c in client.get(f"/coordination/conditions/?owner={b.pfb.pk}").context["page"]] == ["后到期条件"]
    assert list(client.get("/coordination/conditions/?overdue=1").context["page"]) == []
    api = client.get("/api/v1/coordination/conditions").json()
    assert [r["text"] for r in api["items"]] == ["先到期条件", "后到期条件"]
    assert api["items"][0]["item"]["number"] == conditional.number
    assert client.get("/api/v1/coordination/conditions?state=late").status_code == 400
    assert _xlsx_column(client.get("/coordination/conditions/?format=xlsx"), 2) == ["先到期条件", "后到期条件"]


def test_signed_off_conditions_are_behind_the_filter(coord_bank, conditional, login):  # noqa: F811
    b = coord_bank
    cond = conditional.conditions.get(text="先到期条件")
    coordination.report_condition_met(b.users["icc1"], cond, "已完成")
    coordination.sign_off_condition(b.users["sec1"], cond.__class__.objects.get(pk=cond.pk))
    client = login(b.users["sec1"])
    assert [c.text for c in client.get("/coordination/conditions/").context["page"]] == ["后到期条件"]
    assert [c.text for c in client.get("/coordination/conditions/?state=signed_off").context["page"]] == ["先到期条件"]
    assert len(client.get("/coordination/conditions/?state=all").context["page"]) == 2
    api = client.get("/api/v1/coordination/conditions?state=all").json()["items"]
    assert [r["text"] for r in api] == ["先到期条件", "后到期条件"]


def test_a_user_who_sees_an_item_by_its_decision_only_does_not_read_its_conditions(coord_bank, conditional, login):  # noqa: F811
    client = login(coord_bank.users["sb1mgr"])  # the sub-branch sees the decided item by its decision only
    assert list(client.get("/coordination/conditions/?state=all").context["page"]) == []
    assert client.get("/api/v1/coordination/conditions?state=all").json()["count"] == 0


def test_the_register_opens_on_items_in_hand_by_meeting_date(coord_bank, draft, conditional, login):  # noqa: F811
    b = coord_bank
    rejected = coordination.record_decision(
        b.users["sec1"], ready(b, coordination.submit_item(b.users["pfb1"], draft(title="被否事项"))), "rejected",
        reasons="不符合要求")
    waiting = coordination.submit_item(b.users["pfb1"], draft(title="下次上会"))
    still_draft = draft(title="草稿")
    client = login(b.users["sec1"])
    rows = list(client.get("/coordination/").context["page"])
    assert rejected not in rows
    assert rows[-1] == still_draft  # drafts (no meeting yet) last
    dated = [i.meeting.held_on for i in rows if i.meeting_id]
    assert dated == sorted(dated) and waiting in rows and conditional in rows
    everything = list(client.get("/coordination/?state=all").context["page"])
    assert rejected in everything
    api = [r["id"] for r in client.get("/api/v1/coordination/items?state=open").json()["items"]]
    assert api == [i.pk for i in rows]
    assert client.get("/api/v1/coordination/items?state=closed").status_code == 400


# --- saved filters ---------------------------------------------------------------------------------

def test_a_saved_filter_is_stored_on_a_post_only_and_opens_its_list(bank, login):
    client = login(bank.users["staff11"])
    client.get("/cases/?queue=overdue&name=我的&list=cases:list")
    assert client.get("/filters/save/?list=cases:list&name=x&query=queue%3Dall").status_code == 405
    assert not SavedFilter.objects.exists()
    response = client.post("/filters/save/", {"list": "cases:list", "name": "我的逾期",
                                              "query": "queue=overdue&page=3&format=xlsx&q="})
    saved = SavedFilter.objects.get()
    assert saved.user == bank.users["staff11"] and saved.query == "queue=overdue"
    assert response.status_code == 302 and response["Location"] == "/cases/?queue=overdue"
    assert "我的逾期" in client.get("/cases/").content.decode()
    assert "我的逾期" in client.get("/filters/").content.decode()


def test_a_bad_saved_filter_is_refused_and_stores_nothing(bank, login):
    client = login(bank.users["staff11"])
    for data in ({"list": "cases:list", "name": " "}, {"list": "admin:index", "name": "x"},
                 {"list": "cases:list", "name": "x" * 81}, {"list": "cases:list", "name": "x", "query": "q=" + "x" * 1200}):
        assert client.post("/filters/save/", data).status_code == 302
    assert not SavedFilter.objects.exists()


def test_another_users_saved_filter_is_not_found(bank, login):
    from branchops.core import services as core

    mine = core.save_filter(bank.users["staff11"], "dispatch:work_orders", "逾期", "overdue=1")
    other = login(bank.users["staff12"])
    assert other.post(f"/filters/{mine.pk}/delete/").status_code == 404
    assert "逾期" not in other.get("/filters/").content.decode()
    assert SavedFilter.objects.filter(pk=mine.pk).exists()
    owner = login(bank.users["staff11"])
    assert owner.post(f"/filters/{mine.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.filter(pk=mine.pk).exists()
