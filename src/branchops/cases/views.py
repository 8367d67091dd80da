from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import queries


@login_required
def case_list(request):
    return render(request, "cases/list.html", {"page": queries.case_list(request.user)[:50]})


@login_required
def case_detail(request, pk):
    return render(request, "cases/detail.html", {"case": queries.access_case(request.user, pk)})
