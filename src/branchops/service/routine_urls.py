from django.urls import path

from . import routine_views as views

# Joined into ``service.urls`` (namespace "service").
urlpatterns = [
    path("routines/", views.plans, name="routines"),
    path("routine-checks/", views.checks, name="routine_checks"),
    path("routine-checks/<int:pk>/", views.check, name="routine_check"),
]
