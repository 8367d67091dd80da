"""Schemathesis against /api/v1/openapi.json, in-process, on a small seeded bank.

Every operation gets ``FUZZ_EXAMPLES`` generated requests with valid input and as many with invalid
input (default 25 each; e.g. ``FUZZ_EXAMPLES=200`` for a longer one-off run), derandomized, as a
signed-in secretariat user. Each answer must be no 5xx, a status code and content type the document
declares for that operation, and a body that matches its schema; invalid input must get a 4xx.
"""

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from branchops.cases import services as cases
from branchops.cases.models import CaseType
from branchops.coordination.models import ReviewDimension, ReviewRemit
from tests.cases.conftest import cases_bank  # noqa: F401
from tests.conftest import ago
from tests.coordination.conftest import coord_bank, draft  # noqa: F401
from tests.dispatch.conftest import approved, media, released  # noqa: F401

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

# Answers as documented; invalid input is refused with a 4xx. (Who may call what is the authorisation
# matrix's; here every request is signed in, so schemathesis' "ignored auth" probe does not apply.)
_ANSWERS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
            response_headers_conformance]
CHECKS = {GenerationMode.POSITIVE: _ANSWERS, GenerationMode.NEGATIVE: [*_ANSWERS, negative_data_rejection]}


class _App(WSGIHandler):
    """The project's WSGI app without the CSRF check: the session stands in for a token, whose writes
    are another piece's work; every other middleware, auth and scope check runs as in production."""

    def __init__(self, session_key: str):
        super().__init__()
        self.cookie = f"sessionid={session_key}"

    def __call__(self, environ, start_response):
        environ["HTTP_COOKIE"] = self.cookie
        return super().__call__(environ, start_response)

    def get_response(self, request):
        request._dont_enforce_csrf_checks = True
        return super().get_response(request)


@pytest.fixture
def fuzz_bank(cases_bank, coord_bank, released, media):  # noqa: F811
    b = cases_bank
    # Financial technology (a review department of the cases bank) covers channels only: the items
    # here need compliance and consumer rights, which the coordination bank's reviewers give.
    ReviewRemit.objects.create(department=b.fintech).dimensions.set(ReviewDimension.objects.filter(code="channel"))
    released()
    cases.open_case(b.users["staff11"], case_type=CaseType.COMPLAINT, institution=b.o11, title="排队太久",
                    description="客户等候超过40分钟", channel="on_site", received_at=ago(hours=2),
                    complaint={"complainant_name": "张三", "complainant_phone": "13812345678"})
    return b


@pytest.fixture
def api_schema(fuzz_bank):
    client = Client()
    client.force_login(fuzz_bank.users["sec1"])
    # As Django's test client does: a request must not close the test's database connection (on
    # PostgreSQL that would end the transaction holding the seeded bank).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _App(client.cookies["sessionid"].value))
        assert schema.raw_schema == SCHEMA.raw_schema  # the document served is the one the operations came from
        yield schema
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def _operations():
    from branchops.api import api

    schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
    return schema, sorted(op.ok().label for op in schema.get_all_operations())


SCHEMA, OPERATIONS = _operations()


def _fuzz(operation, mode):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    def run(case):
        case.call_and_validate(checks=CHECKS[mode])

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_answers_as_documented(api_schema, mode):
    """One seeded bank for all operations (seeding per operation would cost more than the requests)."""
    failures = []
    for label in OPERATIONS:
        try:
            _fuzz(api_schema.find_operation_by_label(label), mode)
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is reported, not the first
            failures.append(f"{label}:\n{exc}")
    assert not failures, f"{len(failures)} of {len(OPERATIONS)} operations failed:\n\n" + "\n\n".join(failures)
