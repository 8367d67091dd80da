"""Inspections through the service app's action table: what the page offers (``can``), what the API
answers (``allowed_actions``) and what the services accept are the same; and a finding's deadline
(限期整改) is its rectification case's due date — moved through the cases services, refused once closed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.cases import services as cases
from branchops.cases.models import Status
from branchops.core import clock
from branchops.core.audit import timeline
from branchops.service import services
from branchops.service.actions import FINDING_ACTIONS, INSPECTION_ACTIONS
from branchops.service.models import Finding

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def finding_of(b, code="l1", outlet=None) -> Finding:
    """A submitted on-site inspection of SZ0101 (or ``outlet``) with one failed item: its finding."""
    sup = b.users["sb1mgr"]
    inspection = services.schedule_inspection(b.users["sec1"], outlet=outlet or b.o11, supervisor=sup,
                                              planned_on=clock.today(), inspection_type="on_site")
    services.add_photo(sup, inspection, code, SimpleUploadedFile(f"{code}.png", PNG))
    answers = {i.code: "pass" for i in b.items} | {code: "fail"}
    return services.submit_inspection(sup, inspection, answers=answers).findings.get()


def test_inspection_actions_offered_to_the_assigned_supervisor_only(world, api):
    b = world
    inspection = services.schedule_inspection(b.users["sec1"], outlet=b.o11, supervisor=b.users["sb1mgr"],
                                              planned_on=clock.today(), inspection_type="on_site")
    assert INSPECTION_ACTIONS.allowed(b.users["sb1mgr"], inspection) == ["photo", "submit"]
    for who in ("sec1", "head11", "admin1"):
        assert INSPECTION_ACTIONS.allowed(b.users[who], inspection) == []
    detail = api(b.users["sb1mgr"]).get(f"{URL}inspections/{inspection.pk}").json()
    assert detail["allowed_actions"] == ["photo", "submit"] and detail["can_fill"] is True
    assert api(b.users["sec1"]).get(f"{URL}inspections/{inspection.pk}").json()["allowed_actions"] == []
    # The page offers the form by the same table: the scheduler sees the checklist, not the form.
    page = api(b.users["sec1"]).get(f"/service/inspections/{inspection.pk}/")
    assert page.status_code == 200 and b'id="inspection-form"' not in page.content
    assert api(b.users["sec1"]).post(f"/service/inspections/{inspection.pk}/", {}).status_code == 403


def test_finding_actions_read_the_same_rules_as_the_services(world, api):
    b = world
    finding = finding_of(b)
    sec, sup, head = b.users["sec1"], b.users["sb1mgr"], b.users["head11"]
    assert FINDING_ACTIONS.allowed(sec, finding) == ["reinspect", "deadline"]
    assert FINDING_ACTIONS.allowed(sup, finding) == ["deadline"]  # the supervisor who found it moves the deadline
    assert FINDING_ACTIONS.allowed(head, finding) == []  # the outlet asks for an extension instead
    rows = {who: api(b.users[who]).get(f"{URL}inspections/{finding.inspection_id}").json()["findings"][0]
            for who in ("sec1", "sb1mgr", "head11")}
    assert rows["sec1"]["allowed_actions"] == ["reinspect", "deadline"]
    assert rows["sb1mgr"]["allowed_actions"] == ["deadline"] and rows["head11"]["allowed_actions"] == []
    with pytest.raises(PermissionDenied):
        services.change_finding_deadline(head, finding, deadline=clock.today() + timedelta(days=30), reason="忙")
    with pytest.raises(PermissionDenied):
        services.schedule_reinspection(head, finding, supervisor=sup, planned_on=clock.today())


def test_deadline_is_the_cases_due_date_and_moves_it(world, api, login):
    b = world
    finding = finding_of(b, "l1")  # major: 10 days
    case = finding.rectification
    assert finding.deadline == clock.today() + timedelta(days=10) == case.resolution_due
    assert case.rectification.deadline == finding.deadline
    row = api(b.users["head11"]).get(f"{URL}inspections/{finding.inspection_id}").json()["findings"][0]
    assert row["deadline"] == finding.deadline.isoformat() and row["rectification"] == case.number

    later = clock.today() + timedelta(days=25)
    answer = post(api(b.users["sec1"]), f"{URL}findings/{finding.pk}/deadline",
                  {"deadline": later.isoformat(), "reason": "需更换设备"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["deadline"] == later.isoformat()
    case.refresh_from_db()
    assert case.resolution_due == later and Finding.objects.get(pk=finding.pk).deadline == later
    assert any("需更换设备" in e.message and later.isoformat() in e.message for e in timeline(case))
    assert any("需更换设备" in e.message for e in timeline(finding.inspection))

    # The page shows the same day, on the finding and on the case.
    page = login(b.users["head11"]).get(f"/service/inspections/{finding.inspection_id}/").content.decode()
    assert later.strftime("%Y") in page and case.number in page
    assert "/deadline/" not in page  # not offered to the outlet
    case_page = login(b.users["head11"]).get(case.get_absolute_url())
    assert case_page.status_code == 200


def test_api_refuses_what_the_form_refuses(world, api, login):
    b = world
    finding = finding_of(b, "s1")
    url, page_url = f"{URL}findings/{finding.pk}/deadline", f"/service/findings/{finding.pk}/deadline/"
    due = finding.rectification.resolution_due
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    # A day in the past: the form and the API refuse it naming the field, and nothing moves.
    refused = post(api(b.users["sec1"]), url, {"deadline": yesterday, "reason": "x"})
    assert refused.status_code == 400 and "deadline" in refused.content.decode()
    sec = login(b.users["sec1"])
    shown = sec.post(page_url, {"deadline": yesterday, "reason": "x"}, follow=True)
    assert shown.status_code == 200 and "alert-danger" in shown.content.decode()
    # No reason: both refuse.
    assert post(api(b.users["sec1"]), url, {"deadline": clock.today().isoformat(), "reason": " "}).status_code == 400
    sec.post(page_url, {"deadline": clock.today().isoformat(), "reason": ""})
    finding.rectification.refresh_from_db()
    assert finding.rectification.resolution_due == due
    # The outlet: 403 on both; another branch: 404 on both.
    body = {"deadline": clock.today().isoformat(), "reason": "x"}
    assert post(api(b.users["head11"]), url, body).status_code == 403
    assert login(b.users["head11"]).post(page_url, body).status_code == 403
    assert post(api(b.users["staff21"]), url, body).status_code == 404
    assert login(b.users["staff21"]).post(page_url, body).status_code == 404
    # A dates outside the calendar the API knows is a 400, not a 500.
    assert post(api(b.users["sec1"]), url, {"deadline": "9999-01-01", "reason": "x"}).status_code in (400, 422)

    # A re-inspection waiting: the page no longer offers another and the API refuses it.
    body = {"supervisor": b.users["sb1mgr"].pk, "planned_on": clock.today().isoformat()}
    assert post(api(b.users["sec1"]), f"{URL}findings/{finding.pk}/reinspections", body).status_code == 201
    assert FINDING_ACTIONS.allowed(b.users["sec1"], finding) == ["deadline"]
    assert post(api(b.users["sec1"]), f"{URL}findings/{finding.pk}/reinspections", body).status_code == 400
    again = sec.post(f"/service/findings/{finding.pk}/reinspect/", body, follow=True)
    assert "alert-danger" in again.content.decode()
    assert finding.reinspections.count() == 1


def test_closed_finding_keeps_its_deadline(world, api):
    b = world
    finding = finding_of(b, "g1")
    sup = b.users["sb1mgr"]
    again = services.schedule_reinspection(b.users["sec1"], finding, supervisor=sup, planned_on=clock.today())
    services.submit_inspection(sup, again, answers={"g1": "pass"})
    finding.refresh_from_db()
    assert finding.closed_at is not None and finding.rectification.status == Status.CLOSED
    assert FINDING_ACTIONS.allowed(b.users["sec1"], finding) == []
    with pytest.raises(ValidationError) as err:
        services.change_finding_deadline(b.users["sec1"], finding, deadline=clock.today() + timedelta(days=3),
                                         reason="晚了")
    assert "deadline" in err.value.message_dict
    answer = post(api(b.users["sec1"]), f"{URL}findings/{finding.pk}/deadline",
                  {"deadline": clock.today().isoformat(), "reason": "晚了"})
    assert answer.status_code == 400


def test_an_approved_extension_moves_the_due_date_past_the_deadline(world):
    """The outlet asks the cases engine for more time; once approved the case is due later and the
    finding shows the case's day."""
    b = world
    finding = finding_of(b, "fm1")  # major: 10 days
    case = finding.rectification
    ext = cases.request_extension(b.users["head11"], case, 3, "等配件")
    cases.decide_extension(b.users["sec1"], ext, approve=True)
    case.refresh_from_db()
    assert case.resolution_due == finding.deadline + timedelta(days=3)
    assert case.rectification.deadline == finding.deadline  # the set deadline stays; the extension adds to it
