"""The OpenAPI document at /api/v1/openapi.json: one schema per name, errors declared, every number a
client sends bounded (so a generated client or a fuzzer never reaches a database overflow)."""

import json
import typing
from collections import defaultdict

import pytest
from pydantic import BaseModel

from branchops.api import api


@pytest.fixture
def document(client, bank):
    client.force_login(bank.users["sec1"])
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _models():
    seen, by_name = set(), defaultdict(set)

    def walk(tp):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp not in seen:
                seen.add(tp)
                by_name[tp.__name__].add(tp)
                for field in tp.model_fields.values():
                    walk(field.annotation)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in [*operation.models, *operation.response_models.values()]:
                    walk(model)
    return by_name


def test_no_two_schemas_share_a_name():
    clashes = {}
    for name, classes in _models().items():
        if all(c.__module__.startswith("branchops.") for c in classes):
            shapes = {json.dumps(c.model_json_schema(), sort_keys=True) for c in classes}
            if len(shapes) > 1:
                clashes[name] = sorted(c.__module__ for c in classes)
    assert clashes == {}


def test_org_import_answers_with_its_own_schema(document):
    responses = document["paths"]["/api/v1/org/import"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/OrgImportOut"
    refused = json.dumps(responses["400"]["content"]["application/json"]["schema"])
    assert "#/components/schemas/OrgImportOut" in refused and "#/components/schemas/ErrorOut" in refused
    assert "#/components/schemas/ImportOut" not in refused  # queueing's ticket import
    assert "errors" in document["components"]["schemas"]["OrgImportOut"]["properties"]


def test_every_operation_declares_its_error_answers(document):
    missing = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            expected = {"400", "401", "403"}
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                expected.add("404")
            if "requestBody" in operation:
                expected.add("413")
            missing += [f"{method.upper()} {path} {code}" for code in sorted(expected - set(operation["responses"]))]
    assert missing == []
    assert document["components"]["schemas"]["ErrorOut"]["required"] == ["detail"]


def _integers(schema, where, components, found, depth=0):
    if depth > 12 or not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        _integers(components[name], f"{where}->{name}", components, found, depth + 1)
        return
    if schema.get("type") == "integer" and ("minimum" not in schema or "maximum" not in schema):
        found.append(where)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _integers(sub, where, components, found, depth + 1)
    for name, sub in schema.get("properties", {}).items():
        _integers(sub, f"{where}.{name}", components, found, depth + 1)
    _integers(schema.get("items"), f"{where}[]", components, found, depth + 1)


def test_every_number_a_client_sends_is_bounded(document):
    components, unbounded = document["components"]["schemas"], []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for param in operation.get("parameters", []):
                _integers(param["schema"], f"{method.upper()} {path} {param['name']}", components, unbounded)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _integers(media["schema"], f"{method.upper()} {path} body", components, unbounded)
    assert unbounded == []


def test_business_hours_conform_to_the_document(client, bank, document):
    from datetime import time

    import jsonschema_rs

    from branchops.org import services as org

    org.set_business_hours(bank.users["admin1"], bank.o11, {0: (time(9), time(17, 30)), 6: None})
    body = client.get(f"/api/v1/org/institutions/{bank.o11.pk}").json()
    assert body["business_hours"][0]["opens_at"] == "09:00:00"
    assert body["business_hours"][0]["closes_at"] == "17:30:00"
    schema = {"$ref": "#/components/schemas/InstitutionDetailOut", "components": document["components"]}
    jsonschema_rs.validator_for(schema, validate_formats=True).validate(body)
