"""The actions on a case, declared once (DESIGN.md §2; ``core.actions``).

Each :class:`~branchops.core.actions.Action` names its predicate in ``rules`` (``may_<name>``), its
page form, its API schema, whether its service checks the expected version itself, and its service
call, which reads the typed input both give: the form's ``cleaned_data`` or the schema's ``data()``.
The case page draws its buttons from ``ACTIONS.can`` and the API answers ``allowed_actions`` from
``ACTIONS.allowed``; both post to :func:`perform`. The service has the last word: it checks the same
predicates of ``rules`` and says why a state does not allow the action.
"""

from django.db import transaction
from django.utils.translation import gettext_lazy

from branchops.core.actions import Action, ActionTable

from . import forms, rules, schemas, services
from .models import Case


def _rule(name: str):
    """The predicate ``rules.may_<name>``, looked up when asked (a rule patched in ``rules`` is the
    one the table answers with)."""

    def allowed(user, case) -> bool:
        return getattr(rules, f"may_{name}")(user, case)

    allowed.__name__ = f"may_{name}"
    return allowed


def _calls(service: str, *fields: str):
    """The service call of a versioned action: ``services.<service>(user, case, <field>=data[<field>] …,
    expected_version=data["version"])``, the service looked up when called."""

    def run(user, case, data):
        return getattr(services, service)(user, case, **{f: data[f] for f in fields},
                                          expected_version=data["version"])

    return run


def _action(name: str, run, *, form=forms.ActionForm, schema=schemas.VersionIn, versioned=True, **shown) -> Action:
    return Action(name, allowed=_rule(name), run=run, form=form, schema=schema, versioned=versioned, **shown)


SECONDARY = "outline-secondary"

