from django.urls import path

from . import views

app_name = "dispatch"
urlpatterns = [
    path("", views.work_orders, name="work_orders"),
    path("workload/", views.workload_view, name="workload"),
    path("workload/capacity/", views.capacity, name="capacity"),
    path("<int:pk>/", views.work_order, name="work_order"),
    path("<int:pk>/materials/<int:att_pk>/", views.material, name="material"),
    path("<int:pk>/<slug:action>/", views.work_order_action, name="action"),
]
