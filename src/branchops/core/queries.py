"""Reads shared by pages and the API."""

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator

from .models import IssuedDocument, Notification, TimelineEntry


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


def issued_document(source, kind: str) -> IssuedDocument | None:
    """The document of ``kind`` issued for ``source`` (a meeting, a briefing …), or None. The caller
    has authorised the reader on the source."""
    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    return (IssuedDocument.objects.select_related("issued_by__staff", "approved_by__staff")
            .filter(kind=kind, source_type=source_type, source_id=str(source.pk)).first())


def document_bytes(doc: IssuedDocument) -> bytes:
    """The stored bytes, exactly as issued (never rebuilt)."""
    return bytes(doc.content)
def saved_filters(user, list_key: str | None = None):
    """The user's saved filters, of one list or of all."""
    from .models import SavedFilter

    if not user.is_authenticated:
        return SavedFilter.objects.none()
    qs = SavedFilter.objects.filter(user=user)
    return qs.filter(list_key=list_key) if list_key else qs
