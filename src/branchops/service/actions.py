"""The grading-run actions, declared once (DESIGN.md §2): the secretariat's predicate (``rules``), the
state that offers each (``rules.RUN_FLOW``), the page's form, the API's input schema and the service.
The run page offers what ``can`` says, the API answers ``allowed_actions``; both run an action only
through ``RUN_ACTIONS``."""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Action, ActionTable, rule

from . import forms, rules, schemas, services


def _offered_at(move: str):
    return lambda user, run: rules.RUN_FLOW.can(run.status, move)


def _publish_offered(user, run) -> bool:
    # Four eyes: the reviewer does not publish.
    return rules.RUN_FLOW.can(run.status, "publish") and run.reviewed_by_id != getattr(user, "pk", None)


manages = rule(rules, "manages_run")

RUN_ACTIONS = ActionTable([
    Action("refresh", allowed=manages, state=_offered_at("refresh"), form=forms.ActionForm, schema=schemas.ActionIn,
           versioned=True, run=lambda user, run, data: services.refresh_run(user, run, **data),
           label=_("Gather inputs again"), icon="arrow-repeat", style="outline-secondary",
           done=_("Inputs gathered again and the outlets graded.")),
    Action("adjust", allowed=manages, state=_offered_at("adjust"), form=forms.AdjustForm, schema=schemas.AdjustIn,
           versioned=True, run=lambda user, run, data: services.adjust_input(user, run, **data),
           label=_("Adjust a value"), icon="pencil", style="outline-primary",
           done=_("Value adjusted and the outlets graded again.")),
    Action("review", allowed=manages, state=_offered_at("review"), form=forms.ActionForm, schema=schemas.ActionIn,
           versioned=True, run=lambda user, run, data: services.review_run(user, run, **data),
           label=_("Mark reviewed"), icon="check2", done=_("Run reviewed.")),
    Action("return", allowed=manages, state=_offered_at("return"), form=forms.ReturnForm, schema=schemas.ReturnIn,
           versioned=True, run=lambda user, run, data: services.return_run(user, run, **data),
           label=_("Return to draft"), icon="arrow-counterclockwise", style="outline-secondary",
           done=_("Run returned to draft.")),
    Action("publish", allowed=manages, state=_publish_offered, form=forms.ActionForm, schema=schemas.ActionIn,
           versioned=True, run=lambda user, run, data: services.publish_run(user, run, **data),
           label=_("Publish"), icon="megaphone", style="success",
           confirm=_("Publish the grades? Every grade D opens a rectification case."),
           done=_("Run published; grade D outlets have rectification cases.")),
])
