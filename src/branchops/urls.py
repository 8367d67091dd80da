from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from branchops import views
from branchops.api import api
from branchops.core import views as core_views
from branchops.org import views as org_views

handler404 = "branchops.core.views.not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/profile/", org_views.profile, name="profile"),
    path("accounts/tokens/<int:token_id>/revoke/", core_views.token_revoke, name="token_revoke"),
    path("notifications/", core_views.notifications, name="notifications"),
    path("notifications/read/", core_views.notifications_read, name="notifications_read"),
    path("calendar/", core_views.calendar_month, name="calendar"),
    path("filters/", core_views.saved_filter_list, name="saved_filters"),
    path("filters/save/", core_views.saved_filter_save, name="saved_filter_save"),
    path("filters/<int:pk>/delete/", core_views.saved_filter_delete, name="saved_filter_delete"),
    path("org/", include("branchops.org.urls")),
    path("cases/", include("branchops.cases.urls")),
    path("coordination/", include("branchops.coordination.urls")),
    # An item's completion across outlets moved to coordination; old links keep working.
    path("dispatch/items/<int:item_pk>/", RedirectView.as_view(pattern_name="coordination:monitor", permanent=True,
                                                               query_string=True)),
    path("dispatch/", include("branchops.dispatch.urls")),
    path("queueing/", include("branchops.queueing.urls")),
    path("service/", include("branchops.service.urls")),
    path("workforce/", include("branchops.workforce.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
