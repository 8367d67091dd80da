from datetime import timedelta

import pytest

from branchops.core import clock
from branchops.workforce import services
from branchops.workforce.models import Certificate, Mentorship, StaffSkill

pytestmark = pytest.mark.django_db
API = "/api/v1/workforce"


def test_person_detail_and_actions_through_the_api(wf, api):
    c = api(wf.users["head11"])
    pk = wf.staff["csm11"].pk
    body = c.get(f"{API}/people/{pk}").json()
    assert set(body["allowed_actions"]) == {"certify", "grant_skill", "plan", "mentor"}
    r = c.post(f"{API}/people/{pk}/actions/certify", {"certificate_type": wf.licence.pk,
                                                      "issued_on": clock.today().isoformat()},
               content_type="application/json")
    assert r.status_code == 200, r.content
    assert [x["state"] for x in r.json()["certificates"]] == ["valid"]
    r = c.post(f"{API}/people/{pk}/actions/grant_skill", {"skill": "acceptance"}, content_type="application/json")
    assert r.status_code == 200 and [s["code"] for s in r.json()["skills"]] == ["acceptance"]
    people = c.get(f"{API}/people").json()
    assert {p["staff_no"]: p["core_skills"] for p in people["items"]} == {"CSM11": 1, "CSM11B": 0}


def test_api_refuses_what_the_form_would(wf, api, english_messages):
    c = api(wf.users["head11"])
    pk = wf.staff["csm11"].pk
    # A skill gated by a certificate the person does not hold: 400 naming the field; nothing stored.
    r = c.post(f"{API}/people/{pk}/actions/grant_skill", {"skill": "smart_review"}, content_type="application/json")
    assert r.status_code == 400 and "skill" in r.json()["detail"]
    assert not StaffSkill.objects.exists()
    r = c.post(f"{API}/people/{pk}/actions/grant_skill", {"skill": "nope"}, content_type="application/json")
    assert r.status_code == 400
    r = c.post(f"{API}/people/{pk}/actions/certify", {"certificate_type": wf.licence.pk,
                                                      "issued_on": (clock.today() + timedelta(days=3)).isoformat()},
               content_type="application/json")
    assert r.status_code == 400 and "issued_on" in r.json()["detail"]
    r = c.post(f"{API}/people/{pk}/actions/certify", {"certificate_type": wf.licence.pk}, content_type="application/json")
    assert r.status_code == 400 and "issued_on" in r.json()["detail"]
    assert not Certificate.objects.exists()
    r = c.post(f"{API}/people/{pk}/actions/mentor", {"mentor": pk, "rotation_plan": "x",
                                                     "due_on": clock.today().isoformat()},
               content_type="application/json")
    assert r.status_code == 400 and {"mentor", "due_on"} <= set(r.json()["detail"])
    r = c.post(f"{API}/people/{pk}/actions/fly", {}, content_type="application/json")
    assert r.status_code == 404
    assert not Mentorship.objects.exists()


def test_scope_in_the_api(wf, api):
    pk21 = wf.staff["csm21"].pk
    assert api(wf.users["head11"]).get(f"{API}/people/{pk21}").status_code == 404
    r = api(wf.users["head11"]).post(f"{API}/people/{pk21}/actions/grant_skill", {"skill": "cash"},
                                     content_type="application/json")
    assert r.status_code == 404
    r = api(wf.users["leader1"]).post(f"{API}/people/{pk21}/actions/grant_skill", {"skill": "cash"},
                                      content_type="application/json")
    assert r.status_code == 403
    own = api(wf.users["csm21"])
    assert own.get(f"{API}/people/{pk21}").json()["allowed_actions"] == []
    assert [p["staff_no"] for p in own.get(f"{API}/people").json()["items"]] == ["CSM21"]
    assert own.get(f"{API}/mentorships").status_code == 403
    assert api(wf.users["rev1"]).get(f"{API}/people/{pk21}").status_code == 404


def test_mentorship_through_the_api(wf, api):
    head = wf.users["head11"]
    services.issue_certificate(head, wf.staff["csm11"], certificate_type=wf.review_cert, issued_on=clock.today())
    services.grant_skill(head, wf.staff["csm11"], skill=wf.skill["acceptance"])
    m = services.start_mentorship(head, wf.staff["csm11"], mentor=wf.staff["csm11b"], rotation_plan="轮岗",
                                  due_on=clock.today() + timedelta(days=30))
    c = api(head)
    url = f"{API}/mentorships/{m.pk}/actions"
    r = c.post(f"{url}/convert", {}, content_type="application/json")  # not yet examined: the service says why
    assert r.status_code == 400 and m.staff.skills.count() == 1
    today = clock.today().isoformat()
    r = c.post(f"{url}/practice", {"on": today, "skill": "smart_review", "hours": 13}, content_type="application/json")
    assert r.status_code in (400, 422)
    assert c.post(f"{url}/practice", {"on": today, "skill": "smart_review", "hours": 3.5},
                  content_type="application/json").json()["practice_hours"] == 3.5
    r = c.post(f"{url}/exam", {"on": today, "score": 101}, content_type="application/json")
    assert r.status_code in (400, 422)
    c.post(f"{url}/exam", {"on": today, "score": 75}, content_type="application/json")
    body = c.post(f"{url}/assess", {"on": today, "passed": True}, content_type="application/json").json()
    assert body["due"] and "convert" in body["allowed_actions"]
    assert [x["id"] for x in c.get(f"{API}/mentorships?due=true").json()["items"]] == [m.pk]
    body = c.post(f"{url}/convert", {}, content_type="application/json").json()
    assert body["status"] == "converted" and body["allowed_actions"] == []
    assert c.get(f"{API}/mentorships?due=true").json()["count"] == 0


def test_lists_figures_and_settings(wf, api, settings, tmp_path):
    settings.BRANCHOPS_QUEUE_DIR = tmp_path
    c = api(wf.users["sec1"])
    assert [s["code"] for s in c.get(f"{API}/skills").json()] == ["acceptance", "smart_review", "maintenance",
                                                                  "forex", "cash"]
    assert [m["code"] for m in c.get(f"{API}/post-models").json()] == ["seven", "five", "four"]
    figures = c.get(f"{API}/cross-post").json()
    assert figures["total"]["managers"] == 4 and figures["total"]["deep"] is None
    r = c.get(f"{API}/cross-post?start={clock.today().isoformat()}&end={(clock.today() - timedelta(days=1)).isoformat()}")
    assert r.status_code == 400
    assert c.get(f"{API}/uncertified").json()["count"] == 4
    assert c.get(f"{API}/certificates?state=bogus").status_code == 400
    assert c.get(f"{API}/mentorships?status=bogus").status_code == 400
    r = c.post(f"{API}/settings", {"branch": wf.branch.pk, "expiring_days": 400}, content_type="application/json")
    assert r.status_code in (400, 422)
    r = c.post(f"{API}/settings", {"branch": wf.o11.pk, "expiring_days": 30}, content_type="application/json")
    assert r.status_code == 400
    assert c.post(f"{API}/settings", {"branch": wf.branch.pk, "expiring_days": 30},
                  content_type="application/json").json()["expiring_days"] == 30
