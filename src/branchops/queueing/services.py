"""Writes of the queue analytics: importing ticket and device logs, and the per-branch settings.

The tickets go to the Parquet store (``store``), the roll-ups are refreshed for the partitions an
import touched (``rollup``), and a ``TicketImport`` row records what was added and every refused
row with its line and reason.
"""

import contextlib
import fcntl
import logging
import shutil
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from branchops.core import clock
from branchops.core.actions import require
from branchops.core.services import record_timeline, require_perm, stamp_history
from branchops.org.models import Institution, Level
from branchops.org.queries import branch_of

from . import rollup, rules, store
from .models import QueueSettings, TicketImport
from .queries import data_root

log = logging.getLogger(__name__)

SUFFIXES = {".csv", ".xlsx", ".parquet"}
# Files up to this size are imported while the page waits; larger ones go to the worker.
INLINE_BYTES = 30 * 1024 * 1024
MAX_STORED_ERRORS = 1000
MAX_ATTEMPTS = 2  # an import interrupted this often is failed, not started again

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


def start_import(actor, fileobj, file_name: str, kind: str = TicketImport.Kind.TICKETS,
                 mode: str = TicketImport.Mode.APPEND) -> TicketImport:
    """Keep the uploaded file and record the import; ``run_import`` does the work."""
    require_perm(actor, "queueing.import_tickets")
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationError({"file": _("Upload a .csv, .xlsx or .parquet file (got “%(name)s”).")
                                       % {"name": file_name}})
    if kind not in TicketImport.Kind.values:
        raise ValidationError({"kind": _("Choose ticket log or smart-device log.")})
    _check_mode(kind, mode)
    target = _upload_dir() / f"{uuid.uuid4().hex}{suffix}"
    with open(target, "wb") as out:
        if hasattr(fileobj, "chunks"):
            for chunk in fileobj.chunks():
                out.write(chunk)
        else:
            shutil.copyfileobj(fileobj, out)
    staff = getattr(actor, "staff", None) if actor is not None else None
    return record_file(actor, target, file_name, kind, staff.institution if staff else None, mode=mode)


def _check_mode(kind: str, mode: str) -> None:
    if mode not in TicketImport.Mode.values:
        raise ValidationError({"mode": _("Choose to add to the stored tickets or to replace the file's days.")})
    if mode == TicketImport.Mode.REPLACE and kind != TicketImport.Kind.TICKETS:
        raise ValidationError({"mode": _("Only ticket logs can replace stored days.")})


def record_file(actor, path, file_name: str, kind: str, institution: Institution | None,
                mode: str = TicketImport.Mode.APPEND) -> TicketImport:
    """Record a file waiting to be imported (the web upload's copy, or a file on the server).

    In replace mode the import waits for confirmation with its preview: the stored days it would replace.
    """
    _check_mode(kind, mode)
    batch = TicketImport.objects.create(kind=kind, file_name=Path(file_name).name[:255], stored_path=str(path),
                                        uploaded_by=actor, institution=institution, mode=mode)
    record_timeline(actor, batch, "uploaded", batch.file_name)
    if mode == TicketImport.Mode.REPLACE:
        _preview(batch)
    return batch


def _preview(batch: TicketImport) -> None:
    try:
        days = store.preview_replace(batch.stored_path, data_root(), known_outlets())
    except store.ImportFileError as exc:
        batch.status, batch.message = TicketImport.Status.FAILED, file_error_message(exc)
        batch.finished_at = clock.now()
        batch.save()
        return
    batch.preview = {outlet: [d.isoformat() for d in ds] for outlet, ds in days.items()}
    batch.status = TicketImport.Status.AWAITING
    batch.save(update_fields=["preview", "status"])


def preview_lines(batch: TicketImport) -> list[str]:
    """“These N days of outlet X will be replaced: …”, one line per outlet (nothing: only new days)."""
    return [_("%(n)s days of outlet %(outlet)s will be replaced: %(days)s") % {
                "n": len(days), "outlet": outlet, "days": ", ".join(days)}
            for outlet, days in sorted(batch.preview.items())]


def _txid(batch: TicketImport) -> str:
    return f"import-{batch.pk}"


@contextlib.contextmanager
def _run_lock(batch_id: int):
    """Held while an import runs: a RUNNING import whose lock is free belongs to a process that died."""
    path = data_root() / "journal" / f".run-{batch_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_import(batch_id: int, progress: store.Progress | None = None) -> TicketImport:
    """Import one uploaded file: good rows stored (nothing twice), every bad row recorded.

    The store commits the file as one transaction; a crash at any point is detected and finished or
    rolled back by ``recover_interrupted`` (the worker's periodic job and the start of every import).
    """
    recover_interrupted()
    batch = TicketImport.objects.get(pk=batch_id)
    if batch.status not in (TicketImport.Status.QUEUED, TicketImport.Status.FAILED):
        return batch
    with _run_lock(batch.pk) as mine:
        if not mine:
            return batch
        return _run_locked(batch, progress)


