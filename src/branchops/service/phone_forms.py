"""The public-phone actions' inputs: page forms and API schemas (the action table names both)."""

from typing import Literal

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import Field

from branchops.core.api import ActionInput

from .phonebook import CallResult, PhoneKind

RESULTS = [(CallResult.ANSWERED, CallResult.ANSWERED.label), (CallResult.WRONG, CallResult.WRONG.label),
           (CallResult.UNANSWERED, CallResult.UNANSWERED.label)]


class RecordCallForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=RESULTS, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class FixForm(forms.Form):
    number = forms.CharField(label=_("Right number"), max_length=40)

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class PhoneForm(forms.Form):
    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=PhoneKind.choices)
    number = forms.CharField(label=_("Number"), max_length=40,
                             help_text=_("Mobile 13812345678, landline 0755-82345678, 95588 or 400-123-4567."))
    published_at = forms.CharField(label=_("Where published"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("Published"), required=False, initial=True)

    def __init__(self, *args, outlets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outlet"].queryset = outlets


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    scope = forms.ModelChoiceField(label=_("Branch or sub-branch"), queryset=None)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, scopes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = scopes


class RecordCallIn(ActionInput):
    result: Literal["answered", "wrong", "unanswered"]
    note: str = Field("", max_length=500)


class FixIn(ActionInput):
    number: str = Field(max_length=40, description="The right number (Chinese formats)")
