"""The workforce actions, declared once (DESIGN.md §2): the predicate (``rules``), the state that offers
each (``rules.MENTORSHIP_FLOW``), the page's form, the API's input schema and the service. Pages read
``can``, the API ``allowed_actions``; both run an action only through these tables."""

from django.utils.translation import gettext_lazy as _

from branchops.core.actions import Action, ActionTable, rule

from . import forms, rules, schemas, services

manages_person = rule(rules, "manages_person")

PERSON_ACTIONS = ActionTable([
    Action("certify", allowed=manages_person, form=forms.CertifyForm, schema=schemas.CertifyIn,
           run=lambda user, staff, data: services.issue_certificate(user, staff, **data),
           label=_("Record a certificate"), icon="patch-check", done=_("Certificate recorded.")),
    Action("grant_skill", allowed=manages_person, form=forms.SkillForm, schema=schemas.SkillIn,
           run=lambda user, staff, data: services.grant_skill(user, staff, **data),
           label=_("Grant a skill"), icon="plus-circle", style="outline-primary", done=_("Skill granted.")),
    Action("plan", allowed=manages_person, form=forms.PlanForm, schema=schemas.CertificationPlanIn,
           run=lambda user, staff, data: services.set_certification_plan(user, staff, **data),
           label=_("Set a certification deadline"), icon="calendar-check", style="outline-secondary",
           done=_("Deadline and coaching saved.")),
    Action("mentor", allowed=manages_person, form=forms.MentorForm, schema=schemas.MentorIn,
           run=lambda user, staff, data: services.start_mentorship(user, staff, **data),
           label=_("Assign a mentor"), icon="person-plus", style="outline-primary", done=_("Mentor assigned.")),
])

CERTIFICATE_ACTIONS = ActionTable([
    Action("revoke", allowed=rule(rules, "manages_certificate"), state=lambda user, c: c.revoked_at is None,
           form=forms.ReasonForm, schema=schemas.StaffReasonIn,
           run=lambda user, cert, data: services.revoke_certificate(user, cert, **data),
           label=_("Revoke"), icon="x-circle", style="outline-danger", done=_("Certificate revoked.")),
])


def _at(move: str):
    return lambda user, m: rules.MENTORSHIP_FLOW.can(m.status, move)


def _convertible(user, m) -> bool:
    return m.ready_to_convert


manages_mentorship = rule(rules, "manages_mentorship")

MENTORSHIP_ACTIONS = ActionTable([
    Action("practice", allowed=manages_mentorship, state=_at("practice"), form=forms.PracticeForm,
           schema=schemas.PracticeIn, run=lambda user, m, data: services.log_practice(user, m, **data),
           label=_("Log practice"), icon="journal-plus", style="outline-primary", done=_("Practice logged.")),
    Action("exam", allowed=manages_mentorship, state=_at("exam"), form=forms.ExamForm, schema=schemas.ExamIn,
           run=lambda user, m, data: services.record_exam(user, m, **data),
           label=_("Record the exam"), icon="pencil-square", style="outline-primary", done=_("Exam recorded.")),
    Action("assess", allowed=manages_mentorship, state=_at("assess"), form=forms.AssessForm, schema=schemas.AssessIn,
           run=lambda user, m, data: services.record_assessment(user, m, **data),
           label=_("Record the assessment"), icon="clipboard-check", style="outline-primary",
           done=_("Assessment recorded.")),
    Action("convert", allowed=manages_mentorship, state=_convertible, form=forms.ActionForm, schema=schemas.NoInput,
           run=lambda user, m, data: services.convert(user, m),
           label=_("Convert to all-round"), icon="stars", style="success",
           confirm=_("Convert to all-round and grant the core skills?"), done=_("Converted; core skills granted.")),
    Action("cancel", allowed=manages_mentorship, state=_at("cancel"), form=forms.ReasonForm, schema=schemas.StaffReasonIn,
           run=lambda user, m, data: services.cancel_mentorship(user, m, **data),
           label=_("Cancel"), icon="x-circle", style="outline-danger", done=_("Mentorship cancelled.")),
])
