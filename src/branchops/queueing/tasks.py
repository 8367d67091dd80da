"""Background tasks of the queue analytics: large imports run in the worker."""

from django_tasks import task


@task()
def import_file(batch_id: int) -> dict:
    from .services import run_import

    batch = run_import(batch_id)
    return {"status": batch.status, "added": batch.added, "rejected": batch.rejected}


@task()
def refresh_rollups() -> dict:
    """Roll-ups a read found older than their tickets (the read answered from the tickets meanwhile)."""
    from .services import recover_interrupted

    return {"recovered": recover_interrupted()}


def queue_refresh() -> bool:
    """Queue ``refresh_rollups`` unless one is already waiting; True if queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=refresh_rollups.module_path, status="READY").exists():
        return False
    refresh_rollups.enqueue()
    return True
