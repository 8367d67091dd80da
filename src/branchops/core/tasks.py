"""Background tasks of the shared kernel: the periodic scan that runs every app's registered jobs
(``branchops worker`` enqueues it every ``--scan-interval`` seconds through ``enqueue_scan``, which
never queues a second scan while one is still waiting or running — and every job is idempotent, so
an extra run changes nothing anyway), and e-mail copies of in-app notifications."""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections
from django_tasks import task

from . import clock, periodic

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


# A scan marked RUNNING for longer than this is taken for dead (its worker was killed mid-run) and
# no longer holds back the next one. A scan of a million open cases takes minutes, not hours.
RUNNING_STALE_AFTER = timedelta(hours=1)


class PeriodicJobsFailed(RuntimeError):
    """One or more periodic jobs raised; the others ran. The task fails so that it shows."""


@task()
def periodic_scan(today_iso: str | None = None) -> dict:
    """Run every job the apps registered with ``periodic.register`` (SLA reminders and escalations,
    agendas to freeze, conditions and work orders falling due …).

    ``today_iso`` (``YYYY-MM-DD``) runs them as on that day; by default today in the bank's time zone,
    taken when the task runs, not when it was queued. A failing job does not stop the others; the task
    then fails, naming them.
    """
    today = date.fromisoformat(today_iso) if today_iso else clock.today()
    jobs = periodic.run_all(today)
    failed = sorted(name for name, result in jobs.items() if result == periodic.FAILED)
    if failed:
        raise PeriodicJobsFailed(", ".join(failed))
    return {"today": today.isoformat(), "jobs": jobs}


def _is_db_backend(backend) -> bool:
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:  # pragma: no cover - the database backend is a dependency
        return False
    return isinstance(backend, DatabaseBackend)


def _waiting_scans():
    """The scans of this task that are queued, or running and not stale."""
    from django.db.models import Q
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    fresh = clock.wall_now() - RUNNING_STALE_AFTER  # django-tasks stamps started_at itself
    return DBTaskResult.objects.filter(
        Q(status=TaskResultStatus.READY) | Q(status=TaskResultStatus.RUNNING, started_at__gte=fresh),
        task_path=periodic_scan.module_path,
        backend_name=periodic_scan.backend,
    ).order_by("enqueued_at")


def pending_scan_id() -> str | None:
    """The id of the scan waiting (or running) in the database queue, if there is one."""
    if not _is_db_backend(periodic_scan.get_backend()):
        return None
    found = _waiting_scans().values_list("id", flat=True).first()
    return str(found) if found else None


def enqueue_scan():
    """Queue a periodic scan unless one is already waiting or running.

    Returns the new task's result, or None when a scan was already queued. The check and the insert
    run in one exclusive transaction (SQLite) or under an advisory lock (PostgreSQL), so two worker
    processes enqueueing at the same moment still leave a single scan.
    """
    backend = periodic_scan.get_backend()
    if not _is_db_backend(backend):
        return periodic_scan.enqueue()  # another backend (e.g. immediate in development): nothing to check
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    using = DBTaskResult.objects.db
    with exclusive_transaction(using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [periodic_scan.module_path])
        if _waiting_scans().exists():
            return None
        return periodic_scan.enqueue()