# In the order the page shows them (a form-less action is a button, the others fold out).
ACTIONS = ActionTable([
    _action("accept", _calls("accept_case"), label=gettext_lazy("Accept"), icon="check2",
            done=gettext_lazy("Case accepted.")),
    _action("start", _calls("start_case"), label=gettext_lazy("Start work"), icon="play", style="outline-primary",
            done=gettext_lazy("Work started.")),
    _action("triage", _calls("triage_feedback", "action", "answer", "department", "note"),
            form=forms.TriageForm, schema=schemas.TriageIn,
            label=gettext_lazy("Triage"), icon="signpost-split", done=gettext_lazy("Feedback triaged.")),
    _action("assign", _calls("assign_case", "assignee", "department", "note"),
            form=forms.AssignForm, schema=schemas.AssignIn,
            label=gettext_lazy("Assign"), icon="person-check", done=gettext_lazy("Case assigned.")),
    _action("resolve", _calls("resolve_case", "outcome", "resolution"),
            form=forms.ResolveForm, schema=schemas.ResolveIn,
            label=gettext_lazy("Resolve"), icon="check2-circle", style="success", done=gettext_lazy("Case resolved.")),
    _action("callback", _calls("record_callback", "satisfaction", "note"),
            form=forms.CallbackForm, schema=schemas.CallbackIn,
            label=gettext_lazy("Record the call-back"), icon="telephone", done=gettext_lazy("Call-back recorded.")),
    _action("verify", _calls("verify_rectification", "passed", "note"),
            form=forms.VerifyForm, schema=schemas.VerifyIn,
            label=gettext_lazy("Verify"), icon="patch-check", done=gettext_lazy("Verification recorded.")),
    _action("close", _calls("close_case"), label=gettext_lazy("Close"), icon="lock", style="success",
            done=gettext_lazy("Case closed.")),
    _action("evidence", _calls("submit_evidence", "evidence"),
            form=forms.EvidenceForm, schema=schemas.EvidenceIn,
            label=gettext_lazy("Submit evidence"), icon="file-earmark-check", style="outline-primary",
            done=gettext_lazy("Evidence submitted.")),
    _action("classify", _calls("classify_complaint", "channel_code", "business_code", "cause_code"),
            form=forms.ClassifyForm, schema=schemas.ClassifyIn,
            label=gettext_lazy("Classify"), icon="tags", style=SECONDARY, done=gettext_lazy("Complaint classified.")),
    _action("root_cause", _calls("record_root_cause", "root_cause", "improvement"),
            form=forms.RootCauseForm, schema=schemas.RootCauseIn,
            label=gettext_lazy("Root cause and improvement"), icon="search", style=SECONDARY,
            done=gettext_lazy("Root cause recorded.")),
    _action("complexity", _calls("set_complexity", "complexity", "customer_notified"),
            form=forms.ComplexityForm, schema=schemas.ComplexityIn,
            label=gettext_lazy("Set complexity"), icon="diagram-2", style=SECONDARY,
            done=gettext_lazy("Complexity set.")),
    _action("mark_major", _calls("mark_major"),
            label=gettext_lazy("Mark as major complaint"), icon="exclamation-octagon", style="outline-danger",
            confirm=gettext_lazy("Mark as a major complaint? The branch leader is told at once."),
            done=gettext_lazy("Marked as major.")),
    _action("pause", _calls("pause_clock", "reason"), form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Pause the clock"), icon="pause-circle", style=SECONDARY,
            done=gettext_lazy("Clock paused.")),
    _action("resume", _calls("resume_clock"),
            label=gettext_lazy("Resume the clock"), icon="play-circle", style="outline-primary",
            done=gettext_lazy("Clock resumed.")),
    _action("restart", _calls("restart_clock", "reason"), form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Restart the clock (new facts)"), icon="arrow-repeat", style=SECONDARY,
            done=gettext_lazy("Clock restarted.")),
    _action("extension", _calls("request_extension", "days", "reason"),
            form=forms.ExtensionForm, schema=schemas.ExtensionIn,
            label=gettext_lazy("Request an extension"), icon="calendar-plus", style=SECONDARY,
            done=gettext_lazy("Extension requested.")),
    _action("reopen", _calls("reopen_case", "reason"), form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Reopen"), icon="arrow-counterclockwise", style=SECONDARY,
            done=gettext_lazy("Case reopened.")),
    _action("cancel", _calls("cancel_case", "reason"), form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Cancel the case"), icon="x-circle", style="outline-danger",
            confirm=gettext_lazy("Cancel this case?"), done=gettext_lazy("Case cancelled.")),
    # Drawn in their own places on the page: under the comments, the attachments, the extensions.
    _action("comment", _calls("comment_case", "body"), form=forms.CommentForm, schema=schemas.CommentIn,
            label=gettext_lazy("Comment"), icon="chat", done=gettext_lazy("Comment added.")),
    _action("attach", lambda u, c, d: services.add_attachment(u, c, d["file"]),
            form=forms.AttachmentForm, schema=None, versioned=False,  # files come through the page
            label=gettext_lazy("Upload"), icon="paperclip", done=gettext_lazy("File attached.")),
    _action("decide_extension", lambda u, c, d: services.decide_extension(u, d["extension"], d["approve"], d["note"]),
            form=forms.DecideExtensionForm, schema=None, versioned=False,  # API: POST /extensions/{id}/decision
            label=gettext_lazy("Decide the extension"), icon="calendar-check", style="outline-primary",
            done=gettext_lazy("Extension decided.")),
])

# Earlier names the API keeps answering to.
ALIASES = {"major": "mark_major"}


def lookup(name: str) -> Action:
    """The action of that name (or an earlier name of it); 404 for one the table does not know."""
    return ACTIONS.get(ALIASES.get(name, name))


def refuse_stale(case: Case, version: int | None) -> None:
    """For an action whose service takes no expected version: lock the case and refuse a version
    other than the one the user saw (the services' own check)."""
    if version is not None:
        services.lock_case(case, version)


def perform(user, case: Case, action: Action, data: dict):
    """Run the action's service on the typed input, in one transaction, the version checked."""
    with transaction.atomic():
        if not action.versioned:
            refuse_stale(case, data.get("version"))
        return action.run(user, case, data)
