"""Forms of the coordination pages: the item form, the reviewer's opinion, the decision with its
conditions, and the small action forms of the item and meeting pages.

Forms only parse input: each action form's ``action_data()`` is the keyword arguments of its
service (``actions.py`` runs it); every rule is checked by the services (``services.py``)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from branchops.org.models import Cluster, Department, Institution, Level, OutletType

from .models import (
    Condition,
    Decision,
    FeedbackEntry,
    Item,
    ItemAttachment,
    Meeting,
    Opinion,
    PostReview,
    ReviewDimension,
    ReviewOutcome,
)
from .queries import review_gap
from .services import branch_of, remit_of

User = get_user_model()

CONDITION_ROWS = 3  # blank condition rows offered with a decision


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class OutletChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.code}）"


class StaffUserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        staff = getattr(obj, "staff", None)
        return f"{staff.name} · {staff.department or staff.institution.name}" if staff else obj.get_username()


class StaffUsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return StaffUserChoiceField.label_from_instance(self, obj)


def _branch_for(user, item: Item | None):
    if item is not None:
        return branch_of(item.department.institution)
    staff = getattr(user, "staff", None)
    return branch_of(staff.institution) if staff is not None else None


class Section:
    """Some of a form's fields, drawn with ``includes/form_fields.html`` as if they were a form."""

    def __init__(self, form, names):
        self.form, self.names = form, names
        self.use_required_attribute = form.use_required_attribute

    def visible_fields(self):
        return [self.form[name] for name in self.names]

    def hidden_fields(self):
        return []

    def non_field_errors(self):
        return []


# --- the item ------------------------------------------------------------------------------------

