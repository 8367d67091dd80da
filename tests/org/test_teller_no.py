"""Teller numbers on people: unique, validated, in the form, the API and the workbook."""

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from branchops.org import services as org
from branchops.org.importer import export_workbook, import_workbook
from branchops.org.models import Staff

from .test_import import saved, snapshot, xlsx

H = ["员工号", "姓名", "所属机构代码", "柜员号"]


@pytest.fixture
def admin(bank):
    return bank.users["admin1"]


def person(bank, username):
    return Staff.objects.get(user=bank.users[username])


def test_teller_number_is_unique_and_validated(bank, admin):
    org.save_staff(admin, person(bank, "staff11"), teller_no="T1101")
    with pytest.raises(ValidationError) as exc:
        org.save_staff(admin, person(bank, "staff12"), teller_no="T1101")
    assert "teller_no" in exc.value.message_dict
    with pytest.raises(ValidationError):
        org.save_staff(admin, person(bank, "staff12"), teller_no="T 12")
    # Empty is allowed for many people.
    org.save_staff(admin, person(bank, "staff12"), teller_no="")
    assert Staff.objects.filter(teller_no="").count() >= 2


def test_workbook_sets_exports_and_round_trips_teller_numbers(bank, admin):
    book = {"人员": [H, ["STAFF11", "staff11", "SZ0101", "T1101"], ["STAFF12", "staff12", "SZ0102", "T1201"]]}
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    assert person(bank, "staff11").teller_no == "T1101"
    wb = export_workbook(admin)
    header = [c.value for c in wb["人员"][1]]
    assert "柜员号" in header
    rows = {r[0]: r for r in wb["人员"].iter_rows(min_row=2, values_only=True)}
    assert rows["STAFF12"][header.index("柜员号")] == "T1201"
    before = snapshot()
    again = import_workbook(admin, saved(load_workbook(saved(wb))), dry_run=False)
    assert again.ok and again.changes == []
    assert snapshot() == before


def test_teller_number_moves_from_one_person_to_another_in_one_file(bank, admin):
    org.save_staff(admin, person(bank, "staff11"), teller_no="T1")
    book = {"人员": [H, ["STAFF12", "staff12", "SZ0102", "T1"], ["STAFF11", "staff11", "SZ0101", "T2"]]}
    result = import_workbook(admin, xlsx(book), dry_run=False)
    assert result.ok, result.errors
    assert person(bank, "staff12").teller_no == "T1" and person(bank, "staff11").teller_no == "T2"


@pytest.mark.parametrize("rows, bad_rows", [
    # twice in the sheet: both rows named
    ([["STAFF11", "staff11", "SZ0101", "T9"], ["STAFF12", "staff12", "SZ0102", "T9"]], {2, 3}),
    # held by someone the sheet does not change
    ([["STAFF12", "staff12", "SZ0102", "T1"]], {2}),
    # not a code
    ([["STAFF12", "staff12", "SZ0102", "T 1"]], {2}),
])
def test_bad_teller_numbers_are_named_and_nothing_is_written(bank, admin, rows, bad_rows):
    org.save_staff(admin, person(bank, "staff11"), teller_no="T1")
    before = snapshot()
    result = import_workbook(admin, xlsx({"人员": [H, *rows]}), dry_run=False)
    assert not result.ok
    assert {e.row for e in result.errors if e.field == "柜员号"} == bad_rows
    assert snapshot() == before


def test_staff_form_page_and_api_show_the_teller_number(bank, admin, login):
    client = login(admin)
    staff = person(bank, "staff11")
    data = {"staff_no": staff.staff_no, "name": staff.name, "institution": staff.institution_id,
            "teller_no": "T77", "is_active": "on", "roles": ["outlet_staff"]}
    response = client.post(f"/org/people/{staff.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert person(bank, "staff11").teller_no == "T77"
    assert "T77" in client.get(f"/org/people/{staff.pk}/").content.decode()
    assert client.get(f"/api/v1/org/people/{staff.pk}").json()["teller_no"] == "T77"
    other = person(bank, "staff12")
    data.update(staff_no=other.staff_no, name=other.name, institution=other.institution_id)
    response = client.post(f"/org/people/{other.pk}/edit/", data)
    assert response.status_code == 200 and person(bank, "staff12").teller_no == ""
