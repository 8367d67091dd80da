"""The briefing through the API and the pages: what the form would refuse, answered 400/422 naming
the field; the flow end to end; downloads of the stored bytes; the list's search, export, empty state."""

import pytest

from branchops.org.roles import Role
from branchops.service import services
from branchops.service.briefing_models import Briefing

API = "/api/v1/service/briefings"


@pytest.fixture
def bank_q(grading):
    grading.person("sup0", grading.branch, [Role.SERVICE_SUPERVISOR])
    return grading


def test_api_flow_draft_cases_issue_approve_download(bank_q, api):
    b = bank_q
    sec = api(b.users["sec1"])
    r = sec.post(API, {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter, "summary": "总体平稳"},
                 content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    pk, version = body["id"], body["version"]
    assert body["status"] == "draft" and "issue" in body["allowed_actions"]
    assert {s["key"]: s["query"] for s in body["sources"]}["hot_spots"] == \
        "branchops.service.briefing_queries.complaint_hot_spots"
    r = sec.post(f"{API}/{pk}/actions/add_case", {"kind": "negative", "title": "离岗", "text": "柜员离岗。",
                                                  "outlet": b.o11.pk, "version": version},
                 content_type="application/json")
    assert r.status_code == 200, r.content
    assert [c["outlet"]["code"] for c in r.json()["cases"]] == ["SZ0101"]
    r = sec.post(f"{API}/{pk}/actions/issue", {"version": r.json()["version"]}, content_type="application/json")
    assert r.json()["status"] == "issued" and "approve" not in r.json()["allowed_actions"]
    leader = api(b.users["leader1"])
    detail = leader.get(f"{API}/{pk}").json()
    assert detail["allowed_actions"] == ["return", "approve"]
    r = leader.post(f"{API}/{pk}/actions/approve", {"version": detail["version"]}, content_type="application/json")
    assert r.status_code == 200 and r.json()["number"].startswith("运管服通")
    doc = leader.get(f"{API}/{pk}/document")
    stored = Briefing.objects.get(pk=pk).document
    assert doc.content == bytes(stored.content) and doc["Content-Type"] == stored.content_type
    assert api(b.users["sup0"]).get(f"{API}/{pk}/workbook").content == bytes(Briefing.objects.get(pk=pk).workbook.content)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"quarter": 5}, 400, "quarter"),
    ({"year": 1800}, 400, "year"),
    ({"branch": 0}, 400, "branch"),
    ({"branch": "outlet"}, 400, "branch"),
    ({"quarter": "now"}, 400, "quarter"),
    ({"summary": "x" * 4001}, 400, "summary"),
])
def test_api_refuses_what_the_form_would_refuse(bank_q, api, body, status, field):
    from branchops.core import clock

    b = bank_q
    payload = {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter} | body
    if body.get("branch") == "outlet":
        payload["branch"] = b.o11.pk
    if body.get("quarter") == "now":
        today = clock.today()
        payload.update(year=today.year, quarter=(today.month - 1) // 3 + 1)
    r = api(b.users["sec1"]).post(API, payload, content_type="application/json")
    assert r.status_code == status, r.content
    assert field in r.content.decode()
    assert not Briefing.objects.exists()


def test_api_actions_refuse_bad_input_and_strangers(bank_q, api):
    b = bank_q
    briefing = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)
    sec = api(b.users["sec1"])
    r = sec.post(f"{API}/{briefing.pk}/actions/add_case", {"kind": "positive", "title": "好", "text": "好",
                                                            "outlet": b.branch.pk}, content_type="application/json")
    assert r.status_code == 400 and "outlet" in r.content.decode()
    r = sec.post(f"{API}/{briefing.pk}/actions/add_case", {"kind": "meh", "title": "好", "text": "好"},
                 content_type="application/json")
    assert r.status_code == 400 and "kind" in r.content.decode()
    r = sec.post(f"{API}/{briefing.pk}/actions/remove_case", {}, content_type="application/json")
    assert r.status_code == 400 and "case" in r.content.decode()
    r = sec.post(f"{API}/{briefing.pk}/actions/return", {"reason": "x"}, content_type="application/json")
    assert r.status_code == 400  # a draft does not go back
    r = sec.post(f"{API}/{briefing.pk}/actions/issue", {"version": briefing.version + 5},
                 content_type="application/json")
    assert r.status_code == 400  # a stale page
    r = sec.post(f"{API}/{briefing.pk}/actions/fly", {}, content_type="application/json")
    assert r.status_code == 404
    assert api(b.users["leader1"]).get(f"{API}/{briefing.pk}").status_code == 404  # a draft
    assert api(b.users["head11"]).get(f"{API}/{briefing.pk}").status_code == 403
    assert api(b.users["head11"]).get(API).status_code == 403
    assert Briefing.objects.get(pk=briefing.pk).status == "draft" and not briefing.cases.exists()


