from django.urls import path

from . import views

app_name = "coordination"
urlpatterns = [
    path("", views.register, name="register"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("verify/", views.verify, name="verify"),
]
