"""Writes of the queue analytics: importing ticket and device logs, and the per-branch settings.

The tickets go to the Parquet store (``store``), the roll-ups are refreshed for the partitions an
import touched (``rollup``), and a ``TicketImport`` row records what was added and every refused
row with its line and reason.
"""

import logging
import shutil
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branchops.core import clock
from branchops.core.services import record_timeline, require_perm, stamp_history
from branchops.org.models import Institution, Level

from . import rollup, store
from .models import QueueSettings, TicketImport
from .queries import data_root

log = logging.getLogger(__name__)

SUFFIXES = {".csv", ".xlsx", ".parquet"}
# Files up to this size are imported while the page waits; larger ones go to the worker.
INLINE_BYTES = 30 * 1024 * 1024
MAX_STORED_ERRORS = 1000

REASONS = {
    "unknown_outlet": gettext_lazy("unknown outlet"),
    "times_out_of_order": gettext_lazy("times out of order"),
    "missing_field": gettext_lazy("missing field"),
    "bad_value": gettext_lazy("bad value"),
    "duplicate_ticket": gettext_lazy("duplicate ticket"),
    "date_mismatch": gettext_lazy("ticket date is not the day of issue"),
    "duplicate_record": gettext_lazy("duplicate record"),
    "conflicting_ticket": gettext_lazy("same ticket number and issue time as an earlier line, but another "
                                       "customer tier, business type or queue type"),
    "stored_conflict": gettext_lazy("differs from the stored ticket with this number and issue time; import "
                                    "the corrected file in replace mode"),
}


FILE_ERRORS = {
    "unsupported_format": gettext_lazy("Upload a .csv, .xlsx or .parquet file."),
    "unreadable_file": gettext_lazy("The file cannot be read as a table."),
    "bad_encoding": gettext_lazy("The file is neither UTF-8 nor GBK/GB18030 encoded (Big5 is not accepted)."),
    "mixed_encoding": gettext_lazy("The file mixes UTF-8 and GBK/GB18030 lines; save it in one encoding."),
    "replacement_character": gettext_lazy("The file holds the replacement character � (text garbled before "
                                          "the export); export it again."),
    "empty_file": gettext_lazy("The file has no header row."),
    "missing_column": gettext_lazy("A column is missing:"),
    "unknown_column": gettext_lazy("A column is not part of the layout:"),
    "duplicate_column": gettext_lazy("A column appears twice:"),
}


def file_error_message(error) -> str:
    text = str(FILE_ERRORS.get(error.code, error.message))
    if getattr(error, "line", 0):
        text = _("%(text)s First bad line: %(line)s.") % {"text": text, "line": error.line}
    return f"{text} {error.column}".strip() if error.column else text


def reason_label(code: str) -> str:
    return str(REASONS.get(code, code))


def known_outlets() -> set[str]:
    return set(Institution.objects.filter(level=Level.OUTLET).values_list("code", flat=True))


def _upload_dir() -> Path:
    path = data_root() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_import(actor, fileobj, file_name: str, kind: str = TicketImport.Kind.TICKETS) -> TicketImport:
    """Keep the uploaded file and record the import; ``run_import`` does the work."""
    require_perm(actor, "queueing.import_tickets")
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationError({"file": _("Upload a .csv, .xlsx or .parquet file (got “%(name)s”).")
                                       % {"name": file_name}})
    if kind not in TicketImport.Kind.values:
        raise ValidationError({"kind": _("Choose ticket log or smart-device log.")})
    target = _upload_dir() / f"{uuid.uuid4().hex}{suffix}"
    with open(target, "wb") as out:
        if hasattr(fileobj, "chunks"):
            for chunk in fileobj.chunks():
                out.write(chunk)
        else:
            shutil.copyfileobj(fileobj, out)
    staff = getattr(actor, "staff", None) if actor is not None else None
    return record_file(actor, target, file_name, kind, staff.institution if staff else None)


