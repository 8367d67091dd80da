"""The pages' forms of the workforce actions; each gives the service's keyword arguments
(``action_data``). The services check everything again: a form only helps the user."""

from django import forms
from django.utils.translation import gettext_lazy as _

from branchops.core import limits
from branchops.org.models import Staff
from branchops.org.scope import scope_filter

from .models import CertificateType, Skill


def _people(user):
    return scope_filter(user, Staff.objects.filter(is_active=True)) if user is not None else Staff.objects.none()


class ActionForm(forms.Form):
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class DayField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not limits.date_in_range(day):
            raise forms.ValidationError(_("Enter a date between 2000 and 2100."))
        return day


class CertifyForm(ActionForm):
    certificate_type = forms.ModelChoiceField(label=_("certificate type"),
                                              queryset=CertificateType.objects.filter(is_active=True))
    number = forms.CharField(label=_("certificate number"), max_length=64, required=False)
    issued_on = DayField(label=_("issued on"))
    expires_on = DayField(label=_("expires on"), required=False,
                          help_text=_("Empty: from the certificate type's validity."))


class SkillForm(ActionForm):
    skill = forms.ModelChoiceField(label=_("skill"), queryset=Skill.objects.filter(is_active=True))
    granted_on = DayField(label=_("granted on"), required=False)


class PlanForm(ActionForm):
    certificate_type = forms.ModelChoiceField(label=_("certificate type"),
                                              queryset=CertificateType.objects.filter(is_active=True))
    deadline = DayField(label=_("deadline"))
    coach = forms.ModelChoiceField(label=_("coach"), queryset=Staff.objects.none(), required=False)
    coaching = forms.CharField(label=_("coaching"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coach"].queryset = _people(self.user)


class MentorForm(ActionForm):
    mentor = forms.ModelChoiceField(label=_("mentor"), queryset=Staff.objects.none())
    rotation_plan = forms.CharField(label=_("rotation plan"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    due_on = DayField(label=_("convert by"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = _people(self.user)


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("reason"), max_length=200)


class PracticeForm(ActionForm):
    on = DayField(label=_("date"))
    skill = forms.ModelChoiceField(label=_("skill practised"), queryset=Skill.objects.filter(is_active=True))
    hours = forms.DecimalField(label=_("hours"), min_value=0.5, max_value=12, max_digits=4, decimal_places=1)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class ExamForm(ActionForm):
    on = DayField(label=_("exam date"))
    score = forms.IntegerField(label=_("exam score"), min_value=0, max_value=100)


class AssessForm(ActionForm):
    on = DayField(label=_("assessment date"))
    passed = forms.TypedChoiceField(label=_("result"), coerce=lambda v: v == "1",
                                    choices=[("1", _("passed")), ("0", _("failed"))])
    note = forms.CharField(label=_("assessment note"), max_length=300, required=False)


class SettingsForm(forms.Form):
    expiring_days = forms.IntegerField(label=_("expiring within (days)"), min_value=1, max_value=365)
