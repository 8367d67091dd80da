"""The coordination actions, declared once (DESIGN.md §2): for each use case on an item, a condition
or a meeting — its permission predicate (``rules``), the state that offers it, the page's form, the
API's input schema, whether it carries the version the user saw, and the service it calls.

The pages read ``can`` and the API ``allowed_actions`` from these tables, and both run an action only
through them: ``authorize`` (404 for an unknown name, 403 when the predicate refuses), the typed
input, ``expected_version`` when versioned, the service — which checks the predicate again and
refuses a wrong state with the reason.
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Action, ActionTable, rule
from branchops.core.api import ActionInput, VersionedInput

from . import forms, rules, schemas, services
from .models import FeedbackEntry, Meeting, PostReview


def _when(state):
    """An action's state predicate from a rule about the record alone."""
    return lambda user, obj: state(obj)


def _call(service):
    """Run ``service(user, record, **typed input)``."""
    return lambda user, obj, data: service(user, obj, **data)


def _status_in(*statuses):
    return _when(lambda record: record.status in statuses)


def _move(flow, move: str):
    """Offered where the transition table allows the move."""
    return _when(lambda record: flow.can(record.status, move))


owns, decides = rule(rules, "owns"), rule(rules, "decides")

# The item page's "version" forms and the API's item actions; "edit" and "attach" have their own
# page and API endpoints (the item form, the upload) but are offered and authorised here alike.
ITEM_ACTIONS = ActionTable([
    Action("edit", allowed=rule(rules, "edits"), state=_when(rules.editable), versioned=True,
           run=_call(services.save_item)),
    Action("attach", allowed=owns, state=_when(rules.attachable), form=forms.AttachmentForm, versioned=True,
           run=_call(services.add_attachment), done=_("File attached.")),
    # The submitter revises to meet an open condition; the secretariat also without one.
    Action("revise_material", allowed=rule(rules, "revises_materials"),
           state=lambda user, item: rules.materials_revisable(item) and (
               rules.decides(user, item) or rules.has_open_condition(item)),
           form=forms.RevisionForm, versioned=True, run=_call(services.revise_material),
           done=_("New version uploaded: the work orders carry it and their outlets are told.")),
    Action("submit", allowed=owns, state=_when(rules.submittable), form=forms.ActionForm, schema=VersionedInput,
           versioned=True, run=_call(services.submit_item),
           done=_("Item submitted: it is on the agenda of the next meeting.")),
    Action("withdraw", allowed=owns, state=_when(rules.withdrawable), form=forms.ReasonForm, schema=schemas.DecisionReasonIn,
           versioned=True, run=_call(services.withdraw_item), done=_("Item withdrawn.")),
    Action("revise", allowed=owns, state=_when(rules.revisable), form=forms.ActionForm, schema=VersionedInput,
           versioned=True, run=_call(services.revise_item), extra={"go_to_result": True},
           done=_("A new revision was drafted: change it and submit it again.")),
    Action("opinion", allowed=rule(rules, "reviews"), state=_when(rules.open_for_opinions), form=forms.OpinionForm,
           schema=schemas.OpinionIn, versioned=True, run=_call(services.give_opinion), extra={"rerender": True},
           done=_("Opinion recorded.")),
    Action("schedule", allowed=decides, state=_when(rules.undecided), form=forms.ScheduleForm,
           schema=schemas.ScheduleIn, versioned=True, run=_call(services.schedule_item),
           done=_("Item put on the agenda.")),
    Action("defer", allowed=decides, state=_when(rules.deferrable), form=forms.ReasonForm, schema=schemas.DecisionReasonIn,
           versioned=True, run=_call(services.defer_item), done=_("Item deferred to the next meeting.")),
    Action("decide", allowed=decides, state=_when(rules.decidable), form=forms.DecideForm, schema=schemas.DecideIn,
           versioned=True, run=_call(services.record_decision), extra={"rerender": True},
           done=_("Decision recorded.")),
    Action("waive", allowed=rule(rules, "chairs"), state=_when(rules.waivable), form=forms.WaiverForm,
           schema=schemas.WaiverIn, versioned=True, run=_call(services.waive_review), extra={"rerender": True},
           done=_("Review waived: the waiver is recorded in the minutes.")),
    Action("revoke", allowed=decides, state=_when(rules.has_valid_number), form=forms.RequiredReasonForm,
           schema=schemas.DecisionReasonIn, versioned=True, run=_call(services.revoke_approval),
           done=_("Approval number revoked: open work orders cancelled, outlets and submitter told.")),
    Action("close", allowed=decides, state=_when(rules.closable), form=forms.RequiredReasonForm,
           schema=schemas.DecisionReasonIn, versioned=True, run=_call(services.close_item),
           done=_("Item closed.")),
    Action("release", allowed=rule(rules, "releases"), state=_when(rules.releasable), form=forms.ReleaseForm,
           schema=schemas.ReleaseIn, versioned=True, run=_call(services.release_item), extra={"rerender": True},
           done=_("Released to the outlets as work orders.")),
    Action("make_room", allowed=rule(rules, "releases"), state=_when(rules.releasable), form=forms.YieldForm,
           schema=schemas.YieldIn, versioned=True, run=_call(services.accept_yield),
           done=lambda moved: gettext("%(n)s work orders of lower urgency moved later: check the release again.")
           % {"n": len(moved)}),
])

