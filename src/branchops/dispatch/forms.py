"""Forms of the dispatch pages: the outlet head's actions on a work order and the capacity editor.
Forms only parse input (an action form's ``action_data()`` is its service's keyword arguments);
every rule is checked by the services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from branchops.org.models import Institution


class ActionForm(forms.Form):
    """An action on a work order; without input (acknowledge) unless a subclass adds it."""

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class DoneForm(ActionForm):
    note = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Say what was done, or where the evidence is."))


class ProblemForm(ActionForm):
    title = forms.CharField(label=_("Problem"), max_length=150)
    description = forms.CharField(label=_("Details"), max_length=4000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))


class CancelForm(ActionForm):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=200)


class CapacityForm(forms.Form):
    outlet = forms.ModelChoiceField(label=_("Outlet"), queryset=Institution.objects.none())
    weekly_hours = forms.DecimalField(label=_("Weekly capacity (hours)"), min_value=Decimal("0"),
                                      max_digits=6, decimal_places=1)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, outlets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if outlets is not None:
            self.fields["outlet"].queryset = outlets
