from django.urls import path

from . import views

app_name = "org"
urlpatterns = [
    path("", views.institution_tree, name="tree"),
    path("institutions/", views.institution_list, name="institution_list"),
    path("institutions/new/", views.institution_edit, name="institution_new"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution_detail"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    path("institutions/<int:pk>/hours/", views.institution_hours, name="institution_hours"),
    path("departments/", views.department_list, name="department_list"),
    path("departments/new/", views.department_edit, name="department_new"),
    path("departments/<int:pk>/", views.department_detail, name="department_detail"),
    path("departments/<int:pk>/edit/", views.department_edit, name="department_edit"),
    path("people/", views.staff_list, name="staff_list"),
    path("people/new/", views.staff_edit, name="staff_new"),
    path("people/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("people/<int:pk>/edit/", views.staff_edit, name="staff_edit"),
    path("export/", views.org_export, name="export"),
    path("import/", views.org_import, name="import"),
]
