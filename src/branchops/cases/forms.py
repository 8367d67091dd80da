"""Forms of the case pages: one form per case type to open a case, and the small action forms of
the detail page. Forms only parse input and offer the choices ``rules`` allows; every rule is
checked again by the services."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branchops.core import clock
from branchops.org.models import Department, Institution

from . import rules
from .models import (
    COMPLAINT_CHANNELS,
    RECTIFICATION_CHANNELS,
    CaseType,
    Category,
    Channel,
    ComplaintCode,
    ComplaintDetail,
    Extension,
    Outcome,
    Priority,
    id_number_validator,
    phone_validator,
)

User = get_user_model()

INDENT = "\u3000"  # a full-width space: indents sub-entries in a <select> in Chinese and English alike


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{INDENT}{obj.name}" if obj.parent_id else obj.name


class CodeChoiceField(forms.ModelChoiceField):
    """A complaint code, indented by its level in the standard's hierarchy."""

    def label_from_instance(self, obj):
        return f"{INDENT * max(obj.level - 1, 0)}{obj.code} {obj.name}"


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        staff = getattr(obj, "staff", None)
        return f"{staff.name} · {staff.institution.name}" if staff else obj.get_username()


def complaint_codes(dimension: str):
    """The codes of one dimension in force today, in code order (parents before their children)."""
    today = clock.today()
    return (ComplaintCode.objects.filter(dimension=dimension, effective_from__lte=today)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=today)).order_by("code"))


# --- opening a case ------------------------------------------------------------------------------

