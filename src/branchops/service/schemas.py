"""Input schemas of the grading and inspection API (each action's typed input)."""

from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from branchops.core import limits
from branchops.core.api import ActionInput, Day, Id, VersionedInput, Year
from branchops.org.models import Institution, Level


class RunIn(Schema):
    branch: Id = Field(description="The branch (tier-1 or tier-2) id")
    year: Year
    quarter: int = Field(ge=1, le=4, description="1 to 4")


class VersionedActionIn(VersionedInput):
    pass


class ReturnIn(VersionedInput):
    reason: str = Field("", max_length=2000)


class AdjustIn(VersionedInput):
    outlet: Id | None = Field(None, description="The outlet's id")
    code: str = Field("", max_length=32, description="The input's code (an indicator or a veto input)")
    value: float | None = Field(None, description="The value; null marks it missing. Ratios as decimals.")
    reason: str = Field("", max_length=2000, description="Why the value is adjusted (required)")

    def data(self, user, run) -> dict:
        outlet = Institution.objects.filter(pk=self.outlet, level=Level.OUTLET,
                                            path__startswith=run.branch.path).first() if self.outlet else None
        if outlet is None:
            raise ValidationError({"outlet": _("Choose an outlet of this run.")})
        return {"outlet": outlet, "code": self.code, "value": self.value, "reason": self.reason}


class RunActionIn(AdjustIn, ReturnIn):
    """The fields each action reads (adjust: outlet, code, value, reason; return: reason); the others
    are ignored."""


# --- inspections -------------------------------------------------------------------------------------

class SubmitIn(ActionInput):
    answers: dict[str, str] = Field(description="Item code → pass, fail or na", max_length=limits.MAX_LIST)
    notes: dict[str, str] = Field(default_factory=dict, max_length=limits.MAX_LIST)


class ReinspectIn(ActionInput):
    supervisor: Id = Field(description="The service supervisor's user id")
    planned_on: Day

    def data(self, user, finding) -> dict:
        from django.contrib.auth import get_user_model

        supervisor = get_user_model().objects.filter(pk=self.supervisor).first()
        if supervisor is None:
            raise ValidationError({"supervisor": _("Choose a service supervisor.")})
        return {"supervisor": supervisor, "planned_on": self.planned_on}


class DeadlineIn(ActionInput):
    deadline: Day = Field(description="The new day to rectify by (today or later); the case's due date follows")
    reason: str = Field(max_length=2000, description="Why the deadline moves (required)")


class ChecklistItemIn(Schema):
    text: str | None = Field(None, min_length=1, max_length=300)
    weight: float | None = Field(None, ge=0.01, le=1000, description="Rounded to 2 decimals")
    na_allowed: bool | None = None
    veto: bool | None = None
    severity: Literal["minor", "major", "serious"] | None = None
    effective_from: Day | None = Field(None, description="When the checklist was used: the day the new version "
                                                         "starts (today if absent)")


# --- the quarterly briefing ------------------------------------------------------------------------------

class BriefingIn(Schema):
    branch: Id = Field(description="The branch (tier-1 or tier-2) id")
    year: Year
    quarter: int = Field(ge=1, le=4, description="1 to 4; a finished quarter")
    summary: str = Field("", max_length=4000, description="The secretariat's overview")


class BriefingActionIn(VersionedInput):
    """The fields each briefing action reads (edit: summary; add_case: kind, title, text, outlet;
    remove_case: case; return: reason); the others are ignored."""

    summary: str = Field("", max_length=4000)
    kind: str = Field("", max_length=8, description="positive or negative")
    title: str = Field("", max_length=100)
    text: str = Field("", max_length=1000)
    outlet: Id | None = Field(None, description="The outlet the case is about (optional)")
    case: Id | None = Field(None, description="remove_case: the case's id")
    reason: str = Field("", max_length=2000)


class BriefingEditIn(VersionedInput):
    summary: str = Field("", max_length=4000)


class BriefingCaseIn(VersionedInput):
    kind: str = Field("", max_length=8)
    title: str = Field("", max_length=100)
    text: str = Field("", max_length=1000)
    outlet: Id | None = None

    def data(self, user, briefing) -> dict:
        outlet = None
        if self.outlet is not None:
            outlet = Institution.objects.filter(pk=self.outlet, level=Level.OUTLET,
                                                path__startswith=briefing.branch.path).first()
            if outlet is None:
                raise ValidationError({"outlet": _("Choose an outlet of this branch.")})
        return {"kind": self.kind, "title": self.title, "text": self.text, "outlet": outlet}


class BriefingRemoveIn(VersionedInput):
    case: Id | None = None

    def data(self, user, briefing) -> dict:
        if self.case is None:
            raise ValidationError({"case": _("Say which case to remove.")})
        return {"case": self.case}
