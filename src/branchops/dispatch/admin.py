from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Blackout, OutletCapacity, WorkloadSettings


@admin.register(Blackout)
class BlackoutAdmin(admin.ModelAdmin):
    """Periods when no new work should land on outlets (month-, quarter-, year-end, holidays)."""

    list_display = ["name", "start", "end"]
    date_hierarchy = "start"


@admin.register(OutletCapacity)
class OutletCapacityAdmin(SimpleHistoryAdmin):
    list_display = ["outlet", "weekly_hours", "note"]
    search_fields = ["outlet__name", "outlet__code"]


@admin.register(WorkloadSettings)
class WorkloadSettingsAdmin(SimpleHistoryAdmin):
    """The default share of staff time outlets keep for work from above, per branch."""

    list_display = ["branch", "capacity_share"]
    # One row per branch, created with the branch: never added or removed here.

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
