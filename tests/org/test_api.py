"""The org API: scope, authentication (session and token), pagination, schema."""

import re

from django.contrib.auth.models import Permission
from django.test import Client

from branchops.core import services as core_services


def codes(response):
    return {row["code"] for row in response.json()["items"]}



def test_me(api, bank):
    data = api(bank.users["head11"]).get("/api/v1/me").json()
    assert data["username"] == "head11"
    assert data["institution"]["code"] == "SZ0101"
    assert data["roles"] == ["outlet_head"]


def test_outlet_user_lists_only_own_outlet_and_404s_others(api, bank):
    c = api(bank.users["staff11"])
    assert codes(c.get("/api/v1/org/institutions")) == {"SZ0101"}
    assert c.get(f"/api/v1/org/institutions/{bank.o11.pk}").status_code == 200
    other = c.get(f"/api/v1/org/institutions/{bank.o12.pk}")
    missing = c.get("/api/v1/org/institutions/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert c.get(f"/api/v1/org/institutions/{bank.o12.pk}/history").status_code == 404
    people = c.get("/api/v1/org/people").json()["items"]
    assert {p["username"] for p in people} == {"head11", "staff11"}
    other_person = bank.users["staff21"].staff.pk
    assert c.get(f"/api/v1/org/people/{other_person}").status_code == 404
    # Departments belong to the branch, above the outlet: not visible.
    assert c.get("/api/v1/org/departments").json()["count"] == 0
    assert c.get(f"/api/v1/org/departments/{bank.legal.pk}").status_code == 404


def test_branch_leader_sees_the_branch(api, bank):
    c = api(bank.users["leader1"])
    got = codes(c.get("/api/v1/org/institutions", {"page_size": 100}))
    assert got == {"SZ", "SZ01", "SZ02", "SZ0101", "SZ0102", "SZ0201"}
    assert codes(c.get("/api/v1/org/institutions", {"level": "outlet", "q": "福田"})) == {"SZ0101", "SZ0102"}
    deps = c.get("/api/v1/org/departments", {"kind": "review"}).json()["items"]
    assert [d["code"] for d in deps] == ["LEGAL"]
    detail = c.get(f"/api/v1/org/institutions/{bank.o11.pk}").json()
    assert detail["cluster"] == "C01" and detail["cluster_role"] == "hub"
    assert [p["code"] for p in detail["path"]] == ["HO", "SZ", "SZ01"]


def test_pagination(api, bank):
    c = api(bank.users["leader1"])
    first = c.get("/api/v1/org/institutions", {"page_size": 2, "page": 1}).json()
    second = c.get("/api/v1/org/institutions", {"page_size": 2, "page": 2}).json()
    assert first["count"] == 6 and len(first["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_person_history_shows_changes(api, bank):
    from branchops.org import services

    staff = bank.users["staff12"].staff
    services.save_staff(bank.users["admin1"], staff, phone="0755-1234")
    events = api(bank.users["leader1"]).get(f"/api/v1/org/people/{staff.pk}/history").json()
    changed = [e for e in events if e["action"] == "updated"]
    assert changed and changed[0]["who"] == "admin1"
    assert [(c["old"], c["new"]) for c in changed[0]["changes"]] == [("—", "0755-1234")]


def test_token_auth(bank):
    user = bank.users["staff21"]
    _token, raw = core_services.create_api_token(user, "script")
    c = Client()
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "staff21"
    assert c.get("/api/v1/me", HTTP_X_API_TOKEN=raw).status_code == 200
    r = c.get("/api/v1/org/institutions", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert codes(r) == {"SZ0201"}
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer bo_wrong").status_code == 401
    core_services.revoke_api_token(user, _token.pk)
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_session_post_requires_csrf(bank):
    c = Client(enforce_csrf_checks=True)
    c.force_login(bank.users["staff11"])
    assert c.post("/api/v1/me/notifications/read").status_code == 403


def test_openapi_schema_and_docs(api, bank):
    c = api(bank.users["staff11"])
    schema = c.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/me", "/api/v1/org/institutions", "/api/v1/org/departments", "/api/v1/org/people"):
        assert path in schema["paths"]
    assert c.get("/api/v1/docs").status_code == 200


def test_user_without_staff_record_sees_nothing(api, django_user_model, bank):
    lone = django_user_model.objects.create_user("lone", password="x-Passw0rd-long")
    lone.user_permissions.add(*Permission.objects.filter(codename="view_institution"))
    r = api(lone).get("/api/v1/org/institutions")
    assert r.status_code == 200 and r.json()["count"] == 0


def test_docs_page_uses_no_cdn(api, bank):
    html = api(bank.users["staff11"]).get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    # Look at addresses only: the page's random CSRF token may well contain the letters "cdn".
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html) and "https://" not in html
    assert not re.search(r"cdn\.|jsdelivr|unpkg", html.lower())
