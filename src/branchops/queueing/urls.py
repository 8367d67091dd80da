from django.urls import path

from . import views

app_name = "queueing"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("outlets/<str:code>/", views.outlet, name="outlet"),
    path("settings/", views.settings_page, name="settings"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/actions/<str:action>/", views.import_action, name="import_action"),
]
