"""The queue settings form: it only parses; ``services.save_settings`` holds the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import labels
from .models import QueueSettings
from .services import SETTINGS_FIELDS


class TypeMappingField(forms.CharField):
    """The queue-type mapping as lines ``column: value in the log = product code`` (a textarea is what a
    secretary can edit; the API takes the same mapping as an object)."""

    widget = forms.Textarea(attrs={"rows": 6, "placeholder": "business_type: 取现 = cash_withdrawal\n"
                                                              "customer_tier: 贵宾 = vip"})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{column}: {log} = {code}" for column, codes in value.items()
                             for log, code in (codes or {}).items())
        return value

    def to_python(self, value):
        mapping: dict[str, dict[str, str]] = {}
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            column, colon, rest = line.partition(":")
            log, equals, code = rest.rpartition("=")
            if not colon or not equals or not log.strip() or not code.strip():
                raise forms.ValidationError(
                    _("Line %(line)s: write “column: value in the log = product code”.") % {"line": number})
            mapping.setdefault(column.strip(), {})[log.strip()] = code.strip()
        return mapping


class QueueSettingsForm(forms.ModelForm):
    type_mapping = TypeMappingField(label=_("queue-type mapping"), required=False)

    class Meta:
        model = QueueSettings
        fields = SETTINGS_FIELDS
        widgets = {"opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.help_text = labels.SETTING_EFFECTS.get(name, field.help_text)
