"""The JSON API under /api/v1/: session (with CSRF) or token authentication, same scope as pages."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.db import DataError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from branchops.core.api import ErrorOut
from branchops.core.services import authenticate_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer bo_…` — a personal token created on the profile page."""

    def authenticate(self, request, token):
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-API-Token"

    def authenticate(self, request, key):
        user = authenticate_token(key)
        if user is not None:
            request.user = user
        return user


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
    auth=[django_auth, TokenAuth(), TokenHeaderAuth()],
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

api.add_router("/", core_router)
api.add_router("/", me_router)
api.add_router("/org/", org_router)
api.add_router("/cases/", cases_router)
api.add_router("/coordination/", coordination_router)
api.add_router("/dispatch/", dispatch_router)
api.add_router("/queueing/", queueing_router)

# The release check moved to /coordination/items/{id}/release-check (it is about the item); the old
# address keeps answering for existing clients.
from branchops.coordination.api import ReleaseCheckOut, release_check  # noqa: E402

api.get("/dispatch/items/{int:item_id}/check", response=ReleaseCheckOut, deprecated=True, tags=["dispatch"],
        operation_id="dispatch_release_check_legacy", url_name="dispatch_release_check_legacy",
        summary="Release check (old address; use /coordination/items/{id}/release-check)")(release_check)
