from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import clock, limits, nav, queries, services
from .http import safe_next


@login_required
def notifications(request):
    page = queries.paginate(request, queries.my_notifications(request.user))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    ids = request.POST.getlist("id") or None
    services.mark_notifications_read(request.user, ids)
    return redirect(safe_next(request) or "notifications")


@login_required
@require_POST
def token_revoke(request, token_id: int):
    from django.http import Http404

    from .models import ApiToken

    try:
        services.revoke_api_token(request.user, token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("The token was revoked."))
    return redirect("profile")


HOLIDAY_LABELS = {
    "New Year's Day": gettext_lazy("New Year's Day"),
    "Spring Festival": gettext_lazy("Spring Festival"),
    "Tomb-sweeping Day": gettext_lazy("Tomb-sweeping Day"),
    "Labour Day": gettext_lazy("Labour Day"),
    "Dragon Boat Festival": gettext_lazy("Dragon Boat Festival"),
    "National Day": gettext_lazy("National Day"),
    "Mid-autumn Festival": gettext_lazy("Mid-autumn Festival"),
}


def holiday_label(name):
    return str(HOLIDAY_LABELS.get(name, name)) if name else ""


@login_required
def calendar_month(request):
    """A month of the working-day calendar, with the bank's own overrides marked."""
    import calendar as pycal
    from datetime import date, timedelta

    from . import workdays
    from .calendar import statutory_holiday
    from .models import CalendarDay

    today = clock.today()
    try:
        year = int(request.GET.get("year", today.year))
        month = int(request.GET.get("month", today.month))
        first = date(year, month, 1)
        if not limits.year_in_range(year):
            raise ValueError(year)  # the statutory calendar and the grid stop somewhere
    except (ValueError, OverflowError):
        first = date(today.year, today.month, 1)
    weeks = pycal.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    overrides = {d.date: d for d in CalendarDay.objects.filter(date__in=[d for w in weeks for d in w])}
    grid = [[{"date": d, "in_month": d.month == first.month, "working": workdays.is_working_day(d),
              "override": overrides.get(d), "holiday": holiday_label(statutory_holiday(d))}
             for d in week] for week in weeks]
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first.replace(day=28) + timedelta(days=7)).replace(day=1)
    return render(request, "core/calendar.html", {
        "first": first, "grid": grid, "prev": prev_month, "next": next_month,
        "uncovered": workdays.uncovered_years([first.year, first.year + 1]),
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    })


def not_found(request, exception=None):
    """An address no route matches (or a row no number can name): under /api/ the API's JSON answer
    (``{"detail": …}``), as for a row that does not exist; elsewhere the site's 404 page."""
    from django.http import JsonResponse
    from django.views import defaults

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found"}, status=404)
    return defaults.page_not_found(request, exception)


# --- saved filters -------------------------------------------------------------------------------

@login_required
def saved_filter_list(request):
    lists = nav.filterable_lists()
    rows = [{"filter": f, "list_label": lists.get(f.list_key, f.list_key)}
            for f in queries.saved_filters(request.user) if f.list_key in lists]
    return render(request, "core/saved_filters.html", {"rows": rows})


@login_required
@require_POST
def saved_filter_save(request):
    """Save the filter a list shows (its query string) under a name; then back to the list with it."""
    from django.core.exceptions import ValidationError
    from django.urls import reverse

    list_key = request.POST.get("list", "")
    try:
        saved = services.save_filter(request.user, list_key, request.POST.get("name", ""),
                                     request.POST.get("query", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if list_key in nav.filterable_lists():
            query = request.POST.get("query", "")[:1000]
            return redirect(reverse(list_key) + (f"?{query}" if query else ""))
        return redirect("saved_filters")
    messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
    return redirect(saved.get_absolute_url())


@login_required
@require_POST
def saved_filter_delete(request, pk: int):
    from django.http import Http404

    from .models import SavedFilter

    try:
        services.delete_filter(request.user, pk)
    except SavedFilter.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("The saved filter was deleted."))
    return redirect(safe_next(request) or "saved_filters")
