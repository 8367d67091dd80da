from django import forms
from django.utils.translation import gettext_lazy as _


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
    days = forms.TypedChoiceField(
        label=_("Valid for"), coerce=int,
        choices=[(30, _("30 days")), (90, _("90 days")), (365, _("1 year"))], initial=90,
    )
    read_only = forms.BooleanField(label=_("Read-only (for reports: it cannot change anything)"), required=False)
