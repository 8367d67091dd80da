"""Every page renders for every role; scope and permissions hold on pages as in the API."""

import pytest
from openpyxl import load_workbook

ROLE_USERS = ["admin1", "sec1", "leader1", "head11", "staff11", "sb1mgr", "sub1", "rev1"]
COMMON_PAGES = ["/", "/notifications/", "/accounts/profile/", "/accounts/password/", "/calendar/",
                "/org/", "/org/institutions/", "/org/departments/", "/org/people/",
                "/org/institutions/?q=福田&level=outlet", "/org/people/?q=staff&active=1"]


@pytest.mark.parametrize("username", ROLE_USERS)
def test_every_page_renders_for_every_role(client, bank, username):
    user = bank.users[username]
    client.force_login(user)
    own = user.staff
    for url in COMMON_PAGES + [f"/org/institutions/{own.institution_id}/", f"/org/people/{own.pk}/"]:
        r = client.get(url)
        assert r.status_code == 200, (username, url, r.status_code)
        assert b"BranchOps" in r.content
    admin_only = ["/org/import/", "/org/institutions/new/", f"/org/institutions/{own.institution_id}/edit/",
                  "/org/people/new/", f"/org/people/{own.pk}/edit/", "/org/departments/new/"]
    expected = 200 if username == "admin1" else 403
    for url in admin_only:
        assert client.get(url).status_code == expected, (username, url)
    export = 200 if username in ("admin1", "sec1", "leader1") else 403
    assert client.get("/org/export/").status_code == export
    assert client.get("/org/people/?format=xlsx").status_code == export


def test_outlet_user_gets_404_for_other_outlets_pages(client, bank):
    client.force_login(bank.users["staff11"])
    for url in (f"/org/institutions/{bank.o12.pk}/", f"/org/institutions/{bank.o21.pk}/",
                f"/org/people/{bank.users['staff21'].staff.pk}/", f"/org/departments/{bank.legal.pk}/",
                "/org/institutions/999999/"):
        assert client.get(url).status_code == 404, url
    page = client.get("/org/institutions/").content.decode()
    assert "福田中心网点" in page and "罗湖网点" not in page and "福田卫星网点" not in page



def test_institution_page_shows_timeline_and_hours(client, bank):
    from branchops.org import services

    services.save_institution(bank.users["admin1"], bank.o11, phone="0755-8888")
    services.set_business_hours(None, bank.o11, {0: services.parse_hours("09:00-17:00")})
    client.force_login(bank.users["leader1"])
    html = client.get(f"/org/institutions/{bank.o11.pk}/").content.decode()
    assert "0755-8888" in html and "09:00" in html and "admin1" in html


def test_admin_edits_outlet_through_the_form(client, bank):
    client.force_login(bank.users["admin1"])
    url = f"/org/institutions/{bank.o21.pk}/edit/"
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(name="罗湖新网点", counters=5, outlet_type=bank.light.pk, parent=bank.sb2.pk)
    data.pop("cluster", None)
    r = client.post(url, data)
    assert r.status_code == 302
    bank.o21.refresh_from_db()
    assert bank.o21.name == "罗湖新网点" and bank.o21.counters == 5
    bad = dict(data, parent=bank.o11.pk)
    r = client.post(url, bad)
    assert r.status_code == 200 and r.context["form"].errors


def test_admin_creates_staff_member(client, bank):
    client.force_login(bank.users["admin1"])
    r = client.post("/org/people/new/", {"staff_no": "SZ900001", "name": "新员工", "institution": bank.o21.pk,
                                         "roles": ["outlet_staff"], "is_active": "on"})
    assert r.status_code == 302
    from branchops.org.models import Staff

    person = Staff.objects.get(staff_no="SZ900001")
    assert person.user.username == "SZ900001" and not person.user.has_usable_password()
    assert list(person.user.groups.values_list("name", flat=True)) == ["outlet_staff"]
    # Same staff number again: a clear error, nothing written.
    r = client.post("/org/people/new/", {"staff_no": "SZ900001", "name": "重复", "institution": bank.o21.pk,
                                         "username": "other", "is_active": "on"})
    assert r.status_code == 200 and r.context["form"].errors
    assert Staff.objects.filter(staff_no="SZ900001").count() == 1


def test_list_export_is_scoped_xlsx(client, bank):
    from io import BytesIO

    client.force_login(bank.users["leader1"])
    r = client.get("/org/institutions/?format=xlsx&level=outlet")
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(r.content)).active
    assert {row[0] for row in ws.iter_rows(min_row=2, values_only=True)} == {"SZ0101", "SZ0102", "SZ0201"}
