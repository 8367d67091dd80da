"""Pages of the whole product rather than of one app: "My work", the home page, gathers what each
app has for the signed-in user, so it sits above every app (like ``urls`` and ``api``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from branchops.core import nav
from branchops.core import queries as core_queries
from branchops.org import queries as org_queries


@login_required
def home(request):
    user = request.user
    context = {
        "staff": getattr(user, "staff", None),
        "notifications": core_queries.my_notifications(user, unread_only=True)[:10],
        "recent_actions": core_queries.my_recent_actions(user),
        "scope_summary": org_queries.scope_summary(user),
        "roles": org_queries.role_labels(user),
        "work_sections": nav.work_sections_for(user),
    }
    return render(request, "core/home.html", context)
