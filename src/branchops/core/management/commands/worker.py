"""`branchops worker`: run background tasks (reminders, escalations, imports) from the database queue."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background task worker (django-tasks database backend)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run the queued tasks, then exit.")

    def handle(self, *args, batch, **options):
        argv = ["--batch"] if batch else []
        call_command("db_worker", *argv)
