"""Forms of the grading pages: they only parse input (``action_data()`` is the service's keyword
arguments); every rule is checked by the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from branchops.org.models import Institution


class ActionForm(forms.Form):
    """A run action without input (review, publish, refresh) unless a subclass adds it."""

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class ReturnForm(ActionForm):
    reason = forms.CharField(label=_("Why it goes back"), max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class AdjustForm(ActionForm):
    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=Institution.objects.none())
    code = forms.CharField(label=_("Input"), max_length=32)
    value = forms.CharField(label=_("Value"), max_length=32, required=False,
                            help_text=_("Ratios as decimals (0.85 for 85%); empty: missing."))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, outlets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outlet"].queryset = outlets if outlets is not None else Institution.objects.filter(level="outlet")


class RunForm(forms.Form):
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Institution.objects.none())
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(label=_("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)])

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches


class VersionForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"}))


class ScheduleForm(forms.Form):
    """Schedule an inspection: outlets and supervisors in the scheduler's view; the service checks the
    supervisor covers the outlet."""

    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=Institution.objects.none())
    supervisor = forms.ModelChoiceField(label=_("Supervisor"), queryset=Institution.objects.none())
    planned_on = forms.DateField(label=_("Planned date"), widget=forms.DateInput(attrs={"type": "date"}))
    inspection_type = forms.ChoiceField(label=_("Inspection type"), choices=())

    def __init__(self, *args, outlets=None, supervisors=None, **kwargs):
        from .models import InspectionType

        super().__init__(*args, **kwargs)
        self.fields["outlet"].queryset = outlets
        self.fields["supervisor"].queryset = supervisors
        self.fields["supervisor"].label_from_instance = lambda u: getattr(getattr(u, "staff", None), "name", "") or u.username
        self.fields["inspection_type"].choices = InspectionType.choices


class ReinspectForm(forms.Form):
    """A re-inspection of one finding: a supervisor and a date (the service checks the rest)."""

    supervisor = forms.ModelChoiceField(label=_("Supervisor"), queryset=Institution.objects.none())
    planned_on = forms.DateField(label=_("Planned date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, supervisors=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].queryset = supervisors
        self.fields["supervisor"].label_from_instance = lambda u: getattr(getattr(u, "staff", None), "name", "") or u.username

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class DeadlineForm(forms.Form):
    """Move a finding's deadline (限期整改); the service moves its rectification case's due date."""

    deadline = forms.DateField(label=_("Rectify by"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=2000)

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class ChecklistItemForm(forms.Form):
    """One item of a checklist; on a version an inspection used, the change makes a new version from
    ``effective_from`` (the service decides)."""

    text = forms.CharField(label=_("Item"), max_length=300)
    weight = forms.DecimalField(label=_("Weight"), min_value=0.01, max_value=1000, decimal_places=2)
    na_allowed = forms.BooleanField(label=_("N/A allowed"), required=False)
    veto = forms.BooleanField(label=_("Veto item"), required=False)
    severity = forms.ChoiceField(label=_("Severity when failed"), choices=())
    effective_from = forms.DateField(label=_("New version from"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text=_("Only when the checklist was used: the day the new version starts "
                                                 "(today if empty)."))

    def __init__(self, *args, **kwargs):
        from .models import Severity

        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = Severity.choices

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


# --- the quarterly briefing ------------------------------------------------------------------------------

class BriefingNewForm(forms.Form):
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Institution.objects.none())
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(label=_("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)])
    summary = forms.CharField(label=_("Overview"), max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches


class BriefingEditForm(ActionForm):
    summary = forms.CharField(label=_("Overview"), max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))


class BriefingCaseForm(ActionForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("positive", _("Positive case")),
                                                      ("negative", _("Negative case"))])
    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=Institution.objects.none(), required=False)
    title = forms.CharField(label=_("Title"), max_length=100)
    text = forms.CharField(label=_("What happened"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, outlets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if outlets is not None:
            self.fields["outlet"].queryset = outlets


class BriefingRemoveForm(ActionForm):
    case = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class BriefingReturnForm(ActionForm):
    reason = forms.CharField(label=_("Why it goes back"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
