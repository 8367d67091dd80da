"""Writes of the quarterly service & complaint briefing (reached through ``services``): the secretariat
opens a draft for a branch's finished quarter, writes its overview and chooses the positive and
negative cases, and issues it (the figures frozen); a branch leader or the department head — never the
person who issued it — approves it, or returns it to draft with a reason. Approval numbers it (文号) and
stores the .docx and the .xlsx once in core's store of issued documents: every later download serves
those bytes.

Every service takes the acting user first (None: the system, e.g. the demo), checks the rules the
action table offers (``rules``), runs in one transaction and writes the briefing's timeline.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock, limits
from branchops.core.actions import require
from branchops.core.services import (
    document_number,
    lock_versioned,
    notify,
    record_timeline,
    stamp_history,
    store_document,
)
from branchops.org.models import Institution, Level

from . import briefing_queries as queries
from . import rules
from .briefing_models import Briefing, BriefingCase, BriefingSettings

CHANGED = gettext_lazy("The briefing changed since you opened it; reload and try again.")
BRANCH_LEVELS = (Level.TIER1_BRANCH, Level.TIER2_BRANCH)
MAX_CASES = 20


def _open_errors(branch, year, quarter) -> dict:
    errors = {}
    if branch is None or branch.level not in BRANCH_LEVELS:
        errors["branch"] = _("Choose a branch (tier-1 or tier-2).")
    if not isinstance(year, int) or not limits.MIN_YEAR <= year <= limits.MAX_YEAR:
        errors["year"] = _("Enter a year from %(low)s to %(high)s.") % {"low": limits.MIN_YEAR, "high": limits.MAX_YEAR}
    elif not isinstance(quarter, int) or not 1 <= quarter <= 4:
        errors["quarter"] = _("A quarter is 1 to 4.")
    elif queries.quarter_bounds(year, quarter)[1] >= clock.today():
        errors["quarter"] = _("A briefing covers a finished quarter.")
    return errors


@transaction.atomic
def create_briefing(actor, *, branch: Institution, year: int, quarter: int, summary: str = "") -> Briefing:
    """A draft briefing for the branch's finished quarter; its figures are read live until it is issued."""
    errors = _open_errors(branch, year, quarter)
    if errors:
        raise ValidationError(errors)
    require(rules.drafts_briefings, actor, branch)
    if Briefing.objects.filter(branch=branch, year=year, quarter=quarter).exists():
        raise ValidationError({"quarter": _("This branch already has a briefing for the quarter.")})
    briefing = Briefing(branch=branch, year=year, quarter=quarter, summary=(summary or "").strip(), created_by=actor)
    briefing.full_clean(exclude=["figures"])
    stamp_history(briefing, actor)
    briefing.save()
    record_timeline(actor, briefing, "briefing_created")
    return briefing


def _move(actor, briefing: Briefing, action: str, expected_version: int | None, predicate=None) -> Briefing:
    require(predicate or rules.manages_briefing, actor, briefing)
    briefing = lock_versioned(briefing, expected_version, CHANGED)
    rules.BRIEFING_FLOW.apply(briefing, action)
    briefing.version += 1
    stamp_history(briefing, actor)
    return briefing


@transaction.atomic
def update_briefing(actor, briefing: Briefing, *, summary: str, expected_version: int | None = None) -> Briefing:
    """The secretariat's overview of the quarter (a draft only)."""
    summary = (summary or "").strip()
    if len(summary) > 4000:
        raise ValidationError({"summary": _("The overview is at most 4,000 characters.")})
    briefing = _move(actor, briefing, "edit", expected_version)
    briefing.summary = summary
    briefing.save()
    return briefing


def _case_errors(briefing: Briefing, kind: str, title: str, text: str, outlet) -> dict:
    errors = {}
    if kind not in BriefingCase.Kind.values:
        errors["kind"] = _("Choose positive or negative.")
    if not title:
        errors["title"] = _("Give the case a title.")
    elif len(title) > 100:
        errors["title"] = _("A title is at most 100 characters.")
    if not text:
        errors["text"] = _("Say in a few lines what happened.")
    elif len(text) > 1000:
        errors["text"] = _("The text is at most 1,000 characters.")
    if outlet is not None and (outlet.level != Level.OUTLET or not outlet.path.startswith(briefing.branch.path)):
        errors["outlet"] = _("Choose an outlet of this branch.")
    return errors


@transaction.atomic
def add_case(actor, briefing: Briefing, *, kind: str, title: str, text: str, outlet: Institution | None = None,
             expected_version: int | None = None) -> Briefing:
    """A positive or negative case, chosen by the secretariat, with a short text (a draft only)."""
    title, text = (title or "").strip(), (text or "").strip()
    errors = _case_errors(briefing, kind, title, text, outlet)
    if errors:
        raise ValidationError(errors)
    briefing = _move(actor, briefing, "edit", expected_version)
    if briefing.cases.count() >= MAX_CASES:
        raise ValidationError(_("A briefing holds at most %(n)s cases.") % {"n": MAX_CASES})
    BriefingCase.objects.create(briefing=briefing, kind=kind, title=title, text=text, outlet=outlet, added_by=actor)
    briefing.save()
    return briefing


