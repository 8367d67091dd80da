"""A password validator with two duties Django's hooks give it: a new password must differ from the
current one, and once a password has changed every API token of its owner is revoked — a stolen
password must not leave a working token behind."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class DifferentFromCurrentPassword:
    def validate(self, password, user=None):
        if user is not None and user.pk and user.has_usable_password() and user.check_password(password):
            raise ValidationError(_("The new password must differ from the current one."),
                                  code="password_unchanged")

    def password_changed(self, password, user=None):
        # Called by Django after a changed password was saved (User.save → password_changed).
        if user is not None and user.pk:
            from .services import revoke_all_api_tokens

            revoke_all_api_tokens(user, reason="password_changed")

    def get_help_text(self):
        return _("Your new password must differ from the current one.")