class CaseForm(forms.Form):
    """What every case type asks for. Subclasses add their own fields and ``open_kwargs``."""

    case_type = ""
    title = forms.CharField(label=_("title"), max_length=200)
    description = forms.CharField(label=_("description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    institution = forms.ModelChoiceField(label=_("outlet / institution"), queryset=Institution.objects.none())
    category = CategoryChoiceField(label=_("category"), queryset=Category.objects.none(), required=False)
    priority = forms.ChoiceField(label=_("priority"), choices=Priority.choices, initial=Priority.NORMAL)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        institutions = rules.opening_institutions(user)
        self.fields["institution"].queryset = institutions
        staff = getattr(user, "staff", None)
        if staff is not None and "institution" not in self.initial:
            self.initial["institution"] = staff.institution_id
        elif institutions.count() == 1:
            self.initial["institution"] = institutions.first().pk
        self.fields["category"].queryset = (Category.objects.filter(case_type=self.case_type, is_active=True)
                                            .select_related("parent"))

    def open_kwargs(self) -> dict:
        """The keyword arguments of ``services.open_case``."""
        d = self.cleaned_data
        return {"case_type": self.case_type, "institution": d["institution"], "title": d["title"],
                "description": d["description"], "category": d["category"], "priority": d["priority"]}


class FeedbackForm(CaseForm):
    case_type = CaseType.FEEDBACK


class SupportForm(CaseForm):
    case_type = CaseType.SUPPORT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].required = True
        self.fields["category"].help_text = _("The category decides which department handles the request.")


class RectificationForm(CaseForm):
    case_type = CaseType.RECTIFICATION
    CHANNELS = [(c.value, c.label) for c in RECTIFICATION_CHANNELS]

    channel = forms.ChoiceField(label=_("opened from"), choices=CHANNELS)
    evidence_required = forms.CharField(
        label=_("evidence required"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the outlet must show to prove the rectification (photos, records, training sign-in …)."))

    field_order = ["title", "channel", "institution", "category", "priority", "description", "evidence_required"]

    def open_kwargs(self) -> dict:
        return super().open_kwargs() | {"channel": self.cleaned_data["channel"],
                                        "rectification": {"evidence_required": self.cleaned_data["evidence_required"]}}


class ComplaintForm(CaseForm):
    case_type = CaseType.COMPLAINT
    # A particularly complex complaint (60 days) needs a senior manager's approval: set it later on
    # the case page, not at intake.
    COMPLEXITIES = [(c.value, c.label) for c in (ComplaintDetail.Complexity.NORMAL,
                                                 ComplaintDetail.Complexity.COMPLEX)]

    channel = forms.ChoiceField(label=_("channel"), choices=[("", "---------")] + [(c.value, c.label)
                                                                                   for c in COMPLAINT_CHANNELS])
    received_at = forms.DateTimeField(label=_("received at"), widget=DateTimeInput())
    complainant_name = forms.CharField(label=_("complainant name"), max_length=64)
    complainant_phone = forms.CharField(label=_("complainant phone"), max_length=32, required=False,
                                        validators=[phone_validator])
    complainant_id_number = forms.CharField(label=_("complainant ID number"), max_length=32, required=False,
                                            validators=[id_number_validator])
    is_major = forms.BooleanField(
        label=_("major complaint"), required=False,
        help_text=_("Fast track: the branch leader and the consumer-protection department are told at once."))
    complexity = forms.ChoiceField(label=_("complexity"), choices=COMPLEXITIES,
                                   initial=ComplaintDetail.Complexity.NORMAL)
    regulator_reference = forms.CharField(label=_("regulator reference"), max_length=64, required=False)
    regulator_due = forms.DateField(label=_("regulator's deadline"), required=False, widget=DateInput())
    channel_code = CodeChoiceField(label=_("business-handling channel"), queryset=ComplaintCode.objects.none(),
                                   required=False)
    business_code = CodeChoiceField(label=_("business type"), queryset=ComplaintCode.objects.none(),
                                    required=False)
    cause_code = CodeChoiceField(label=_("cause"), queryset=ComplaintCode.objects.none(), required=False)

    field_order = ["title", "channel", "received_at", "institution", "category", "priority", "description",
                   "complainant_name", "complainant_phone", "complainant_id_number", "is_major", "complexity",
                   "regulator_reference", "regulator_due", "channel_code", "business_code", "cause_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("received_at", clock.localtime().replace(second=0, microsecond=0))
        for dimension in ("channel", "business", "cause"):
            self.fields[f"{dimension}_code"].queryset = complaint_codes(dimension)
        self.fields["complainant_name"].widget.attrs["autocomplete"] = "off"
        self.fields["complainant_phone"].widget.attrs.update(autocomplete="off", inputmode="tel")
        self.fields["complainant_id_number"].widget.attrs["autocomplete"] = "off"

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        if refusal := rules.receipt_refusal(value):
            raise forms.ValidationError(refusal)
        return value

    def clean(self):
        data = super().clean()
        if data.get("channel") == Channel.REGULATOR:
            if not data.get("regulator_due"):
                self.add_error("regulator_due", _("A complaint transferred by the regulator carries its deadline."))
        else:
            data["regulator_reference"], data["regulator_due"] = "", None
        return data

    def open_kwargs(self) -> dict:
        d = self.cleaned_data
        detail = {k: d[k] for k in ("complainant_name", "complainant_phone", "complainant_id_number", "complexity",
                                    "regulator_reference", "regulator_due", "channel_code", "business_code",
                                    "cause_code")}
        return super().open_kwargs() | {"channel": d["channel"], "received_at": d["received_at"],
                                        "is_major": d["is_major"], "complaint": detail}


OPEN_FORMS = {
    CaseType.COMPLAINT: ComplaintForm,
    CaseType.FEEDBACK: FeedbackForm,
    CaseType.SUPPORT: SupportForm,
    CaseType.RECTIFICATION: RectificationForm,
}


# --- actions on a case ---------------------------------------------------------------------------

class ActionForm(forms.Form):
    """Every action carries the version of the case the user saw, so a stale page is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, case, user, **kwargs):
        kwargs.setdefault("initial", {"version": case.version})
        super().__init__(*args, **kwargs)
        self.case, self.user = case, user


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(ActionForm):
    assignee = StaffChoiceField(label=_("person"), queryset=User.objects.none(), required=False)
    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.none(), required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inst = self.case.institution
        chain = inst.ancestor_ids()
        # The case's line: its institution, those above it and those under it.
        line = Institution.objects.filter(Q(pk__in=chain) | Q(path__startswith=inst.path))
        self.fields["assignee"].queryset = (
            User.objects.filter(is_active=True, staff__is_active=True, staff__institution__in=line)
            .select_related("staff__institution").order_by("-staff__institution__depth", "staff__staff_no"))
        self.fields["department"].queryset = Department.objects.filter(institution_id__in=chain, is_active=True)
        self.initial.setdefault("assignee", self.case.assignee_id)
        self.initial.setdefault("department", self.case.assignee_department_id)

    def clean(self):
        data = super().clean()
        if not data.get("assignee") and not data.get("department"):
            raise forms.ValidationError(_("Choose a person or a department."))
        return data


class ResolveForm(ActionForm):
    outcome = forms.ChoiceField(label=_("outcome"), choices=Outcome.choices)
    resolution = forms.CharField(label=_("resolution"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hidden = {Outcome.ON_THE_SPOT: "complaint", Outcome.TO_MEETING: "feedback"}
        self.fields["outcome"].choices = [(v, label) for v, label in Outcome.choices
                                          if hidden.get(v, self.case.case_type) == self.case.case_type]


class ComplexityForm(ActionForm):
    complexity = forms.ChoiceField(label=_("complexity"), choices=ComplaintDetail.Complexity.choices)
    customer_notified = forms.BooleanField(label=_("the customer was told of the extension"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        detail = getattr(self.case, "complaint", None)
        if detail is not None:
            self.initial.setdefault("complexity", detail.complexity)
        # The 60-day extension is approved by a senior manager above the outlet: others don't see it.
        may_approve = rules.can_approve_particular_complexity(self.user, self.case)
        current = detail.complexity if detail is not None else ""
        particular = ComplaintDetail.Complexity.PARTICULARLY_COMPLEX
        if not may_approve and current != particular:
            self.fields["complexity"].choices = [c for c in ComplaintDetail.Complexity.choices if c[0] != particular]


class ExtensionForm(ActionForm):
    days = forms.IntegerField(label=_("days"), min_value=1, max_value=60)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        policy = self.case.sla_policy
        if policy is not None and policy.max_extension_days:
            self.fields["days"].max_value = policy.max_extension_days
            self.fields["days"].widget.attrs["max"] = policy.max_extension_days
            self.fields["days"].help_text = _("At most %(n)s days under this case's policy.") % {
                "n": policy.max_extension_days}


class DecideExtensionForm(ActionForm):
    extension = forms.ModelChoiceField(queryset=Extension.objects.none(), widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(label=_("decision"), coerce=lambda v: v == "1",
                                     choices=[("1", _("Approve")), ("0", _("Reject"))])
    note = forms.CharField(label=_("note"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extension"].queryset = self.case.extensions.filter(state=Extension.State.REQUESTED)


class CallbackForm(ActionForm):
    satisfaction = forms.ChoiceField(label=_("satisfaction"), choices=ComplaintDetail.Satisfaction.choices)
    note = forms.CharField(label=_("call-back note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RootCauseForm(ActionForm):
    root_cause = forms.CharField(label=_("root cause"), widget=forms.Textarea(attrs={"rows": 3}))
    improvement = forms.CharField(label=_("improvement made"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        detail = getattr(self.case, "complaint", None)
        if detail is not None:
            self.initial.setdefault("root_cause", detail.root_cause)
            self.initial.setdefault("improvement", detail.improvement)


class ClassifyForm(ActionForm):
    channel_code = CodeChoiceField(label=_("business-handling channel"), queryset=ComplaintCode.objects.none(),
                                   required=False)
    business_code = CodeChoiceField(label=_("business type"), queryset=ComplaintCode.objects.none(),
                                    required=False)
    cause_code = CodeChoiceField(label=_("cause"), queryset=ComplaintCode.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        detail = getattr(self.case, "complaint", None)
        for dimension in ("channel", "business", "cause"):
            name = f"{dimension}_code"
            self.fields[name].queryset = complaint_codes(dimension)
            if detail is not None:
                self.initial.setdefault(name, getattr(detail, f"{name}_id"))


class EvidenceForm(ActionForm):
    evidence = forms.CharField(label=_("evidence provided"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        detail = getattr(self.case, "rectification", None)
        if detail is not None and detail.evidence:
            self.initial.setdefault("evidence", detail.evidence)


class VerifyForm(ActionForm):
    passed = forms.TypedChoiceField(label=_("result"), coerce=lambda v: v == "1", widget=forms.RadioSelect,
                                    choices=[("1", _("Passed: the rectification is done")),
                                             ("0", _("Failed: send it back to the outlet"))])
    note = forms.CharField(label=_("verification note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required when the verification fails."))


class TriageForm(ActionForm):
    CHOICES = [("answer", _("Answer the outlet")), ("assign", _("Hand to a department")),
               ("to_meeting", _("Put on the next coordination meeting's agenda"))]
    action = forms.ChoiceField(label=_("triage"), choices=CHOICES, widget=forms.RadioSelect)
    answer = forms.CharField(label=_("answer"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.none(), required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            institution_id__in=self.case.institution.ancestor_ids(), is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("action") == "answer" and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Write the answer to the outlet."))
        if data.get("action") == "assign" and not data.get("department"):
            self.add_error("department", _("Choose the department."))
        return data


class CommentForm(ActionForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    body = forms.CharField(label=_("comment"), widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(ActionForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    file = forms.FileField(label=_("file"))
