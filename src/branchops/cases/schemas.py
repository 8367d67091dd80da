"""The API's input for the actions on a case: one schema per kind of action, each turning what the
client sent (ids, codes) into the same typed input the page's form gives the action
(``actions.ACTIONS``): ``{"version": …, "assignee": <User>, "department": <Department>, …}``.

An id or code that names nothing is a 400 naming the field, before anything is written; every rule
about the rows found is the service's.
"""

from datetime import date
from typing import Annotated

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from branchops.core import clock
from branchops.core.api import Id, Version
from branchops.org.models import Department

from . import services
from .models import CODE_FIELDS, CaseType, ComplaintCode

User = get_user_model()


def complaint_code(dimension: str, code: str, on: date) -> ComplaintCode | None:
    return (ComplaintCode.objects.filter(dimension=dimension, code=code.strip(), effective_from__lte=on)
            .exclude(effective_to__lt=on).order_by("-effective_from").first())


def resolve_codes(values: dict, on: date, errors: dict) -> dict:
    """{"cause_code": "C.01"} → {"cause_code": <ComplaintCode>}; "" or None clears; unknown → errors."""
    out = {}
    for field, dimension in CODE_FIELDS:
        if field not in values:
            continue
        raw = values[field]
        if raw is None or not str(raw).strip():
            out[field] = None
            continue
        found = complaint_code(dimension, str(raw), on)
        if found is None:
            errors[field] = _("Unknown code “%(code)s” for this classification.") % {"code": raw}
        out[field] = found
    return out


def _department(pk: int | None, field: str) -> Department | None:
    if pk is None:
        return None
    dept = Department.objects.filter(pk=pk).first()
    if dept is None:
        raise ValidationError({field: services.NO_SUCH_DEPARTMENT})
    return dept


def _person(pk: int | None):
    if pk is None:
        return None
    user = User.objects.select_related("staff__institution").filter(pk=pk).first()
    if user is None:
        raise ValidationError({"assignee": services.NO_SUCH_ASSIGNEE})
    return user


class VersionIn(Schema):
    """``version`` is the version shown to the user: a stale one is refused with 400 and nothing changes."""

    version: Version | None = None

    def data(self, case) -> dict:
        return self.dict()


class ReasonIn(VersionIn):
    reason: str = ""


class AssignIn(VersionIn):
    assignee_id: Id | None = None
    department_id: Id | None = None
    note: str = ""

    def data(self, case) -> dict:
        return {"version": self.version, "assignee": _person(self.assignee_id),
                "department": _department(self.department_id, "assignee_department"), "note": self.note}


class ResolveIn(VersionIn):
    outcome: str = ""
    resolution: str = ""


class ComplexityIn(VersionIn):
    complexity: str = ""
    customer_notified: bool = False


class ExtensionIn(ReasonIn):
    days: Annotated[int, Field(ge=-3660, le=3660)] | None = None


class CallbackIn(VersionIn):
    satisfaction: str = ""
    note: str = ""


class RootCauseIn(VersionIn):
    root_cause: str = ""
    improvement: str = ""


class ClassifyIn(VersionIn):
    """Codes of the standard in force today; a code left out keeps the complaint's, "" or null clears it."""

    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None

    def data(self, case) -> dict:
        if case.case_type != CaseType.COMPLAINT:
            raise ValidationError(_("Only complaints are classified."))
        errors = {}
        codes = resolve_codes(self.dict(include={f for f, _dim in CODE_FIELDS}, exclude_unset=True),
                              clock.today(), errors)
        if errors:
            raise ValidationError(errors)
        current = {f: getattr(case.complaint, f) for f, _dim in CODE_FIELDS}
        return {"version": self.version} | current | codes


class EvidenceIn(VersionIn):
    evidence: str = ""


class VerifyIn(VersionIn):
    passed: bool | None = None
    note: str = ""

    def data(self, case) -> dict:
        if self.passed is None:
            raise ValidationError({"passed": _("Say whether the rectification passed.")})
        return self.dict()


class TriageIn(VersionIn):
    action: str = ""
    answer: str = ""
    department_id: int | None = None
    note: str = ""

    def data(self, case) -> dict:
        return {"version": self.version, "action": self.action, "answer": self.answer,
                "department": _department(self.department_id, "department_id"), "note": self.note}


class CommentIn(VersionIn):
    body: str = ""


class ActionIn(AssignIn, ResolveIn, ComplexityIn, ExtensionIn, CallbackIn, RootCauseIn, ClassifyIn, EvidenceIn,
               VerifyIn, TriageIn, CommentIn):
    """The fields the actions read, each action its own (see ``allowed_actions`` and the action's
    schema); the others are ignored."""
