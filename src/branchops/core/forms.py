from django import forms
from django.utils.translation import gettext_lazy as _


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
    days = forms.TypedChoiceField(
        label=_("Valid for"), coerce=int,
        choices=[(30, _("30 days")), (90, _("90 days")), (365, _("1 year"))], initial=90,
    )
    read_only = forms.BooleanField(label=_("Read-only (for reports: it cannot change anything)"), required=False)


def error_text(exc, form=None) -> str:
    """A service's ValidationError as one line for a page's message, each field named by the form's label."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for name, errors in exc.message_dict.items():
        label = form.fields[name].label if form is not None and name in form.fields else None
        parts += [f"{label}: {e}" if label else e for e in errors]
    return " ".join(parts)


def form_errors(form) -> str:
    """A form's errors as one line for a page's message."""
    return " ".join(f"{form.fields[f].label if f in form.fields else ''}: {e}".lstrip(": ")
                    for f, errs in form.errors.items() for e in errs)
