"""The API of the quarterly service & complaint briefing under /api/v1/service/briefings (joined into the
service router). Reads through ``briefing_queries`` (drafts: the secretariat; issued: also the approvers;
approved: the branch's secretariat, leaders and service supervisors; outlets none — a hidden briefing
answers 404 like a missing one); writes through ``BRIEFING_ACTIONS`` with the rules the page uses."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from branchops.core.api import Id, Pages, Year, run_action
from branchops.org.models import Institution
from branchops.org.scope import visible_institutions

from . import briefing_queries as queries
from . import rules, schemas, services
from .actions import BRIEFING_ACTIONS
from .briefing_views import document_response

router = Router(tags=["service briefings"])


class BriefingBranchOut(Schema):
    id: int
    code: str
    name: str


class BriefingOut(Schema):
    id: int
    branch: BriefingBranchOut
    year: int
    quarter: int
    status: str = Field(description="draft, issued or approved")
    number: str = Field(description="The document number (文号), once approved")
    issued_at: datetime | None
    approved_at: datetime | None
    version: int


def _briefing(b) -> dict:
    doc = b.document
    return {"id": b.pk, "branch": {"id": b.branch.pk, "code": b.branch.code, "name": b.branch.name},
            "year": b.year, "quarter": b.quarter, "status": b.status, "number": doc.number if doc else "",
            "issued_at": b.issued_at, "approved_at": doc.approved_at if doc else None, "version": b.version}


class FigureSourceOut(Schema):
    key: str
    title: str
    query: str = Field(description="The query function the figure comes from")


class BriefingCaseOut(Schema):
    id: int
    kind: str = Field(description="positive or negative")
    outlet: BriefingBranchOut | None
    title: str
    text: str


class BriefingDetailOut(BriefingOut):
    summary: str
    figures: dict[str, Any] = Field(description="Each figure by key (see sources): frozen once issued, else live")
    sources: list[FigureSourceOut]
    cases: list[BriefingCaseOut]
    sha256: str = Field(description="SHA-256 of the stored .docx, once approved")
    document_url: str
    workbook_url: str
    allowed_actions: list[str] = Field(description="What the user may do now (POST actions/{action}): edit, "
                                                   "add_case, remove_case, issue, return, approve.")


def _detail(user, b) -> dict:
    cases = [{"id": c.pk, "kind": c.kind, "title": c.title, "text": c.text,
              "outlet": {"id": c.outlet.pk, "code": c.outlet.code, "name": c.outlet.name} if c.outlet_id else None}
             for c in queries.briefing_cases(b)]
    return _briefing(b) | {
        "summary": b.summary, "figures": queries.figures(b), "cases": cases,
        "sources": [{"key": f.key, "title": str(f.title), "query": f.source} for f in queries.FIGURES],
        "sha256": b.document.sha256 if b.document else "",
        "document_url": reverse("api:service_briefing_document", kwargs={"pk": b.pk}),
        "workbook_url": reverse("api:service_briefing_workbook", kwargs={"pk": b.pk}),
        "allowed_actions": BRIEFING_ACTIONS.allowed(user, b)}


def _reads(user) -> None:
    if not queries.reads_briefings(user):
        raise PermissionDenied


@router.get("/briefings", response=list[BriefingOut], summary="Quarterly service briefings within my view")
@paginate(Pages)
def list_briefings(request, q: Annotated[str, Field(max_length=100)] = "", status: Literal["", "draft", "issued", "approved"] = "",
                   year: Year | None = None):
    _reads(request.user)
    return [_briefing(b) for b in queries.briefing_list(request.user, q=q, status=status, year=year)]


@router.post("/briefings", response={201: BriefingDetailOut},
             summary="Open a draft briefing for a branch's finished quarter (the secretariat)")
def create_briefing(request, payload: schemas.BriefingIn):
    if not rules.drafts_briefings(request.user):
        raise PermissionDenied
    branch = Institution.objects.filter(pk=payload.branch).first()
    if branch is not None and not visible_institutions(request.user).filter(pk=branch.pk).exists():
        branch = None  # outside the user's scope: the same answer as an unknown id
    if branch is None:
        raise ValidationError({"branch": _("Choose a branch within your view.")})
    b = services.create_briefing(request.user, branch=branch, year=payload.year, quarter=payload.quarter,
                                 summary=payload.summary)
    return Status(201, _detail(request.user, queries.access_briefing(request.user, b.pk)))


@router.get("/briefings/{int:pk}", response=BriefingDetailOut,
            summary="One briefing: its figures (each naming its query), cases and actions")
def get_briefing(request, pk: Id):
    return _detail(request.user, queries.access_briefing(request.user, pk))


@router.post("/briefings/{int:pk}/actions/{action}", response=BriefingDetailOut,
             summary="Act on a briefing: edit (summary), add_case (kind, title, text, outlet), remove_case (case), "
                     "issue, return (reason), approve — each with the version shown")
def briefing_action(request, pk: Id, action: str, payload: schemas.BriefingActionIn | None = None):
    b = queries.access_briefing(request.user, pk)
    run_action(BRIEFING_ACTIONS, request.user, b, action, payload)
    return _detail(request.user, queries.access_briefing(request.user, pk))


@router.get("/briefings/{int:pk}/document", url_name="service_briefing_document",
            summary="The briefing as .docx: the stored bytes once approved (never rebuilt), else the draft")
def briefing_document(request, pk: Id):
    return document_response(queries.access_briefing(request.user, pk), "docx")


@router.get("/briefings/{int:pk}/workbook", url_name="service_briefing_workbook",
            summary="The briefing as .xlsx: the stored bytes once approved (never rebuilt), else the draft")
def briefing_workbook(request, pk: Id):
    return document_response(queries.access_briefing(request.user, pk), "xlsx")
