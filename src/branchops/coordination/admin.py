from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Item, Meeting, ReviewDimension, ReviewRemit, ReviewRequirement, Settings


@admin.register(ReviewDimension)
class ReviewDimensionAdmin(admin.ModelAdmin):
    """The review dimensions: configuration, not code."""

    list_display = ["code", "name", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]


@admin.register(ReviewRemit)
class ReviewRemitAdmin(admin.ModelAdmin):
    """Which dimensions each fixed review department covers."""

    list_display = ["department"]
    filter_horizontal = ["dimensions"]


@admin.register(ReviewRequirement)
class ReviewRequirementAdmin(SimpleHistoryAdmin):
    """Which dimensions each item type needs reviewed before a decision (the review gate)."""

    list_display = ["item_type"]
    filter_horizontal = ["dimensions"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Settings)
class SettingsAdmin(admin.ModelAdmin):
    """Meeting weekday, agenda cut-off, approval number format (one row per branch, made with it)."""

    list_display = ["branch", "meeting_weekday", "cutoff_days_before", "cutoff_hour", "approval_format",
                    "quorum_chair", "quorum_review_departments"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnly(SimpleHistoryAdmin):
    """Items and meetings change only through the coordination pages (services keep the rules)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Item)
class ItemAdmin(ReadOnly):
    list_display = ["number", "title", "department", "status", "decision", "approval_number"]
    list_filter = ["status", "decision", "item_type"]
    search_fields = ["number", "title", "approval_number"]


@admin.register(Meeting)
class MeetingAdmin(ReadOnly):
    list_display = ["year", "sequence", "held_on", "status", "branch"]
