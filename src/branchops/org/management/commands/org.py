"""`branchops org export FILE.xlsx` / `branchops org import FILE.xlsx [--dry-run]`, run as the system."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from branchops.org.importer import export_workbook, import_workbook


class Command(BaseCommand):
    help = "Export the organisation and people to an xlsx workbook, or import one (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("file", help="the .xlsx workbook to write or read")
        parser.add_argument("--dry-run", action="store_true", help="validate and list the changes, write nothing")

    def handle(self, *args, action, file, dry_run=False, **options):
        if action == "export":
            self.export(file)
        else:
            self.import_(file, dry_run, options.get("verbosity", 1))

    def export(self, path: str) -> None:
        wb = export_workbook(None)
        try:
            wb.save(path)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        counts = "，".join(f"{ws.title} {ws.max_row - 1}" for ws in wb.worksheets)
        self.stdout.write(_("Exported to %(file)s: %(counts)s") % {"file": path, "counts": counts})

    def import_(self, path: str, dry_run: bool, verbosity: int) -> None:
        try:
            with open(path, "rb") as fh:
                result = import_workbook(None, fh, dry_run=dry_run)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        for sheet, counts in result.summary.items():
            self.stdout.write(_("%(sheet)s: %(create)s to create, %(update)s to update, %(unchanged)s unchanged")
                              % {"sheet": sheet, **counts})
        if verbosity > 1:
            for change in result.changes:
                fields = "; ".join(f"{k}: {old} → {new}" for k, (old, new) in change["fields"].items())
                self.stdout.write(f"{change['sheet']}!第{change['row']}行 {change['action']} {change['key']}: {fields}")
        for error in result.errors:
            self.stderr.write(str(error))
        if not result.ok:
            raise CommandError(_("%(n)s errors; nothing was written.") % {"n": len(result.errors)}, returncode=1)
        if dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(_("Import applied: %(n)s changes.") % {"n": len(result.changes)}))
