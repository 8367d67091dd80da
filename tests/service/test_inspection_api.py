"""Inspections through the API and the pages: scope (the outlet never sees a mystery-shopper visit
before it happens), the refusals the form would give, photos, re-inspection, supervisor counts, and
the grading gathering inspection scores."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from branchops.core import clock
from branchops.org.roles import Role
from branchops.service import services
from branchops.service.models import Inspection, RunInput

pytestmark = pytest.mark.django_db
URL = "/api/v1/service/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def answers(bank, **over):
    out = {i.code: "pass" for i in bank.items}
    out.update(over)
    return out


def scheduled(bank, kind="mystery", outlet=None, who="sb1mgr"):
    return services.schedule_inspection(bank.users["sec1"], outlet=outlet or bank.o11, supervisor=bank.users[who],
                                        planned_on=clock.today(), inspection_type=kind)


def ids(client, url=f"{URL}inspections"):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()}


def test_mystery_visit_hidden_from_the_outlet_until_submitted(api, world):
    b = world
    mystery = scheduled(b)
    other = scheduled(b, kind="on_site", outlet=b.o21, who="sup2")
    assert ids(api(b.users["sec1"])) == {mystery.pk, other.pk}
    assert ids(api(b.users["sb1mgr"])) == {mystery.pk}  # assigned to them
    assert ids(api(b.users["sup2"])) == {other.pk}
    assert ids(api(b.users["head11"])) == set()  # the outlet: not before the visit
    assert ids(api(b.users["sbm1"])) == set()  # nor its sub-branch
    assert api(b.users["head11"]).get(f"{URL}inspections/{mystery.pk}").status_code == 404
    services.submit_inspection(b.users["sb1mgr"], mystery, answers=answers(b))
    assert ids(api(b.users["head11"])) == {mystery.pk}
    assert ids(api(b.users["staff21"])) == set()  # another outlet never
    assert api(b.users["staff21"]).get(f"{URL}inspections/{mystery.pk}").status_code == 404


def test_api_schedules_and_refuses_what_the_form_refuses(api, world):
    b = world
    sec = api(b.users["sec1"])
    day = clock.today().isoformat()
    response = post(sec, f"{URL}inspections", {"outlet": b.o11.pk, "supervisor": b.users["sb1mgr"].pk,
                                                "planned_on": day, "inspection_type": "video"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["can_fill"] is False and len(created["items"]) == len(b.items)
    bad = post(sec, f"{URL}inspections", {"outlet": b.o11.pk, "supervisor": b.users["sup2"].pk,
                                          "planned_on": (clock.today() - timedelta(days=1)).isoformat(),
                                          "inspection_type": "video"})
    assert bad.status_code == 400 and {"supervisor", "planned_on"} <= set(str(bad.content, "utf-8").split('"'))
    assert post(api(b.users["head11"]), f"{URL}inspections", {
        "outlet": b.o11.pk, "supervisor": b.users["sb1mgr"].pk, "planned_on": day,
        "inspection_type": "video"}).status_code == 403
    assert Inspection.objects.count() == 1


def test_api_submit_needs_photos_then_opens_findings(api, world):
    b = world
    inspection = scheduled(b, kind="on_site")
    def sup():  # one test client: sign the supervisor in again after another user
        return api(b.users["sb1mgr"])

    url = f"{URL}inspections/{inspection.pk}"
    refused = post(sup(), f"{url}/submit", {"answers": answers(b, l2="fail")})
    assert refused.status_code == 400 and "l2" in refused.content.decode()
    # Not an image; then the right one.
    fake = sup().post(f"{url}/photos", {"item": "l2", "file": SimpleUploadedFile("x.png", b"GIF89a....")})
    assert fake.status_code == 400 and "file" in fake.content.decode()
    assert post(api(b.users["head11"]), f"{url}/submit", {"answers": answers(b)}).status_code == 404
    photo = sup().post(f"{url}/photos", {"item": "l2", "file": SimpleUploadedFile("l2.png", PNG)})
    assert photo.status_code == 201, photo.content
    done = post(sup(), f"{url}/submit", {"answers": answers(b, l2="fail"), "notes": {"l2": "2号岗空岗"}})
    assert done.status_code == 200, done.content
    data = done.json()
    assert data["status"] == "submitted" and data["findings"][0]["item"] == "l2"
    assert data["findings"][0]["rectification"]
    assert data["allowed_actions"] == [] and data["can_fill"] is False
    again = post(sup(), f"{url}/submit", {"answers": answers(b)})
    assert again.status_code == 400  # the state refuses, saying why (not a bare 403)
    assert Inspection.objects.get(pk=data["id"]).results.count() == len(b.items)
    # A re-inspection is scheduled by the secretariat; the outlet may not.
    finding = data["findings"][0]["id"]
    body = {"supervisor": b.users["sb1mgr"].pk, "planned_on": clock.today().isoformat()}
    assert post(api(b.users["head11"]), f"{URL}findings/{finding}/reinspections", body).status_code == 403
    assert post(api(b.users["staff21"]), f"{URL}findings/{finding}/reinspections", body).status_code == 404
    re = post(api(b.users["sec1"]), f"{URL}findings/{finding}/reinspections", body)
    assert re.status_code == 201, re.content
    closed = post(sup(), f"{URL}inspections/{re.json()['id']}/submit", {"answers": {"l2": "pass"}})
    assert closed.status_code == 200, closed.content
    original = api(b.users["head11"]).get(url).json()
    assert original["findings"][0]["closed_at"] is not None


def test_supervisor_counts_and_minimum(api, world):
    b = world
    for outlet in (b.o11, b.o12):
        i = scheduled(b, kind="video", outlet=outlet)
        services.add_photo(b.users["sb1mgr"], i, "s1", SimpleUploadedFile("s.png", PNG))
        services.submit_inspection(b.users["sb1mgr"], i, answers=answers(b, s1="fail"))
    today = clock.today()
    rows = api(b.users["sec1"]).get(f"{URL}supervisors/counts?year={today.year}").json()
    assert [(r["supervisor_id"], r["month"], r["inspections"], r["findings"]) for r in rows] == [
        (b.users["sb1mgr"].pk, today.month, 2, 2)]
    assert api(b.users["staff21"]).get(f"{URL}supervisors/counts?year={today.year}").json() == []
    assert api(b.users["sec1"]).get(f"{URL}supervisors/counts?year=1").status_code == 400
    minimum = api(b.users["sec1"]).get(f"{URL}supervisors/minimum").json()
    assert minimum == [{"branch": {"id": b.branch.pk, "code": "SZ", "name": b.branch.name}, "supervisors": 2,
                        "minimum": 5, "short": 3}]


def test_pages_phone_form_refuses_then_submits(login, world):
    b = world
    inspection = scheduled(b, kind="on_site")
    url = f"/service/inspections/{inspection.pk}/"
    sup = login(b.users["sb1mgr"])
    page = sup.get(url)
    assert page.status_code == 200 and b'name="answer-l1"' in page.content and b"inspection-form" in page.content
    form = {f"answer-{c}": v for c, v in answers(b, l1="fail").items()}
    refused = sup.post(url, form)
    assert refused.status_code == 400 and "l1" in refused.content.decode()
    assert Inspection.objects.get(pk=inspection.pk).status == "scheduled"
    form["photo-l1"] = SimpleUploadedFile("l1.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    done = sup.post(url, form)
    assert done.status_code == 302
    assert Inspection.objects.get(pk=inspection.pk).findings.get().item.code == "l1"
    head = login(b.users["head11"]).get(url)
    assert head.status_code == 200 and b'name="answer-l1"' not in head.content
    assert login(b.users["staff21"]).get(url).status_code == 404
    assert login(b.users["head11"]).get("/service/inspections/").status_code == 200
    assert login(b.users["sec1"]).get("/service/supervisors/").status_code == 200


def test_grading_gathers_the_quarters_inspection_scores(world):
    b = world
    b.person("sec2", b.branch, [Role.SECRETARIAT], department=b.ops)
    i = scheduled(b, kind="video")
    services.add_photo(b.users["sb1mgr"], i, "fn1", SimpleUploadedFile("f.png", PNG))
    services.submit_inspection(b.users["sb1mgr"], i, answers=answers(b, fn1="fail"))
    today = clock.today()
    run = services.create_run(b.users["sec1"], branch=b.branch, year=today.year, quarter=(today.month - 1) // 3 + 1)
    got = {r.code: r for r in RunInput.objects.filter(run=run, outlet=b.o11)}
    assert float(got["inspection_score"].value) == float(Inspection.objects.get(pk=i.pk).score)
    assert got["serious_violation"].value == 1 and "/service/inspections/" in got["inspection_score"].evidence
    assert run.grades.get(outlet=b.o11).grade == "D"  # the serious violation vetoes
    assert RunInput.objects.get(run=run, outlet=b.o12, code="inspection_score").value is None  # missing, not 0


def test_inter_rater_agreement_of_a_visit_inspected_twice(api, login, world):
    b = world
    b.person("sup1b", b.sb1, [Role.SERVICE_SUPERVISOR])
    fails = {"sb1mgr": ("l1", "s1"), "sup1b": ("l1",)}
    for who, failed in fails.items():
        i = scheduled(b, kind="on_site", who=who)
        for code in failed:
            services.add_photo(b.users[who], i, code, SimpleUploadedFile(f"{code}.png", PNG))
        services.submit_inspection(b.users[who], i, answers=answers(b, **dict.fromkeys(failed, "fail")))
    rows = api(b.users["sec1"]).get(f"{URL}supervisors/agreement").json()
    # 36 items, weights total 89: 83/89 → 93.26 and 84/89 → 94.38; 35 of 36 items alike;
    # κ: p_o = 35/36, p_e = (34·35 + 2·1)/36² → κ = 68/104 = 0.6538.
    assert rows == [{"first": "sb1mgr", "second": "sup1b", "pairs": 1, "mean_abs_diff": 1.12,
                     "item_agreement": 0.9722, "kappa": 0.6538}]
    assert api(b.users["staff21"]).get(f"{URL}supervisors/agreement").json() == []
    page = login(b.users["sec1"]).get("/service/supervisors/")
    assert page.status_code == 200 and "0.6538" in page.content.decode()


def test_pages_schedule_and_reinspect(login, world):
    b = world
    sec = login(b.users["sec1"])
    page = sec.get("/service/inspections/")
    assert b'action="/service/inspections/new/"' in page.content
    body = {"outlet": b.o11.pk, "supervisor": b.users["sup2"].pk, "planned_on": clock.today().isoformat(),
            "inspection_type": "video"}
    refused = sec.post("/service/inspections/new/", body, follow=True)
    assert "督导员不负责此网点" in refused.content.decode() or "does not cover" in refused.content.decode()
    assert not Inspection.objects.exists()
    body["supervisor"] = b.users["sb1mgr"].pk
    made = sec.post("/service/inspections/new/", body)
    assert made.status_code == 302
    inspection = Inspection.objects.get()
    assert inspection.supervisor == b.users["sb1mgr"] and inspection.inspection_type == "video"
    assert login(b.users["head11"]).get("/service/inspections/").content.count(b"data-inspection=") == 0
    assert login(b.users["head11"]).post("/service/inspections/new/", body).status_code == 403
    services.add_photo(b.users["sb1mgr"], inspection, "g1", SimpleUploadedFile("g.png", PNG))
    services.submit_inspection(b.users["sb1mgr"], inspection, answers=answers(b, g1="fail"))
    finding = inspection.findings.get()
    url = f"/service/findings/{finding.pk}/reinspect/"
    reinspect = {"supervisor": b.users["sb1mgr"].pk, "planned_on": clock.today().isoformat()}
    assert login(b.users["head11"]).post(url, reinspect).status_code == 403
    assert login(b.users["staff21"]).post(url, reinspect).status_code == 404
    sec = login(b.users["sec1"])
    assert b"/reinspect/" in sec.get(f"/service/inspections/{inspection.pk}/").content
    assert sec.post(url, reinspect).status_code == 302
    assert Inspection.objects.filter(reinspects=finding).count() == 1