# A condition of an item: on the item page (``condition_<name>``) and under /conditions/ in the API.
CONDITION_ACTIONS = ActionTable([
    Action("met", allowed=rule(rules, "reports_met"), state=_move(rules.CONDITION_FLOW, "report_met"),
           form=forms.ConditionMetForm, schema=schemas.MetIn, run=_call(services.report_condition_met),
           done=_("Condition reported met: the secretariat signs it off.")),
    Action("signoff", allowed=rule(rules, "signs_off"), state=_move(rules.CONDITION_FLOW, "sign_off"),
           form=forms.ConditionSignoffForm, schema=schemas.SignoffIn, run=_call(services.sign_off_condition),
           done=_("Condition signed off or sent back.")),
])

M = Meeting.Status
runs = rule(rules, "runs")

MEETING_ACTIONS = ActionTable([
    Action("freeze", allowed=runs, state=_move(rules.MEETING_FLOW, "freeze"),
           form=forms.MeetingActionForm, schema=ActionInput, run=_call(services.freeze_agenda),
           done=_("Agenda frozen: the submitters have been told.")),
    Action("chair", allowed=runs, state=_status_in(M.PLANNED, M.FROZEN, M.HELD), form=forms.ChairForm,
           schema=schemas.ChairIn, run=_call(services.designate_chair), done=_("Chair designated.")),
    Action("attendance", allowed=runs, state=_status_in(M.PLANNED, M.FROZEN, M.HELD), form=forms.AttendanceForm,
           schema=schemas.AttendanceIn, run=_call(services.record_attendance), done=_("Attendance recorded.")),
    Action("consent", allowed=runs, state=_status_in(*rules.DECIDING), form=forms.MeetingActionForm,
           schema=ActionInput, run=_call(services.decide_consent_block),
           done=lambda decided: gettext("%(n)s items approved together in the consent block.") % {
               "n": len(decided)}),
    Action("reorder", allowed=runs, state=_status_in(*rules.OPEN_AGENDA), form=forms.AgendaItemForm,
           schema=schemas.ReorderIn, run=_call(services.reorder_agenda), done=_("Agenda reordered.")),
    Action("notes", allowed=runs, state=_status_in(M.PLANNED, M.FROZEN, M.HELD), form=forms.NotesForm,
           schema=schemas.NotesIn, run=_call(services.edit_notes), done=_("Notes and other business saved.")),
    Action("close", allowed=runs, state=_move(rules.MEETING_FLOW, "close"),
           form=forms.MeetingActionForm, schema=ActionInput, run=_call(services.close_meeting),
           done=_("Meeting closed and minutes issued: the chair approves them.")),
    # Closing issues the minutes; "issue" is for a meeting closed before that (older records).
    Action("issue", allowed=runs, state=rules.minutes_issuable, form=forms.MeetingActionForm, schema=ActionInput,
           run=_call(services.issue_minutes), done=_("Minutes issued: the chair approves them.")),
    Action("approve", allowed=rule(rules, "chairs_meeting"), state=rules.minutes_approvable,
           form=forms.MeetingActionForm, schema=ActionInput, run=_call(services.approve_minutes),
           done=_("Minutes approved: numbered and stored as issued.")),
])

F = FeedbackEntry.Status

# A feedback entry of a meeting: on the meeting page (``feedback_<name>``) and under /feedback/ in the API.
FEEDBACK_ACTIONS = ActionTable([
    Action("answer", allowed=rule(rules, "answers_feedback"),
           state=_when(lambda e: e.status == F.OPEN and e.meeting.status in rules.DECIDING),
           form=forms.FeedbackAnswerForm, schema=schemas.FeedbackAnswerIn, run=_call(services.answer_feedback),
           done=_("Answer recorded: the follow-up owner has been told.")),
    Action("done", allowed=rule(rules, "follows_up"), state=_status_in(F.ANSWERED),
           form=forms.FeedbackDoneForm, schema=schemas.FeedbackDoneIn, run=_call(services.complete_feedback),
           done=_("Follow-up done: the feedback case is resolved with the meeting's answer.")),
])

# A post-implementation review of a meeting: on the meeting page (``post_review_<name>``) and under
# /post-reviews/ in the API.
POST_REVIEW_ACTIONS = ActionTable([
    Action("record", allowed=rule(rules, "records_post_review"),
           state=_when(lambda e: e.status == PostReview.Status.OPEN and e.meeting.status in rules.DECIDING),
           form=forms.PostReviewForm, schema=schemas.PostReviewIn, run=_call(services.record_post_review),
           done=_("Post-implementation review recorded on the item.")),
])
