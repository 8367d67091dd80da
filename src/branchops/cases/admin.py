from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Case, Category, ComplaintCode, PiiAccess, SlaPolicy


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    """Per-type category trees and the department each category is routed to."""

    list_display = ["case_type", "code", "name", "parent", "department", "sort_order", "is_active"]
    list_filter = ["case_type", "is_active"]
    search_fields = ["code", "name"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    """Deadlines per type × category × priority, versioned by effective dates."""

    list_display = ["name", "case_type", "category", "priority", "response_days", "resolution_days",
                    "decision_days", "day_kind", "effective_from", "effective_to"]
    list_filter = ["case_type", "day_kind"]


@admin.register(ComplaintCode)
class ComplaintCodeAdmin(admin.ModelAdmin):
    """The complaint classification standard's code tables (JR/T 0169-2018), replaceable by version."""

    list_display = ["standard", "dimension", "code", "name", "parent", "effective_from", "effective_to"]
    list_filter = ["standard", "dimension"]
    search_fields = ["code", "name"]


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    """Read-only: cases change only through the case pages, which keep SLA and timeline right."""

    list_display = ["number", "case_type", "title", "institution", "status", "resolution_due"]
    list_filter = ["case_type", "status"]
    search_fields = ["number", "title"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PiiAccess)
class PiiAccessAdmin(admin.ModelAdmin):
    """Who looked at complainants' personal data, when and how."""

    list_display = ["viewed_at", "user", "case", "via", "ip_address"]
    list_filter = ["via"]
    search_fields = ["user__username", "case__number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
