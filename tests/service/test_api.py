"""The service-grading API: runs in scope, the secretariat's actions (and the attempts a page would
not offer), outlet breakdowns, replay and trend."""

import pytest

from branchops.cases.models import Case
from branchops.service import services
from branchops.service.models import GradingRun, RunInput

URL = "/api/v1/service/"
pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def open_run(api, b):
    return ok(post(api(b.users["sec1"]), f"{URL}runs", {"branch": b.branch.pk, "year": b.year,
                                                         "quarter": b.quarter}), 201)


def test_secretariat_opens_reviews_and_another_publishes(api, grading):
    b = grading
    data = open_run(api, b)
    assert data["status"] == "draft" and data["outlets"] == 3
    assert set(data["allowed_actions"]) == {"refresh", "adjust", "review"}
    pk = data["id"]
    data = ok(post(api(b.users["sec1"]), f"{URL}runs/{pk}/actions/adjust", {
        "version": data["version"], "outlet": b.o21.pk, "code": "media_major_complaint", "value": 1,
        "reason": "媒体曝光"}))
    assert data["distribution"]["D"] == 1
    data = ok(post(api(b.users["sec1"]), f"{URL}runs/{pk}/actions/review", {"version": data["version"]}))
    assert data["status"] == "reviewed" and "publish" not in data["allowed_actions"]
    refused = post(api(b.users["sec1"]), f"{URL}runs/{pk}/actions/publish", {"version": data["version"]})
    assert refused.status_code == 400  # the reviewer does not publish
    data = ok(post(api(b.users["sec2"]), f"{URL}runs/{pk}/actions/publish", {"version": data["version"]}))
    assert data["status"] == "published" and data["allowed_actions"] == []
    assert Case.objects.filter(case_type="rectification", institution=b.o21).count() == 1
    assert ok(api(b.users["leader1"]).get(f"{URL}runs/{pk}/replay")) == {"matches": True}


def test_refusals_change_nothing(api, grading):
    b = grading
    pk = open_run(api, b)["id"]
    c = api(b.users["sec1"])
    # Bad input names the field.
    for payload, field in (({"outlet": b.o11.pk, "code": "inspection_score", "value": 90}, "reason"),
                           ({"outlet": 999999, "code": "inspection_score", "value": 90, "reason": "x"}, "outlet"),
                           ({"outlet": b.o11.pk, "code": "nope", "value": 90, "reason": "x"}, "code"),
                           ({"outlet": b.o11.pk, "code": "inspection_score", "value": -1, "reason": "x"}, "value"),
                           ({"outlet": b.o11.pk, "code": "inspection_score", "value": "x", "reason": "x"}, "value")):
        r = post(c, f"{URL}runs/{pk}/actions/adjust", payload)
        assert r.status_code == 400 and field in r.json()["detail"], (payload, r.content)
    stale = post(c, f"{URL}runs/{pk}/actions/review", {"version": 99})
    assert stale.status_code == 400
    assert post(c, f"{URL}runs/{pk}/actions/no-such-action").status_code == 404
    assert post(c, f"{URL}runs/{pk}/actions/publish").status_code == 400  # not reviewed
    # An outlet head may not act (403) — not even the API attempt the page never offers.
    head = api(b.users["head11"])
    assert post(head, f"{URL}runs/{pk}/actions/review").status_code in (403, 404)
    run = GradingRun.objects.get(pk=pk)
    assert run.status == "draft" and run.version == 1
    assert not RunInput.objects.filter(adjusted=True).exists()


@pytest.mark.parametrize("payload, field", [
    ({"year": 2025, "quarter": 5}, "quarter"),
    ({"year": 1800, "quarter": 1}, "year"),
])
def test_bad_run_requests(api, grading, payload, field):
    r = post(api(grading.users["sec1"]), f"{URL}runs", {"branch": grading.branch.pk, **payload})
    assert r.status_code == 400 and field in r.json()["detail"]


def test_only_the_secretariat_opens_runs(api, grading):
    b = grading
    # A role that never opens runs is refused as such (403), even for a branch it cannot see.
    for key in ("head11", "sb1mgr", "leader1", "admin1"):
        r = post(api(b.users[key]), f"{URL}runs", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter})
        assert r.status_code == 403, key
    r = post(api(b.users["sec1"]), f"{URL}runs", {"branch": b.o11.pk, "year": b.year, "quarter": b.quarter})
    assert r.status_code == 400 and "branch" in r.json()["detail"]
    assert not GradingRun.objects.exists()


