"""API tokens write without CSRF (each app), a session still needs CSRF, a bad or revoked token is 401,
a read-only token reads, and a token acts with its owner's current roles and scope."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from branchops.cases.models import Case
from branchops.coordination.models import Item
from branchops.core import clock
from branchops.core import services as core
from branchops.dispatch.models import OutletCapacity
from branchops.org.models import Department
from branchops.org.roles import Role
from branchops.queueing.models import TicketImport
from tests.cases.conftest import cases_bank  # noqa: F401
from tests.coordination.conftest import coord_bank  # noqa: F401
from tests.org.test_import import DEPT_H, xlsx

API = "/api/v1/"


def token_client(user, header="bearer", read_only=False):
    """A client that enforces CSRF like a browser would, authenticated by a token only."""
    _t, raw = core.create_api_token(user, "script", read_only=read_only)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if header == "bearer" else {"HTTP_X_API_TOKEN": raw}
    return Client(enforce_csrf_checks=True, **auth), raw


def post(client, url, data, method="post"):
    return getattr(client, method)(url, data, content_type="application/json")


@pytest.mark.parametrize("header", ["bearer", "x-api-token"])
def test_a_token_opens_and_acts_on_a_case(cases_bank, header):  # noqa: F811
    b = cases_bank
    c, _raw = token_client(b.users["staff11"], header)
    r = post(c, f"{API}cases/", {"case_type": "feedback", "institution_id": b.o11.pk, "title": "网点空调故障",
                                "received_at": (clock.now() - timedelta(hours=1)).isoformat()})
    assert r.status_code == 201, r.content
    case = Case.objects.get(pk=r.json()["id"])
    assert case.first_contact_owner == b.users["staff11"] and case.title == "网点空调故障"
    r = post(c, f"{API}cases/{case.pk}/actions/comment", {"body": "已联系物业"})
    assert r.status_code == 200, r.content
    assert case.comments.get().body == "已联系物业"


def test_a_token_drafts_a_coordination_item(coord_bank):  # noqa: F811
    b = coord_bank
    c, _raw = token_client(b.users["pfb1"])
    start = clock.today() + timedelta(days=14)
    r = post(c, f"{API}coordination/items", {
        "title": "新版手机银行上线网点推广", "item_type": "new_business", "background": "新版本上线",
        "actions": "向到店客户介绍新功能", "effort_hours": 4, "window_start": start.isoformat(),
        "window_end": (start + timedelta(days=13)).isoformat(), "urgency": "normal", "customer_facing": True,
        "online_justification": "新功能需要面对面指导老年客户完成首次登录，无法完全线上完成"})
    assert r.status_code == 201, r.content
    assert Item.objects.get(pk=r.json()["id"]).submitter == b.users["pfb1"]


def test_a_token_sets_an_outlet_capacity(bank):
    c, _raw = token_client(bank.users["sec1"])
    r = post(c, f"{API}dispatch/capacity/{bank.o11.pk}", {"weekly_hours": 12, "note": "两名柜员休假"}, "put")
    assert r.status_code == 200, r.content
    assert OutletCapacity.objects.get(outlet=bank.o11).weekly_hours == 12


def test_a_token_imports_the_organisation(bank):
    c, _raw = token_client(bank.users["admin1"])
    book = SimpleUploadedFile("org.xlsx", xlsx({"部门": [DEPT_H, ["SZ", "HR", "人力资源部", "是", "否", "否"]]}).read())
    r = c.post(f"{API}org/import?dry_run=false", {"file": book})
    assert r.status_code == 200, r.content
    assert Department.objects.filter(institution=bank.branch, code="HR", name="人力资源部").exists()


def test_a_token_uploads_a_queue_log(bank, settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path
    c, _raw = token_client(bank.users["sec1"])
    rows = ("outlet_code,ticket_date,ticket_no,business_type,customer_tier,queue_type,issued_at,called_at,"
            "service_start_at,service_end_at,counter_no,teller_no,outcome\n")
    r = c.post(f"{API}queueing/imports", {"file": SimpleUploadedFile("t.csv", rows.encode()), "kind": "tickets"})
    assert r.status_code == 201, r.content
    assert TicketImport.objects.get(pk=r.json()["id"]).uploaded_by == bank.users["sec1"]


def test_a_session_write_still_needs_csrf(bank):
    c = Client(enforce_csrf_checks=True)
    c.force_login(bank.users["staff11"])
    r = post(c, f"{API}me/notifications/read", {})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    # With the token from a page it is accepted.
    c.get("/accounts/profile/")
    token = c.cookies["csrftoken"].value
    r = c.post(f"{API}me/notifications/read", [], content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200, r.content


def test_a_bad_token_does_not_fall_back_to_the_session(bank):
    """A signed-in browser sending a wrong token is judged by the token: 401, not the session's rights."""
    c = Client(enforce_csrf_checks=True)
    c.force_login(bank.users["staff11"])
    assert c.get(f"{API}me", HTTP_AUTHORIZATION="Bearer bo_wrong").status_code == 401
    assert post(c, f"{API}me/notifications/read", {}).status_code == 403  # no token: CSRF applies


