from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/files/<int:att_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/<slug:action>/", views.case_action, name="action"),
]
