from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Cluster, Department, Institution, OutletType, Post, Staff


@admin.register(OutletType, Post)
class ReferenceAdmin(SimpleHistoryAdmin):
    """Configurable reference lists, edited here."""

    list_display = ["code", "name", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Institutions, departments, clusters and staff are changed in the app (/org/), through the
    services that keep the tree, scope and timeline right; the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Institution)
class InstitutionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "level", "parent", "outlet_type", "cluster", "is_hub", "is_active"]
    list_filter = ["level", "outlet_type", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "institution", "is_business", "is_review", "is_secretariat"]
    list_filter = ["is_business", "is_review"]
    search_fields = ["code", "name"]


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "institution"]


@admin.register(Staff)
class StaffAdmin(ReadOnlyAdmin):
    list_display = ["staff_no", "name", "institution", "department", "post", "is_active"]
    list_filter = ["post", "is_active"]
    search_fields = ["staff_no", "name", "user__username"]
