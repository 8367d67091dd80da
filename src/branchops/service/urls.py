from django.urls import path

from . import views

app_name = "service"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("schemes/", views.schemes, name="schemes"),
    path("schemes/<int:pk>/version/", views.scheme_version, name="scheme_version"),
    path("runs/new/", views.run_new, name="run_new"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/export/", views.run_export, name="export"),
    path("runs/<int:pk>/outlets/<int:outlet_pk>/", views.run_outlet, name="outlet"),
    path("runs/<int:pk>/<slug:action>/", views.run_action, name="action"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/new/", views.inspection_new, name="inspection_new"),
    path("inspections/<int:pk>/", views.inspection, name="inspection"),
    path("findings/<int:pk>/reinspect/", views.reinspect, name="reinspect"),
    path("findings/<int:pk>/deadline/", views.finding_deadline, name="finding_deadline"),
    path("supervisors/", views.supervisors, name="supervisors"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/<int:pk>/", views.checklist, name="checklist"),
    path("checklists/<int:pk>/items/<slug:code>/", views.checklist_item, name="checklist_item"),
]

from .input_urls import urlpatterns as _input_urls  # noqa: E402

urlpatterns += _input_urls

from .phone_urls import urlpatterns as _phone_urls  # noqa: E402

urlpatterns += _phone_urls

from .routine_urls import urlpatterns as _routine_urls  # noqa: E402

urlpatterns += _routine_urls
from .briefing_urls import urlpatterns as _briefing_urls  # noqa: E402

urlpatterns += _briefing_urls
