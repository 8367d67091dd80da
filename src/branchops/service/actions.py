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
    Action("refresh", allowed=manages, state=_offered_at("refresh"), form=forms.ActionForm, schema=schemas.VersionedActionIn,
           versioned=True, run=lambda user, run, data: services.refresh_run(user, run, **data),
           label=_("Gather inputs again"), icon="arrow-repeat", style="outline-secondary",
           done=_("Inputs gathered again and the outlets graded.")),
    Action("adjust", allowed=manages, state=_offered_at("adjust"), form=forms.AdjustForm, schema=schemas.AdjustIn,
           versioned=True, run=lambda user, run, data: services.adjust_input(user, run, **data),
           label=_("Adjust a value"), icon="pencil", style="outline-primary",
           done=_("Value adjusted and the outlets graded again.")),
    Action("review", allowed=manages, state=_offered_at("review"), form=forms.ActionForm, schema=schemas.VersionedActionIn,
           versioned=True, run=lambda user, run, data: services.review_run(user, run, **data),
           label=_("Mark reviewed"), icon="check2", done=_("Run reviewed.")),
    Action("return", allowed=manages, state=_offered_at("return"), form=forms.ReturnForm, schema=schemas.ReturnIn,
           versioned=True, run=lambda user, run, data: services.return_run(user, run, **data),
           label=_("Return to draft"), icon="arrow-counterclockwise", style="outline-secondary",
           done=_("Run returned to draft.")),
    Action("publish", allowed=manages, state=_publish_offered, form=forms.ActionForm, schema=schemas.VersionedActionIn,
           versioned=True, run=lambda user, run, data: services.publish_run(user, run, **data),
           label=_("Publish"), icon="megaphone", style="success",
           confirm=_("Publish the grades? Every grade D opens a rectification case."),
           done=_("Run published; grade D outlets have rectification cases.")),
])


# --- inspections -------------------------------------------------------------------------------------
# The inspection page's form and the API's photos / submit, and each finding's re-inspection and
# deadline (``finding_<name>`` on the page, /findings/{id}/… in the API), are offered and authorised
# here; the services check the same predicates and refuse a wrong state saying why.

def _inspection_state(move: str):
    return lambda user, inspection: rules.INSPECTION_FLOW.can(inspection.status, move)


def _finding_state(state):
    return lambda user, finding: state(finding)


assigned = rule(rules, "assigned")

INSPECTION_ACTIONS = ActionTable([
    Action("photo", allowed=assigned, state=_inspection_state("photo"),
           run=lambda user, inspection, data: services.add_photo(user, inspection, data["item"], data["file"]),
           label=_("Add a photo"), done=_("Photo added.")),
    Action("submit", allowed=assigned, state=_inspection_state("submit"), schema=schemas.SubmitIn,
           run=lambda user, inspection, data: services.submit_inspection(user, inspection, **data),
           label=_("Submit inspection"), done=_("Inspection submitted.")),
])

FINDING_ACTIONS = ActionTable([
    Action("reinspect", allowed=rule(rules, "reinspects"), state=_finding_state(rules.reinspectable),
           form=forms.ReinspectForm, schema=schemas.ReinspectIn,
           run=lambda user, finding, data: services.schedule_reinspection(user, finding, **data),
           label=_("Schedule a re-inspection"), done=_("Re-inspection scheduled.")),
    Action("deadline", allowed=rule(rules, "sets_deadline"), state=_finding_state(rules.deadline_movable),
           form=forms.DeadlineForm, schema=schemas.DeadlineIn,
           run=lambda user, finding, data: services.change_finding_deadline(user, finding, **data),
           label=_("Change the deadline"), icon="calendar-event", style="outline-secondary",
           done=_("Deadline changed: the rectification case is due the same day.")),
])


# --- public phones -----------------------------------------------------------------------------------
# A campaign's call is recorded (answered / wrong / unanswered), a wrong number's correction fixed; the
# campaign page offers what ``can`` says, the API answers ``allowed_actions``.

from . import phone_forms, phones  # noqa: E402