def record_file(actor, path, file_name: str, kind: str, institution: Institution | None) -> TicketImport:
    """Record a file waiting to be imported (the web upload's copy, or a file on the server)."""
    batch = TicketImport.objects.create(kind=kind, file_name=Path(file_name).name[:255], stored_path=str(path),
                                        uploaded_by=actor, institution=institution)
    record_timeline(actor, batch, "uploaded", batch.file_name)
    return batch


def run_import(batch_id: int, progress: store.Progress | None = None) -> TicketImport:
    """Import one uploaded file: good rows stored (nothing twice), every bad row recorded."""
    batch = TicketImport.objects.get(pk=batch_id)
    if batch.status in (TicketImport.Status.DONE, TicketImport.Status.RUNNING):
        return batch
    TicketImport.objects.filter(pk=batch.pk).update(status=TicketImport.Status.RUNNING)
    last = [0]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        # A few writes per import, not one per batch of rows: the page polls this.
        if total and (done == total or done - last[0] >= max(total // 20, 1)):
            last[0] = done
            TicketImport.objects.filter(pk=batch.pk).update(done_rows=done, total_rows=total)

    runner = store.import_device_files if batch.kind == TicketImport.Kind.DEVICES else store.import_ticket_files
    try:
        summary = runner([batch.stored_path], data_root(), known_outlets(), report,
                         max_errors=MAX_STORED_ERRORS)
        report = summary.files[0]
        if report.file_error is not None:
            batch.status, batch.message = TicketImport.Status.FAILED, file_error_message(report.file_error)
        else:
            rollup.refresh(data_root(), summary.partitions)
            batch.status = TicketImport.Status.DONE
        batch.total_rows = batch.done_rows = report.rows_read
        batch.added, batch.already_stored = report.added, report.already_stored
        batch.recalls, batch.rejected = report.recalls, report.rejected
        batch.errors = [{"line": e.line, "field": e.field, "reason": e.reason, "value": e.value}
                        for e in report.errors[:MAX_STORED_ERRORS]]
        if report.error_count > len(batch.errors):
            batch.message = _("%(n)s problems in all; the first %(shown)s are listed.") % {
                "n": report.error_count, "shown": len(batch.errors)}
    except Exception as exc:  # recorded on the import; the store's atomic writes leave no half file
        log.exception("import %s failed", batch.pk)
        batch.status, batch.message = TicketImport.Status.FAILED, str(exc)[:2000]
    batch.finished_at = clock.now()
    batch.save()
    record_timeline(None, batch, "imported", _("%(added)s added, %(stored)s already stored, %(rejected)s rejected")
                    % {"added": batch.added, "stored": batch.already_stored, "rejected": batch.rejected})
    return batch


def import_uploaded(actor, fileobj, file_name: str, kind: str = TicketImport.Kind.TICKETS,
                    size: int | None = None) -> TicketImport:
    """Small files are imported at once; large ones are queued for the worker."""
    batch = start_import(actor, fileobj, file_name, kind)
    size = size if size is not None else Path(batch.stored_path).stat().st_size
    if size <= INLINE_BYTES:
        return run_import(batch.pk)
    from .tasks import import_file

    transaction.on_commit(lambda: import_file.enqueue(batch.pk))
    return batch


@transaction.atomic
def create_settings(sender=None, *, actor=None, branch: Institution, **kwargs) -> QueueSettings:
    """The branch's queue settings, made with the branch (org's ``branch_created`` hook)."""
    return QueueSettings.objects.get_or_create(branch=branch)[0]


def save_settings(actor, branch: Institution, **fields) -> QueueSettings:
    require_perm(actor, "queueing.change_queuesettings")
    conf = QueueSettings.objects.select_for_update().filter(branch=branch).first() or QueueSettings(branch=branch)
    for name, value in fields.items():
        setattr(conf, name, value)
    conf.full_clean()
    stamp_history(conf, actor)
    conf.save()
    return conf
