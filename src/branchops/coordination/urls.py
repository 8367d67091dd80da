from django.urls import path

from . import views

app_name = "coordination"
urlpatterns = [
    path("", views.register, name="register"),
    path("items/new/", views.item_new, name="item_new"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/files/<int:att_pk>/", views.item_file, name="item_file"),
    path("items/<int:item_pk>/work-orders/", views.monitor, name="monitor"),
    path("items/<int:pk>/<slug:action>/", views.item_action, name="item_action"),
    path("conditions/", views.condition_list, name="conditions"),
    path("meetings/", views.meeting_list, name="meetings"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/minutes/", views.minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.docx", views.minutes_docx, name="minutes_docx"),
    path("meetings/<int:pk>/<slug:action>/", views.meeting_action, name="meeting_action"),
    path("feedback/<int:pk>/<slug:action>/", views.feedback_action, name="feedback_action"),
    path("post-reviews/<int:pk>/<slug:action>/", views.post_review_action, name="post_review_action"),
    path("verify/", views.verify, name="verify"),
    path("reviews/", views.reviews_waiting, name="reviews"),
]
