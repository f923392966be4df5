"""The beat container's health check: the every-minute rollup ran lately (rightsizer.models.TaskRun)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rightsizer.fleet_metrics import WATCHED_TASKS
from rightsizer.models import TaskRun


class Command(BaseCommand):
    help = "Exit 0 when the rollup (every minute) succeeded within --max-age seconds, else say what is late."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=float, default=300.0, help="seconds (default 300)")

    def handle(self, *args, max_age: float, **options):
        task = WATCHED_TASKS["rollup"]
        run = TaskRun.objects.filter(task=task).first()
        if run is None or run.last_success_at is None:
            raise CommandError(f"{task} has not succeeded yet: is beat running, and a worker taking its tasks?")
        age = (timezone.now() - run.last_success_at).total_seconds()
        if age > max_age:
            raise CommandError(f"{task} last succeeded {age:.0f} s ago (limit {max_age:.0f} s): check beat and "
                               "the workers' logs")  # fmt: skip
        self.stdout.write(f"ok: {task} succeeded {age:.0f} s ago")
