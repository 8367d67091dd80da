"""Reads shared by pages and the API."""

from django.core.paginator import Paginator

from .models import Notification, TimelineEntry


def my_notifications(user, unread_only: bool = False):
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def my_recent_actions(user, limit: int = 10):
    return TimelineEntry.objects.filter(actor=user).select_related("content_type")[:limit]


def paginate(request, qs, per_page: int | None = None):
    from django.conf import settings

    size = per_page or settings.PAGE_SIZE
    try:
        size = max(1, min(200, int(request.GET.get("page_size", size))))
    except ValueError:
        pass
    return Paginator(qs, size).get_page(request.GET.get("page"))
