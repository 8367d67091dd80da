from django.urls import path

from . import input_views as views

# Joined into ``service.urls`` (namespace "service").
urlpatterns = [
    path("inputs/", views.imports, name="inputs"),
    path("inputs/<int:pk>/", views.input_import, name="input_import"),
    path("ratings/", views.ratings, name="ratings"),
    path("surveys/", views.surveys, name="surveys"),
    path("call-centre/", views.call_centre, name="call_centre"),
    path("targets/", views.targets, name="targets"),
    path("targets/<int:pk>/delete/", views.target_delete, name="target_delete"),
]
