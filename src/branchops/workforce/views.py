"""The workforce pages. Thin: parse, call one query or action, render. Lists read through ``queries``
(personal data only to those who manage the person), actions run through the action tables, whose
services check the same rules the pages offer them by."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.forms import error_text, form_errors
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list

from . import forms, queries, rules, services
from .actions import CERTIFICATE_ACTIONS, MENTORSHIP_ACTIONS, PERSON_ACTIONS
from .models import Mentorship


def _offered(table, user, obj, prefix: str) -> list[dict]:
    can = table.can(user, obj)
    return [{"name": a.name, "label": a.label, "icon": a.icon, "style": a.style, "confirm": a.confirm or "",
             "form": a.form(user=user, auto_id=f"{prefix}{a.name}-%s")}
            for a in table if can[a.name]]


def _act(request, table, obj, name: str, target: str):
    """Run one action from a page's POST: 404 unknown, 403 not allowed, the form's and the service's
    refusals as messages (nothing changed)."""
    if request.method != "POST":
        return redirect(target)
    action = table.authorize(request.user, obj, name)
    form = action.form(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(target)
    try:
        action.run(request.user, obj, form.action_data())
    except ValidationError as exc:
        messages.error(request, error_text(exc, form))
    else:
        messages.success(request, action.done_message(None))
    return redirect(target)


def _require_reader(user, managers_only: bool = False) -> None:
    if not (rules.sees_people(user) or (not managers_only and user.has_perm("workforce.view_own"))):
        raise PermissionDenied


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


# --- people --------------------------------------------------------------------------------------

@login_required
def people(request):
    _require_reader(request.user)
    filters = {"q": request.GET.get("q", "").strip()[:100], "outlet": limits.whole_number(request.GET.get("outlet")),
               "skill": request.GET.get("skill", "")[:32]}
    qs = queries.visible_people(request.user, **filters)
    core = set(queries.core_skills().values_list("pk", flat=True))
    if request.GET.get("format") == "xlsx":
        headers = [_("Staff number"), _("Name"), _("Outlet"), _("Teller number"), _("Skills"), _("Core skills")]
        rows = ([p.staff_no, p.name, p.institution.name, p.teller_no,
                 "、".join(s.skill.name for s in queries.effective_skills(p)),
                 sum(1 for s in queries.effective_skills(p) if s.skill_id in core)] for p in qs)
        return export_list("workforce-people.xlsx", _("Customer service managers"), headers, rows)
    page = paginate(request, qs)
    rows = [{"person": p, "skills": queries.effective_skills(p),
             "core": sum(1 for s in queries.effective_skills(p) if s.skill_id in core)} for p in page]
    return render(request, "workforce/people.html", {
        "page": page, "rows": rows, "filters": filters, "outlets": queries.outlets_for(request.user),
        "skills": queries.skills().filter(is_active=True)})


@login_required
def person(request, pk):
    staff = queries.access_person(request.user, pk)
    certs = queries.certificates_of(staff)
    for r in certs:
        r["can_revoke"] = CERTIFICATE_ACTIONS.can(request.user, r["certificate"])["revoke"]
    return render(request, "workforce/person.html", {
        "person": staff, "skills": queries.skill_rows(staff), "certificates": certs,
        "actions": _offered(PERSON_ACTIONS, request.user, staff, "p-"),
        "mentorships": staff.mentorships.select_related("mentor"), "timeline": timeline(staff)})


@login_required
def person_action(request, pk, action):
    staff = queries.access_person(request.user, pk)
    return _act(request, PERSON_ACTIONS, staff, action, reverse("workforce:person", args=[staff.pk]))


# --- certificates --------------------------------------------------------------------------------

@login_required
def certificates(request):
    _require_reader(request.user)
    state = request.GET.get("state", "")
    filters = {"state": state if state in queries.STATES else "", "q": request.GET.get("q", "").strip()[:100],
               "outlet": limits.whole_number(request.GET.get("outlet")),
               "certificate_type": limits.whole_number(request.GET.get("certificate_type"))}
    qs = queries.visible_certificates(request.user, **filters)
    window, today = queries.reader_expiring_days(request.user), clock.today()
    if request.GET.get("format") == "xlsx":
        headers = [_("Staff number"), _("Name"), _("Outlet"), _("Certificate type"), _("Certificate number"),
                   _("Issued on"), _("Expires on"), _("State")]
        rows = ([c.staff.staff_no, c.staff.name, c.staff.institution.name, c.certificate_type.name, c.number,
                 c.issued_on, c.expires_on, str(queries.STATES[queries.certificate_state(c, today, window)])]
                for c in qs)
        return export_list("workforce-certificates.xlsx", _("Certificates"), headers, rows)
    page = paginate(request, qs)
    rows = [{"c": c, "state": queries.certificate_state(c, today, window)} for c in page]
    for r in rows:
        r["state_label"] = queries.STATES[r["state"]]
    return render(request, "workforce/certificates.html", {
        "page": page, "rows": rows, "filters": filters, "states": queries.STATES, "window": window,
        "outlets": queries.outlets_for(request.user), "types": queries.certificate_types()})


@login_required
def certificate_action(request, pk, action):
    cert = queries.access_certificate(request.user, pk)
    return _act(request, CERTIFICATE_ACTIONS, cert, action, reverse("workforce:person", args=[cert.staff_id]))


@login_required
def uncertified(request):
    _require_reader(request.user, managers_only=True)
    filters = {"q": request.GET.get("q", "").strip()[:100], "outlet": limits.whole_number(request.GET.get("outlet"))}
    rows = queries.uncertified(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Staff number"), _("Name"), _("Outlet"), _("Certificate type"), _("Deadline"), _("Coach"),
                   _("Coaching"), _("Overdue")]
        out = ([r["staff"].staff_no, r["staff"].name, r["staff"].institution.name, r["certificate_type"].name,
                r["plan"].deadline if r["plan"] else "", r["plan"].coach.name if r["plan"] and r["plan"].coach else "",
                r["plan"].coaching if r["plan"] else "", _("Yes") if r["overdue"] else ""] for r in rows)
        return export_list("workforce-uncertified.xlsx", _("Uncertified managers"), headers, out)
    return render(request, "workforce/uncertified.html", {
        "page": paginate(request, rows), "filters": filters, "outlets": queries.outlets_for(request.user)})


# --- mentor → rotate → convert -------------------------------------------------------------------

@login_required
def mentorships(request):
    _require_reader(request.user, managers_only=True)
    status = request.GET.get("status", "")
    filters = {"status": status if status in Mentorship.Status.values else "", "due": request.GET.get("due") == "1",
               "q": request.GET.get("q", "").strip()[:100]}
    qs = queries.visible_mentorships(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Staff number"), _("Name"), _("Outlet"), _("Mentor"), _("Started on"), _("Convert by"),
                   _("Exam score"), _("Assessment"), _("Status")]
        rows = ([m.staff.staff_no, m.staff.name, m.staff.institution.name, m.mentor.name, m.started_on, m.due_on,
                 m.exam_score, "" if m.assessment_passed is None else (_("passed") if m.assessment_passed else _("failed")),
                 m.get_status_display()] for m in qs)
        return export_list("workforce-mentorships.xlsx", _("Mentor, rotate, convert"), headers, rows)
    return render(request, "workforce/mentorships.html", {
        "page": paginate(request, qs), "filters": filters, "statuses": Mentorship.Status.choices,
        "today": clock.today()})


@login_required
def mentorship(request, pk):
    m = queries.access_mentorship(request.user, pk)
    return render(request, "workforce/mentorship.html", {
        "m": m, "practice": m.practice.select_related("skill", "logged_by"),
        "actions": _offered(MENTORSHIP_ACTIONS, request.user, m, "m-"), "timeline": timeline(m)})


@login_required
def mentorship_action(request, pk, action):
    m = queries.access_mentorship(request.user, pk)
    return _act(request, MENTORSHIP_ACTIONS, m, action, m.get_absolute_url())


# --- cross-post figures and the lists ------------------------------------------------------------

@login_required
def cross_post(request):
    _require_reader(request.user, managers_only=True)
    end = limits.day(request.GET.get("end")) or clock.today()
    start = limits.day(request.GET.get("start")) or end - timedelta(days=89)
    if start > end or (end - start).days > 366:
        start = end - timedelta(days=89)
    rows, total = queries.cross_post(request.user, start, end)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Managers"), _("At least two core skills"), _("Deep cross-post"),
                   _("Did forex business")]
        out = ([r.code, r.name, r.managers, _pct(r.two_core_share), _pct(r.deep_share), _pct(r.forex_share)]
               for r in [*rows, *([total] if total else [])])
        return export_list("workforce-cross-post.xlsx", _("Cross-post figures"), headers, out)
    table = [{"row": r, "two": _pct(r.two_core_share), "deep": _pct(r.deep_share), "forex": _pct(r.forex_share)}
             for r in rows]
    return render(request, "workforce/cross_post.html", {
        "page": paginate(request, table), "start": start, "end": end,
        "total": total and {"row": total, "two": _pct(total.two_core_share), "deep": _pct(total.deep_share),
                            "forex": _pct(total.forex_share)}})


@login_required
def lists(request):
    """The list-managed data: certificate types, skills, post models, and the branch's expiring window."""
    branch = queries.reader_branch(request.user)
    keeps = rules.keeps_lists(request.user) and branch is not None
    form = forms.SettingsForm(request.POST or None, initial={"expiring_days": queries.expiring_days(branch)})
    if request.method == "POST":
        if not keeps:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.save_settings(request.user, branch, **form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, error_text(exc, form))
            else:
                messages.success(request, _("Settings saved."))
                return redirect("workforce:lists")
    return render(request, "workforce/lists.html", {
        "types": queries.certificate_types(), "skills": queries.skills(), "post_models": queries.post_models(),
        "form": form, "keeps": keeps, "branch": branch})