@pytest.mark.parametrize("auth", [{"HTTP_AUTHORIZATION": "Bearer bo_not-a-token"},
                                  {"HTTP_X_API_TOKEN": "bo_not-a-token"}, {}])
def test_a_bad_or_missing_token_without_a_session_is_401(bank, auth):
    c = Client(enforce_csrf_checks=True, **auth)
    r = post(c, f"{API}cases/", {"case_type": "feedback", "institution_id": bank.o11.pk, "title": "x"})
    assert r.status_code == 401
    assert not Case.objects.exists()


def test_a_revoked_or_expired_token_is_401(cases_bank):  # noqa: F811
    b = cases_bank
    c, _raw = token_client(b.users["staff11"])
    token = b.users["staff11"].api_tokens.get()
    core.revoke_api_token(b.users["staff11"], token.pk)
    r = post(c, f"{API}cases/", {"case_type": "feedback", "institution_id": b.o11.pk, "title": "x",
                                "received_at": clock.now().isoformat()})
    assert r.status_code == 401 and not Case.objects.exists()
    c2, _raw = token_client(b.users["staff11"])
    clock.travel_to(clock.now() + timedelta(days=366))
    assert c2.get(f"{API}me").status_code == 401


def test_a_read_only_token_reads_but_never_writes(cases_bank):  # noqa: F811
    b = cases_bank
    c, _raw = token_client(b.users["staff11"], read_only=True)
    c.cookies["django_language"] = "en"
    assert c.get(f"{API}cases/").status_code == 200
    r = post(c, f"{API}cases/", {"case_type": "feedback", "institution_id": b.o11.pk, "title": "网点空调故障",
                                "received_at": (clock.now() - timedelta(hours=1)).isoformat()})
    assert r.status_code == 403 and r.json()["detail"] == "This API token is read-only."
    assert not Case.objects.exists()
    r = post(c, f"{API}me/notifications/read", {})
    assert r.status_code == 403


def test_read_only_is_chosen_on_the_profile_page_and_kept_by_the_admin(bank, superuser):
    user = bank.users["staff11"]
    c = Client()
    c.force_login(user)
    assert 'name="read_only"' in c.get("/accounts/profile/").content.decode()
    r = c.post("/accounts/profile/", {"name": "报表脚本", "days": 90, "read_only": "on"})
    assert r.status_code == 200 and r.context["new_token"]
    token = user.api_tokens.get()
    assert token.read_only
    assert "只读" in c.get("/accounts/profile/").content.decode()  # the list says which tokens only read
    c.post("/accounts/profile/", {"name": "同步脚本", "days": 90})
    assert not user.api_tokens.get(name="同步脚本").read_only
    admin = Client()
    admin.force_login(superuser)
    admin.post(f"/admin/core/apitoken/{token.pk}/change/", {"expires_at_0": "", "expires_at_1": ""})
    token.refresh_from_db()
    assert token.read_only  # the admin cannot widen a token


def test_a_token_acts_with_its_owners_current_roles(bank):
    from branchops.org import services as org

    user = bank.users["sec1"]
    c, _raw = token_client(user)
    assert post(c, f"{API}dispatch/capacity/{bank.o11.pk}", {"weekly_hours": 12}, "put").status_code == 200
    org.save_staff(None, user.staff, institution=bank.o11, department=None, roles=[Role.OUTLET_STAFF])
    r = post(c, f"{API}dispatch/capacity/{bank.o11.pk}", {"weekly_hours": 20}, "put")
    assert r.status_code in (403, 404), r.content
    assert OutletCapacity.objects.get(outlet=bank.o11).weekly_hours == 12
