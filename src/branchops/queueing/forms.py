"""The queue settings form: it only parses; ``services.save_settings`` holds the rules."""

from django import forms

from . import labels
from .models import QueueSettings
from .services import SETTINGS_FIELDS


class QueueSettingsForm(forms.ModelForm):
    class Meta:
        model = QueueSettings
        fields = SETTINGS_FIELDS
        widgets = {"opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.help_text = labels.SETTING_EFFECTS.get(name, field.help_text)
