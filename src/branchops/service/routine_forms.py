"""The outlet routines' inputs: the plan form and the check's API schema (the page's check form is
built from the checklist's items, like the inspection form)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import Field

from branchops.core import limits
from branchops.core.api import ActionInput

from .routinebook import RoutineKind


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    kind = forms.ChoiceField(label=_("Kind"), choices=RoutineKind.choices)
    scope = forms.ModelChoiceField(label=_("Branch, sub-branch or outlet"), queryset=None)
    frequency_days = forms.IntegerField(label=_("Every (days)"), min_value=1, max_value=366, initial=30)
    starts_on = forms.DateField(label=_("First due"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=_("Empty: the routine goes on."))

    def __init__(self, *args, scopes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = scopes


class CheckIn(ActionInput):
    answers: dict[str, str] = Field(description="Item code → pass, fail or na", max_length=limits.MAX_LIST)
    notes: dict[str, str] = Field(default_factory=dict, max_length=limits.MAX_LIST)
    reading: float | None = Field(None, ge=-50, le=60, description="A measured value, e.g. the hall's °C")
    scenario: str = Field("", max_length=200, description="A drill's scenario")
    participants: str = Field("", max_length=500, description="A drill's participants")
    issues: str = Field("", max_length=4000, description="What went wrong")
