"""No 500 on any input: pages, ids, years, dates and list sizes out of range are refused with a 400
naming the field (API) or ignored (page filters); bodies too large get 413. Bounds: core.limits."""

import json

import pytest

from branchops.core import limits
from tests.cases.conftest import cases_bank  # noqa: F401
from tests.coordination.conftest import coord_bank  # noqa: F401

API = "/api/v1/"
LISTS = ["org/institutions", "org/departments", "org/people", "cases/", "coordination/items",
         "coordination/meetings", "dispatch/work-orders", "queueing/imports"]
TOO_BIG = str(2**63)


@pytest.fixture
def sec(api, cases_bank, coord_bank):  # noqa: F811
    return api(cases_bank.users["sec1"])


def refused(response, field):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert field in response.json()["detail"], response.json()
    return response.json()["detail"][field]


def test_pages_out_of_range_are_refused_naming_the_field_and_past_the_last_are_empty(sec):
    for path in LISTS:
        for page in ["0", "-1", str(limits.MAX_PAGE + 1), TOO_BIG]:
            refused(sec.get(API + path, {"page": page}), "page")
        for size in ["0", str(limits.MAX_PAGE_SIZE + 1)]:
            refused(sec.get(API + path, {"page_size": size}), "page_size")
        answer = sec.get(API + path, {"page": limits.MAX_PAGE})
        assert answer.status_code == 200, path
        assert answer.json()["items"] == [], path


@pytest.mark.parametrize(("path", "field"), [
    ("org/institutions", "parent"), ("org/departments", "institution"), ("org/people", "institution"),
    ("org/people", "department"), ("cases/", "institution"), ("coordination/items", "department"),
    ("coordination/items", "meeting"), ("dispatch/work-orders", "item"), ("dispatch/work-orders", "outlet"),
    ("dispatch/workload", "institution"),
])
def test_an_id_filter_out_of_range_is_refused_naming_it(sec, path, field):
    for value in [TOO_BIG, "-1"]:
        refused(sec.get(API + path, {field: value}), field)


def test_an_id_in_the_path_out_of_range_is_refused(sec):
    for path in ["org/institutions/", "org/people/", "cases/", "coordination/items/", "coordination/meetings/",
                 "dispatch/work-orders/", "queueing/imports/"]:
        refused(sec.get(API + path + TOO_BIG), "pk")
        gone = sec.get(API + path + "-1")  # no route matches: still the API's JSON 404
        assert gone.status_code == 404
        assert gone.json() == {"detail": "Not found"}


DATES = [
    ("cases/complaints-per-outlet", {"year": "9999"}, "year"),
    ("cases/complaints-per-outlet", {"year": "10000"}, "year"),
    ("cases/complaints-per-outlet", {"year": "0"}, "year"),
    ("cases/dashboard", {"since": "9999-01-01"}, "since"),
    ("cases/", {"received_from": "0001-01-01"}, "received_from"),
    ("coordination/meetings", {"year": "9999"}, "year"),
    ("coordination/items", {"until": "9999-12-31"}, "until"),
    ("coordination/register/statistics", {"since": "1999-12-31"}, "since"),
    ("dispatch/workload", {"start": "9999-12-27"}, "start"),
    ("dispatch/workload", {"weeks": TOO_BIG}, "weeks"),
    ("calendar/add-working-days", {"start": "9999-12-01", "days": "10"}, "start"),
    ("calendar/add-working-days", {"start": "2100-12-20", "days": "30"}, "days"),
    ("calendar/working-day", {"on": "9999-01-01"}, "on"),
    ("queueing/kpis", {"start": "9999-01-01", "end": "9999-01-31"}, "start"),
    ("queueing/kpis", {"start": "2026-01-01", "end": "2026-01-31", "within": TOO_BIG}, "within"),
    ("me/notifications", {"limit": TOO_BIG}, "limit"),
]


def test_a_year_or_date_out_of_range_is_refused_naming_it(sec):
    for path, params, field in DATES:
        refused(sec.get(API + path, params), field)


def test_the_last_day_of_the_range_is_accepted(sec):
    answer = sec.get(API + "calendar/working-day", {"on": str(limits.MAX_DATE)})
    assert answer.status_code == 200


def test_an_item_with_too_many_outlets_is_refused_and_nothing_is_created(api, coord_bank):  # noqa: F811
    from branchops.coordination.models import Item

    c = api(coord_bank.users["pfb1"])
    body = {"title": "推广", "outlet_ids": list(range(1, limits.MAX_LIST + 2))}
    refused(c.post(API + "coordination/items", body, content_type="application/json"), "outlet_ids")
    refused(c.post(API + "coordination/items", {"title": "推广", "outlet_ids": [2**63]},
                   content_type="application/json"), "outlet_ids.0")
    assert not Item.objects.exists()


def test_a_body_over_the_limit_is_413_in_json(sec, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024  # the rule, not the 20 MB, is what is tested
    body = json.dumps({"title": "x" * 2048})
    answer = sec.post(API + "coordination/items", body, content_type="application/json")
    assert answer.status_code == 413
    assert answer.json() == {"detail": "Request body too large"}


def test_too_many_fields_is_a_json_400(sec, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    answer = sec.get(API + "org/institutions?" + "&".join(f"x{i}=1" for i in range(20)))
    assert answer.status_code == 400
    assert "__all__" in answer.json()["detail"]


PAGES = [
    "/org/institutions/?page=0", "/org/institutions/?page=abc", f"/org/institutions/?page={TOO_BIG}",
    f"/org/institutions/?parent={TOO_BIG}", f"/org/people/?institution={TOO_BIG}&department=-{TOO_BIG}",
    f"/org/departments/?institution={TOO_BIG}", f"/cases/?institution={TOO_BIG}&received_from=9999-01-01",
    "/cases/?page=-1&page_size=0", "/cases/dashboard/?year=9999", "/cases/dashboard/?year=0",
    "/coordination/?since=9999-01-01&until=0001-01-01&page=999999999", f"/coordination/?meeting={TOO_BIG}",
    f"/dispatch/?item={TOO_BIG}&outlet={TOO_BIG}", "/calendar/?year=9999&month=12", "/calendar/?year=10000",
    "/calendar/?year=0&month=1", f"/queueing/?within={TOO_BIG}",
]


def test_pages_survive_out_of_range_parameters(sec):
    for url in PAGES:
        assert sec.get(url).status_code in (200, 404), url
    for url in [f"/org/institutions/{TOO_BIG}/", f"/cases/{TOO_BIG}/", f"/coordination/items/{TOO_BIG}/",
                f"/coordination/meetings/{TOO_BIG}/", f"/dispatch/{TOO_BIG}/", f"/org/people/{TOO_BIG}/"]:
        assert sec.get(url).status_code == 404, url
