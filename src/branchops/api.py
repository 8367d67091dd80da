"""The JSON API under /api/v1/: session (with CSRF) or token authentication, same scope as pages."""

import math
import threading

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.db import DataError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from branchops.core.api import ErrorOut
from branchops.core.http import client_ip
from branchops.core.services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def carries_token(request) -> bool:
    return "X-API-Token" in request.headers or request.headers.get("Authorization", "").lower().startswith("bearer ")


class RateLimit(BaseThrottle):
    """A ninja rate throttle whose rate is read from a setting on each request (settings and tests can
    change it) and whose state is per request (ninja shares one throttle object between threads); the
    client's address is ``client_ip`` (a trusted proxy's header, never one a client wrote)."""

    def __init__(self, kind, setting: str):
        self.kind, self.setting = kind, setting
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        rate = getattr(settings, self.setting, "")
        if not rate:
            return True
        throttle = self.kind(rate)
        throttle.get_ident = client_ip
        self._local.current = throttle
        return throttle.allow_request(request)

    def wait(self):
        current = getattr(self._local, "current", None)
        return current.wait() if current is not None else None


PER_USER = RateLimit(UserRateThrottle, "BRANCHOPS_API_RATE")
BAD_TOKENS = RateLimit(AnonRateThrottle, "BRANCHOPS_API_BAD_TOKEN_RATE")


def _token_user(request, raw):
    """A token acts as its owner, with the owner's current roles and scope; a read-only token reads."""
    if not raw:
        return None  # no such header (ninja asks every scheme)
    token = authenticate_token(raw)
    if token is None:
        # Guessing tokens: unknown ones are counted per client address and, past the limit, refused
        # before the lookup's answer matters.
        if not BAD_TOKENS.allow_request(request):
            raise Throttled(wait=BAD_TOKENS.wait())
        return None
    if token.read_only and request.method not in SAFE_METHODS:
        raise HttpError(403, _("This API token is read-only."))
    request.user = token.user
    request.api_token = token
    return token.user


class TokenAuth(HttpBearer):
    """`Authorization: Bearer bo_…` — a personal token created on the profile page."""

    def authenticate(self, request, token):
        return _token_user(request, token)


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-API-Token"

    def authenticate(self, request, key):
        return _token_user(request, key)


class SessionAuth(APIKeyCookie):
    """The browser session, with its CSRF check on writes. A request carrying a token is judged by the
    token alone (a cross-site page cannot add that header), and a request without a signed-in session
    has nothing to protect: both pass on without the CSRF check, so a bad token answers 401, not 403."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        if carries_token(request) or not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return request.user if key and request.user.is_authenticated else None


ERRORS = {
    400: "Bad input: `detail` names each field with its messages (nothing was changed)",
    401: "Not signed in, or an unknown or revoked token",
    403: "Signed in, but not allowed to do this",
    404: "Not found, or outside your scope",
    413: "Request body too large",
}


class BranchOpsAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The document, with the error answers every operation can give declared once here: 400, 401
        and 403 everywhere, 404 where the path names something, 413 where a body is sent."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"].setdefault("schemas", {})["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}")
        for methods in schema["paths"].values():
            for operation in methods.values():
                _declare_errors(operation)
        return schema


def _declare_errors(operation: dict) -> None:
    codes = [400, 401, 403]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.append(404)
    if "requestBody" in operation:
        codes.append(413)
    responses = operation["responses"]
    for code in codes:
        if code not in responses and str(code) not in responses:
            responses[code] = {"description": ERRORS[code], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


api = BranchOpsAPI(
    title="BranchOps API",
    version="1",
    description="BranchOps JSON API. Authenticate with your browser session or `Authorization: Bearer <token>`.",
    auth=[TokenAuth(), TokenHeaderAuth(), SessionAuth()],
    throttle=[PER_USER],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        detail = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        detail = {"__all__": [str(m) for m in exc.messages]}
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request, exc: NinjaValidationError):
    """Malformed input gets the same 400 shape as a rule violation, naming each field."""
    detail: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "form", "payload")]
        detail.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", "invalid"))
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(Throttled)
def on_throttled(request, exc: Throttled):
    wait = max(1, math.ceil(exc.wait)) if exc.wait else 60
    response = api.create_response(
        request, {"detail": _("Too many requests: please wait %(seconds)s seconds and try again.") % {"seconds": wait}},
        status=429)
    response["Retry-After"] = str(wait)
    return response


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return api.create_response(request, {"detail": "Request body too large"}, status=413)


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request, exc):
    """Too many fields or files, a malformed multipart body: Django's own 400, in the API's JSON."""
    return api.create_response(request, {"detail": {"__all__": ["The request is malformed or too large."]}},
                               status=400)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request, exc):
    """The last line behind the typed bounds (core.limits): a number the database cannot hold."""
    return api.create_response(request, {"detail": {"__all__": ["A number is out of range."]}}, status=400)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Permission denied"}, status=403)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, {"detail": "Not found"}, status=404)


from branchops.cases.api import router as cases_router  # noqa: E402
from branchops.coordination.api import router as coordination_router  # noqa: E402
from branchops.core.api import router as core_router  # noqa: E402
from branchops.dispatch.api import router as dispatch_router  # noqa: E402
from branchops.org.api import me_router  # noqa: E402
from branchops.org.api import router as org_router  # noqa: E402
from branchops.queueing.api import router as queueing_router  # noqa: E402
from branchops.service.api import router as service_router  # noqa: E402
from branchops.workforce.api import router as workforce_router  # noqa: E402

api.add_router("/", core_router)
api.add_router("/", me_router)
api.add_router("/org/", org_router)
api.add_router("/cases/", cases_router)
api.add_router("/coordination/", coordination_router)
api.add_router("/dispatch/", dispatch_router)
api.add_router("/queueing/", queueing_router)
api.add_router("/service/", service_router)
api.add_router("/workforce/", workforce_router)

# The release check moved to /coordination/items/{id}/release-check (it is about the item); the old
# address keeps answering for existing clients.
from branchops.coordination.api import ReleaseCheckOut, release_check  # noqa: E402

api.get("/dispatch/items/{int:item_id}/check", response=ReleaseCheckOut, deprecated=True, tags=["dispatch"],
        operation_id="dispatch_release_check_legacy", url_name="dispatch_release_check_legacy",
        summary="Release check (old address; use /coordination/items/{id}/release-check)")(release_check)
