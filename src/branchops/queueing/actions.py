"""The log-import actions, declared once (DESIGN.md §2): confirming or cancelling a replace-mode import
after its preview, and undoing a finished import. The import page offers what ``can`` allows, the API
answers ``allowed_actions``, and both run an action only through ``IMPORT_ACTIONS``."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Action, ActionTable, rule
from branchops.core.api import ActionInput

from . import rules, services

may_import = rule(rules, "can_import")

IMPORT_ACTIONS = ActionTable([
    Action("confirm", allowed=may_import, state=rule(rules, "awaiting"), schema=ActionInput,
           run=lambda user, batch, data: services.confirm_import(user, batch),
           label=_("Replace these days"), icon="arrow-repeat", style="danger",
           done=lambda batch: gettext("Import %(status)s.") % {"status": batch.get_status_display()}),
    Action("cancel", allowed=may_import, state=rule(rules, "awaiting"), schema=ActionInput,
           run=lambda user, batch, data: services.cancel_import(user, batch),
           label=_("Cancel"), icon="x-circle", style="outline-secondary", done=_("Import cancelled.")),
    Action("undo", allowed=may_import, state=lambda user, batch: rules.undoable(batch), schema=ActionInput,
           run=lambda user, batch, data: services.undo_import(user, batch),
           label=_("Undo this import"), icon="arrow-counterclockwise", style="outline-danger",
           confirm=_("Remove the tickets this import added and put back the ones it replaced?"),
           done=_("Import undone: its tickets were removed and the replaced ones put back.")),
])
