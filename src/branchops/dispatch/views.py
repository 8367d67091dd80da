from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from branchops.core.queries import paginate

from . import queries


@login_required
def work_orders(request):
    qs = queries.visible_work_orders(request.user).select_related("item", "institution")
    return render(request, "dispatch/work_orders.html", {"page": paginate(request, qs)})


@login_required
def work_order(request, pk):
    return render(request, "dispatch/work_order.html", {"wo": queries.access_work_order(request.user, pk)})
