"""The public-phone API under /api/v1/service/ (joined into the service router): the directory (list,
add, change, import), check campaigns with their figures and calls, the calls' results and the
corrections. Reads through ``phone_queries`` (an outlet sees its own numbers, calls and corrections),
writes through ``phones`` with the rules the pages use; answers carry ``allowed_actions``."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import Field

from branchops.core import clock, limits
from branchops.core.api import Day, ErrorOut, Id, Pages, run_action
from branchops.org.models import Institution

from . import phone_queries as queries
from . import phones, rules
from .actions import PHONE_CALL_ACTIONS, PHONE_CORRECTION_ACTIONS
from .input_api import InputImportResultOut, ServiceInputRef, _ref
from .phone_forms import FixIn, RecordCallIn
from .phonebook import PhoneKind

router = Router(tags=["public phones"])


class PhoneOut(Schema):
    id: int
    outlet: ServiceInputRef
    kind: str
    number: str
    published_at: str
    is_active: bool
    allowed_actions: list[str]

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.outlet)

    @staticmethod
    def resolve_allowed_actions(obj, context):
        return ["change"] if rules.edits_phones(context["request"].user, obj.outlet) else []


class PhoneFilter(Schema):
    outlet: Id | None = None
    kind: PhoneKind | None = None
    q: str = Field("", max_length=100, description="Number, outlet code or name, or where published")
    active: bool | None = None


@router.get("/phones", response=list[PhoneOut], summary="Published phone numbers in my scope (the directory)")
@paginate(Pages)
def list_phones(request, filters: Query[PhoneFilter]):
    f = filters.dict()
    f["kind"] = f["kind"] or ""
    return queries.visible_phones(request.user, **f)


class PhoneIn(Schema):
    outlet: Id
    kind: PhoneKind
    number: str = Field(max_length=40, description="Mobile, landline (with area code), 95xxx, 400/800")
    published_at: str = Field("", max_length=200, description="Where the number is published")
    is_active: bool = True


def _edit_outlet(user, pk: int) -> Institution:
    outlet = queries.phone_outlets(user).filter(pk=pk).first()
    if outlet is None:
        raise ValidationError({"outlet": _("Choose an outlet whose numbers you keep.")})
    return outlet


@router.post("/phones", response={201: PhoneOut}, summary="Add a published number")
def add_phone(request, payload: PhoneIn):
    if not rules.edits_phones(request.user):
        raise PermissionDenied
    entry = phones.save_phone(request.user, outlet=_edit_outlet(request.user, payload.outlet), kind=payload.kind,
                              number=payload.number, published_at=payload.published_at, is_active=payload.is_active)
    return Status(201, entry)


@router.put("/phones/{int:pk}", response=PhoneOut, summary="Change a published number (audited)")
def change_phone(request, pk: Id, payload: PhoneIn):
    entry = queries.access_phone(request.user, pk)
    if not rules.edits_phones(request.user, entry.outlet):
        raise PermissionDenied
    entry = phones.save_phone(request.user, outlet=_edit_outlet(request.user, payload.outlet), kind=payload.kind,
                              number=payload.number, published_at=payload.published_at, is_active=payload.is_active,
                              entry=entry)
    return entry


@router.post("/phones/import", response={200: InputImportResultOut, 400: InputImportResultOut | ErrorOut},
             summary="Import the directory from xlsx/CSV (网点代码, 电话类型, 电话号码, 公示位置; all-or-nothing, "
                     "dry_run previews)")
def import_phones(request, file: File[UploadedFile], branch: Id, dry_run: bool = True):
    if not rules.runs_phone_checks(request.user):
        raise PermissionDenied
    scope = queries.campaign_scopes(request.user).filter(pk=branch).first()
    if scope is None:
        raise ValidationError({"branch": _("Choose a branch you keep the directory of.")})
    plan = phones.import_directory(request.user, branch=scope, data=file.read(limits.MAX_IMPORT_BYTES + 1),
                                   file_name=file.name or "upload", dry_run=dry_run)
    return Status(200 if plan.ok else 400, plan.as_dict() | {"unmapped": []})


class CampaignOut(Schema):
    id: int
    name: str
    scope: ServiceInputRef
    starts_on: date
    ends_on: date
    status: str
    total: int = Field(description="Numbers to call (within my scope)")
    checked: int = Field(description="Called: answered + wrong + unanswered")
    answered: int
    wrong: int
    unanswered: int
    pending: int
    corrected: int = Field(description="Wrong numbers whose correction is closed")
    wrong_share: float | None


def _campaign(user, c) -> dict:
    return {"id": c.pk, "name": c.name, "scope": _ref(c.scope), "starts_on": c.starts_on, "ends_on": c.ends_on,
            "status": c.status} | queries.campaign_figures(user, c)


@router.get("/phone-campaigns", response=list[CampaignOut], summary="Public-phone check campaigns with figures")
@paginate(Pages)
def list_campaigns(request):
    return [_campaign(request.user, c) for c in queries.visible_campaigns(request.user)]


class CampaignIn(Schema):
    name: str = Field(max_length=128)
    scope: Id = Field(description="A branch or sub-branch id")
    starts_on: Day
    ends_on: Day


@router.post("/phone-campaigns", response={201: CampaignOut},
             summary="Open a check campaign: one call per number published under the scope")
def create_campaign(request, payload: CampaignIn):
    if not rules.runs_phone_checks(request.user):
        raise PermissionDenied
    scope = queries.campaign_scopes(request.user).filter(pk=payload.scope).first()
    if scope is None:
        raise ValidationError({"scope": _("Choose a branch or sub-branch in your scope.")})
    campaign = phones.create_campaign(request.user, name=payload.name, scope=scope, starts_on=payload.starts_on,
                                      ends_on=payload.ends_on)
    return Status(201, _campaign(request.user, campaign))


@router.get("/phone-campaigns/{int:pk}", response=CampaignOut, summary="A campaign's figures (within my scope)")
def get_campaign(request, pk: Id):
    return _campaign(request.user, queries.access_campaign(request.user, pk))


class CallOut(Schema):
    id: int
    outlet: ServiceInputRef
    kind: str
    number: str
    result: str
    note: str
    called_at: datetime | None
    called_by: str | None
    correction: int | None
    allowed_actions: list[str]

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.entry.outlet)

    @staticmethod
    def resolve_kind(obj):
        return obj.entry.kind

    @staticmethod
    def resolve_called_by(obj):
        return obj.called_by.username if obj.called_by_id else None

    @staticmethod
    def resolve_correction(obj):
        correction = getattr(obj, "correction", None) if obj.result == "wrong" else None
        return correction.pk if correction else None

    @staticmethod
    def resolve_allowed_actions(obj, context):
        return PHONE_CALL_ACTIONS.allowed(context["request"].user, obj)


class CallFilter(Schema):
    result: str = Field("", pattern="^(|pending|answered|wrong|unanswered)$")
    outlet: Id | None = None
    q: str = Field("", max_length=100)


@router.get("/phone-campaigns/{int:pk}/calls", response=list[CallOut], summary="The campaign's calls in my scope")
@paginate(Pages)
def list_calls(request, pk: Id, filters: Query[CallFilter]):
    campaign = queries.access_campaign(request.user, pk)
    return queries.campaign_calls(request.user, campaign, **filters.dict())


@router.post("/phone-calls/{int:pk}/record", response=CallOut,
             summary="Record a call: answered, wrong (opens a correction for the outlet head) or unanswered")
def record_call(request, pk: Id, payload: RecordCallIn):
    call = queries.access_call(request.user, pk)
    run_action(PHONE_CALL_ACTIONS, request.user, call, "record", payload)
    return queries.access_call(request.user, pk)


class CorrectionOut(Schema):
    id: int
    outlet: ServiceInputRef
    campaign: int
    kind: str
    wrong_number: str
    note: str
    owner: str | None
    due: date
    overdue: bool
    corrected_number: str
    closed_at: datetime | None
    allowed_actions: list[str]

    @staticmethod
    def resolve_outlet(obj):
        return _ref(obj.entry.outlet)

    @staticmethod
    def resolve_campaign(obj):
        return obj.call.campaign_id

    @staticmethod
    def resolve_kind(obj):
        return obj.entry.kind

    @staticmethod
    def resolve_wrong_number(obj):
        return obj.call.number

    @staticmethod
    def resolve_note(obj):
        return obj.call.note

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner_id else None

    @staticmethod
    def resolve_overdue(obj):
        return obj.closed_at is None and obj.due < clock.today()

    @staticmethod
    def resolve_allowed_actions(obj, context):
        return PHONE_CORRECTION_ACTIONS.allowed(context["request"].user, obj)


class CorrectionFilter(Schema):
    open: bool = False
    overdue: bool = False
    outlet: Id | None = None
    campaign: Id | None = None


@router.get("/phone-corrections", response=list[CorrectionOut], summary="Corrections of wrong numbers in my scope, "
                                                                        "open first by due date")
@paginate(Pages)
def list_corrections(request, filters: Query[CorrectionFilter]):
    f = filters.dict()
    return queries.visible_corrections(request.user, open_only=f["open"], overdue=f["overdue"], outlet=f["outlet"],
                                       campaign=f["campaign"], today=clock.today())


@router.post("/phone-corrections/{int:pk}/fix", response=CorrectionOut,
             summary="Close a correction with the right number; the directory takes it (audited)")
def fix_correction(request, pk: Id, payload: FixIn):
    correction = queries.access_correction(request.user, pk)
    run_action(PHONE_CORRECTION_ACTIONS, request.user, correction, "fix", payload)
    return queries.access_correction(request.user, pk)
