"""`branchops worker`: run the background tasks queued in the database, and the periodic SLA scan.

One command runs everything: the django-tasks database worker (``db_worker``) processes the queue
in the main thread while a small thread enqueues the cases' SLA scan (reminders and escalations)
every ``--sla-interval`` seconds. Enqueueing is idempotent — a scan already waiting is not queued
again — so several workers may run side by side.

- ``branchops worker`` — run until stopped (SIGTERM / Ctrl+C: the running task is finished first).
- ``branchops worker --once`` — enqueue one SLA scan, run everything queued, exit (cron, tests).
  The exit status is non-zero when that scan failed.
- ``--sla-interval 0`` — no SLA scan (e.g. a second worker for another queue).
"""

import logging
import signal
import threading
from argparse import ArgumentTypeError

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

log = logging.getLogger("branchops.worker")

SLA_QUEUE_DEFAULT = "default"


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0 or number != number:
        raise ArgumentTypeError("must be zero or greater")
    return number


class Command(BaseCommand):
    help = "Run the background task worker (django-tasks database backend) and the periodic SLA scan."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="Enqueue one SLA scan, process every queued task, then exit.")
        parser.add_argument("--sla-interval", type=_non_negative, default=600.0, metavar="SECONDS",
                            help="Enqueue the SLA scan (reminders, escalations) this often; 0 disables it "
                                 "(default: %(default)s).")
        parser.add_argument("--queue-name", default=SLA_QUEUE_DEFAULT,
                            help="Queues to process, comma-separated, or '*' for all (default: %(default)s).")

    def handle(self, *args, once, sla_interval, queue_name, verbosity, **options):
        self.verbosity = verbosity
        argv = ["--queue-name", queue_name, "--no-reload", "--verbosity", str(verbosity)]
        enqueue = self._sla_enqueuer(sla_interval, queue_name)
        if once:
            self._run_once(argv, enqueue)
            return
        stop = threading.Event()
        thread = None
        if enqueue is not None:
            thread = threading.Thread(target=self._enqueue_loop, args=(enqueue, sla_interval, stop),
                                      name="branchops-sla-enqueuer", daemon=True)
            thread.start()
        try:
            self._db_worker(argv)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)

    # --- the SLA scan --------------------------------------------------------------------------

    def _sla_enqueuer(self, interval: float, queue_name: str):
        """The function that enqueues the SLA scan, or None when this worker does not schedule it."""
        if interval <= 0 or not apps.is_installed("branchops.cases"):
            return None
        from branchops.cases.tasks import enqueue_sla_scan, scan_sla

        queues = [q.strip() for q in queue_name.split(",")]
        if "*" not in queues and scan_sla.queue_name not in queues:
            self.stderr.write(f"The SLA scan runs on the {scan_sla.queue_name!r} queue, which this worker does "
                              "not process: not scheduling it here.")
            return None
        return enqueue_sla_scan

    def _enqueue_loop(self, enqueue, interval: float, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    if enqueue() is not None:
                        log.info("SLA scan enqueued")
                except Exception:  # a database hiccup must not kill the schedule; try again next time
                    log.exception("could not enqueue the SLA scan")
                finally:
                    connections.close_all()  # this thread's own connections; reopened next time
                stop.wait(interval)
        finally:
            connections.close_all()

    def _run_once(self, argv: list[str], enqueue) -> None:
        scan_id = None
        if enqueue is not None:
            from branchops.cases.tasks import pending_sla_scan_id

            result = enqueue()
            scan_id = str(result.id) if result is not None else pending_sla_scan_id()
        self._db_worker([*argv, "--batch", "--no-startup-delay"])
        if scan_id is None:
            return
        from django_tasks_db.compat import TaskResultStatus

        from branchops.cases.tasks import scan_sla

        result = scan_sla.get_result(scan_id)
        if result.status == TaskResultStatus.FAILED:
            error = result.errors[-1].exception_class_path if result.errors else "unknown error"
            raise CommandError(f"The SLA scan {scan_id} failed: {error}")
        if self.verbosity > 0:
            if result.status == TaskResultStatus.SUCCESSFUL:
                self.stdout.write(f"SLA scan: {result.return_value}")
            else:
                self.stdout.write(f"SLA scan {scan_id} is {result.status.label} in another worker.")

    # --- the database worker -------------------------------------------------------------------

    def _db_worker(self, argv: list[str]) -> None:
        """Run django-tasks' database worker; put back the signal handlers it installs, so a caller
        (a test run, a shell) keeps its own Ctrl+C."""
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
                if hasattr(signal, name):
                    saved[name] = signal.getsignal(getattr(signal, name))
        try:
            call_command("db_worker", *argv, stdout=self.stdout, stderr=self.stderr)
        finally:
            for name, handler in saved.items():
                if handler is not None:
                    signal.signal(getattr(signal, name), handler)
