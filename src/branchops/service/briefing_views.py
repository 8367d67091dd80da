"""Pages of the quarterly service & complaint briefing: the list (search, filters, xlsx, the secretariat's
form to open a quarter), one briefing (its figures, each naming its query; the secretariat's overview and
cases; issue, return, approve) and its .docx and .xlsx. Thin: parse, call one service or query, render.
Every read goes through ``briefing_queries.access_briefing`` (404 alike for "not there" and "not yours");
every write through ``BRIEFING_ACTIONS``."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.core import queries as core_queries
from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import XLSX_TYPE, export_list
from branchops.org.models import Institution, Level

from . import briefing_docx, forms, rules, services
from . import briefing_queries as queries
from .actions import BRIEFING_ACTIONS
from .briefing_models import Briefing
from .views import _error_text, _form_errors, run_form_action


def _reads_briefings(user) -> None:
    if not queries.reads_briefings(user):
        raise PermissionDenied


def _filters(request) -> dict:
    status, year = request.GET.get("status", ""), limits.whole_number(request.GET.get("year"))
    return {"q": request.GET.get("q", "").strip()[:100], "status": status if status in Briefing.Status.values else "",
            "year": year if year is not None and limits.MIN_YEAR <= year <= limits.MAX_YEAR else None}


def _new_form(user, data=None):
    if not rules.drafts_briefings(user):
        return None
    today = clock.today()
    year, quarter = (today.year, (today.month - 1) // 3) if today.month > 3 else (today.year - 1, 4)
    return forms.BriefingNewForm(data, branches=queries.briefing_branches(user),
                                 initial={"year": year, "quarter": quarter})


@login_required
def briefings(request):
    _reads_briefings(request.user)
    filters = _filters(request)
    qs = queries.briefing_list(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Quarter"), _("Branch"), _("Status"), _("Document number"), _("Issued at"), _("Approved at")]
        rows = ([b.label, b.branch.name, b.get_status_display(), b.document.number if b.document_id else "",
                 b.issued_at, b.document.approved_at if b.document_id else None] for b in qs)
        return export_list("service-briefings.xlsx", _("Service briefings"), headers, rows)
    return render(request, "service/briefings.html", {
        "page": paginate(request, qs), "filters": filters, "statuses": Briefing.Status.choices,
        "form": _new_form(request.user)})


@login_required
def briefing_new(request):
    if request.method != "POST":
        return redirect("service:briefings")
    if not rules.drafts_briefings(request.user):
        raise PermissionDenied
    form = _new_form(request.user, request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("service:briefings")
    try:
        briefing = services.create_briefing(request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
        return redirect("service:briefings")
    messages.success(request, _("Briefing opened: choose the cases, then issue it."))
    return redirect(briefing)


def _outlets(briefing):
    return Institution.objects.filter(path__startswith=briefing.branch.path, level=Level.OUTLET).order_by("path")


def _form(action, briefing, **kwargs):
    if action.name == "add_case":
        return action.form(outlets=_outlets(briefing), **kwargs)
    return action.form(**kwargs)


@login_required
def briefing(request, pk):
    item = queries.access_briefing(request.user, pk)
    can = BRIEFING_ACTIONS.can(request.user, item)
    figures = queries.figures(item)
    cases = queries.briefing_cases(item)
    forms_ = {a.name: _form(a, item, auto_id=f"{a.name}-%s",
                            initial={"summary": item.summary} if a.name == "edit" else None)
              for a in BRIEFING_ACTIONS if can[a.name]}
    tables = {key: {"title": title, "headers": headers, "rows": rows}
              for key, title, headers, rows in briefing_docx.tables(figures, cases)}
    return render(request, "service/briefing.html", {
        "briefing": item, "figures": figures, "cases": cases, "can": can, "forms": forms_,
        "sources": {f.key: {"title": f.title, "source": f.source} for f in queries.FIGURES}, "tables": tables,
        "actions": [a for a in BRIEFING_ACTIONS if can[a.name] and a.name in ("issue", "return", "approve")],
        "timeline": timeline(item), "approved_by": item.document.approved_by if item.document_id else None})


@login_required
def briefing_action(request, pk, action):
    if request.method != "POST":
        return redirect("service:briefing", pk=pk)
    item = queries.access_briefing(request.user, pk)
    act = BRIEFING_ACTIONS.authorize(request.user, item, action)
    return run_form_action(request, act, item, _form(act, item, data=request.POST), item.get_absolute_url())


def document_response(briefing: Briefing, kind: str) -> HttpResponse:
    """The download of the page and the API alike: the bytes stored on approval (never rebuilt), else
    the draft built now and marked as such."""
    stored = briefing.document if kind == "docx" else briefing.workbook
    if stored is not None:
        response = HttpResponse(core_queries.document_bytes(stored), content_type=stored.content_type)
        filename = stored.file_name
    else:
        figures, cases = queries.figures(briefing), queries.briefing_cases(briefing)
        if kind == "docx":
            response = HttpResponse(briefing_docx.build_docx(briefing, figures, cases),
                                    content_type=briefing_docx.DOCX_TYPE)
        else:
            response = HttpResponse(briefing_docx.build_xlsx(briefing, figures, cases), content_type=XLSX_TYPE)
        filename = f"{briefing_docx.title_of(briefing)}（{briefing_docx.DRAFT}）.{kind}"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def briefing_docx_download(request, pk):
    return document_response(queries.access_briefing(request.user, pk), "docx")


@login_required
def briefing_xlsx_download(request, pk):
    return document_response(queries.access_briefing(request.user, pk), "xlsx")
