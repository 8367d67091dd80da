"""The OpenAPI document names each schema by its class name, so two different schemas of one name
would silently share a definition: one app's answers would then be documented with another's fields
(it happened: workforce's ``PersonOut`` replaced the cases' in the document)."""

from collections import defaultdict

from django.urls import reverse
from ninja import Schema


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_schemas_of_one_name_are_one_schema():
    reverse("api:openapi-json")  # every app's API module is imported with the URLconf
    by_name = defaultdict(dict)
    for schema in _subclasses(Schema):
        if schema.__module__.startswith("branchops."):
            by_name[schema.__name__][f"{schema.__module__}.{schema.__qualname__}"] = schema.model_json_schema()
    clashes = {name: sorted(defs) for name, defs in by_name.items()
               if len({repr(sorted(d.items(), key=str)) for d in defs.values()}) > 1}
    assert not clashes, f"different schemas share a name in the OpenAPI document: {clashes}"
