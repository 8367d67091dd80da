from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Cluster, Department, Institution, Level, OutletType, Post
from .roles import Role


class InstitutionForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = ["code", "name", "short_name", "level", "parent", "address", "phone", "outlet_type",
                  "counters", "smart_devices", "cluster", "is_hub", "is_active", "sort_order"]

    def __init__(self, *args, visible=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visible is not None:
            self.fields["parent"].queryset = visible.exclude(level=Level.OUTLET)
            self.fields["cluster"].queryset = Cluster.objects.filter(institution__in=visible)
        self.fields["outlet_type"].queryset = OutletType.objects.filter(is_active=True)


class HoursForm(forms.Form):
    def __init__(self, *args, institution=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import BusinessHours

        current = {h.weekday: h for h in institution.business_hours.all()} if institution else {}
        for weekday, label in BusinessHours.WEEKDAYS:
            h = current.get(weekday)
            initial = "" if h is None or h.is_closed else f"{h.opens_at:%H:%M}-{h.closes_at:%H:%M}"
            self.fields[f"day_{weekday}"] = forms.CharField(
                label=label, required=False, initial=initial,
                help_text=_("e.g. 09:00-17:00; empty means closed"),
            )

    def clean(self):
        from django.core.exceptions import ValidationError

        from .services import parse_hours

        data = super().clean()
        hours = {}
        for weekday in range(7):
            try:
                hours[weekday] = parse_hours(data.get(f"day_{weekday}", ""))
            except ValidationError as exc:
                self.add_error(f"day_{weekday}", exc)
        data["hours"] = hours
        return data


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ["institution", "code", "name", "is_business", "is_review", "is_secretariat", "is_active", "sort_order"]

    def __init__(self, *args, visible=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visible is not None:
            self.fields["institution"].queryset = visible.exclude(level=Level.OUTLET)


class StaffForm(forms.Form):
    staff_no = forms.CharField(label=_("staff number"), max_length=32)
    name = forms.CharField(label=_("full name"), max_length=64)
    username = forms.CharField(label=_("user name"), max_length=150, required=False,
                               help_text=_("Defaults to the staff number."))
    institution = forms.ModelChoiceField(label=_("institution"), queryset=Institution.objects.none())
    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.none(), required=False)
    post = forms.ModelChoiceField(label=_("post"), queryset=Post.objects.filter(is_active=True), required=False)
    teller_no = forms.CharField(label=_("teller number"), max_length=16, required=False,
                                help_text=_("As in the core banking system; ratings map to the person by it."))
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    roles = forms.MultipleChoiceField(label=_("roles"), choices=Role.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("in service"), required=False, initial=True)

    def __init__(self, *args, visible=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if visible is not None:
            self.fields["institution"].queryset = visible
            self.fields["department"].queryset = Department.objects.filter(institution__in=visible, is_active=True)
        if editing:
            self.fields["username"].disabled = True


class ImportForm(forms.Form):
    file = forms.FileField(label=_("xlsx file"), help_text=_("The workbook exported from BranchOps or the same layout."))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Upload an .xlsx workbook."))
        return f
