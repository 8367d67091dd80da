from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Blackout, OutletCapacity


@admin.register(Blackout)
class BlackoutAdmin(admin.ModelAdmin):
    """Periods when no new work should land on outlets (month-, quarter-, year-end, holidays)."""

    list_display = ["name", "start", "end"]
    date_hierarchy = "start"


@admin.register(OutletCapacity)
class OutletCapacityAdmin(SimpleHistoryAdmin):
    list_display = ["outlet", "weekly_hours", "note"]
    search_fields = ["outlet__name", "outlet__code"]
