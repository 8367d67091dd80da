from django.contrib import admin
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiToken, CalendarDay, Notification, TimelineEntry
from .services import record_timeline


@admin.register(CalendarDay)
class CalendarDayAdmin(SimpleHistoryAdmin):
    """The bank's overrides of the statutory calendar (next year's schedule, local closures)."""

    list_display = ["date", "is_working_day", "name"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"
    search_fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "read_only", "created_at", "expires_at", "last_used_at", "revoked_at"]
    # A token's reach is its owner's choice: the admin may revoke it, not widen a read-only one.
    readonly_fields = ["user", "name", "prefix", "digest", "read_only", "created_at", "last_used_at"]

    def get_readonly_fields(self, request, obj=None):
        # Revocation is final: once revoked, the date cannot be cleared (ApiToken.save refuses it too).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "revoked_at"] if obj is not None and obj.revoked_at else fields
    search_fields = ["name", "user__username", "prefix"]

    def has_add_permission(self, request):
        return False  # tokens are created by their owner on the profile page

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [f for f in ("revoked_at", "expires_at") if f in form.changed_data]
        if change and changed:  # an administrator revoking or extending someone's token leaves a trace
            verb = "token_revoked" if "revoked_at" in changed and obj.revoked_at else "token_changed"
            record_timeline(request.user, obj.user, verb,
                            _("API token “%(name)s” changed in the admin") % {"name": obj.name},
                            {f: str(getattr(obj, f)) if getattr(obj, f) else None for f in changed})


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "content_type", "object_id", "verb", "message"]
    list_filter = ["verb", "content_type"]
    search_fields = ["message", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "title", "read_at"]
    search_fields = ["title", "recipient__username"]
