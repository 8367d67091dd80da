"""Background tasks of the shared kernel: e-mail copies of in-app notifications."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def email_notification(notification_id: int) -> bool:
    """Send the e-mail copy of one notification; the in-app notification exists whatever happens here."""
    from .models import Notification

    note = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if note is None or not note.recipient.email:
        return False
    body = note.body
    if note.url:
        body = f"{body}\n\n{settings.BRANCHOPS_SITE_URL.rstrip('/')}{note.url}".strip()
    send_mail(note.title, body, None, [note.recipient.email])
    return True
