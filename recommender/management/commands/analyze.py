from __future__ import annotations

from django.core.management.base import BaseCommand

from recommender.plan import plural
from recommender.tasks import run_analysis
from telemetry.rollups import run_rollups


class Command(BaseCommand):
    help = "Roll up the samples and run the analysis now (what the beat schedule does hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--skip-rollups", action="store_true", help="analyse the rollups as they are")

    def handle(self, *args, skip_rollups: bool = False, **options):
        if not skip_rollups:
            rolled = run_rollups()
            self.stdout.write(f"rollups: {plural(rolled['periods_5m'], 'new 5-minute period')}, "
                              f"{plural(rolled['late_hosts'], 'host')} with late samples re-rolled")  # fmt: skip
        counts = run_analysis()
        self.stdout.write(
            f"analysis: {plural(counts['findings'], 'finding')}; {counts['opened']} opened, "
            f"{counts['updated']} updated, {counts['reopened']} reopened, {counts['resolved']} resolved"
        )
