"""Pages of the public-phone governance (公示电话专项治理): the directory (filter, xlsx, add, edit,
import with a dry run), the check campaigns with their figures and calls (a caller records each call
on a phone-sized card), and the corrections the outlet heads fix. Thin: parse, call one service or
query, render; actions through the action tables (``PHONE_CALL_ACTIONS``, ``PHONE_CORRECTION_ACTIONS``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branchops.core import clock, limits
from branchops.core.audit import timeline
from branchops.core.queries import paginate
from branchops.core.xlsx import export_list

from . import phone_queries as queries
from . import phones, rules
from .actions import PHONE_CALL_ACTIONS, PHONE_CORRECTION_ACTIONS
from .input_views import InputImportForm
from .phone_forms import CampaignForm, FixForm, PhoneForm, RecordCallForm
from .phonebook import CallResult, PhoneKind
from .views import _error_text, _refused


def _form_refused(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _phone_filters(request) -> dict:
    kind = request.GET.get("kind", "")
    return {"outlet": limits.whole_number(request.GET.get("outlet")), "kind": kind if kind in PhoneKind.values else "",
            "q": request.GET.get("q", "").strip()[:100]}


@login_required
def directory(request):
    """Every published number in the reader's scope; editors add one here."""
    if not request.user.has_perm("service.view_phoneentry"):
        raise PermissionDenied
    form = None
    if rules.edits_phones(request.user):
        form = PhoneForm(request.POST or None, outlets=queries.phone_outlets(request.user), prefix="new")
        if request.method == "POST" and form.is_valid():
            try:
                phones.save_phone(request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_refused(form, exc)
            else:
                messages.success(request, _("Number saved."))
                return redirect("service:phones")
    elif request.method == "POST":
        raise PermissionDenied
    filters = _phone_filters(request)
    qs = queries.visible_phones(request.user, **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Kind"), _("Number"), _("Where published"), _("Published")]
        rows = ([e.outlet.code, e.outlet.name, e.get_kind_display(), e.number, e.published_at,
                 _("Yes") if e.is_active else _("No")] for e in qs.iterator())
        return export_list("public-phones.xlsx", _("Published phone numbers"), headers, rows)
    return render(request, "service/phones/directory.html", {
        "page": paginate(request, qs), "filters": filters, "kinds": PhoneKind.choices, "form": form,
        "outlets": queries.phone_outlets(request.user) if form else None,
        "can_import": rules.runs_phone_checks(request.user),
    })


@login_required
def phone(request, pk):
    entry = queries.access_phone(request.user, pk)
    can_edit = rules.edits_phones(request.user, entry.outlet)
    form = None
    if can_edit:
        initial = {"outlet": entry.outlet, "kind": entry.kind, "number": entry.number,
                   "published_at": entry.published_at, "is_active": entry.is_active}
        form = PhoneForm(request.POST or None, outlets=queries.phone_outlets(request.user), initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                phones.save_phone(request.user, entry=entry, **form.cleaned_data)
            except ValidationError as exc:
                _form_refused(form, exc)
            else:
                messages.success(request, _("Number saved."))
                return redirect("service:phone", pk=entry.pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "service/phones/phone.html", {"entry": entry, "form": form, "timeline": timeline(entry)})


@login_required
def phones_import(request):
    """The directory file checked first (dry run), then applied — all or nothing."""
    if not rules.runs_phone_checks(request.user):
        raise PermissionDenied
    form = InputImportForm(request.POST or None, request.FILES or None, branches=queries.campaign_scopes(request.user))
    del form.fields["kind"]
    form.fields["branch"].label = _("Branch or sub-branch")
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        apply = request.POST.get("apply") == "1"
        result = phones.import_directory(request.user, branch=form.cleaned_data["branch"],
                                         data=upload.read(limits.MAX_IMPORT_BYTES + 1), file_name=upload.name,
                                         dry_run=not apply)
        if apply and result.ok:
            messages.success(request, _("Imported: %(added)s numbers added or changed, %(same)s already stored.")
                             % {"added": len(result.new), "same": result.unchanged})
            return redirect("service:phones")
    return render(request, "service/phones/import.html", {
        "form": form, "result": result, "headers": ["网点代码", "电话类型", "电话号码", "公示位置"]})


@login_required
def campaigns(request):
    if not request.user.has_perm("service.view_phonecampaign"):
        raise PermissionDenied
    form = None
    if rules.runs_phone_checks(request.user):
        today = clock.today()
        form = CampaignForm(request.POST or None, scopes=queries.campaign_scopes(request.user),
                            initial={"starts_on": today, "ends_on": today.replace(day=28)})
        if request.method == "POST" and form.is_valid():
            try:
                campaign = phones.create_campaign(request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_refused(form, exc)
            else:
                messages.success(request, _("Campaign opened: %(n)s numbers to call.") % {"n": campaign.calls.count()})
                return redirect("service:phone_campaign", pk=campaign.pk)
    elif request.method == "POST":
        raise PermissionDenied
    page = paginate(request, queries.visible_campaigns(request.user))
    rows = [{"campaign": c, "figures": queries.campaign_figures(request.user, c)} for c in page]
    return render(request, "service/phones/campaigns.html", {"page": page, "rows": rows, "form": form})


@login_required
def campaign(request, pk):
    """The campaign's figures and its calls (filter by result, search); each call a card with its form."""
    item = queries.access_campaign(request.user, pk)
    result = request.GET.get("result", "")
    result = result if result in CallResult.values else ""
    q = request.GET.get("q", "").strip()[:100]
    qs = queries.campaign_calls(request.user, item, result=result, q=q)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Kind"), _("Number"), _("Result"), _("Note"), _("Called at"),
                   _("Corrected number")]
        rows = ([c.entry.outlet.code, c.entry.outlet.name, c.entry.get_kind_display(), c.number, c.get_result_display(),
                 c.note, c.called_at, getattr(getattr(c, "correction", None), "corrected_number", "")]
                for c in qs.iterator())
        return export_list(f"phone-check-{item.pk}.xlsx", item.name[:31], headers, rows)
    page = paginate(request, qs)
    calls = [{"call": c, "can": PHONE_CALL_ACTIONS.can(request.user, c)} for c in page]
    return render(request, "service/phones/campaign.html", {
        "campaign": item, "figures": queries.campaign_figures(request.user, item), "page": page, "calls": calls,
        "result": result, "q": q, "results": CallResult.choices, "form": RecordCallForm(),
    })


def _row_action(request, table, obj, name: str, form_class, back):
    """A call's or a correction's action from its card: 404 hidden (the caller looked it up), 403 not
    allowed, the form's or the service's refusal as a message."""
    if request.method != "POST":
        return back
    action = table.authorize(request.user, obj, name)
    form = form_class(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return back
    try:
        action.run(request.user, obj, form.action_data())
    except ValidationError as exc:
        messages.error(request, _error_text(exc, form))
        return back
    messages.success(request, action.done_message(None))
    return back


@login_required
def record_call(request, pk):
    call = queries.access_call(request.user, pk)
    return _row_action(request, PHONE_CALL_ACTIONS, call, "record", RecordCallForm,
                       redirect("service:phone_campaign", pk=call.campaign_id))


@login_required
def corrections(request):
    if not request.user.has_perm("service.view_phonecorrection"):
        raise PermissionDenied
    filters = {"open_only": request.GET.get("open", "1") == "1", "overdue": request.GET.get("overdue") == "1",
               "campaign": limits.whole_number(request.GET.get("campaign"))}
    qs = queries.visible_corrections(request.user, today=clock.today(), **filters)
    if request.GET.get("format") == "xlsx":
        headers = [_("Outlet code"), _("Outlet"), _("Kind"), _("Wrong number"), _("Note"), _("Owner"), _("Due"),
                   _("Corrected number"), _("Closed at")]
        rows = ([c.entry.outlet.code, c.entry.outlet.name, c.entry.get_kind_display(), c.call.number, c.call.note,
                 c.owner.username if c.owner_id else "", c.due, c.corrected_number, c.closed_at] for c in qs.iterator())
        return export_list("phone-corrections.xlsx", _("Phone corrections"), headers, rows)
    page = paginate(request, qs)
    rows = [{"c": c, "can": PHONE_CORRECTION_ACTIONS.can(request.user, c),
             "overdue": c.closed_at is None and c.due < clock.today()} for c in page]
    return render(request, "service/phones/corrections.html", {"page": page, "rows": rows, "filters": filters,
                                                                "form": FixForm()})


@login_required
def fix_correction(request, pk):
    correction = queries.access_correction(request.user, pk)
    return _row_action(request, PHONE_CORRECTION_ACTIONS, correction, "fix", FixForm,
                       redirect("service:phone_corrections"))
