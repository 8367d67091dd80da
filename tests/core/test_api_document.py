"""What the demo fuzz run (docs/security.md, Fuzzing) found: filters whose document allowed values
the server refuses. The document now lists what the server accepts; each value listed is accepted and
one outside is refused with 400 naming the field."""

import re

import pytest

from branchops.api import api
from branchops.coordination.models import Decision, ItemStatus, ItemType, Meeting
from branchops.dispatch.models import WorkOrder

DOC = api.get_openapi_schema(path_prefix="/api/v1/")

FILTERS = [
    ("/api/v1/coordination/items", "status", ItemStatus.values),
    ("/api/v1/coordination/items", "decision", Decision.values),
    ("/api/v1/coordination/items", "item_type", ItemType.values),
    ("/api/v1/coordination/meetings", "status", Meeting.Status.values),
    ("/api/v1/dispatch/work-orders", "status", ["open", *WorkOrder.Status.values]),  # open: not done or cancelled
]


def _param(path, name):
    return next(p for p in DOC["paths"][path]["get"]["parameters"] if p["name"] == name)


@pytest.mark.parametrize(("path", "name", "values"), FILTERS, ids=[f"{p} {n}" for p, n, _ in FILTERS])
def test_a_filter_lists_exactly_the_values_the_server_accepts(admin_client, path, name, values):
    assert _param(path, name)["schema"]["enum"] == ["", *values]
    for value in ["", *values]:
        r = admin_client.get(path, {name: value})
        assert r.status_code == 200, (value, r.content)
    r = admin_client.get(path, {name: "signed_off"})
    assert r.status_code == 400 and name in r.json()["detail"]


@pytest.mark.parametrize("typed", ["0601-28-69", "2026-13-01", "2026-01-32", "1999-12-31", "2101-01-01", "x"])
def test_queue_dates_outside_the_documented_pattern_are_refused_by_it(typed):
    pattern = _param("/api/v1/queueing/kpis", "start")["schema"]["pattern"]
    assert not re.search(pattern, typed)


@pytest.mark.parametrize("typed", ["", "2000-01-01", "2026-02-28", "2100-12-31"])
def test_queue_dates_inside_the_pattern(typed):
    assert re.search(_param("/api/v1/queueing/kpis", "start")["schema"]["pattern"], typed)


def test_kpis_within_is_documented_as_a_number(admin_client):
    pattern = _param("/api/v1/queueing/kpis", "within")["schema"]["pattern"]
    assert re.search(pattern, "12") and not re.search(pattern, "x1")
    r = admin_client.get("/api/v1/queueing/kpis", {"within": "x1"})
    assert r.status_code == 400 and "within" in r.json()["detail"]


def test_verify_needs_a_number_as_documented(admin_client):
    param = _param("/api/v1/coordination/verify", "number")
    assert param["required"] is True
    for query in ({}, {"number": ""}, {"number": "   "}):
        r = admin_client.get("/api/v1/coordination/verify", query)
        assert r.status_code == 400 and "number" in r.json()["detail"], query
    assert admin_client.get("/api/v1/coordination/verify", {"number": "运统〔2026〕第9号"}).json()["status"] == "unknown"


@pytest.mark.parametrize(("schema", "field"), [("CapacityIn", "weekly_hours"), ("ItemPatchIn", "effort_hours"),
                                                ("ItemIn", "effort_hours")])
def test_decimal_text_is_documented_as_a_number(schema, field):
    """The fuzz run sent ``"weekly_hours": ""`` — a string the document allowed and the server refuses."""
    text = next(s for s in DOC["components"]["schemas"][schema]["properties"][field]["anyOf"] if s["type"] == "string")
    for typed in ("12", "12.5", "+0.5", ".5"):
        assert re.search(text["pattern"], typed), typed
    for typed in ("", "x", "1,5", "NaN", "1e3 "):
        assert not re.search(text["pattern"], typed), typed

