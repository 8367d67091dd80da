"""The work-order actions, declared once (DESIGN.md §2): the outlet head's predicate (``rules``), the
state that offers each action (``rules.WORK_ORDER_FLOW``), the page's form, the API's input schema and
the service. The work-order page lists the actions ``can`` offers, the API answers
``allowed_actions``, and both run an action only through ``WORK_ORDER_ACTIONS``."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Action, ActionTable, rule
from branchops.core.api import ActionInput

from . import forms, rules, schemas, services


def _offered_at(move: str):
    return lambda user, wo: rules.WORK_ORDER_FLOW.can(wo.status, move)


acts = rule(rules, "acts_for_outlet")

WORK_ORDER_ACTIONS = ActionTable([
    Action("acknowledge", allowed=acts, state=_offered_at("acknowledge"), form=forms.ActionForm, schema=ActionInput,
           run=lambda user, wo, data: services.acknowledge_work_order(user, wo),
           label=_("Acknowledge"), icon="check2", done=_("Work order acknowledged.")),
    Action("done", allowed=acts, state=_offered_at("done"), form=forms.DoneForm, schema=schemas.DoneIn,
           run=lambda user, wo, data: services.complete_work_order(user, wo, **data),
           label=_("Mark done"), icon="check2-circle", style="success", done=_("Work order marked done.")),
    Action("problem", allowed=acts, state=_offered_at("problem"), form=forms.ProblemForm, schema=schemas.ProblemIn,
           run=lambda user, wo, data: services.raise_problem(user, wo, **data),
           label=_("Raise a problem"), icon="exclamation-triangle", style="outline-danger",
           done=lambda case: gettext("Problem raised: case %(number)s was opened for the secretariat.") % {
               "number": case.number}),
    Action("cancel", allowed=rule(rules, "cancels"), state=_offered_at("cancel"), form=forms.CancelForm,
           schema=schemas.CancelIn, run=lambda user, wo, data: services.cancel_work_order(user, wo, **data),
           label=_("Cancel the work order"), icon="x-octagon", style="outline-danger",
           done=_("Work order cancelled: the outlet has been told.")),
])