def test_pages_list_detail_actions_and_downloads(bank_q, login):
    b = bank_q
    client = login(b.users["sec1"])
    r = client.get("/service/briefings/")
    assert r.status_code == 200 and "data-briefing" not in r.content.decode()  # the empty state
    r = client.post("/service/briefings/new/", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter,
                                                "summary": "平稳"})
    briefing = Briefing.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/service/briefings/{briefing.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "branchops.cases.queries" not in page  # figures name the briefing's own query functions
    assert "branchops.service.briefing_queries.complaint_rates" in page and 'data-action="issue"' in page
    draft = client.get(f"/service/briefings/{briefing.pk}/briefing.docx")
    assert draft.status_code == 200 and "%E8%8D%89%E7%A8%BF" in draft["Content-Disposition"]  # 草稿
    r = client.post(f"/service/briefings/{briefing.pk}/add_case/", {"kind": "positive", "title": "<b>好</b>",
                                                                    "text": "暖心", "version": briefing.version})
    assert r.status_code == 302
    page = client.get(f"/service/briefings/{briefing.pk}/").content.decode()
    assert "&lt;b&gt;好&lt;/b&gt;" in page and "<b>好</b>" not in page
    client.post(f"/service/briefings/{briefing.pk}/issue/", {"version": Briefing.objects.get().version})
    assert Briefing.objects.get().status == "issued"
    leader = login(b.users["leader1"])
    leader.post(f"/service/briefings/{briefing.pk}/approve/", {"version": Briefing.objects.get().version})
    briefing = Briefing.objects.get()
    assert briefing.status == "approved"
    r = leader.get(f"/service/briefings/{briefing.pk}/briefing.xlsx")
    assert r.content == bytes(briefing.workbook.content)
    r = leader.get("/service/briefings/?q=" + briefing.document.number[:4])
    assert f'data-briefing="{briefing.pk}"' in r.content.decode()
    r = leader.get("/service/briefings/?status=draft&year=99999999999")
    assert r.status_code == 200 and f'data-briefing="{briefing.pk}"' not in r.content.decode()
    export = leader.get("/service/briefings/?format=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_outlets_get_no_briefing_page(bank_q, login):
    b = bank_q
    briefing = services.create_briefing(b.users["sec1"], branch=b.branch, year=b.year, quarter=b.quarter)
    briefing = services.approve_briefing(b.users["leader1"], services.issue_briefing(b.users["sec1"], briefing))
    for key in ("head11", "staff11"):
        client = login(b.users[key])
        assert client.get("/service/briefings/").status_code == 403
        assert client.get(f"/service/briefings/{briefing.pk}/briefing.docx").status_code == 403
    assert login(b.users["sb1mgr"]).get(f"/service/briefings/{briefing.pk}/").status_code == 404
    assert login(b.users["sup0"]).get(f"/service/briefings/{briefing.pk}/").status_code == 200
