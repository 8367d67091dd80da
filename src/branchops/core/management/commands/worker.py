"""`branchops worker`: run the background tasks queued in the database, and the periodic scan.

One command runs everything: the django-tasks database worker (``db_worker``) processes the queue
in the main thread while a small thread enqueues the periodic scan (``core.tasks.periodic_scan``:
every job the apps registered — SLA reminders and escalations, agendas to freeze, conditions and
work orders falling due) every ``--scan-interval`` seconds. Enqueueing is idempotent — a scan
already waiting is not queued again — so several workers may run side by side.

- ``branchops worker`` — run until stopped (SIGTERM / Ctrl+C: the running task is finished first).
- ``branchops worker --once`` — enqueue one scan, run everything queued, exit (cron, tests).
  The exit status is non-zero when that scan failed.
- ``--scan-interval 0`` — no scan (e.g. a second worker for another queue). ``--sla-interval`` is
  the older name of the same option.
"""

import logging
import signal
import threading
from argparse import ArgumentTypeError

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

log = logging.getLogger("branchops.worker")

QUEUE_DEFAULT = "default"


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0 or number != number:
        raise ArgumentTypeError("must be zero or greater")
    return number


class Command(BaseCommand):
    help = "Run the background task worker (django-tasks database backend) and the periodic scan."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="Enqueue one periodic scan, process every queued task, then exit.")
        parser.add_argument("--scan-interval", "--sla-interval", dest="scan_interval", type=_non_negative,
                            default=600.0, metavar="SECONDS",
                            help="Enqueue the periodic scan (reminders, escalations, agendas, due work) this "
                                 "often; 0 disables it (default: %(default)s).")
        parser.add_argument("--queue-name", default=QUEUE_DEFAULT,
                            help="Queues to process, comma-separated, or '*' for all (default: %(default)s).")

    def handle(self, *args, once, scan_interval, queue_name, verbosity, **options):
        self.verbosity = verbosity
        argv = ["--queue-name", queue_name, "--no-reload", "--verbosity", str(verbosity)]
        enqueue = self._scan_enqueuer(scan_interval, queue_name)
        if once:
            self._run_once(argv, enqueue)
            return
        stop = threading.Event()
        thread = None
        if enqueue is not None:
            thread = threading.Thread(target=self._enqueue_loop, args=(enqueue, scan_interval, stop),
                                      name="branchops-scan-enqueuer", daemon=True)
            thread.start()
        try:
            self._db_worker(argv)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)

    # --- the periodic scan ---------------------------------------------------------------------

    def _scan_enqueuer(self, interval: float, queue_name: str):
        """The function that enqueues the periodic scan, or None when this worker does not schedule it."""
        if interval <= 0:
            return None
        from branchops.core import tasks

        queues = [q.strip() for q in queue_name.split(",")]
        if "*" not in queues and tasks.periodic_scan.queue_name not in queues:
            self.stderr.write(f"The periodic scan runs on the {tasks.periodic_scan.queue_name!r} queue, which this "
                              "worker does not process: not scheduling it here.")
            return None
        return tasks.enqueue_scan

    def _enqueue_loop(self, enqueue, interval: float, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    if enqueue() is not None:
                        log.info("periodic scan enqueued")
                except Exception:  # a database hiccup must not kill the schedule; try again next time
                    log.exception("could not enqueue the periodic scan")
                finally:
                    connections.close_all()  # this thread's own connections; reopened next time
                stop.wait(interval)
        finally:
            connections.close_all()

    def _run_once(self, argv: list[str], enqueue) -> None:
        scan_id = None
        from branchops.core import tasks

        if enqueue is not None:
            result = enqueue()
            scan_id = str(result.id) if result is not None else tasks.pending_scan_id()
        self._db_worker([*argv, "--batch", "--no-startup-delay"])
        if scan_id is None:
            return
        from django_tasks_db.compat import TaskResultStatus

        result = tasks.periodic_scan.get_result(scan_id)
        if result.status == TaskResultStatus.FAILED:
            error = result.errors[-1] if result.errors else None
            detail = f"{error.exception_class_path}: {error.traceback.strip().splitlines()[-1]}" if error else "unknown error"
            raise CommandError(f"The periodic scan {scan_id} failed: {detail}")
        if self.verbosity > 0:
            if result.status == TaskResultStatus.SUCCESSFUL:
                self.stdout.write(f"Periodic scan: {result.return_value}")
            else:
                self.stdout.write(f"Periodic scan {scan_id} is {result.status.label} in another worker.")

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
