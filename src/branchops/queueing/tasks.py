"""Background tasks of the queue analytics: large imports run in the worker."""

from django_tasks import task


@task()
def import_file(batch_id: int) -> dict:
    from .services import run_import

    batch = run_import(batch_id)
    return {"status": batch.status, "added": batch.added, "rejected": batch.rejected}
