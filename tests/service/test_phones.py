"""Public-phone governance (公示电话专项治理): the number formats, the directory (manual edit and import:
every bad row named, all or nothing, idempotent), campaigns, calls and corrections, figures, scope."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook

from branchops.core import clock
from branchops.core.models import TimelineEntry
from branchops.service import phone_queries, phones
from branchops.service.phone_numbers import normalise
from branchops.service.phonebook import CallResult, PhoneCall, PhoneCorrection, PhoneEntry

H = ["网点代码", "电话类型", "电话号码", "公示位置"]


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in [H, *rows]:
        wb.active.append(row)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("text,expected", [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("0755-82345678", "0755-82345678"),
    ("075582345678", "0755-82345678"), ("(0755)8234567", "0755-8234567"), ("010 1234 5678", "010-12345678"),
    ("0755-82345678-123", "0755-82345678-123"), ("0755-82345678转123", "0755-82345678-123"),
    ("+86 755 8234 5678", "0755-82345678"), ("95588", "95588"), ("12363", "12363"),
    ("4001234567", "400-123-4567"), ("800-123-4567", "800-123-4567"),
])
def test_chinese_formats_are_written_one_way(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("text", ["", "1381234567", "23812345678", "0755-123", "010-1234567", "abc",
                                  "+1 555 123 4567", "13812345678转12", "0755-82345678-123转4", "1" * 50, "00755-8234567"])
def test_what_is_no_chinese_number_is_refused(text):
    assert normalise(text) is None


@pytest.fixture
def directory(bank):
    sec = bank.users["sec1"]
    bank.p11 = phones.save_phone(sec, outlet=bank.o11, kind="service", number="0755 8234 5678", published_at="门楣")
    bank.p12 = phones.save_phone(sec, outlet=bank.o12, kind="complaint", number="13812345678", published_at="官网")
    bank.p21 = phones.save_phone(sec, outlet=bank.o21, kind="service", number="0755-88880000", published_at="地图")
    return bank


def test_manual_edit_is_validated_and_audited(directory, english_messages):
    b = directory
    assert b.p11.number == "0755-82345678"
    with pytest.raises(ValidationError) as exc:
        phones.save_phone(b.users["sec1"], outlet=b.o11, kind="service", number="12", published_at="")
    assert "number" in exc.value.message_dict and "not a Chinese phone number" in str(exc.value)
    with pytest.raises(ValidationError) as exc:  # the same number twice for the same kind
        phones.save_phone(b.users["sec1"], outlet=b.o11, kind="service", number="075582345678")
    assert "already publishes" in str(exc.value)
    with pytest.raises(ValidationError):
        phones.save_phone(b.users["sec1"], outlet=b.sb1, kind="service", number="95588")
    # the outlet head keeps its own outlet's numbers, not another's
    phones.save_phone(b.users["head11"], outlet=b.o11, kind="lobby", number="13900001111", entry=None)
    with pytest.raises(PermissionDenied):
        phones.save_phone(b.users["head11"], outlet=b.o21, kind="lobby", number="13900001111")
    with pytest.raises(PermissionDenied):
        phones.save_phone(b.users["staff11"], outlet=b.o11, kind="lobby", number="13900002222")
    phones.save_phone(b.users["sec1"], outlet=b.o11, kind="service", number="0755-82345679", published_at="门楣",
                      entry=b.p11)
    assert TimelineEntry.objects.filter(object_id=str(b.p11.pk), verb="phone_saved").count() == 2


def test_import_names_every_bad_row_and_stores_nothing(directory, english_messages):
    b = directory
    data = xlsx([["SZ0101", "投诉电话", "0755-82340000", "大堂"], ["XX99", "服务电话", "95588", ""],
                 ["SZ0102", "热线", "95588", ""], ["SZ0102", "服务电话", "12", ""],
                 ["SZ0101", "投诉电话", "075582340000", "重复"]])
    before = PhoneEntry.objects.count()
    plan = phones.import_directory(b.users["sec1"], branch=b.branch, data=data, file_name="d.xlsx", dry_run=False)
    assert not plan.ok
    lines = sorted((e.line, e.field) for e in plan.errors)
    assert lines == [(3, "网点代码"), (4, "电话类型"), (5, "电话号码"), (6, "电话号码")]
    assert "line 2" in plan.errors[-1].message
    assert PhoneEntry.objects.count() == before


def test_import_is_idempotent_and_updates_the_place(directory):
    b = directory
    data = xlsx([["SZ0101", "投诉电话", "0755-82340000", "大堂"], ["SZ0102", "complaint", "138 1234 5678", "官网"],
                 ["SZ0201", "服务电话", "0755-88880000", "地图、门楣"]])
    dry = phones.import_directory(b.users["sec1"], branch=b.branch, data=data, file_name="d.xlsx")
    assert dry.ok and len(dry.new) == 2 and dry.unchanged == 1 and PhoneEntry.objects.count() == 3
    plan = phones.import_directory(b.users["sec1"], branch=b.branch, data=data, file_name="d.xlsx", dry_run=False)
    assert plan.ok and PhoneEntry.objects.count() == 4
    b.p21.refresh_from_db()
    assert b.p21.published_at == "地图、门楣"
    again = phones.import_directory(b.users["sec1"], branch=b.branch, data=data, file_name="d.xlsx", dry_run=False)
    assert again.ok and again.new == [] and again.unchanged == 3 and PhoneEntry.objects.count() == 4
    # another sub-branch's outlets are not in a sub-branch's file
    with pytest.raises(PermissionDenied):
        phones.import_directory(b.users["head11"], branch=b.branch, data=data, file_name="d.xlsx")
    bad = phones.import_directory(b.users["sec1"], branch=b.branch, data=b"not a workbook", file_name="d.xlsx")
    assert not bad.ok and bad.errors[0].line == 0


def _campaign(b, scope=None):
    return phones.create_campaign(b.users["sec1"], name="2026年公示电话专项治理", scope=scope or b.branch,
                                  starts_on=clock.today(), ends_on=clock.today() + timedelta(days=30))


def test_campaign_calls_corrections_and_figures(directory, english_messages):
    b = directory
    campaign = _campaign(b)
    calls = {c.entry_id: c for c in campaign.calls.all()}
    assert len(calls) == 3
    sup = b.users["sb1mgr"]
    phones.record_call(sup, calls[b.p11.pk], result="answered")
    with pytest.raises(ValidationError) as exc:  # a wrong number needs a note
        phones.record_call(sup, calls[b.p12.pk], result="wrong")
    assert "note" in exc.value.message_dict
    with pytest.raises(ValidationError):
        phones.record_call(sup, calls[b.p12.pk], result="maybe", note="x")
    phones.record_call(sup, calls[b.p12.pk], result="wrong", note="空号")
    with pytest.raises(PermissionDenied):  # the supervisor of sub-branch 1 does not call Luohu's outlets
        phones.record_call(sup, calls[b.p21.pk], result="answered")
    phones.record_call(b.users["sec1"], calls[b.p21.pk], result="unanswered", note="无人接听")
    correction = PhoneCorrection.objects.get()
    assert correction.owner is None and correction.due == clock.today() + timedelta(days=phones.FIX_DAYS)
    with pytest.raises(ValidationError):  # a wrong number stays wrong: the correction settles it
        phones.record_call(sup, calls[b.p12.pk], result="answered")
    figures = phone_queries.campaign_figures(b.users["sec1"], campaign)
    assert figures | {} == {"total": 3, "answered": 1, "wrong": 1, "unanswered": 1, "corrected": 0, "checked": 3,
                            "pending": 0, "wrong_share": round(1 / 3, 4)}
    with pytest.raises(PermissionDenied):  # the outlet staff does not fix
        phones.fix_correction(b.users["staff12"], correction, number="0755-82340001")
    with pytest.raises(ValidationError):
        phones.fix_correction(b.users["sec1"], correction, number="1234")
    phones.fix_correction(b.users["sec1"], correction, number="0755-82340001")
    b.p12.refresh_from_db()
    assert b.p12.number == "0755-82340001"
    assert TimelineEntry.objects.filter(object_id=str(b.p12.pk), verb="phone_corrected").exists()
    assert phone_queries.campaign_figures(b.users["sec1"], campaign)["corrected"] == 1
    with pytest.raises(ValidationError):
        phones.fix_correction(b.users["sec1"], correction, number="0755-82340002")
    # an outlet sees its own calls only: the figures are its own
    own = phone_queries.campaign_figures(b.users["head11"], campaign)
    assert own["total"] == 1 and own["answered"] == 1


def test_wrong_number_owned_by_the_outlet_head(directory):
    b = directory
    campaign = _campaign(b, b.sb1)
    assert campaign.calls.count() == 2
    call = campaign.calls.get(entry=b.p11)
    phones.record_call(b.users["sb1mgr"], call, result="wrong", note="接听人称非本行")
    correction = call.correction
    assert correction.owner == b.users["head11"]
    assert phone_queries.visible_corrections(b.users["head11"]).count() == 1
    assert phone_queries.visible_corrections(b.users["staff21"]).count() == 0
    phones.fix_correction(b.users["head11"], correction, number="0755-82345670")
    assert PhoneCall.objects.get(pk=call.pk).result == CallResult.WRONG


def test_campaign_refusals(directory, english_messages):
    b = directory
    with pytest.raises(ValidationError) as exc:
        phones.create_campaign(b.users["sec1"], name=" ", scope=b.o11, starts_on=clock.today(),
                               ends_on=clock.today() - timedelta(days=1))
    assert set(exc.value.message_dict) == {"name", "scope", "ends_on"}
    with pytest.raises(PermissionDenied):
        phones.create_campaign(b.users["sb1mgr"], name="x", scope=b.sb1, starts_on=clock.today(),
                               ends_on=clock.today())
    PhoneEntry.objects.filter(outlet__in=[b.o21]).delete()
    with pytest.raises(ValidationError) as exc:
        phones.create_campaign(b.users["sec1"], name="x", scope=b.sb2, starts_on=clock.today(), ends_on=clock.today())
    assert "fill the directory" in str(exc.value)


# --- API ------------------------------------------------------------------------------------------

API = "/api/v1/service"


def test_api_directory_and_scope(directory, api):
    b = directory
    c = api(b.users["sec1"])
    assert c.get(f"{API}/phones").json()["count"] == 3
    r = c.post(f"{API}/phones", {"outlet": b.o11.pk, "kind": "lobby", "number": "139 0000 1111"},
               content_type="application/json")
    assert r.status_code == 201 and r.json()["number"] == "13900001111" and r.json()["allowed_actions"] == ["change"]
    r = c.post(f"{API}/phones", {"outlet": b.o11.pk, "kind": "lobby", "number": "12"},
               content_type="application/json")
    assert r.status_code == 400 and "number" in r.content.decode()
    r = c.post(f"{API}/phones", {"outlet": b.o11.pk, "kind": "nope", "number": "95588"},
               content_type="application/json")
    assert r.status_code in (400, 422)
    h = api(b.users["head11"])
    rows = h.get(f"{API}/phones").json()
    assert rows["count"] == 2 and {r["outlet"]["code"] for r in rows["items"]} == {"SZ0101"}
    r = h.put(f"{API}/phones/{b.p21.pk}", {"outlet": b.o21.pk, "kind": "service", "number": "95588"},
              content_type="application/json")
    assert r.status_code == 404
    r = h.put(f"{API}/phones/{b.p11.pk}", {"outlet": b.o21.pk, "kind": "service", "number": "95588"},
              content_type="application/json")
    assert r.status_code == 400 and "outlet" in r.content.decode()
    r = api(b.users["staff11"]).post(f"{API}/phones", {"outlet": b.o11.pk, "kind": "lobby", "number": "95588"},
                                     content_type="application/json")
    assert r.status_code == 403


def test_api_import(directory, api):
    b = directory
    c = api(b.users["sec1"])
    data = xlsx([["SZ0101", "投诉电话", "0755-82340000", "大堂"], ["SZ0101", "服务电话", "电话", ""]])
    r = c.post(f"{API}/phones/import?branch={b.branch.pk}&dry_run=false",
               {"file": _upload(data)})
    assert r.status_code == 400 and r.json()["errors"][0]["line"] == 3
    assert PhoneEntry.objects.count() == 3
    r = c.post(f"{API}/phones/import?branch={b.o11.pk}&dry_run=false", {"file": _upload(data)})
    assert r.status_code == 400
    r = api(b.users["head11"]).post(f"{API}/phones/import?branch={b.branch.pk}", {"file": _upload(data)})
    assert r.status_code == 403


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("d.xlsx", data)


def test_api_campaign_calls_and_corrections(directory, api):
    b = directory
    c = api(b.users["sec1"])
    body = {"name": "专项治理", "scope": b.branch.pk, "starts_on": str(clock.today()),
            "ends_on": str(clock.today() + timedelta(days=20))}
    r = c.post(f"{API}/phone-campaigns", body, content_type="application/json")
    assert r.status_code == 201 and r.json()["total"] == 3 and r.json()["pending"] == 3
    pk = r.json()["id"]
    r = c.post(f"{API}/phone-campaigns", body | {"ends_on": "2000-01-01"}, content_type="application/json")
    assert r.status_code == 400 and "ends_on" in r.content.decode()
    assert api(b.users["sb1mgr"]).post(f"{API}/phone-campaigns", body,
                                       content_type="application/json").status_code == 403
    sup = api(b.users["sb1mgr"])
    calls = sup.get(f"{API}/phone-campaigns/{pk}/calls").json()
    assert calls["count"] == 2 and all(x["allowed_actions"] == ["record"] for x in calls["items"])
    call = next(x for x in calls["items"] if x["outlet"]["code"] == "SZ0101")
    r = sup.post(f"{API}/phone-calls/{call['id']}/record", {"result": "wrong"}, content_type="application/json")
    assert r.status_code == 400 and "note" in r.content.decode()
    r = sup.post(f"{API}/phone-calls/{call['id']}/record", {"result": "bad"}, content_type="application/json")
    assert r.status_code in (400, 422)
    r = sup.post(f"{API}/phone-calls/{call['id']}/record", {"result": "wrong", "note": "空号"},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["correction"] and r.json()["allowed_actions"] == []
    other = PhoneCall.objects.get(campaign_id=pk, entry=b.p21)
    assert sup.post(f"{API}/phone-calls/{other.pk}/record", {"result": "answered"},
                    content_type="application/json").status_code == 404
    h = api(b.users["head11"])
    assert h.post(f"{API}/phone-calls/{call['id']}/record", {"result": "answered"},
                  content_type="application/json").status_code == 403
    rows = h.get(f"{API}/phone-corrections?open=true").json()
    assert rows["count"] == 1 and rows["items"][0]["allowed_actions"] == ["fix"]
    cid = rows["items"][0]["id"]
    assert api(b.users["staff21"]).get(f"{API}/phone-corrections").json()["count"] == 0
    assert api(b.users["staff21"]).post(f"{API}/phone-corrections/{cid}/fix", {"number": "95588"},
                                        content_type="application/json").status_code == 404
    h = api(b.users["head11"])  # one client: signed in again as the head
    r = h.post(f"{API}/phone-corrections/{cid}/fix", {"number": "x"}, content_type="application/json")
    assert r.status_code == 400
    r = h.post(f"{API}/phone-corrections/{cid}/fix", {"number": "0755-82345670"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["closed_at"] and r.json()["corrected_number"] == "0755-82345670"
    figures = api(b.users["sec1"]).get(f"{API}/phone-campaigns/{pk}").json()
    assert (figures["checked"], figures["wrong"], figures["corrected"], figures["pending"]) == (1, 1, 1, 2)
    assert api(b.users["head11"]).get(f"{API}/phone-campaigns/{pk}").json()["total"] == 1
