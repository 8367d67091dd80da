from django.urls import path

from . import phone_views as views

# Joined into ``service.urls`` (namespace "service").
urlpatterns = [
    path("phones/", views.directory, name="phones"),
    path("phones/import/", views.phones_import, name="phones_import"),
    path("phones/<int:pk>/", views.phone, name="phone"),
    path("phone-checks/", views.campaigns, name="phone_campaigns"),
    path("phone-checks/<int:pk>/", views.campaign, name="phone_campaign"),
    path("phone-calls/<int:pk>/record/", views.record_call, name="phone_call"),
    path("phone-corrections/", views.corrections, name="phone_corrections"),
    path("phone-corrections/<int:pk>/fix/", views.fix_correction, name="phone_fix"),
]
