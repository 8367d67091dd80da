"""The public-phone pages: the directory (filter, xlsx, add with a refusal on the field, edit, import
with a dry run), campaigns (open, record a call on the card), corrections (fix), scope and roles."""

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from branchops.core import clock
from branchops.service import phones
from branchops.service.phonebook import PhoneCall, PhoneCampaign, PhoneCorrection, PhoneEntry


@pytest.fixture
def directory(bank):
    sec = bank.users["sec1"]
    bank.p11 = phones.save_phone(sec, outlet=bank.o11, kind="service", number="0755-82345678", published_at="门楣")
    bank.p21 = phones.save_phone(sec, outlet=bank.o21, kind="service", number="0755-88880000", published_at="地图")
    return bank


def test_directory_scope_filter_export_and_add(directory, login, english_messages):
    b = directory
    c = login(b.users["head11"])
    page = c.get("/service/phones/").content.decode()
    assert f'data-phone="{b.p11.pk}"' in page and f'data-phone="{b.p21.pk}"' not in page
    r = c.get("/service/phones/?format=xlsx")
    ws = load_workbook(BytesIO(r.content)).active
    assert [row[3] for row in ws.iter_rows(min_row=2, values_only=True)] == ["0755-82345678"]
    r = c.post("/service/phones/", {"new-outlet": b.o11.pk, "new-kind": "lobby", "new-number": "12345x"})
    assert r.status_code == 200 and "not a Chinese phone number" in r.content.decode()
    r = c.post("/service/phones/", {"new-outlet": b.o11.pk, "new-kind": "lobby", "new-number": "139 0000 1111",
                                    "new-published_at": "大堂", "new-is_active": "on"})
    assert r.status_code == 302 and PhoneEntry.objects.filter(number="13900001111").exists()
    s = login(b.users["sec1"])
    assert "0755-88880000" in s.get("/service/phones/?q=8888").content.decode()
    assert f'data-phone="{b.p11.pk}"' not in s.get("/service/phones/?q=8888").content.decode()
    assert login(b.users["staff11"]).post("/service/phones/", {"new-outlet": b.o11.pk}).status_code == 403
    assert login(b.users["head11"]).get(f"/service/phones/{b.p21.pk}/").status_code == 404


def test_edit_page(directory, login):
    b = directory
    c = login(b.users["head11"])
    r = c.post(f"/service/phones/{b.p11.pk}/", {"outlet": b.o11.pk, "kind": "service", "number": "0755-82345699",
                                                "published_at": "门楣", "is_active": "on"})
    assert r.status_code == 302
    b.p11.refresh_from_db()
    assert b.p11.number == "0755-82345699"
    assert "0755-82345699" in c.get(f"/service/phones/{b.p11.pk}/").content.decode()
    assert login(b.users["staff11"]).post(f"/service/phones/{b.p11.pk}/", {}).status_code == 403


def test_import_page(directory, login, english_messages):
    b = directory
    wb = Workbook()
    for row in (["网点代码", "电话类型", "电话号码", "公示位置"], ["SZ0102", "投诉电话", "95588", "官网"],
                ["SZ0102", "电话", "95588", ""]):
        wb.active.append(row)
    buf = BytesIO()
    wb.save(buf)
    c = login(b.users["sec1"])
    buf.seek(0)
    buf.name = "d.xlsx"
    r = c.post("/service/phones/import/", {"branch": b.branch.pk, "file": buf, "apply": "1"})
    assert r.status_code == 200 and 'data-error-line="3"' in r.content.decode()
    assert PhoneEntry.objects.count() == 2
    assert login(b.users["head11"]).get("/service/phones/import/").status_code == 403


def test_campaign_pages_record_and_fix(directory, login, english_messages):
    b = directory
    s = login(b.users["sec1"])
    r = s.post("/service/phone-checks/", {"name": "公示电话专项治理", "scope": b.branch.pk,
                                          "starts_on": clock.today(), "ends_on": clock.today() - timedelta(days=1)})
    assert r.status_code == 200 and "ends before it starts" in r.content.decode()
    r = s.post("/service/phone-checks/", {"name": "公示电话专项治理", "scope": b.branch.pk,
                                          "starts_on": clock.today(), "ends_on": clock.today() + timedelta(days=9)})
    campaign = PhoneCampaign.objects.get()
    assert r.status_code == 302 and r.url.endswith(f"/service/phone-checks/{campaign.pk}/")
    sup = login(b.users["sb1mgr"])
    page = sup.get(f"/service/phone-checks/{campaign.pk}/").content.decode()
    call = PhoneCall.objects.get(entry=b.p11)
    assert f'data-call="{call.pk}"' in page and "0755-88880000" not in page
    r = sup.post(f"/service/phone-calls/{call.pk}/record/", {"result": "wrong"}, follow=True)
    assert "Say what was wrong" in r.content.decode()
    r = sup.post(f"/service/phone-calls/{call.pk}/record/", {"result": "wrong", "note": "空号"})
    assert r.status_code == 302 and PhoneCorrection.objects.count() == 1
    other = PhoneCall.objects.get(entry=b.p21)
    assert sup.post(f"/service/phone-calls/{other.pk}/record/", {"result": "answered"}).status_code == 404
    r = login(b.users["sec1"]).get(f"/service/phone-checks/{campaign.pk}/?format=xlsx")
    assert r.status_code == 200 and len(list(load_workbook(BytesIO(r.content)).active.iter_rows())) == 3
    h = login(b.users["head11"])
    page = h.get("/service/phone-corrections/").content.decode()
    correction = PhoneCorrection.objects.get()
    assert f'data-correction="{correction.pk}"' in page and "Number fixed" in page
    r = h.post(f"/service/phone-corrections/{correction.pk}/fix/", {"number": "0755-82345670"})
    assert r.status_code == 302
    b.p11.refresh_from_db()
    assert b.p11.number == "0755-82345670"
    assert "No corrections here" in h.get("/service/phone-corrections/").content.decode()
    assert "0755-82345670" in h.get("/service/phone-corrections/?open=0").content.decode()
    assert login(b.users["staff21"]).get("/service/phone-corrections/?open=0").content.decode().count(
        "data-correction=") == 0
    assert login(b.users["staff21"]).get(f"/service/phone-checks/{campaign.pk}/").status_code == 200
