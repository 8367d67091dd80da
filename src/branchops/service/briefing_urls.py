from django.urls import path

from . import briefing_views as views

# Joined into ``service.urls`` (namespace "service").
urlpatterns = [
    path("briefings/", views.briefings, name="briefings"),
    path("briefings/new/", views.briefing_new, name="briefing_new"),
    path("briefings/<int:pk>/", views.briefing, name="briefing"),
    path("briefings/<int:pk>/briefing.docx", views.briefing_docx_download, name="briefing_docx"),
    path("briefings/<int:pk>/briefing.xlsx", views.briefing_xlsx_download, name="briefing_xlsx"),
    path("briefings/<int:pk>/<slug:action>/", views.briefing_action, name="briefing_action"),
]
