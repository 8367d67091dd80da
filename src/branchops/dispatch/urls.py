from django.urls import path

from . import views

app_name = "dispatch"
urlpatterns = [
    path("", views.work_orders, name="work_orders"),
    path("<int:pk>/", views.work_order, name="work_order"),
]
