"""Input schemas of the workforce API: each action's typed input. Ids become rows here; an unknown or
out-of-reach id is a 400 naming the field (``data``), the service checks the rest."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field

from branchops.core.api import ActionInput, Day, Id
from branchops.org.models import Staff
from branchops.org.scope import scope_filter

from .models import CertificateType, Skill


def _row(qs, pk, field):
    row = qs.filter(pk=pk).first() if pk else None
    if row is None:
        raise ValidationError({field: _("Choose a valid option.")})
    return row


def _person(user, pk, field):
    return _row(scope_filter(user, Staff.objects.filter(is_active=True)), pk, field)


class CertifyIn(ActionInput):
    certificate_type: Id
    number: str = Field("", max_length=64)
    issued_on: Day
    expires_on: Day | None = Field(None, description="Empty: from the certificate type's validity")

    def data(self, user, staff) -> dict:
        return {"certificate_type": _row(CertificateType.objects.all(), self.certificate_type, "certificate_type"),
                "number": self.number, "issued_on": self.issued_on, "expires_on": self.expires_on}


class SkillIn(ActionInput):
    skill: str = Field(max_length=32, description="The skill's code")
    granted_on: Day | None = None

    def data(self, user, staff) -> dict:
        skill = Skill.objects.filter(code=self.skill).first()
        if skill is None:
            raise ValidationError({"skill": _("Choose a valid option.")})
        return {"skill": skill, "granted_on": self.granted_on}


class CertificationPlanIn(ActionInput):
    certificate_type: Id
    deadline: Day
    coach: Id | None = Field(None, description="The coach's staff id")
    coaching: str = Field("", max_length=300)

    def data(self, user, staff) -> dict:
        return {"certificate_type": _row(CertificateType.objects.all(), self.certificate_type, "certificate_type"),
                "deadline": self.deadline, "coaching": self.coaching,
                "coach": _person(user, self.coach, "coach") if self.coach else None}


class MentorIn(ActionInput):
    mentor: Id = Field(description="The mentor's staff id")
    rotation_plan: str = Field(max_length=2000)
    due_on: Day = Field(description="Convert by this day")

    def data(self, user, staff) -> dict:
        return {"mentor": _person(user, self.mentor, "mentor"), "rotation_plan": self.rotation_plan,
                "due_on": self.due_on}


class StaffReasonIn(ActionInput):
    reason: str = Field(max_length=200)


class PracticeIn(ActionInput):
    on: Day
    skill: str = Field(max_length=32, description="The skill's code")
    hours: Decimal = Field(gt=0, le=12, max_digits=4, decimal_places=1)
    note: str = Field("", max_length=300)

    def data(self, user, m) -> dict:
        skill = Skill.objects.filter(code=self.skill).first()
        if skill is None:
            raise ValidationError({"skill": _("Choose a valid option.")})
        return {"on": self.on, "skill": skill, "hours": self.hours, "note": self.note}


class ExamIn(ActionInput):
    on: Day
    score: int = Field(ge=0, le=100)


class AssessIn(ActionInput):
    on: Day
    passed: bool
    note: str = Field("", max_length=300)


class NoInput(ActionInput):
    pass


class SettingsIn(Schema):
    branch: Id
    expiring_days: int = Field(ge=1, le=365)