@transaction.atomic
def remove_case(actor, briefing: Briefing, *, case: int, expected_version: int | None = None) -> Briefing:
    briefing = _move(actor, briefing, "edit", expected_version)
    if not briefing.cases.filter(pk=case).delete()[0]:
        raise ValidationError({"case": _("This briefing has no such case.")})
    briefing.save()
    return briefing


def _approvers(briefing: Briefing):
    from django.contrib.auth import get_user_model

    users = (get_user_model().objects.filter(is_active=True, staff__is_active=True)
             .filter(staff__institution_id__in=[*briefing.branch.ancestor_ids(), briefing.branch_id])
             .distinct())
    return [u for u in users if rules.approves_briefing(u, briefing)]


@transaction.atomic
def issue_briefing(actor, briefing: Briefing, expected_version: int | None = None) -> Briefing:
    """The secretariat issues the draft: its figures are frozen as they stand; the approvers are told."""
    briefing = _move(actor, briefing, "issue", expected_version)
    briefing.figures = queries.live_figures(briefing)
    briefing.issued_by, briefing.issued_at = actor, clock.now()
    briefing.save()
    record_timeline(actor, briefing, "briefing_issued", _("Briefing issued: waiting for approval"))
    for user in _approvers(briefing):
        notify(user, _("Approve the service briefing %(briefing)s") % {"briefing": briefing},
               url=reverse("service:briefing", args=[briefing.pk]))
    return briefing


@transaction.atomic
def return_briefing(actor, briefing: Briefing, reason: str = "", expected_version: int | None = None) -> Briefing:
    """Back to draft with a reason (the approver's objection or the secretariat's correction)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the briefing goes back to draft.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("The reason is at most 2,000 characters.")})
    briefing = _move(actor, briefing, "return", expected_version, rules.returns_briefing)
    briefing.figures, briefing.issued_by, briefing.issued_at = {}, None, None
    briefing.save()
    record_timeline(actor, briefing, "briefing_returned", reason)
    return briefing


def briefing_number(briefing: Briefing) -> str:
    """The next 文号 of the branch's briefings in the briefing's year, in the configured format; taken
    once, on approval, and never given again."""
    conf = BriefingSettings.objects.filter(branch=briefing.branch).first() or BriefingSettings()
    return document_number(conf.number_format, f"service:briefing:{briefing.branch_id}", briefing.year,
                           _("The briefing number format “%(format)s” is not valid: use {year} and {seq}."))


@transaction.atomic
def approve_briefing(actor, briefing: Briefing, expected_version: int | None = None) -> Briefing:
    """A branch leader or the department head approves the issued briefing — never the person who issued
    it. Only now is it numbered and its .docx and .xlsx built once and stored: never rebuilt."""
    from .briefing_docx import DOCX_TYPE, build_docx, build_xlsx, title_of

    if actor is not None and actor.pk == briefing.issued_by_id and rules.may_approve(actor, briefing):
        raise ValidationError(_("A briefing is issued and approved by two different people: someone else approves it."))
    require(rules.approves_briefing, actor, briefing)
    briefing = lock_versioned(briefing, expected_version, CHANGED)
    rules.BRIEFING_FLOW.check(briefing, "approve")
    number, now = briefing_number(briefing), clock.now()
    title = title_of(briefing)
    common = {"issued_by": briefing.issued_by, "issued_at": briefing.issued_at, "approved_by": actor,
              "approved_at": now}
    cases = queries.briefing_cases(briefing)
    document = store_document(
        briefing, kind=queries.KIND, number=number, title=title, content_type=DOCX_TYPE,
        content=build_docx(briefing, briefing.figures, cases, number=number, approved_by=actor, approved_at=now),
        file_name=f"{title}（{number}）.docx", **common)
    workbook = store_document(
        briefing, kind=queries.WORKBOOK_KIND, number=number, title=title,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        content=build_xlsx(briefing, briefing.figures, cases, number=number),
        file_name=f"{title}（{number}）.xlsx", **common)
    rules.BRIEFING_FLOW.apply(briefing, "approve")
    briefing.document, briefing.workbook = document, workbook
    briefing.version += 1
    stamp_history(briefing, actor)
    briefing.save()
    record_timeline(actor, briefing, "briefing_approved", _("Briefing approved: %(number)s") % {"number": number},
                    {"number": number, "sha256": document.sha256})
    if briefing.issued_by_id:
        notify(briefing.issued_by, _("Service briefing %(briefing)s approved: %(number)s") % {
            "briefing": briefing, "number": number}, url=reverse("service:briefing", args=[briefing.pk]))
    return briefing
