"""The cases API: scope (404 alike for hidden and missing), opening, actions with versions,
permissions, masking with logged reveal, token auth and the figures."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from branchops.cases import services
from branchops.cases.models import Case, CaseType, Category, ComplaintDetail, PiiAccess, Status
from branchops.core import clock
from branchops.core import services as core_services
from branchops.core.models import TimelineEntry

from ..conftest import ago
from .conftest import at

URL = "/api/v1/cases/"


def numbers(response):
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["items"]}


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def repair_request(b, user="staff11"):
    cat = Category.objects.get(case_type=CaseType.SUPPORT, code="REPAIR-ATM")
    return services.open_case(b.users[user], case_type=CaseType.SUPPORT, institution=b.users[user].staff.institution,
                              title="ATM 吞卡", category=cat, received_at=ago(hours=1))


# --- scope -------------------------------------------------------------------------------------


@pytest.mark.date_sensitive
def test_list_is_scoped(api, complaint, cases_bank):
    b = cases_bank
    mine = complaint()
    other = services.open_case(b.users["staff21"], case_type=CaseType.FEEDBACK, institution=b.o21, title="罗湖反馈",
                               received_at=ago(days=60))
    repair = repair_request(b)
    assert numbers(api(b.users["staff11"]).get(URL)) == {mine.number, repair.number}
    assert numbers(api(b.users["staff21"]).get(URL)) == {other.number}
    # A department reviewer sees what is assigned to their department, nothing else.
    assert numbers(api(b.users["ft1"]).get(URL)) == {repair.number}
    assert numbers(api(b.users["cpp1"]).get(URL)) == set()
    # The branch leader sees the branch; filters narrow it.
    c = api(b.users["leader1"])
    assert numbers(c.get(URL)) == {mine.number, other.number, repair.number}
    assert numbers(c.get(URL, {"case_type": "complaint"})) == {mine.number}
    assert numbers(c.get(URL, {"institution": b.sb2.pk})) == {other.number}
    assert numbers(c.get(URL, {"q": "ATM"})) == {repair.number}
    today = clock.today().isoformat()
    assert numbers(c.get(URL, {"received_from": today, "received_to": today})) == {
        mine.number, repair.number}
    bad = c.get(URL, {"queue": "nonsense"})
    assert bad.status_code == 400 and "queue" in bad.json()["detail"]


def test_list_item_shape(api, complaint, cases_bank):
    b = cases_bank
    case = complaint(received=ago(days=640))  # long overdue
    [item] = api(b.users["head11"]).get(URL, {"queue": "overdue"}).json()["items"]
    assert item["id"] == case.pk and item["number"] == case.number
    assert item["institution"] == {"id": b.o11.pk, "code": "SZ0101", "name": "福田中心网点"}
    assert item["assignee"]["username"] == "staff11" and item["first_contact_owner"]["username"] == "staff11"
    assert item["assignee_department"] is None and item["category"] is None
    assert item["overdue"] is True and item["status"] == "new" and item["version"] == case.version
    assert item["resolution_due"] == case.resolution_due.isoformat()


def test_list_queries_do_not_grow_with_the_page(api, complaint, cases_bank, django_assert_max_num_queries):
    c = api(cases_bank.users["head11"])
    complaint()
    with django_assert_max_num_queries(12) as one:
        c.get(URL)
    for _ in range(5):
        complaint()
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert c.get(URL).json()["count"] == 6


def test_other_outlets_case_is_404_like_a_missing_one(api, complaint, cases_bank):
    case = complaint()
    c = api(cases_bank.users["staff21"])
    hidden, missing = c.get(f"{URL}{case.pk}"), c.get(f"{URL}999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert c.get(f"{URL}{case.pk}/history").status_code == 404
    acted = post(c, f"{URL}{case.pk}/actions/accept")
    assert acted.status_code == 404 and acted.json() == missing.json()
    assert Case.objects.get(pk=case.pk).status == Status.NEW


# --- opening -----------------------------------------------------------------------------------

def complaint_body(b, **extra):
    body = {"case_type": "complaint", "institution_id": b.o11.pk, "title": "排队太久", "channel": "on_site",
            "category": "WAIT", "description": "客户等候超过40分钟",
            "complaint": {"complainant_name": "张三", "complainant_phone": "13812345678",
                          "complainant_id_number": "440301199001011234", "channel_code": "A.01.01",
                          "business_code": "B.01", "cause_code": "C.01"}}
    body.update(extra)
    return body


def test_create_complaint(api, cases_bank):
    b = cases_bank
    r = post(api(b.users["staff11"]), URL, complaint_body(b))
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["number"].startswith(f"TS-{clock.today().year}-")
    assert data["response_due"] and data["resolution_due"] and data["decision_due"]
    assert data["category"]["code"] == "WAIT" and data["status"] == "new"
    assert data["complaint"]["cause_code"]["code"] == "C.01"
    assert data["complaint"]["complainant"]["phone"] == "138****5678"  # masked unless revealed
    detail = ComplaintDetail.objects.get(case_id=data["id"])
    assert (detail.channel_code.dimension, detail.business_code.dimension) == ("channel", "business")


@pytest.mark.parametrize(("change", "field"), [
    ({"complaint": {"complainant_name": "张三", "cause_code": "Z.99"}}, "cause_code"),
    ({"complaint": {"complainant_name": "张三", "channel_code": "C.01"}}, "channel_code"),  # another dimension
    ({"complaint": {"complainant_phone": "13812345678"}}, "complainant_name"),
    ({"category": "NOPE"}, "category"),
    ({"channel": "outlet"}, "channel"),
    ({"title": " "}, "title"),
])
def test_create_with_bad_input_is_400_and_writes_nothing(api, cases_bank, change, field):
    b = cases_bank
    r = post(api(b.users["staff11"]), URL, complaint_body(b, **change))
    assert r.status_code == 400, r.content
    assert field in r.json()["detail"]
    assert Case.objects.count() == 0 and ComplaintDetail.objects.count() == 0


@pytest.mark.clock_at("2026-09-17")
def test_create_reads_local_time_and_names_a_missing_type(api, cases_bank):
    b = cases_bank
    c = api(b.users["staff11"])
    r = post(c, URL, complaint_body(b, received_at="2026-09-16T09:30:00"))  # no offset: Beijing time
    assert r.status_code == 201 and r.json()["resolution_due"] == "2026-09-30"
    r = post(c, URL, {"institution_id": b.o11.pk, "title": "无类型"})
    assert r.status_code == 400 and "case_type" in r.json()["detail"]


def test_create_for_another_outlet_is_refused(api, cases_bank):
    b = cases_bank
    r = post(api(b.users["staff11"]), URL, complaint_body(b, institution_id=b.o21.pk))
    assert r.status_code == 400 and "institution" in r.json()["detail"]
    assert Case.objects.count() == 0


def test_create_rectification_and_feedback(api, cases_bank):
    b = cases_bank
    c = api(b.users["sb1mgr"])
    r = post(c, URL, {"case_type": "rectification", "institution_id": b.o11.pk, "title": "6S 不达标",
                      "channel": "inspection", "rectification": {"evidence_required": "照片"}})
    assert r.status_code == 201 and r.json()["rectification"]["evidence_required"] == "照片"
    r = post(c, URL, {"case_type": "rectification", "institution_id": b.o11.pk, "title": "缺证据要求"})
    assert r.status_code == 400 and "evidence_required" in r.json()["detail"]
    r = post(api(b.users["staff12"]), URL, {"case_type": "feedback", "institution_id": b.o12.pk,
                                             "title": "新系统无操作指引"})
    assert r.status_code == 201 and r.json()["assignee_department"]["code"] == "OPS"


# --- actions -----------------------------------------------------------------------------------

def test_actions_happy_path(api, cases_bank):
    b = cases_bank
    c = api(b.users["staff11"])
    case = post(c, URL, complaint_body(b)).json()
    act = f"{URL}{case['id']}/actions/"
    r = post(c, act + "accept", {"version": case["version"]})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "accepted" and r.json()["version"] == case["version"] + 1
    r = post(c, act + "comment", {"body": "已联系客户"})
    assert [x["body"] for x in r.json()["comments"]] == ["已联系客户"]
    r = post(c, act + "resolve", {"outcome": "resolved", "resolution": "已致歉并优化叫号", "version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = post(c, act + "close")
    assert r.status_code == 400  # no close before the call-back
    r = post(c, act + "callback", {"satisfaction": "satisfied", "note": "客户满意"})
    assert r.json()["complaint"]["callback_satisfaction"] == "satisfied"
    r = post(c, act + "close", {"version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    history = c.get(f"{URL}{case['id']}/history").json()
    assert {"opened", "accepted", "commented", "resolved", "called_back", "closed"} <= {e["action"] for e in history}


def test_stale_version_is_400_and_changes_nothing(api, complaint, cases_bank):
    b = cases_bank
    case = complaint()
    shown = case.version
    assert post(api(b.users["head11"]), f"{URL}{case.pk}/actions/accept", {"version": shown}).status_code == 200
    c = api(b.users["staff11"])
    entries = TimelineEntry.objects.count()
    for action, body in [("start", {}), ("cancel", {"reason": "重复"}), ("pause", {"reason": "等待鉴定"})]:
        r = post(c, f"{URL}{case.pk}/actions/{action}", {"version": shown, **body})
        assert r.status_code == 400, (action, r.content)
        assert "__all__" in r.json()["detail"]
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.status == Status.ACCEPTED and fresh.version == shown + 1 and fresh.paused_since is None
    assert TimelineEntry.objects.count() == entries


def test_user_without_rights_gets_403(api, complaint, cases_bank):
    b = cases_bank
    case = complaint()
    c = api(b.users["leader1"])  # sees the branch, may not work on cases
    assert c.get(f"{URL}{case.pk}").json()["can_manage"] is False
    r = post(c, f"{URL}{case.pk}/actions/accept")
    assert r.status_code == 403
    assert post(c, f"{URL}{case.pk}/actions/resolve", {"outcome": "resolved", "resolution": "x"}).status_code == 403
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.status == Status.NEW and fresh.version == case.version


def test_unknown_action_is_404_and_body_is_optional(api, complaint, cases_bank):
    case = complaint()
    c = api(cases_bank.users["staff11"])
    assert post(c, f"{URL}{case.pk}/actions/explode").status_code == 404
    r = c.generic("POST", f"{URL}{case.pk}/actions/accept")  # no body at all
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.content.decode()


def test_handing_a_case_on_still_answers_with_the_result(api, cases_bank):
    """A department that hands a case to another loses sight of it, but sees what it just did."""
    b = cases_bank
    case = repair_request(b)
    c = api(b.users["ft1"])
    r = post(c, f"{URL}{case.pk}/actions/assign", {"department_id": b.cpp.pk})
    assert r.status_code == 200 and r.json()["assignee_department"]["code"] == "CPP"
    assert c.get(f"{URL}{case.pk}").status_code == 404


def test_assign_and_classify(api, complaint, cases_bank):
    b = cases_bank
    case = complaint()
    c = api(b.users["head11"])
    r = post(c, f"{URL}{case.pk}/actions/assign", {"department_id": b.cpp.pk, "note": "请消保部处理"})
    assert r.status_code == 200 and r.json()["assignee_department"]["code"] == "CPP"
    r = post(c, f"{URL}{case.pk}/actions/assign", {"assignee_id": b.users["staff21"].pk})
    assert r.status_code == 400 and "assignee" in r.json()["detail"]  # outside the case's line
    r = post(c, f"{URL}{case.pk}/actions/classify", {"cause_code": "C.01"})
    assert r.json()["complaint"]["cause_code"]["code"] == "C.01"
    r = post(c, f"{URL}{case.pk}/actions/classify", {"business_code": "B.01"})  # keeps the cause
    assert r.json()["complaint"]["cause_code"]["code"] == "C.01"
    assert r.json()["complaint"]["business_code"]["code"] == "B.01"
    r = post(c, f"{URL}{case.pk}/actions/classify", {"cause_code": "B.01"})
    assert r.status_code == 400 and "cause_code" in r.json()["detail"]


@pytest.mark.clock_at("2026-11-24")
def test_pause_resume_and_extension_decision(api, complaint, cases_bank):
    b = cases_bank
    case = complaint(received=at(2026, 11, 2))
    c = api(b.users["head11"])
    r = post(c, f"{URL}{case.pk}/actions/pause", {"reason": "等待外部鉴定"})
    assert r.json()["paused_since"] and r.json()["pauses"][0]["reason"] == "等待外部鉴定"
    r = post(c, f"{URL}{case.pk}/actions/resume")
    assert r.status_code == 200 and r.json()["paused_since"] is None
    r = post(c, f"{URL}{case.pk}/actions/extension", {"days": 3, "reason": "等待监控调取"})
    [ext] = r.json()["extensions"]
    assert ext["state"] == "requested"
    decision = f"{URL}extensions/{ext['id']}/decision"
    assert post(api(b.users["staff21"]), decision, {"approve": True}).status_code == 404  # not in their view
    assert post(api(b.users["head11"]), decision, {"approve": True}).status_code == 403  # own request
    r = post(api(b.users["sec1"]), decision, {"approve": True, "note": "同意"})
    assert r.status_code == 200 and r.json()["extensions"][0]["state"] == "approved"


def test_rectification_evidence_and_verification(api, cases_bank):
    b = cases_bank
    case = services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                              title="6S 不达标", channel="inspection", rectification={"evidence_required": "照片"})
    head = api(b.users["head11"])
    post(head, f"{URL}{case.pk}/actions/resolve", {"outcome": "resolved", "resolution": "已整理"})
    post(head, f"{URL}{case.pk}/actions/evidence", {"evidence": "照片已上传"})
    assert post(head, f"{URL}{case.pk}/actions/verify", {"passed": True}).status_code == 403
    sup = api(b.users["sb1mgr"])
    assert "passed" in post(sup, f"{URL}{case.pk}/actions/verify", {}).json()["detail"]
    r = post(sup, f"{URL}{case.pk}/actions/verify", {"passed": True, "note": "复查合格"})
    assert r.json()["rectification"]["verified_by"]["username"] == "sb1mgr"


def test_triage_feedback(api, cases_bank):
    b = cases_bank
    case = services.open_case(b.users["staff12"], case_type=CaseType.FEEDBACK, institution=b.o12, title="无操作指引")
    assert post(api(b.users["staff12"]), f"{URL}{case.pk}/actions/triage", {"action": "to_meeting"}).status_code == 403
    r = post(api(b.users["sec1"]), f"{URL}{case.pk}/actions/triage", {"action": "assign", "department_id": b.legal.pk})
    assert r.status_code == 200 and r.json()["assignee_department"]["code"] == "LEGAL"


# --- personal data -----------------------------------------------------------------------------

def test_complainant_is_masked_and_reveal_is_logged(api, complaint, cases_bank):
    b = cases_bank
    case = complaint()
    leader = api(b.users["leader1"]).get(f"{URL}{case.pk}", {"reveal": "true"}).json()
    assert leader["complaint"]["complainant"] == {"name": "张*", "phone": "138****5678",
                                                  "id_number": "4403**********1234", "masked": True}
    assert leader["can_see_pii"] is False
    c = api(b.users["head11"])
    masked = c.get(f"{URL}{case.pk}").json()["complaint"]["complainant"]
    assert masked["phone"] == "138****5678" and masked["masked"] is True
    assert PiiAccess.objects.count() == 0
    shown = c.get(f"{URL}{case.pk}", {"reveal": "true"}).json()["complaint"]["complainant"]
    assert shown == {"name": "张三", "phone": "13812345678", "id_number": "440301199001011234", "masked": False}
    [log] = PiiAccess.objects.all()
    assert (log.user, log.case_id, log.via) == (b.users["head11"], case.pk, "api")
    # Nothing in the list or the history carries the complainant's data.
    assert "13812345678" not in c.get(URL).content.decode()
    assert "13812345678" not in c.get(f"{URL}{case.pk}/history").content.decode()


def test_attachment_in_detail(api, complaint, cases_bank, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = complaint()
    services.add_attachment(cases_bank.users["staff11"], case, SimpleUploadedFile("录音.mp3", b"x" * 10))
    [att] = api(cases_bank.users["staff11"]).get(f"{URL}{case.pk}").json()["attachments"]
    assert att["name"] == "录音.mp3" and att["size"] == 10 and att["url"]


# --- auth and figures --------------------------------------------------------------------------

def test_token_auth(complaint, cases_bank):
    b = cases_bank
    case = complaint()
    _token, raw = core_services.create_api_token(b.users["staff11"], "script")
    c = Client()
    assert numbers(c.get(URL, HTTP_AUTHORIZATION=f"Bearer {raw}")) == {case.number}
    assert numbers(c.get(URL, HTTP_X_API_TOKEN=raw)) == {case.number}
    assert c.get(URL, HTTP_AUTHORIZATION="Bearer bo_wrong").status_code == 401
    _t21, raw21 = core_services.create_api_token(b.users["staff21"], "script")
    assert c.get(f"{URL}{case.pk}", HTTP_AUTHORIZATION=f"Bearer {raw21}").status_code == 404


@pytest.mark.clock_at("2026-11-24")  # a calendar year's report: the months are November's and October's
def test_dashboard_and_complaints_per_outlet(api, complaint, cases_bank):
    b = cases_bank
    u = b.users["staff11"]
    late = complaint(received=at(2025, 3, 3))
    services.resolve_case(u, late, outcome="resolved", resolution="迟到的处理")
    on_time = complaint(received=at(2026, 11, 23))
    services.resolve_case(u, on_time, outcome="resolved", resolution="当场处理")
    complaint(received=at(2025, 3, 4))  # open and overdue
    complaint(received=at(2026, 11, 23))  # open, not due yet
    services.open_case(b.users["staff21"], case_type=CaseType.COMPLAINT, institution=b.o21, title="罗湖投诉",
                       channel="hotline", complaint={"complainant_name": "李四"}, received_at=at(2026, 10, 8))
    data = api(b.users["head11"]).get(f"{URL}dashboard").json()
    assert (data["open"], data["overdue"]) == (2, 1)
    assert (data["resolved"], data["resolved_on_time"], data["compliance"]) == (2, 1, 0.5)
    assert data["by_status"] == {"new": 2, "resolved": 2}
    assert {t["case_type"]: t["open"] for t in data["by_type"]}["complaint"] == 2
    branch = api(b.users["leader1"])
    assert branch.get(f"{URL}dashboard").json()["open"] == 3
    rows = branch.get(f"{URL}complaints-per-outlet", {"year": 2026}).json()
    assert [(r["code"], r["total"]) for r in rows] == [("SZ0101", 2), ("SZ0201", 1)]
    assert rows[0]["months"][10] == 2 and rows[1]["months"][9] == 1
    assert api(b.users["staff21"]).get(f"{URL}complaints-per-outlet", {"year": 2026}).json()[0]["code"] == "SZ0201"


def test_openapi_lists_the_cases_endpoints(api, cases_bank):
    paths = api(cases_bank.users["staff11"]).get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/cases/", "/api/v1/cases/{pk}", "/api/v1/cases/{pk}/actions/{action}",
              "/api/v1/cases/dashboard", "/api/v1/cases/complaints-per-outlet"):
        assert p in paths


# --- what the page's forms refuse, the API is refused too (the services check it) ----------------

@pytest.mark.parametrize(("user", "change", "field"), [
    ("staff11", {"received_at": "future"}, "received_at"),
    ("staff11", {"case_type": "feedback", "complaint": None, "category": None, "received_at": "future"},
     "received_at"),
    ("sec1", {"institution_id": "sb1"}, "institution"),  # in scope, but neither an outlet nor their own
    ("sec1", {"institution_id": "closed outlet"}, "institution"),
    ("staff11", {"case_type": "support", "complaint": None, "category": None}, "category"),
    ("sb1mgr", {"case_type": "rectification", "complaint": None, "category": None, "channel": "hotline",
                "rectification": {"evidence_required": "照片"}}, "channel"),
    ("staff11", {"complaint": {"complainant_name": "张三", "complainant_phone": "call me"}}, "complainant_phone"),
    ("staff11", {"complaint": {"complainant_name": "张三", "complainant_id_number": "44-03"}},
     "complainant_id_number"),
])
def test_create_refuses_what_the_form_refuses_and_writes_nothing(api, cases_bank, user, change, field):
    from branchops.org import services as org

    b = cases_bank
    org.save_institution(None, b.o12, is_active=False)
    places = {"sb1": b.sb1.pk, "closed outlet": b.o12.pk}
    if change.get("institution_id") in places:
        change["institution_id"] = places[change["institution_id"]]
    if change.get("received_at") == "future":
        change["received_at"] = (clock.now() + timedelta(minutes=30)).isoformat()
    r = post(api(b.users[user]), URL, complaint_body(b, **change))
    assert r.status_code == 400, r.content
    assert field in r.json()["detail"]
    assert Case.objects.count() == 0 and ComplaintDetail.objects.count() == 0


def test_a_receipt_in_the_future_is_refused_by_page_and_api_alike(client, api, cases_bank):
    b = cases_bank
    soon, later = clock.localtime() + timedelta(minutes=4), clock.localtime() + timedelta(minutes=30)
    client.force_login(b.users["staff11"])
    page = {"title": "排队太久", "channel": "on_site", "institution": b.o11.pk, "priority": "normal",
            "complainant_name": "张三", "complexity": "normal", "received_at": later.strftime("%Y-%m-%dT%H:%M")}
    r = client.post("/cases/new/?type=complaint", page)
    assert r.status_code == 200 and "received_at" in r.context["form"].errors
    r = post(api(b.users["staff11"]), URL, complaint_body(b, received_at=later.isoformat()))
    assert r.status_code == 400 and "received_at" in r.json()["detail"]
    assert Case.objects.count() == 0
    # A clerk's clock a few minutes ahead is tolerated on both.
    assert post(api(b.users["staff11"]), URL, complaint_body(b, received_at=soon.isoformat())).status_code == 201


def test_regulator_data_is_kept_only_for_a_regulator_transfer(api, cases_bank):
    b = cases_bank
    complaint = complaint_body(b)["complaint"] | {"regulator_reference": "深金管投〔2026〕1号",
                                                  "regulator_due": clock.today().isoformat()}
    r = post(api(b.users["staff11"]), URL, complaint_body(b, complaint=complaint))  # came in on site
    assert r.status_code == 201, r.content
    detail = r.json()["complaint"]
    assert detail["regulator_reference"] == "" and detail["regulator_due"] is None


def test_services_check_what_only_forms_did(cases_bank, complaint):
    b = cases_bank
    head = b.users["head11"]
    wait = Category.objects.get(case_type=CaseType.COMPLAINT, code="WAIT")
    Category.objects.filter(pk=wait.pk).update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        complaint(category=Category.objects.get(pk=wait.pk))
    assert "category" in exc.value.message_dict
    case = complaint()
    with pytest.raises(ValidationError) as exc:
        services.pause_clock(head, case, "等" * 201)
    assert "reason" in exc.value.message_dict
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.paused_since is None and fresh.version == case.version and not fresh.pauses.exists()


def _snapshot(case):
    fresh = Case.objects.get(pk=case.pk)
    return fresh.version, fresh.status, TimelineEntry.objects.filter(object_id=str(case.pk)).count()


@pytest.mark.parametrize(("state", "user", "action", "body", "status"), [
    ("new", "head11", "root_cause", {"root_cause": " ", "improvement": "培训"}, 400),
    ("new", "head11", "pause", {"reason": "等" * 201}, 400),
    ("new", "head11", "assign", {"assignee_id": "inactive"}, 400),
    ("new", "head11", "assign", {"department_id": "closed department"}, 400),
    ("new", "head11", "assign", {}, 400),
    ("new", "head11", "resolve", {"outcome": "to_meeting", "resolution": "上会"}, 400),
    ("new", "head11", "complexity", {"complexity": "particularly_complex", "customer_notified": True}, 403),
    ("new", "head11", "extension", {"days": 30, "reason": "太长"}, 400),
    ("new", "head11", "triage", {"action": "assign"}, 403),
    ("resolved", "head11", "callback", {"satisfaction": "so-so"}, 400),
    ("closed", "head11", "mark_major", {}, 400),
    ("closed", "head11", "complexity", {"complexity": "complex"}, 400),
    ("closed", "head11", "resume", {}, 400),
    ("verified and closed", "head11", "evidence", {"evidence": "更多照片"}, 400),
    ("verified", "sb1mgr", "verify", {"passed": True}, 400),
    ("cancelled", "head11", "evidence", {"evidence": "照片"}, 400),
])
def test_actions_refuse_what_the_page_never_offers_and_change_nothing(api, cases_bank, complaint, state, user,
                                                                     action, body, status):
    from branchops.org import services as org

    b = cases_bank
    head = b.users["head11"]
    gone = b.person("gone11", b.o11, [])
    org.save_staff(None, gone.staff, is_active=False)
    closed_dept = org.save_department(None, institution=b.branch, code="OLD", name="旧部门")
    org.save_department(None, closed_dept, is_active=False)
    ids = {"inactive": gone.pk, "closed department": closed_dept.pk}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    if state in ("verified", "verified and closed", "cancelled"):
        case = services.open_case(b.users["sb1mgr"], case_type=CaseType.RECTIFICATION, institution=b.o11,
                                  title="6S 不达标", channel="inspection", rectification={"evidence_required": "照片"})
        if state == "cancelled":
            services.cancel_case(head, case, "检查有误")
        else:
            services.submit_evidence(head, case, "照片")
            services.resolve_case(head, case, outcome="resolved", resolution="已整理")
            services.verify_rectification(b.users["sb1mgr"], case, passed=True)
        if state == "verified and closed":
            services.close_case(head, case)
    else:
        case = complaint()
        if state in ("resolved", "closed"):
            services.resolve_case(head, case, outcome="on_the_spot", resolution="现场解释")
        if state == "closed":
            services.close_case(head, case)
    before = _snapshot(case)
    r = post(api(b.users[user]), f"{URL}{case.pk}/actions/{action}", body)
    assert r.status_code == status, r.content
    assert _snapshot(case) == before


@pytest.mark.parametrize("received_at", ["0232-11-20T10:00:00", "1999-12-31T10:00:00", "2099-01-01T10:00:00",
                                         "years ago"])
def test_an_implausible_receipt_date_is_refused(api, cases_bank, received_at):
    """Issue 13 item 7: a complaint dated 2099 (never overdue, numbered TS-2099-…) or year 232."""
    b = cases_bank
    if received_at == "years ago":
        received_at = (clock.now() - timedelta(days=3 * 365 + 2)).isoformat()
    r = post(api(b.users["head11"]), URL, complaint_body(b, received_at=received_at))
    assert r.status_code == 400 and "received_at" in r.json()["detail"], r.content
    assert Case.objects.count() == 0
    # Within three years is a case handled now (a late entry of an old complaint).
    old = (clock.now() - timedelta(days=3 * 365 - 1)).isoformat()
    assert post(api(b.users["head11"]), URL, complaint_body(b, received_at=old)).status_code == 201


def test_a_refused_assignment_tells_nothing_about_what_lies_outside_the_scope(api, complaint, cases_bank):
    """Issue 13 item 10: out-of-scope and missing people (and departments) get the same answer, and a
    department outside the case's branch is not named."""
    from branchops.org import services as org

    b = cases_bank
    case = complaint()
    elsewhere = org.save_institution(None, code="GZ", name="广州分行", level="tier1_branch", parent=b.ho)
    secret = org.save_department(None, institution=elsewhere, code="GZSEC", name="广州机密部门")
    outsider = b.person("gz1", elsewhere, [], department=secret)
    c = api(b.users["head11"])
    answers = {}
    for label, body in {"missing person": {"assignee_id": 999999}, "outsider": {"assignee_id": outsider.pk},
                        "missing department": {"department_id": 999999},
                        "outside department": {"department_id": secret.pk}}.items():
        r = post(c, f"{URL}{case.pk}/actions/assign", body)
        assert r.status_code == 400, (label, r.content)
        answers[label] = r.json()["detail"]
        assert "广州" not in r.content.decode()
    assert answers["missing person"] == answers["outsider"]
    assert answers["missing department"] == answers["outside department"]
    assert Case.objects.get(pk=case.pk).assignee == b.users["staff11"]


def test_case_text_has_a_length_limit(api, complaint, cases_bank):
    """Issue 13 item 12: an 8 MB description was accepted and rendered."""
    b = cases_bank
    huge = "投诉" * 5001  # 10,002 characters
    c = api(b.users["staff11"])
    r = post(c, URL, complaint_body(b, description=huge))
    assert r.status_code == 400 and "description" in r.json()["detail"]
    assert Case.objects.count() == 0
    case = complaint()
    r = post(c, f"{URL}{case.pk}/actions/comment", {"body": huge})
    assert r.status_code == 400 and "body" in r.json()["detail"]
    r = post(c, f"{URL}{case.pk}/actions/resolve", {"outcome": "resolved", "resolution": huge})
    assert r.status_code == 400 and "resolution" in r.json()["detail"]
    assert Case.objects.get(pk=case.pk).status == "new" and not case.comments.exists()
    assert post(c, URL, complaint_body(b, description="投诉" * 4999)).status_code == 201