class ItemForm(forms.ModelForm):
    """Drafting or editing an item. Never saved by the form: the view hands ``service_kwargs()``
    to ``services.save_item``."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Item
        fields = ["title", "item_type", "background", "actions", "target_mode", "target_types", "target_clusters",
                  "target_list", "effort_hours", "window_start", "window_end", "urgency", "customer_facing",
                  "customer_impact", "online_justification"]
        widgets = {
            "background": forms.Textarea(attrs={"rows": 5}),
            "actions": forms.Textarea(attrs={"rows": 4}),
            "target_mode": forms.RadioSelect,
            "target_types": forms.CheckboxSelectMultiple,
            "target_clusters": forms.CheckboxSelectMultiple,
            "window_start": DateInput(),
            "window_end": DateInput(),
            "customer_impact": forms.Textarea(attrs={"rows": 3}),
            "online_justification": forms.Textarea(attrs={"rows": 4}),
        }
        field_classes = {"target_list": OutletChoiceField}

    def __init__(self, *args, user, item: Item | None = None, **kwargs):
        super().__init__(*args, instance=item, **kwargs)
        self.user = user
        if item is not None:
            self.initial.setdefault("version", item.version)
        branch = _branch_for(user, item)
        outlets = Institution.objects.filter(level=Level.OUTLET, is_active=True)
        clusters = Cluster.objects.all()
        if branch is not None:
            outlets = outlets.filter(path__startswith=branch.path)
            clusters = clusters.filter(institution__path__startswith=branch.path)
        else:
            outlets, clusters = outlets.none(), clusters.none()
        self.fields["target_list"].queryset = outlets.order_by("path")
        self.fields["target_list"].widget.attrs["size"] = 8
        self.fields["target_list"].help_text = _("Hold Ctrl (or ⌘) to choose several outlets.")
        self.fields["target_clusters"].queryset = clusters
        self.fields["target_types"].queryset = OutletType.objects.filter(is_active=True)
        self.fields["effort_hours"].widget.attrs.update(min="0", step="0.5")
        self.fields["effort_hours"].help_text = _("Person-hours each outlet spends on it over the whole window.")

    SECTIONS = {
        "what": ["title", "item_type", "urgency", "background", "actions"],
        "online": ["online_justification"],
        "customers": ["customer_facing", "customer_impact"],
        "targets": ["target_mode", "target_types", "target_clusters", "target_list"],
        "effort": ["effort_hours", "window_start", "window_end"],
    }

    @property
    def sections(self) -> dict[str, Section]:
        return {key: Section(self, names) for key, names in self.SECTIONS.items()}

    def clean(self):
        data = super().clean()
        mode = data.get("target_mode")
        needs = {"by_type": "target_types", "by_cluster": "target_clusters", "list": "target_list"}
        if mode in needs and not data.get(needs[mode]):
            self.add_error(needs[mode], _("Choose at least one."))
        return data

    def service_kwargs(self) -> dict:
        """The keyword arguments of ``services.save_item``."""
        d = dict(self.cleaned_data)
        version = d.pop("version", None)
        kwargs = {name: d.pop(name) for name in ("target_types", "target_clusters", "target_list")}
        kwargs.update(d)
        if self.instance.pk is not None:
            kwargs["expected_version"] = version
        return kwargs


# --- actions on an item --------------------------------------------------------------------------

class ActionForm(forms.Form):
    """Every action carries the version of the item the user saw, so a stale page is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    NOT_INPUT = ("version",)

    def __init__(self, *args, item: Item, user, **kwargs):
        kwargs.setdefault("initial", {"version": item.version})
        super().__init__(*args, **kwargs)
        self.item, self.user = item, user

    def action_data(self) -> dict:
        """The service's keyword arguments (the version goes as ``expected_version``, by the view)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in self.NOT_INPUT}


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("reason"), max_length=200, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class RequiredReasonForm(ActionForm):
    reason = forms.CharField(label=_("reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class AttachmentForm(ActionForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=ItemAttachment.Kind.choices)
    file = forms.FileField(label=_("file"), help_text=_("At most 20 MB."))

    def action_data(self) -> dict:
        return {"kind": self.cleaned_data["kind"], "upload": self.cleaned_data["file"]}


class RevisionForm(ActionForm):
    """A new version of a decided item's material (the service holds the rules: who, which condition)."""

    replaces = forms.TypedChoiceField(label=_("material revised"), coerce=int, required=False, empty_value=None)
    kind = forms.ChoiceField(label=_("kind (of a new material)"), required=False,
                             choices=[("", "—"), *ItemAttachment.Kind.choices])
    condition = forms.TypedChoiceField(label=_("condition it meets"), coerce=int, required=False, empty_value=None)
    reason = forms.CharField(label=_("why it is revised"), max_length=200)
    file = forms.FileField(label=_("file"), help_text=_("At most 20 MB."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.item.attachments.filter(is_current=True)
        self.fields["replaces"].choices = [("", _("— a new material —"))] + [
            (a.pk, f"{a.get_kind_display()} v{a.version}: {a.name}") for a in current]
        self.fields["condition"].choices = [("", "—")] + [
            (c.pk, c.text[:60]) for c in self.item.conditions.exclude(status=Condition.Status.SIGNED_OFF)]

    def action_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["upload"] = data.pop("file")
        return {k: v for k, v in data.items() if k not in self.NOT_INPUT}


class ScheduleForm(ActionForm):
    meeting = forms.ModelChoiceField(label=_("meeting"), queryset=Meeting.objects.none())
    reason = forms.CharField(label=_("reason (needed once the agenda is frozen)"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        branch = branch_of(self.item.department.institution)
        self.fields["meeting"].queryset = (Meeting.objects.filter(
            branch=branch, status__in=[Meeting.Status.PLANNED, Meeting.Status.FROZEN])
            .exclude(pk=self.item.meeting_id).order_by("held_on"))


class OpinionForm(ActionForm):
    """A review department's opinion: per dimension of its remit "no concern" or a concern with
    text and a proposed condition, and the overall recommendation."""

    CONCERN_CHOICES = [("0", _("No concern")), ("1", _("Concern"))]

    recommendation = forms.ChoiceField(label=_("recommendation"), choices=Opinion.Recommendation.choices,
                                       widget=forms.RadioSelect)

    def __init__(self, *args, department: Department | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        staff = getattr(self.user, "staff", None)
        self.department = department or (staff.department if staff is not None else None)
        self.dimensions = list(remit_of(self.department)) if self.department is not None else []
        opinion = self.item.opinions.filter(department=self.department).prefetch_related("lines").first()
        given = {line.dimension_id: line for line in opinion.lines.all()} if opinion is not None else {}
        if opinion is not None and opinion.recommendation:
            self.initial.setdefault("recommendation", opinion.recommendation)
        for dim in self.dimensions:
            line = given.get(dim.pk)
            self.fields[f"dim_{dim.pk}_concern"] = forms.TypedChoiceField(
                label=dim.name, choices=self.CONCERN_CHOICES, coerce=lambda v: v == "1", initial="0",
                widget=forms.RadioSelect)
            self.fields[f"dim_{dim.pk}_text"] = forms.CharField(
                label=_("concern"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[f"dim_{dim.pk}_proposed"] = forms.CharField(
                label=_("proposed condition"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
            if line is not None:
                self.initial.setdefault(f"dim_{dim.pk}_concern", "1" if line.concern else "0")
                self.initial.setdefault(f"dim_{dim.pk}_text", line.text)
                self.initial.setdefault(f"dim_{dim.pk}_proposed", line.proposed_condition)

    def rows(self) -> list[dict]:
        """The dimensions with their bound fields, for the template."""
        return [{"dimension": d, "concern": self[f"dim_{d.pk}_concern"], "text": self[f"dim_{d.pk}_text"],
                 "proposed": self[f"dim_{d.pk}_proposed"]} for d in self.dimensions]

    def clean(self):
        data = super().clean()
        for dim in self.dimensions:
            if data.get(f"dim_{dim.pk}_concern") and not (data.get(f"dim_{dim.pk}_text") or "").strip():
                self.add_error(f"dim_{dim.pk}_text", _("Describe the concern."))
        return data

    def action_data(self) -> dict:
        return {"recommendation": self.cleaned_data["recommendation"], "lines": self.lines(),
                "department": self.department}

    def lines(self) -> list[dict]:
        d = self.cleaned_data
        return [{"dimension": dim.pk, "concern": d[f"dim_{dim.pk}_concern"],
                 "text": d[f"dim_{dim.pk}_text"] if d[f"dim_{dim.pk}_concern"] else "",
                 "proposed_condition": d[f"dim_{dim.pk}_proposed"] if d[f"dim_{dim.pk}_concern"] else ""}
                for dim in self.dimensions]

    def error_field(self, key: str) -> str | None:
        """The form field of a service error key (``lines.<i>.<field>``)."""
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(self.dimensions):
            suffix = {"text": "text", "proposed_condition": "proposed"}.get(parts[2], "concern")
            return f"dim_{self.dimensions[int(parts[1])].pk}_{suffix}"
        return key if key in self.fields else None


class DecideForm(ActionForm):
    """The decision on an item, with up to ``CONDITION_ROWS`` conditions (blank rows are ignored)."""

    decision = forms.ChoiceField(label=_("decision"), choices=Decision.choices, widget=forms.RadioSelect)
    reasons = forms.CharField(label=_("reasons"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Required for a rejection."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        branch = branch_of(self.item.department.institution)
        departments = Department.objects.filter(institution=branch, is_active=True)
        self.initial.setdefault("c0_owner", self.item.department_id)
        for i in range(CONDITION_ROWS):
            self.fields[f"c{i}_text"] = forms.CharField(label=_("condition"), required=False,
                                                        widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[f"c{i}_owner"] = forms.ModelChoiceField(label=_("owner department"), required=False,
                                                                queryset=departments)
            self.fields[f"c{i}_due"] = forms.DateField(label=_("due date"), required=False, widget=DateInput(),
                                                       help_text=_("Empty: the default number of working days "
                                                                   "after the meeting."))
            self.fields[f"c{i}_proof"] = forms.CharField(label=_("what proves it met"), max_length=200,
                                                         required=False)
        self._used_rows: list[int] = []

    def action_data(self) -> dict:
        return {"decision": self.cleaned_data["decision"], "reasons": self.cleaned_data["reasons"],
                "conditions": self.conditions()}

    def condition_rows(self) -> list[dict]:
        return [{"n": i + 1, "text": self[f"c{i}_text"], "owner": self[f"c{i}_owner"], "due": self[f"c{i}_due"],
                 "proof": self[f"c{i}_proof"]} for i in range(CONDITION_ROWS)]

    def conditions(self) -> list[dict]:
        """The filled-in condition rows as ``services.record_decision`` takes them. A row with only
        the (preset) owner department is blank."""
        d = self.cleaned_data
        out, self._used_rows = [], []
        for i in range(CONDITION_ROWS):
            filled = ((d.get(f"c{i}_text") or "").strip() or (d.get(f"c{i}_proof") or "").strip()
                      or d.get(f"c{i}_due"))
            if not filled:
                continue
            self._used_rows.append(i)
            out.append({"text": d.get(f"c{i}_text") or "", "owner_department": d.get(f"c{i}_owner"),
                        "due_date": d.get(f"c{i}_due"), "proof": d.get(f"c{i}_proof") or ""})
        return out

    def error_field(self, key: str) -> str | None:
        """The form field of a service error key (``conditions.<i>.<field>``)."""
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "conditions" and parts[1].isdigit() \
                and int(parts[1]) < len(self._used_rows):
            row = self._used_rows[int(parts[1])]
            return f"c{row}_" + {"text": "text", "owner_department": "owner", "proof": "proof"}.get(parts[2], "text")
        return key if key in self.fields else None


class WaiverForm(ActionForm):
    """The chair waives required dimensions still missing, with a reason."""

    dimensions = forms.ModelMultipleChoiceField(label=_("dimensions to waive"), queryset=ReviewDimension.objects.none(),
                                                widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("reason for the waiver"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        missing = [row["dimension"].pk for row in review_gap(self.item)]
        self.fields["dimensions"].queryset = ReviewDimension.objects.filter(pk__in=missing)

    def action_data(self) -> dict:
        return {"dimensions": list(self.cleaned_data["dimensions"]), "reason": self.cleaned_data["reason"]}


class ConditionForm(ActionForm):
    """An action on one condition of the item."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    condition = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    NOT_INPUT = ("version", "condition")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["condition"].queryset = self.item.conditions.all()


class ConditionMetForm(ConditionForm):
    evidence = forms.CharField(label=_("evidence"), widget=forms.Textarea(attrs={"rows": 2}))


class ConditionSignoffForm(ConditionForm):
    accept = forms.TypedChoiceField(label=_("sign-off"), coerce=lambda v: v == "1",
                                    choices=[("1", _("Sign off")), ("0", _("Send back"))])
    note = forms.CharField(label=_("what is still missing"), required=False, max_length=500)


class ReleaseForm(ActionForm):
    stagger_groups = forms.IntegerField(label=_("stagger in groups"), min_value=1, max_value=12, initial=1,
                                        help_text=_("1 = every outlet starts at the window's start; more groups "
                                                    "start one week after another, all inside the approved "
                                                    "window."))
    override_reason = forms.CharField(label=_("release despite the capacity or blackout warning because"),
                                      max_length=200, required=False)


class YieldForm(ActionForm):
    """Accept the release check's proposal: a lower-urgency item's work moves to make room."""

    yield_number = forms.CharField(widget=forms.HiddenInput, max_length=32)
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)


# --- meetings ------------------------------------------------------------------------------------

class MeetingForm(forms.Form):
    held_on = forms.DateField(label=_("date"), widget=DateInput())
    location = forms.CharField(label=_("location"), max_length=100, required=False)
    chair = StaffUserChoiceField(label=_("chair"), queryset=User.objects.none(), required=False,
                                 help_text=_("A branch leader, or the head of operations management."))

    def __init__(self, *args, branch=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branch is not None:
            self.fields["chair"].queryset = chair_candidates(branch)


def chair_candidates(branch):
    """The people offered as chair: active staff of the branch in a chairing role (the service checks)."""
    from .rules import CHAIR_ROLES

    return (User.objects.filter(is_active=True, staff__is_active=True, staff__institution=branch,
                                groups__name__in=[str(r) for r in CHAIR_ROLES]).distinct()
            .select_related("staff__department", "staff__institution").order_by("staff__staff_no"))


class MeetingActionForm(forms.Form):
    """An action on a meeting; without input unless a subclass adds it."""

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting = meeting

    def action_data(self) -> dict:
        return {}


class AttendanceForm(MeetingActionForm):
    attendees = StaffUsersChoiceField(label=_("present"), queryset=User.objects.none())
    observers = StaffUsersChoiceField(label=_("in attendance"), queryset=User.objects.none(), required=False)
    on_leave = StaffUsersChoiceField(label=_("on leave"), queryset=User.objects.none(), required=False)
    chair = StaffUserChoiceField(label=_("chair"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, meeting: Meeting, **kwargs):
        kwargs.setdefault("initial", {"attendees": list(meeting.attendees.values_list("pk", flat=True)),
                                      "observers": list(meeting.observers.values_list("pk", flat=True)),
                                      "on_leave": list(meeting.on_leave.values_list("pk", flat=True)),
                                      "chair": meeting.chair_id})
        super().__init__(*args, meeting=meeting, **kwargs)
        # What is offered; the service checks again that everyone is active staff of the branch.
        people = (User.objects.filter(is_active=True, staff__is_active=True, staff__institution=meeting.branch)
                  .select_related("staff__department", "staff__institution")
                  .order_by("staff__department__sort_order", "staff__department__code", "staff__staff_no"))
        for name in ("attendees", "observers", "on_leave"):
            self.fields[name].queryset = people
            self.fields[name].widget.attrs["size"] = 10 if name == "attendees" else 5
        self.fields["chair"].queryset = people

    def action_data(self) -> dict:
        return {"attendees": list(self.cleaned_data["attendees"]), "chair": self.cleaned_data["chair"],
                "observers": list(self.cleaned_data["observers"]), "on_leave": list(self.cleaned_data["on_leave"])}


class ChairForm(MeetingActionForm):
    chair = StaffUserChoiceField(label=_("chair"), queryset=User.objects.none(),
                                 help_text=_("A branch leader, or the head of operations management."))

    def __init__(self, *args, meeting: Meeting, **kwargs):
        kwargs.setdefault("initial", {"chair": meeting.chair_id})
        super().__init__(*args, meeting=meeting, **kwargs)
        self.fields["chair"].queryset = chair_candidates(meeting.branch)

    def action_data(self) -> dict:
        return {"chair": self.cleaned_data["chair"]}


class AgendaItemForm(MeetingActionForm):
    """Reordering: one item of the agenda and the direction it moves."""

    item = forms.ModelChoiceField(queryset=Item.objects.none())
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, meeting=meeting, **kwargs)
        self.fields["item"].queryset = meeting.items.all()

    def action_data(self) -> dict:
        """The agenda's new order: the item swapped with its neighbour (at an end, unchanged)."""
        order = list(self.meeting.items.order_by("agenda_order", "id").values_list("pk", flat=True))
        i = order.index(self.cleaned_data["item"].pk)
        j = i - 1 if self.cleaned_data["direction"] == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
        return {"item_ids": order}


class NotesForm(MeetingActionForm):
    notes = forms.CharField(label=_("notes and other business (其他事项)"), required=False, max_length=10_000,
                            widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, meeting: Meeting, **kwargs):
        kwargs.setdefault("initial", {"notes": meeting.notes})
        super().__init__(*args, meeting=meeting, **kwargs)

    def action_data(self) -> dict:
        return {"notes": self.cleaned_data["notes"]}


class FeedbackForm(forms.Form):
    """An action on a feedback entry of the meeting."""

    def __init__(self, *args, entry: FeedbackEntry, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry = entry

    def action_data(self) -> dict:
        return dict(self.cleaned_data)


class FeedbackAnswerForm(FeedbackForm):
    answer = forms.CharField(label=_("the meeting's answer"), max_length=10_000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_department = forms.ModelChoiceField(label=_("follow-up department"), required=False,
                                                  queryset=Department.objects.none())
    follow_up_person = StaffUserChoiceField(label=_("follow-up person"), required=False,
                                            queryset=User.objects.none())
    follow_up_due = forms.DateField(label=_("follow-up due"), widget=DateInput())

    def __init__(self, *args, entry: FeedbackEntry, **kwargs):
        super().__init__(*args, entry=entry, **kwargs)
        branch = entry.meeting.branch
        self.fields["follow_up_department"].queryset = Department.objects.filter(institution=branch, is_active=True)
        self.fields["follow_up_person"].queryset = (
            User.objects.filter(is_active=True, staff__is_active=True, staff__institution=branch)
            .select_related("staff__department").order_by("staff__department__code", "staff__staff_no"))


class FeedbackDoneForm(FeedbackForm):
    note = forms.CharField(label=_("what was done"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))


class PostReviewForm(forms.Form):
    """The outcome of a post-implementation review on the meeting's agenda."""

    outcome = forms.ChoiceField(label=_("outcome"), choices=ReviewOutcome.choices)
    note = forms.CharField(label=_("the meeting's conclusion"), max_length=10_000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, entry: PostReview, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry = entry

    def action_data(self) -> dict:
        return dict(self.cleaned_data)
