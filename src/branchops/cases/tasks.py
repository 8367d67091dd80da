"""Background tasks of the case engine (django-tasks, database backend).

``scan_sla`` sends the reminders and applies the escalations that are due (``services.apply_sla``);
``branchops worker`` enqueues it every ``--sla-interval`` seconds through ``enqueue_sla_scan``,
which never queues a second scan while one is still waiting or running — and the scan itself is
idempotent, so an extra run changes nothing anyway.
"""

from datetime import date, timedelta

from django.db import connections
from django_tasks import task

from branchops.core import clock

# A scan marked RUNNING for longer than this is taken for dead (its worker was killed mid-run) and
# no longer holds back the next one. A scan of a million open cases takes minutes, not hours.
RUNNING_STALE_AFTER = timedelta(hours=1)


@task()
def scan_sla(today_iso: str | None = None) -> dict:
    """Send due reminders and apply reached escalation levels to every open case.

    ``today_iso`` (``YYYY-MM-DD``) evaluates the deadlines as on that day; by default today in the
    bank's time zone, taken when the task runs, not when it was queued.
    """
    from branchops.core import periodic

    from . import services

    today = date.fromisoformat(today_iso) if today_iso else None
    stats = services.apply_sla(today=today)
    jobs = periodic.run_all()
    return {"today": (today or clock.today()).isoformat(), **stats, **({"jobs": jobs} if jobs else {})}


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
        task_path=scan_sla.module_path,
        backend_name=scan_sla.backend,
    ).order_by("enqueued_at")


def pending_sla_scan_id() -> str | None:
    """The id of the scan waiting (or running) in the database queue, if there is one."""
    if not _is_db_backend(scan_sla.get_backend()):
        return None
    found = _waiting_scans().values_list("id", flat=True).first()
    return str(found) if found else None


def enqueue_sla_scan():
    """Queue an SLA scan unless one is already waiting or running.

    Returns the new task's result, or None when a scan was already queued. The check and the insert
    run in one exclusive transaction (SQLite) or under an advisory lock (PostgreSQL), so two worker
    processes enqueueing at the same moment still leave a single scan.
    """
    backend = scan_sla.get_backend()
    if not _is_db_backend(backend):
        return scan_sla.enqueue()  # another backend (e.g. immediate in development): nothing to check
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    using = DBTaskResult.objects.db
    with exclusive_transaction(using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [scan_sla.module_path])
        if _waiting_scans().exists():
            return None
        return scan_sla.enqueue()