def _import_aliases(batch: TicketImport) -> dict:
    """The queue-type mapping of the branch the import belongs to (its uploader's branch; the first
    branch for a file imported on the server): the log's queue-type and tier codes."""
    inst = batch.institution
    branch = branch_of(inst) if inst is not None else None
    conf = (QueueSettings.objects.filter(branch=branch or inst).first() if inst is not None
            else QueueSettings.objects.order_by("branch__path").first())
    return conf.import_aliases() if conf is not None else {}


def _run_locked(batch: TicketImport, progress: store.Progress | None) -> TicketImport:
    batch.attempts += 1
    batch.txid = _txid(batch)
    TicketImport.objects.filter(pk=batch.pk).update(status=TicketImport.Status.RUNNING, attempts=batch.attempts,
                                                    txid=batch.txid)
    last = [0]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        # A few writes per import, not one per batch of rows: the page polls this.
        if total and (done == total or done - last[0] >= max(total // 20, 1)):
            last[0] = done
            TicketImport.objects.filter(pk=batch.pk).update(done_rows=done, total_rows=total)

    runner = store.import_device_files if batch.kind == TicketImport.Kind.DEVICES else store.import_ticket_files
    options = {"replace": True} if batch.mode == TicketImport.Mode.REPLACE else {}
    if batch.kind == TicketImport.Kind.TICKETS:
        options["aliases"] = _import_aliases(batch)
    try:
        summary = runner([batch.stored_path], data_root(), known_outlets(), report,
                         max_errors=MAX_STORED_ERRORS, txid=batch.txid, **options)
        store.crash_point("stored")
        result = summary.files[0]
        if result.file_error is not None:
            batch.status, batch.message = TicketImport.Status.FAILED, file_error_message(result.file_error)
        else:
            _refresh(summary.partitions)
            store.crash_point("rolled up")
            batch.status = TicketImport.Status.DONE
        _fill(batch, result.rows_read, result.added, result.already_stored, result.recalls, result.rejected,
              result.error_count, [{"line": e.line, "field": e.field, "reason": e.reason, "value": e.value}
                                   for e in result.errors[:MAX_STORED_ERRORS]])
        batch.replaced = result.replaced
        if batch.status == TicketImport.Status.DONE and batch.kind == TicketImport.Kind.TICKETS:
            batch.message = " ".join(filter(None, [batch.message, _future_warning(summary.partitions)]))
        if result.txid is None:
            batch.txid = ""  # nothing changed: nothing to undo
    except Exception as exc:  # recorded on the import; the store transaction left nothing half written
        log.exception("import %s failed", batch.pk)
        batch.status, batch.message = TicketImport.Status.FAILED, str(exc)[:2000]
        batch.txid = ""
    batch.finished_at = clock.now()
    batch.save()
    _record_done(batch)
    return batch


def _future_warning(partitions) -> str:
    """A warning when the outlets and months the file touched hold tickets dated after today (a queue
    machine's clock set wrong): they are stored, but pages never open on their month by default."""
    from . import kpis

    n, first, last = kpis.future_tickets(data_root(), partitions, clock.today())
    if not n:
        return ""
    return ngettext("Warning: %(n)s ticket is dated after today (%(first)s to %(last)s); check the queue "
                    "machine's clock. It is stored, but the pages do not open on its month.",
                    "Warning: %(n)s tickets are dated after today (%(first)s to %(last)s); check the queue "
                    "machine's clock. They are stored, but the pages do not open on their month.", n) % {
        "n": n, "first": first, "last": last}


def _fill(batch: TicketImport, rows: int, added: int, stored: int, recalls: int, rejected: int, error_count: int,
          errors: list[dict]) -> None:
    batch.total_rows = batch.done_rows = rows
    batch.added, batch.already_stored, batch.recalls, batch.rejected = added, stored, recalls, rejected
    batch.errors = errors
    if error_count > len(errors):
        batch.message = _("%(n)s problems in all; the first %(shown)s are listed.") % {
            "n": error_count, "shown": len(errors)}


def _record_done(batch: TicketImport) -> None:
    record_timeline(None, batch, "imported", _("%(added)s added, %(stored)s already stored, %(rejected)s rejected")
                    % {"added": batch.added, "stored": batch.already_stored, "rejected": batch.rejected})
    if batch.replaced or (batch.mode == TicketImport.Mode.REPLACE and batch.status == TicketImport.Status.DONE):
        record_timeline(batch.uploaded_by, batch, "replaced",
                        _("%(n)s stored tickets replaced. %(days)s") % {
                            "n": batch.replaced, "days": " ".join(preview_lines(batch))},
                        data={"preview": batch.preview})


def _refresh(partitions) -> None:
    """The roll-ups of these partitions, and of any a crash left behind (never stale for long)."""
    wanted = sorted(set(partitions) | set(rollup.stale(data_root())))
    if wanted:
        rollup.refresh(data_root(), wanted)


def queue_stale_refresh(start, end) -> bool:
    """Pages and API: when roll-ups of these months are older than their tickets (the reads then answer
    from the tickets), queue one refresh for the worker. True if one was queued."""
    from . import kpis
    from .tasks import queue_refresh

    return bool(rollup.stale(data_root(), kpis.months_between(start, end))) and queue_refresh()


def recover_interrupted(today=None) -> int:
    """Imports left RUNNING by a process that died: finished if the store committed them, else rolled back
    and queued again (failed with the reason after MAX_ATTEMPTS). Also refreshes stale roll-ups."""
    fixed = 0
    for batch in TicketImport.objects.filter(status=TicketImport.Status.RUNNING):
        with _run_lock(batch.pk) as dead:
            if not dead:
                continue  # its process still holds the lock: running, not stuck
            _recover(batch)
            fixed += 1
    _refresh([])
    return fixed


def _recover(batch: TicketImport) -> None:
    kind = "devices" if batch.kind == TicketImport.Kind.DEVICES else "tickets"
    ticket_store = store.TicketStore(data_root())
    ticket_store.recover(kind)
    info = ticket_store.manifest(batch.txid) if batch.txid else None
    if info is not None:  # committed before the crash: only the roll-ups and this record were missing
        _refresh([tuple(p) for p in info["partitions"]])
        conflicts = info.get("conflicts", [])
        errors = [{"line": ln, "field": f, "reason": r, "value": v} for ln, f, r, v in info.get("errors", [])]
        errors += [{"line": ln, "field": f, "reason": "stored_conflict", "value": ""} for ln, f in conflicts]
        errors.sort(key=lambda e: e["line"])
        _fill(batch, info["rows_read"], info["added"], info["already_stored"], info["recalls"],
              info["rejected"] + len(conflicts), info.get("error_count", 0) + len(conflicts),
              errors[:MAX_STORED_ERRORS])
        batch.replaced = info.get("replaced", 0)
        batch.status, batch.finished_at = TicketImport.Status.DONE, clock.now()
        batch.message = _("Finished after an interruption.")
        batch.save()
        _record_done(batch)
        return
    batch.txid = ""
    if batch.attempts >= MAX_ATTEMPTS:
        batch.status, batch.finished_at = TicketImport.Status.FAILED, clock.now()
        batch.message = _("Interrupted %(n)s times (the process ended during the import); nothing of it was "
                          "stored.") % {"n": batch.attempts}
        batch.save()
        record_timeline(None, batch, "failed", batch.message)
        return
    batch.status = TicketImport.Status.QUEUED
    batch.message = _("Interrupted; nothing of it was stored. Imported again.")
    batch.save()
    record_timeline(None, batch, "requeued", batch.message)
    from .tasks import import_file

    transaction.on_commit(lambda: import_file.enqueue(batch.pk))


def import_uploaded(actor, fileobj, file_name: str, kind: str = TicketImport.Kind.TICKETS,
                    size: int | None = None, mode: str = TicketImport.Mode.APPEND) -> TicketImport:
    """Small files are imported at once; large ones are queued for the worker. Replace mode waits for
    ``confirm_import`` after showing its preview."""
    batch = start_import(actor, fileobj, file_name, kind, mode)
    if batch.status != TicketImport.Status.QUEUED:
        return batch
    return _launch(batch, size)


def _launch(batch: TicketImport, size: int | None = None) -> TicketImport:
    size = size if size is not None else Path(batch.stored_path).stat().st_size
    if size <= INLINE_BYTES:
        return run_import(batch.pk)
    from .tasks import import_file

    transaction.on_commit(lambda: import_file.enqueue(batch.pk))
    return batch


def confirm_import(actor, batch: TicketImport, launch: bool = True) -> TicketImport:
    """Run a replace-mode import whose preview the user has seen (``launch=False``: only queue it)."""
    require(rules.can_import, actor, batch)
    with transaction.atomic():
        locked = TicketImport.objects.select_for_update().get(pk=batch.pk)
        if locked.status != TicketImport.Status.AWAITING:
            raise ValidationError(_("This import is not waiting for confirmation."))
        locked.status = TicketImport.Status.QUEUED
        locked.save(update_fields=["status"])
        record_timeline(actor, locked, "confirmed", " ".join(preview_lines(locked)))
    return _launch(locked) if launch else locked


def cancel_import(actor, batch: TicketImport) -> TicketImport:
    require(rules.can_import, actor, batch)
    with transaction.atomic():
        locked = TicketImport.objects.select_for_update().get(pk=batch.pk)
        if locked.status != TicketImport.Status.AWAITING:
            raise ValidationError(_("This import is not waiting for confirmation."))
        locked.status, locked.finished_at = TicketImport.Status.CANCELLED, clock.now()
        locked.save(update_fields=["status", "finished_at"])
        record_timeline(actor, locked, "cancelled")
    return locked


def _check_no_later_change(batch: TicketImport) -> None:
    """An undo goes back in order: a later import that changed the same outlet-months (it may have
    replaced or recalled this one's tickets) is undone first, so an undo never removes another's rows."""
    ticket_store = store.TicketStore(data_root())
    mine = {tuple(p) for p in (ticket_store.manifest(batch.txid) or {}).get("partitions", [])}
    later = (TicketImport.objects.filter(pk__gt=batch.pk, kind=batch.kind, status=TicketImport.Status.DONE)
             .exclude(txid="").order_by("pk"))
    for other in later:
        theirs = {tuple(p) for p in (ticket_store.manifest(other.txid) or {}).get("partitions", [])}
        if mine & theirs:
            raise ValidationError(_("Import %(id)s (%(file)s) changed the same outlets and months later: undo it "
                                    "first.") % {"id": other.pk, "file": other.file_name})


def undo_import(actor, batch: TicketImport) -> TicketImport:
    """Remove exactly what the import added (and put back what it replaced); roll-ups refreshed; audited."""
    require(rules.can_import, actor, batch)
    with transaction.atomic():
        locked = TicketImport.objects.select_for_update().get(pk=batch.pk)
        if not rules.undoable(locked):
            raise ValidationError(_("Only a finished import that changed the stored tickets can be undone, once."))
        kind = "devices" if locked.kind == TicketImport.Kind.DEVICES else "tickets"
        _check_no_later_change(locked)
        try:
            result = store.TicketStore(data_root()).undo(locked.txid, kind)
        except ValueError as exc:
            raise ValidationError(_("Only a finished import that changed the stored tickets can be undone, once.")
                                  ) from exc
        locked.status, locked.undone_at, locked.undone_by = TicketImport.Status.UNDONE, clock.now(), actor
        locked.save(update_fields=["status", "undone_at", "undone_by"])
        record_timeline(actor, locked, "undone", _("%(removed)s tickets removed, %(back)s put back") % {
            "removed": result.removed, "back": result.replaced},
            data={"partitions": [list(p) for p in result.partitions]})
    _refresh(result.partitions)
    return locked


@transaction.atomic
def create_settings(sender=None, *, actor=None, branch: Institution, **kwargs) -> QueueSettings:
    """The branch's queue settings, made with the branch (org's ``branch_created`` hook)."""
    return QueueSettings.objects.get_or_create(branch=branch)[0]


# What the settings page and the API may change (the branch itself is not a setting).
SETTINGS_FIELDS = ("regular_threshold_minutes", "vip_threshold_minutes", "private_threshold_minutes",
                   "target_wait_minutes", "target_level", "abandonment_significant", "pattern_ratio",
                   "all_day_share", "device_saturation", "paydays", "opens_at", "closes_at", "type_mapping")


@transaction.atomic
def save_settings(actor, branch: Institution | None, **fields) -> QueueSettings:
    """Change the branch's queue settings: validated as a whole (nothing saved on any error), recorded
    on the settings' timeline with the values before and after. The KPIs read the thresholds at every
    query (the roll-ups keep whole wait histograms), so figures follow at once; nothing to rebuild."""
    require_perm(actor, "queueing.change_queuesettings")
    if branch is None:
        raise ValidationError(_("Queue settings belong to a branch; your account is not placed in one."))
    unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError({name: _("This is not a queue setting.") for name in unknown})
    conf = QueueSettings.objects.select_for_update().filter(branch=branch).first() or QueueSettings(branch=branch)
    before = {name: getattr(conf, name) for name in SETTINGS_FIELDS}
    for name, value in fields.items():
        setattr(conf, name, value)
    conf.full_clean()
    changed = [name for name in SETTINGS_FIELDS if getattr(conf, name) != before[name]]
    if conf.pk and not changed:
        return conf
    stamp_history(conf, actor)
    conf.save()
    labels = ", ".join(str(QueueSettings._meta.get_field(name).verbose_name) for name in changed)
    record_timeline(actor, conf, "updated", _("Queue settings changed: %(fields)s.") % {"fields": labels},
                    data={"changed": changed})
    return conf