def test_scope_of_runs_and_rows(api, grading):
    b = grading
    pk = open_run(api, b)["id"]
    # A draft is hidden from outlets: the same 404 as a missing run.
    hidden, missing = api(b.users["head11"]).get(f"{URL}runs/{pk}"), api(b.users["head11"]).get(f"{URL}runs/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    run = services.review_run(b.users["sec1"], GradingRun.objects.get(pk=pk))
    services.publish_run(b.users["sec2"], run)
    rows = ok(api(b.users["head11"]).get(f"{URL}runs/{pk}/outlets"))
    assert [r["outlet"]["code"] for r in rows] == ["SZ0101"]
    assert ok(api(b.users["sb1mgr"]).get(f"{URL}runs/{pk}/outlets")) and \
        {r["outlet"]["code"] for r in ok(api(b.users["sb1mgr"]).get(f"{URL}runs/{pk}/outlets"))} == {"SZ0101", "SZ0102"}
    assert len(ok(api(b.users["leader1"]).get(f"{URL}runs/{pk}/outlets"))) == 3
    # Another outlet's breakdown and trend answer 404.
    head = api(b.users["head11"])
    assert head.get(f"{URL}runs/{pk}/outlets/{b.o21.pk}").status_code == 404
    assert head.get(f"{URL}outlets/{b.o21.pk}/trend").status_code == 404
    assert head.get(f"{URL}runs/{pk}/replay").status_code == 404
    mine = ok(head.get(f"{URL}runs/{pk}/outlets/{b.o11.pk}"))
    assert len(mine["indicators"]) == 8 and all(i["missing"] for i in mine["indicators"])
    assert ok(head.get(f"{URL}outlets/{b.o11.pk}/trend"))[0]["quarter"] == run.label


def test_breakdown_has_values_reasons_and_evidence(api, queue_data):
    b = queue_data
    pk = open_run(api, b)["id"]
    data = ok(api(b.users["sec1"]).get(f"{URL}runs/{pk}/outlets/{b.o12.pk}"))
    wait = next(i for i in data["indicators"] if i["code"] == "overtime_wait_ratio")
    assert wait["value"] is not None and wait["evidence"].startswith("/queueing/outlets/SZ0102/")
    if wait["lost"]:
        assert wait["reason"]
    missing = next(i for i in data["indicators"] if i["code"] == "inspection_score")
    assert missing["missing"] and missing["points"] is None and missing["reason"]


def test_schemes_are_listed_with_their_versions(api, grading):
    data = ok(api(grading.users["head11"]).get(f"{URL}schemes"))
    default = next(s for s in data if s["code"] == "default")
    assert len(default["indicators"]) == 8 and sum(i["weight"] for i in default["indicators"]) == 100
    assert [b["grade"] for b in default["bands"]] == ["A", "B", "C", "D"]


def test_scheme_versions_and_frozen_indicators(api, grading):
    b = grading
    scheme = ok(api(b.users["sec1"]).get(f"{URL}schemes"))[0]
    url = f"{URL}schemes/{scheme['id']}/indicators/overtime_wait_ratio"
    c = api(b.users["sec1"])
    # Not in use yet: an indicator may change; the weights then no longer total 100, and the scheme says so.
    data = ok(c.patch(url, {"weight": 25}, content_type="application/json"))
    assert data["faults"] and next(i for i in data["indicators"] if i["code"] == "overtime_wait_ratio")["weight"] == 25
    r = post(c, f"{URL}runs", {"branch": b.branch.pk, "year": b.year, "quarter": b.quarter})
    assert r.status_code == 400  # a scheme with faults grades nothing
    ok(c.patch(url, {"weight": 20}, content_type="application/json"))
    bad = c.patch(url, {"scale": [[1, 2]]}, content_type="application/json")
    assert bad.status_code == 400 and "scale" in bad.json()["detail"]
    # Others may not edit schemes.
    assert api(b.users["head11"]).patch(url, {"weight": 30}, content_type="application/json").status_code == 403
    # In use (published): frozen; a new version is the way to change it.
    pk = open_run(api, b)["id"]
    run = services.review_run(b.users["sec1"], GradingRun.objects.get(pk=pk))
    services.publish_run(b.users["sec2"], run)
    assert c.patch(url, {"weight": 30}, content_type="application/json").status_code == 400
    later = services.quarter_bounds(b.year, b.quarter)[1].replace(day=28)
    new = ok(post(c, f"{URL}schemes/{scheme['id']}/versions", {"effective_from": later.isoformat()}), 201)
    assert new["version"] == 2 and not new["in_use"] and new["faults"] == []
    assert post(api(b.users["head11"]), f"{URL}schemes/{scheme['id']}/versions",
                {"effective_from": later.isoformat()}).status_code == 403


def test_openapi_lists_the_service_endpoints(api, grading):
    paths = ok(api(grading.users["staff11"]).get("/api/v1/openapi.json"))["paths"]
    for p in ("/api/v1/service/runs", "/api/v1/service/runs/{pk}", "/api/v1/service/runs/{pk}/actions/{action}",
              "/api/v1/service/runs/{pk}/outlets/{outlet_id}", "/api/v1/service/schemes",
              "/api/v1/service/outlets/{outlet_id}/trend", "/api/v1/service/runs/{pk}/replay"):
        assert p in paths


def test_signed_out_is_refused(client, grading):
    assert client.get(f"{URL}runs").status_code == 401
    assert client.get("/service/").status_code == 302
