"""The fleet's state as Prometheus gauges, read from the database at each scrape.

These are facts of the database, not of a process: any web instance answers the same,
and a restart loses nothing. A scrape costs a handful of queries plus the fleet page's
own row load (for the potential saving, which must match the page to the cent).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# The jobs of CELERY_BEAT_SCHEDULE whose age an operator watches; their task names.
WATCHED_TASKS = {
    "rollup": "telemetry.tasks.roll_up",
    "analysis": "recommender.tasks.analyze",
    "summary": "recommender.tasks.summarize_fleet",
    "retention": "telemetry.tasks.apply_retention",
}


class FleetCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        yield from self._hosts_and_gpus(now)
        yield self._open_recommendations()
        yield from self._money()
        yield from self._beat(now)

    def _hosts_and_gpus(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        from recommender.models import HostSummary
        from telemetry.models import Gpu, Host

        since = now - timezone.timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)
        hosts = Host.objects.aggregate(
            online=Count("pk", filter=Q(last_seen__gte=since)),
            offline=Count("pk", filter=Q(last_seen__lt=since)),
            never=Count("pk", filter=Q(last_seen__isnull=True)),
        )
        g = GaugeMetricFamily("rightsizer_hosts", "Hosts by state: online (heard from within "
                              "RIGHTSIZER_HOST_OFFLINE_AFTER_S), offline, never seen.", labels=["state"])  # fmt: skip
        g.add_metric(["online"], hosts["online"])
        g.add_metric(["offline"], hosts["offline"])
        g.add_metric(["never_seen"], hosts["never"])
        yield g
        away = Q(host__last_seen__lt=since) | Q(host__last_seen__isnull=True)
        gpus = Gpu.objects.aggregate(
            online=Count("pk", filter=Q(active=True, host__last_seen__gte=since)),
            offline=Count("pk", filter=Q(active=True) & away),
            inactive=Count("pk", filter=Q(active=False)),
        )
        idle = HostSummary.objects.filter(host__last_seen__gte=since).aggregate(n=Sum("idle_gpus"))["n"] or 0
        idle = min(idle, gpus["online"])
        g = GaugeMetricFamily("rightsizer_gpus", "GPUs by state: busy and idle (no hour of the last 24 above the "
                              "idle line) on online hosts, offline (their host is), inactive (no longer reported).",
                              labels=["state"])  # fmt: skip
        g.add_metric(["busy"], gpus["online"] - idle)
        g.add_metric(["idle"], idle)
        g.add_metric(["offline"], gpus["offline"])
        g.add_metric(["inactive"], gpus["inactive"])
        yield g

    def _open_recommendations(self) -> GaugeMetricFamily:
        from recommender.models import Recommendation
        from recommender.models.recommendation import KINDS

        counts = dict(
            Recommendation.objects.filter(status__in=["open", "acknowledged"])
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        g = GaugeMetricFamily("rightsizer_recommendations_open", "Open and acknowledged recommendations by kind.",
                              labels=["kind"])  # fmt: skip
        for kind in KINDS:
            g.add_metric([kind], counts.get(kind, 0))
        return g

    def _money(self) -> Iterator[GaugeMetricFamily]:
        from dashboard import fleet

        totals = fleet.totals()
        yield GaugeMetricFamily("rightsizer_fleet_cost_usd_month", "What the priced hosts cost a month (the fleet "
                                "page's figure).", value=totals.usd_month)  # fmt: skip
        yield GaugeMetricFamily("rightsizer_potential_saving_usd_month", "The open advice's monthly saving, each "
                                "deployment's capped at its cost (the fleet page's figure).",
                                value=totals.saving_usd_month)  # fmt: skip
        yield GaugeMetricFamily("rightsizer_hosts_unpriced", "Hosts whose cost is not known yet or has no price.",
                                value=totals.unpriced_hosts)  # fmt: skip

    def _beat(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        from rightsizer.models import TaskRun
        from telemetry.models import RollupCursor

        runs = {r.task: r for r in TaskRun.objects.filter(task__in=WATCHED_TASKS.values())}
        age = GaugeMetricFamily("rightsizer_task_last_success_age_seconds", "Seconds since the job last succeeded "
                                "(any worker); absent until it has once. Rollup every minute, analysis hourly.",
                                labels=["beat_job", "task"])  # fmt: skip
        for job, task in WATCHED_TASKS.items():
            run = runs.get(task)
            if run and run.last_success_at:
                age.add_metric([job, task], (now - run.last_success_at).total_seconds())
        yield age
        cursor = RollupCursor.objects.filter(tier="5m").first()
        lag = GaugeMetricFamily(
            "rightsizer_rollup_lag_seconds",
            "How far the 5-minute rollup is behind the clock (normally 5 min + RIGHTSIZER_ROLLUP_GRACE_S at most); "
            "absent before the first.",
        )
        if cursor:
            lag.add_metric([], (now - cursor.until).total_seconds())
        yield lag
