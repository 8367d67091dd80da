"""`branchops queue import FILE… [--kind tickets|devices] [--quiet] [--replace [--yes]]`, `branchops queue undo ID`
and `branchops queue rollup [--month YYYY-MM]`.

Imports run as the system, file by file, through the same service as the web page (``services.run_import``):
each file becomes a ``TicketImport`` (imported by "command line") with its counts and rejected rows, the good
rows go to the store under ``BRANCHOPS_QUEUE_DIR`` (nothing twice) and the roll-ups of the touched partitions
are refreshed. The exit status is 1 when any row or file was rejected.
"""

import re
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from branchops.core.management.progress import CommandStream
from branchops.org.models import Institution, Level
from branchops.queueing import rollup, services
from branchops.queueing.models import TicketImport
from branchops.queueing.queries import data_root

SHOWN_ROWS = 50  # rejected rows listed per file; the rest are counted
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_PATH_LIMIT = TicketImport._meta.get_field("stored_path").max_length


def _month(value: str) -> str:
    if not _MONTH.match(value):
        raise CommandError(_("Give the month as YYYY-MM (got “%(value)s”).") % {"value": value})
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise CommandError(_("Give the month as YYYY-MM (got “%(value)s”).") % {"value": value}) from exc
    return value


class Command(BaseCommand):
    help = "Import queue-machine ticket logs or smart-device logs (CSV, xlsx, Parquet), or rebuild the queue roll-ups."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,rollup,undo}")
        imp = actions.add_parser("import", help="import log files into the ticket store and refresh the roll-ups")
        imp.add_argument("files", nargs="+", metavar="FILE", help="a .csv, .xlsx or .parquet log file")
        imp.add_argument("--kind", choices=TicketImport.Kind.values, default=TicketImport.Kind.TICKETS,
                         help="what the files hold (default: tickets)")
        imp.add_argument("--institution", metavar="CODE",
                         help="institution the imports are recorded under (default: the branch); its staff see "
                              "them in the import history")
        imp.add_argument("--quiet", action="store_true",
                         help="no progress bar and no per-file summary; rejected rows are still listed")
        imp.add_argument("--replace", action="store_true",
                         help="replace mode: every stored ticket of an outlet on a day the file holds is replaced by "
                              "the file's tickets; prints which days and changes nothing without --yes")
        imp.add_argument("--yes", action="store_true", help="with --replace: replace the days the preview lists")
        undo = actions.add_parser("undo", help="undo an import: remove what it added, put back what it replaced")
        undo.add_argument("import_id", type=int, metavar="ID", help="the import's number (see the import history)")
        roll = actions.add_parser("rollup", help="rebuild the queue roll-ups from the stored tickets")
        roll.add_argument("--month", action="append", metavar="YYYY-MM",
                          help="only this month (repeatable); default: every stored month")

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_(options["files"], options["kind"], options.get("institution"), options.get("quiet", False),
                         options.get("replace", False), options.get("yes", False))
        elif action == "undo":
            self.undo(options["import_id"])
        else:
            self.rollup(options.get("month") or None)

    # ------------------------------------------------------------------------------------------ import
    def undo(self, pk: int) -> None:
        batch = TicketImport.objects.filter(pk=pk).first()
        if batch is None:
            raise CommandError(_("No import with number %(id)s.") % {"id": pk})
        try:
            batch = services.undo_import(None, batch)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(_("Import %(id)s (%(file)s) undone.") % {"id": pk, "file": batch.file_name})

    def _replace_preview(self, path: Path, kind: str, institution, yes: bool) -> TicketImport | None:
        """Record the file in replace mode and print its preview; None (nothing changed) without --yes."""
        batch = services.record_file(None, path.resolve(), path.name, kind, institution,
                                     mode=TicketImport.Mode.REPLACE)
        if batch.status == TicketImport.Status.FAILED:
            return batch
        for line in services.preview_lines(batch) or [_("No stored day is replaced: the file's days are all new.")]:
            self.stdout.write(f"{path}: {line}")
        if not yes:
            services.cancel_import(None, batch)
            self.stdout.write(_("%(file)s: nothing changed; add --yes to replace these days.") % {"file": path})
            return None
        return services.confirm_import(None, batch, launch=False)

    def import_(self, files: list[str], kind: str, institution_code: str | None, quiet: bool,
                replace: bool = False, yes: bool = False) -> None:
        paths = [Path(f) for f in files]
        for path in paths:  # every file is checked before anything is imported
            if not path.is_file():
                raise CommandError(_("File not found: %(file)s") % {"file": path})
            if path.suffix.lower() not in services.SUFFIXES:
                raise CommandError(_("Use a .csv, .xlsx or .parquet file (got “%(name)s”).") % {"name": path})
            if len(str(path.resolve())) > _PATH_LIMIT:
                raise CommandError(_("The path of %(file)s is too long to record.") % {"file": path})
        institution = self._institution(institution_code)

        rejected_rows = failed_files = 0
        if replace and kind != TicketImport.Kind.TICKETS:
            raise CommandError(_("Only ticket logs can replace stored days."))
        for path in paths:
            if replace:
                batch = self._replace_preview(path, kind, institution, yes)
                if batch is None:
                    continue
            else:
                batch = services.record_file(None, path.resolve(), path.name, kind, institution)
            with tqdm(desc=path.name, total=0, unit="rows", unit_scale=True, disable=quiet, leave=True,
                      file=CommandStream(self.stderr), dynamic_ncols=True, mininterval=0.5) as bar:

                def progress(done: int, total: int, bar=bar) -> None:
                    if total != bar.total:
                        bar.total = total
                    bar.update(done - bar.n)

                batch = services.run_import(batch.pk, progress=progress)
                progress(batch.total_rows, batch.total_rows)
            if batch.status != TicketImport.Status.DONE:
                failed_files += 1
                self.stderr.write(_("%(file)s: not imported: %(message)s") % {"file": path, "message": batch.message})
                continue
            rejected_rows += batch.rejected
            if not quiet:
                self.stdout.write(
                    _("%(file)s: rows read %(rows)s, added %(added)s, already stored %(stored)s, recalls %(recalls)s, "
                      "rejected %(rejected)s") % {"file": path, "rows": batch.total_rows, "added": batch.added,
                                                  "stored": batch.already_stored, "recalls": batch.recalls,
                                                  "rejected": batch.rejected})
            self._rejected_rows(path, batch)

        if rejected_rows or failed_files:
            raise CommandError(_("Rejected rows: %(rows)s; files not imported: %(files)s.")
                               % {"rows": rejected_rows, "files": failed_files}, returncode=1)

    @staticmethod
    def _institution(code: str | None) -> Institution | None:
        if code:
            try:
                return Institution.objects.get(code=code)
            except Institution.DoesNotExist as exc:
                raise CommandError(_("No institution with code %(code)s.") % {"code": code}) from exc
        return (Institution.objects.filter(level__in=[Level.TIER1_BRANCH, Level.TIER2_BRANCH]).order_by("path")
                .first())

    def _rejected_rows(self, path: Path, batch: TicketImport) -> None:
        """The rejected rows of one file (all problems of the first SHOWN_ROWS rows), then how many more."""
        if not batch.rejected:
            return
        self.stderr.write(_("%(file)s: rejected rows:") % {"file": path})
        lines: set[int] = set()
        for error in batch.errors:
            if error["line"] not in lines and len(lines) >= SHOWN_ROWS:
                break
            lines.add(error["line"])
            values = {"line": error["line"], "field": error["field"] or "-",
                      "reason": services.reason_label(error["reason"]), "value": error["value"]}
            if error["value"]:
                self.stderr.write("  " + _("line %(line)s, %(field)s: %(reason)s: “%(value)s”") % values)
            else:
                self.stderr.write("  " + _("line %(line)s, %(field)s: %(reason)s") % values)
        if batch.rejected > len(lines):
            self.stderr.write("  " + _("… and %(n)s more") % {"n": batch.rejected - len(lines)})

    # ------------------------------------------------------------------------------------------ rollup
    def rollup(self, months: list[str] | None) -> None:
        months = [_month(m) for m in months] if months else None
        result = rollup.rebuild(data_root(), months)
        self.stdout.write(_("Roll-ups rebuilt: partitions (outlet × month) %(partitions)s, months %(months)s, "
                            "%(seconds)s s.") % result)
