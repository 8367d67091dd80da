from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from branchops.core.queries import paginate

from . import queries, services


@login_required
def register(request):
    return render(request, "coordination/register.html", {
        "page": paginate(request, queries.register(request.user, q=request.GET.get("q", "").strip()))})


@login_required
def item_detail(request, pk):
    return render(request, "coordination/item.html", {"item": queries.access_item(request.user, pk)})


@login_required
def meeting_detail(request, pk):
    return render(request, "coordination/meeting.html", {"meeting": queries.access_meeting(request.user, pk)})


@login_required
def verify(request):
    number = request.GET.get("number", "").strip()
    return render(request, "coordination/verify.html", {
        "number": number, "result": services.verify_number(number) if number else None})
