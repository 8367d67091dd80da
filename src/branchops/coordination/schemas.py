"""The typed input of each coordination action in the API (the ``schema`` of its entry in
``actions.py``). ``data(user, obj)`` gives the service's keyword arguments: the codes and ids the
client sends are resolved here to rows, and an unknown one is a 400 naming the field before anything
is written."""

from typing import Annotated

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from branchops.core.api import ActionInput, Day, Id, IdList, VersionedInput
from branchops.org.models import Department

from . import queries
from .models import ReviewDimension

User = get_user_model()


# --- items -------------------------------------------------------------------------------------

class DecisionReasonIn(VersionedInput):
    reason: str = ""


class OpinionLineIn(Schema):
    dimension: str = Field(description="The dimension's code, e.g. compliance")
    concern: bool = False
    text: str = ""
    proposed_condition: str = ""


class OpinionIn(VersionedInput):
    recommendation: str = ""
    lines: list[OpinionLineIn] = []

    def data(self, user, item) -> dict:
        codes = {ln.dimension.strip() for ln in self.lines}
        dims = {d.code: d for d in ReviewDimension.objects.filter(code__in=codes)}
        errors = {f"lines.{i}.dimension": _("Unknown dimension “%(code)s”.") % {"code": ln.dimension}
                  for i, ln in enumerate(self.lines) if ln.dimension.strip() not in dims}
        if errors:
            raise ValidationError(errors)
        return {"recommendation": self.recommendation,
                "lines": [{"dimension": dims[ln.dimension.strip()], "concern": ln.concern, "text": ln.text,
                           "proposed_condition": ln.proposed_condition} for ln in self.lines]}


class ScheduleIn(DecisionReasonIn):
    meeting_id: Id | None = None

    def data(self, user, item) -> dict:
        meeting = queries.meetings(user).filter(pk=self.meeting_id).first() if self.meeting_id is not None else None
        if meeting is None:
            raise ValidationError({"meeting_id": _("Choose a meeting.")})
        return {"meeting": meeting, "reason": self.reason}


class ConditionIn(Schema):
    text: str = ""
    owner_department_id: Id | None = None
    due_date: Day | None = Field(None, description="Defaults to the configured working days after the meeting.")
    proof: str = ""


class DecideIn(VersionedInput):
    decision: str = ""
    reasons: str = ""
    conditions: list[ConditionIn] = []

    def data(self, user, item) -> dict:
        depts = Department.objects.in_bulk({c.owner_department_id for c in self.conditions
                                            if c.owner_department_id is not None})
        errors = {f"conditions.{i}.owner_department": _("Unknown department.")
                  for i, c in enumerate(self.conditions)
                  if c.owner_department_id is not None and c.owner_department_id not in depts}
        if errors:
            raise ValidationError(errors)
        return {"decision": self.decision, "reasons": self.reasons,
                "conditions": [{"text": c.text, "owner_department": depts.get(c.owner_department_id),
                                "due_date": c.due_date, "proof": c.proof} for c in self.conditions]}


class WaiverIn(VersionedInput):
    dimensions: list[str] = Field([], description="The codes of the required dimensions to waive, e.g. compliance")
    reason: str = ""

    def data(self, user, item) -> dict:
        codes = [c.strip() for c in self.dimensions]
        dims = {d.code: d for d in ReviewDimension.objects.filter(code__in=codes)}
        unknown = [c for c in codes if c not in dims]
        if unknown:
            raise ValidationError({"dimensions": _("Unknown dimension “%(code)s”.") % {"code": "、".join(unknown)}})
        return {"dimensions": [dims[c] for c in codes], "reason": self.reason}


class ReleaseIn(VersionedInput):
    override_reason: str = ""
    stagger_groups: Annotated[int, Field(ge=-1000, le=1000)] = 1


class YieldIn(VersionedInput):
    yield_number: str = ""
    reason: str = ""


class ItemActionIn(ScheduleIn, OpinionIn, DecideIn, ReleaseIn, WaiverIn, YieldIn):
    """The fields each action reads; the others are ignored. ``version`` is the version shown to the
    user: a stale one is refused with 400 and nothing changes."""


# --- conditions --------------------------------------------------------------------------------

class MetIn(ActionInput):
    evidence: str = ""


class SignoffIn(ActionInput):
    accept: bool = True
    note: str = ""


# --- meetings ----------------------------------------------------------------------------------

def users(ids, field: str) -> list:
    ids = list(dict.fromkeys(ids))
    found = User.objects.in_bulk(ids)
    missing = [i for i in ids if i not in found or not found[i].is_active]
    if missing:
        raise ValidationError({field: _("Unknown or inactive users: %(ids)s.") % {
            "ids": ", ".join(str(i) for i in missing)}})
    return [found[i] for i in ids]


class AttendanceIn(ActionInput):
    attendee_ids: IdList = Field([], description="Present (出席): counted for the quorum.")
    observer_ids: IdList = Field([], description="In attendance (列席): at the meeting, not a member.")
    on_leave_ids: IdList = Field([], description="On leave (请假): excused.")
    chair_id: Id | None = None

    def data(self, user, meeting) -> dict:
        return {"attendees": users(self.attendee_ids, "attendee_ids"),
                "observers": users(self.observer_ids, "observer_ids"),
                "on_leave": users(self.on_leave_ids, "on_leave_ids"),
                "chair": users([self.chair_id], "chair_id")[0] if self.chair_id is not None else None}


class ChairIn(ActionInput):
    chair_id: int | None = None

    def data(self, user, meeting) -> dict:
        return {"chair": users([self.chair_id], "chair_id")[0] if self.chair_id is not None else None}


class ReorderIn(ActionInput):
    item_ids: IdList = []


class NotesIn(ActionInput):
    notes: str = ""


class MeetingActionIn(AttendanceIn, ReorderIn, NotesIn):
    """The fields each action reads (attendance: attendee_ids, chair_id; reorder: item_ids; notes)."""


# --- feedback entries --------------------------------------------------------------------------

class FeedbackAnswerIn(ActionInput):
    answer: str = ""
    follow_up_department_id: Id | None = None
    follow_up_person_id: Id | None = None
    follow_up_due: Day | None = None

    def data(self, user, entry) -> dict:
        dept = None
        if self.follow_up_department_id is not None:
            dept = Department.objects.filter(pk=self.follow_up_department_id).first()
            if dept is None:
                raise ValidationError({"follow_up_department_id": _("Unknown department.")})
        person = (users([self.follow_up_person_id], "follow_up_person_id")[0]
                  if self.follow_up_person_id is not None else None)
        return {"answer": self.answer, "follow_up_department": dept, "follow_up_person": person,
                "follow_up_due": self.follow_up_due}


class FeedbackDoneIn(ActionInput):
    note: str = ""


class FeedbackActionIn(FeedbackAnswerIn, FeedbackDoneIn):
    """The fields each action reads (answer: answer, follow_up_*; done: note)."""


class PostReviewIn(ActionInput):
    outcome: str = Field("", description="successful, with_issues or failed")
    note: str = Field("", description="The meeting's conclusion; required unless successful.")
