"""`make demo`: a simulated fleet's two weeks pushed through the real ingest API, then analysed.

The hosts are the simulator's archetypes (collectors/simulate.py), labelled simulated=true,
which every page shows. Run again, it pushes only the time since the last run.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.utils import timezone

from collectors.push import Pusher
from collectors.simulate import ARCHETYPES, simulate
from recommender.models import HostPrice, Recommendation
from recommender.tasks import run_analysis
from telemetry.models import Host, HostSample
from telemetry.tasks import roll_up

SIMULATED = {"labels__simulated": "true"}


class Command(BaseCommand):
    help = "Push a simulated fleet's history through the ingest API of a running server and analyse it."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="the running server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--token-file", type=Path, required=True, help="an agent token, one line")
        parser.add_argument("--hosts", type=int, default=20)
        parser.add_argument("--days", type=float, default=14.0)
        parser.add_argument("--step", type=float, default=600.0, help="seconds between simulated samples")

    def handle(self, *args, url: str, token_file: Path, hosts: int, days: float, step: float, **options):
        started = time.monotonic()
        _wait_for(url, timeout_s=60)
        days = self._days_missing(days)
        if days * 86400 >= step:
            pusher = Pusher(url, token_file.read_text().strip(), user_agent="rightsizer-demo")
            sent = simulate(pusher, hosts=hosts, days=days, step_s=step, seed=7)
            if sent["errors"]:
                raise CommandError(f"demo: {sent['errors']} batch(es) were not accepted; see the server's log")
            self.stdout.write(f"demo: pushed {sent['samples']} samples of {hosts} simulated hosts "
                              f"({days:.1f} days) through {url}/api/v1/ingest")  # fmt: skip
        self._prices()
        self._roll_up()
        run_analysis()  # the fleet summary too
        recs = Recommendation.objects.filter(status="open").count()
        self.stdout.write(f"demo: {recs} open recommendation(s), ready in {time.monotonic() - started:.0f} s")

    def _roll_up(self, timeout_s: float = 300.0) -> None:
        """The worker rolls the history up: a second rollup here would redo the same two weeks at the same
        time (the beat's every-minute one), and on SQLite wait for its lock. Done when no host is marked."""
        roll_up.delay()
        deadline = time.monotonic() + timeout_s
        while Host.objects.filter(rollup_dirty_from__isnull=False, **SIMULATED).exists():
            if time.monotonic() > deadline:
                raise CommandError(f"demo: the rollup did not finish within {timeout_s:.0f} s: is the Celery worker "
                                   "running? (make demo starts one)")  # fmt: skip
            time.sleep(0.5)

    def _days_missing(self, days: float) -> float:
        """The whole window the first time; afterwards the time since the demo's last sample."""
        last = HostSample.objects.filter(host__in=Host.objects.filter(**SIMULATED)).aggregate(ts=Max("ts"))["ts"]
        if last is None:
            return days
        return min(days, (timezone.now() - last).total_seconds() / 86400)

    def _prices(self) -> None:
        """The archetypes whose real price the agent cannot send (a provider's own rate) get it here."""
        for arch in ARCHETYPES:
            if arch.user_hourly_usd is None:
                continue
            for host in Host.objects.filter(deployment=arch.name, **SIMULATED):
                HostPrice.objects.get_or_create(host=host, defaults={"hourly_usd": arch.user_hourly_usd,
                                                                     "note": "simulated provider's rate"})  # fmt: skip


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=2):  # noqa: S310
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise CommandError(f"demo: {url} did not answer within {timeout_s:.0f} s ({exc})") from None
            time.sleep(0.5)