PHONE_CALL_ACTIONS = ActionTable([
    Action("record", allowed=rule(rules, "calls_phones"), state=lambda user, call: rules.call_recordable(call),
           form=phone_forms.RecordCallForm, schema=phone_forms.RecordCallIn,
           run=lambda user, call, data: phones.record_call(user, call, **data),
           label=_("Record the call"), done=_("Call recorded.")),
])

PHONE_CORRECTION_ACTIONS = ActionTable([
    Action("fix", allowed=rule(rules, "fixes_phone"), state=lambda user, c: rules.correction_open(c),
           form=phone_forms.FixForm, schema=phone_forms.FixIn,
           run=lambda user, correction, data: phones.fix_correction(user, correction, **data),
           label=_("Number fixed"), done=_("Correction closed; the directory has the right number.")),
])


# --- outlet routines ---------------------------------------------------------------------------------

from . import routine_forms, routines  # noqa: E402

ROUTINE_ACTIONS = ActionTable([
    Action("submit", allowed=rule(rules, "does_routine"), state=lambda user, check: rules.routine_due(check),
           schema=routine_forms.CheckIn, run=lambda user, check, data: routines.submit_check(user, check, **data),
           label=_("Submit the check"), done=_("Check done; the next one is scheduled.")),
])


# --- the quarterly briefing ----------------------------------------------------------------------------
# The briefing page's forms and the API's /briefings/{id}/actions/{name}. Approve is offered to an
# approver other than the issuer; the issuer who holds the permission is told why (400), not refused (403).

def _briefing_state(move: str):
    return lambda user, briefing: rules.BRIEFING_FLOW.can(briefing.status, move)


def _approve_offered(user, briefing) -> bool:
    return rules.BRIEFING_FLOW.can(briefing.status, "approve") and briefing.issued_by_id != getattr(user, "pk", None)


manages_briefing = rule(rules, "manages_briefing")

BRIEFING_ACTIONS = ActionTable([
    Action("edit", allowed=manages_briefing, state=_briefing_state("edit"), form=forms.BriefingEditForm,
           schema=schemas.BriefingEditIn, versioned=True,
           run=lambda user, b, data: services.update_briefing(user, b, **data),
           label=_("Save the overview"), icon="pencil", style="outline-primary", done=_("Overview saved.")),
    Action("add_case", allowed=manages_briefing, state=_briefing_state("edit"), form=forms.BriefingCaseForm,
           schema=schemas.BriefingCaseIn, versioned=True,
           run=lambda user, b, data: services.add_case(user, b, **data),
           label=_("Add a case"), icon="plus", style="outline-primary", done=_("Case added.")),
    Action("remove_case", allowed=manages_briefing, state=_briefing_state("edit"), form=forms.BriefingRemoveForm,
           schema=schemas.BriefingRemoveIn, versioned=True,
           run=lambda user, b, data: services.remove_case(user, b, **data),
           label=_("Remove"), icon="trash", style="outline-danger", done=_("Case removed.")),
    Action("issue", allowed=manages_briefing, state=_briefing_state("issue"), form=forms.ActionForm,
           schema=schemas.VersionedActionIn, versioned=True, run=lambda user, b, data: services.issue_briefing(user, b, **data),
           label=_("Issue"), icon="send", style="primary",
           confirm=_("Issue the briefing? Its figures are frozen and it goes for approval."),
           done=_("Briefing issued: waiting for approval.")),
    Action("return", allowed=rule(rules, "returns_briefing"), state=_briefing_state("return"),
           form=forms.BriefingReturnForm, schema=schemas.ReturnIn, versioned=True,
           run=lambda user, b, data: services.return_briefing(user, b, **data),
           label=_("Return to draft"), icon="arrow-counterclockwise", style="outline-secondary",
           done=_("Briefing returned to draft.")),
    Action("approve", allowed=rule(rules, "may_approve"), state=_approve_offered, form=forms.ActionForm,
           schema=schemas.VersionedActionIn, versioned=True,
           run=lambda user, b, data: services.approve_briefing(user, b, **data),
           label=_("Approve and store"), icon="check2-circle", style="success",
           confirm=_("Approve the briefing? It is numbered and stored, and never changes."),
           done=lambda b: _("Briefing approved: %(number)s") % {"number": b.document.number}),
])
