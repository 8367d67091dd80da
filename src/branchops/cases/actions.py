"""The actions on a case, declared once (DESIGN.md §2; ``core.actions``).

Each :class:`~branchops.core.actions.Action` names its predicate in ``rules`` (``may_<name>``), its
page form, its API schema, whether its service checks the expected version itself, and its service
call, which reads the typed input both give: the form's ``cleaned_data`` or the schema's ``data()``.
The case page draws its buttons from ``ACTIONS.can`` and the API answers ``allowed_actions`` from
``ACTIONS.allowed``; both post to :func:`perform`. The service has the last word: it checks the same
predicates of ``rules`` and says why a state does not allow the action.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
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


def _action(name: str, run, *, form=forms.ActionForm, schema=schemas.VersionIn, versioned=True, **shown) -> Action:
    return Action(name, allowed=_rule(name), run=run, form=form, schema=schema, versioned=versioned, **shown)


# In the order the page shows them (a form-less action is a button, the others fold out).
ACTIONS = ActionTable([
    _action("accept", lambda u, c, d: services.accept_case(u, c, expected_version=d["version"]),
            label=gettext_lazy("Accept"), icon="check2", done=gettext_lazy("Case accepted.")),
    _action("start", lambda u, c, d: services.start_case(u, c, expected_version=d["version"]),
            label=gettext_lazy("Start work"), icon="play", style="outline-primary",
            done=gettext_lazy("Work started.")),
    _action("triage", lambda u, c, d: services.triage_feedback(
                u, c, d["action"], answer=d["answer"], department=d["department"], note=d["note"],
                expected_version=d["version"]),
            form=forms.TriageForm, schema=schemas.TriageIn,
            label=gettext_lazy("Triage"), icon="signpost-split", done=gettext_lazy("Feedback triaged.")),
    _action("assign", lambda u, c, d: services.assign_case(
                u, c, assignee=d["assignee"], department=d["department"], note=d["note"],
                expected_version=d["version"]),
            form=forms.AssignForm, schema=schemas.AssignIn,
            label=gettext_lazy("Assign"), icon="person-check", done=gettext_lazy("Case assigned.")),
    _action("resolve", lambda u, c, d: services.resolve_case(
                u, c, outcome=d["outcome"], resolution=d["resolution"], expected_version=d["version"]),
            form=forms.ResolveForm, schema=schemas.ResolveIn,
            label=gettext_lazy("Resolve"), icon="check2-circle", style="success",
            done=gettext_lazy("Case resolved.")),
    _action("callback", lambda u, c, d: services.record_callback(
                u, c, d["satisfaction"], d["note"], expected_version=d["version"]),
            form=forms.CallbackForm, schema=schemas.CallbackIn,
            label=gettext_lazy("Record the call-back"), icon="telephone", done=gettext_lazy("Call-back recorded.")),
    _action("verify", lambda u, c, d: services.verify_rectification(
                u, c, passed=d["passed"], note=d["note"], expected_version=d["version"]),
            form=forms.VerifyForm, schema=schemas.VerifyIn,
            label=gettext_lazy("Verify"), icon="patch-check", done=gettext_lazy("Verification recorded.")),
    _action("close", lambda u, c, d: services.close_case(u, c, expected_version=d["version"]),
            label=gettext_lazy("Close"), icon="lock", style="success", done=gettext_lazy("Case closed.")),
    _action("evidence", lambda u, c, d: services.submit_evidence(
                u, c, d["evidence"], expected_version=d["version"]),
            form=forms.EvidenceForm, schema=schemas.EvidenceIn,
            label=gettext_lazy("Submit evidence"), icon="file-earmark-check", style="outline-primary",
            done=gettext_lazy("Evidence submitted.")),
    _action("classify", lambda u, c, d: services.classify_complaint(
                u, c, channel_code=d["channel_code"], business_code=d["business_code"], cause_code=d["cause_code"],
                expected_version=d["version"]),
            form=forms.ClassifyForm, schema=schemas.ClassifyIn,
            label=gettext_lazy("Classify"), icon="tags", style="outline-secondary",
            done=gettext_lazy("Complaint classified.")),
    _action("root_cause", lambda u, c, d: services.record_root_cause(
                u, c, d["root_cause"], d["improvement"], expected_version=d["version"]),
            form=forms.RootCauseForm, schema=schemas.RootCauseIn,
            label=gettext_lazy("Root cause and improvement"), icon="search", style="outline-secondary",
            done=gettext_lazy("Root cause recorded.")),
    _action("complexity", lambda u, c, d: services.set_complexity(
                u, c, d["complexity"], customer_notified=d["customer_notified"], expected_version=d["version"]),
            form=forms.ComplexityForm, schema=schemas.ComplexityIn,
            label=gettext_lazy("Set complexity"), icon="diagram-2", style="outline-secondary",
            done=gettext_lazy("Complexity set.")),
    _action("mark_major", lambda u, c, d: services.mark_major(u, c, expected_version=d["version"]),
            label=gettext_lazy("Mark as major complaint"), icon="exclamation-octagon", style="outline-danger",
            confirm=gettext_lazy("Mark as a major complaint? The branch leader is told at once."),
            done=gettext_lazy("Marked as major.")),
    _action("pause", lambda u, c, d: services.pause_clock(u, c, d["reason"], expected_version=d["version"]),
            form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Pause the clock"), icon="pause-circle", style="outline-secondary",
            done=gettext_lazy("Clock paused.")),
    _action("resume", lambda u, c, d: services.resume_clock(u, c, expected_version=d["version"]),
            label=gettext_lazy("Resume the clock"), icon="play-circle", style="outline-primary",
            done=gettext_lazy("Clock resumed.")),
    _action("restart", lambda u, c, d: services.restart_clock(u, c, d["reason"], expected_version=d["version"]),
            form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Restart the clock (new facts)"), icon="arrow-repeat", style="outline-secondary",
            done=gettext_lazy("Clock restarted.")),
    _action("extension", lambda u, c, d: services.request_extension(
                u, c, d["days"], d["reason"], expected_version=d["version"]),
            form=forms.ExtensionForm, schema=schemas.ExtensionIn,
            label=gettext_lazy("Request an extension"), icon="calendar-plus", style="outline-secondary",
            done=gettext_lazy("Extension requested.")),
    _action("reopen", lambda u, c, d: services.reopen_case(u, c, d["reason"], expected_version=d["version"]),
            form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Reopen"), icon="arrow-counterclockwise", style="outline-secondary",
            done=gettext_lazy("Case reopened.")),
    _action("cancel", lambda u, c, d: services.cancel_case(u, c, d["reason"], expected_version=d["version"]),
            form=forms.ReasonForm, schema=schemas.ReasonIn,
            label=gettext_lazy("Cancel the case"), icon="x-circle", style="outline-danger",
            confirm=gettext_lazy("Cancel this case?"), done=gettext_lazy("Case cancelled.")),
    # Drawn in their own places on the page: under the comments, the attachments, the extensions.
    _action("comment", lambda u, c, d: services.comment_case(u, c, d["body"], expected_version=d["version"]),
            form=forms.CommentForm, schema=schemas.CommentIn,
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
    other than the one the user saw."""
    if version is None:
        return
    current = Case.objects.select_for_update().filter(pk=case.pk).values_list("version", flat=True).get()
    if current != version:
        raise ValidationError(_("This case was changed by someone else in the meantime; reload it and try again."))


def perform(user, case: Case, action: Action, data: dict):
    """Run the action's service on the typed input, in one transaction, the version checked."""
    with transaction.atomic():
        if not action.versioned:
            refuse_stale(case, data.get("version"))
        return action.run(user, case, data)
