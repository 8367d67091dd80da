from django.urls import path

from . import views

app_name = "workforce"

urlpatterns = [
    path("", views.people, name="people"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/<str:action>/", views.person_action, name="person_action"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<int:pk>/<str:action>/", views.certificate_action, name="certificate_action"),
    path("uncertified/", views.uncertified, name="uncertified"),
    path("mentorships/", views.mentorships, name="mentorships"),
    path("mentorships/<int:pk>/", views.mentorship, name="mentorship"),
    path("mentorships/<int:pk>/<str:action>/", views.mentorship_action, name="mentorship_action"),
    path("cross-post/", views.cross_post, name="cross_post"),
    path("lists/", views.lists, name="lists"),
]
