from __future__ import annotations

from django.core.management.base import BaseCommand

from dashboard import deployment_rollup


class Command(BaseCommand):
    help = (
        "Sum the deployment charts' rollup from the hosts' rollups for the last DAYS days. The rollup job keeps "
        "it from the day it was installed; older periods are otherwise summed at each chart read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="how far back (default 30)")

    def handle(self, *args, days: int = 30, **options):
        deployment_rollup.backfill(days)
        self.stdout.write(f"deployment rollup summed for the last {days} days")
