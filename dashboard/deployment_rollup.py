"""Each deployment's chart sums, kept per rollup period as the rollup job writes the GPUs' and servers' rows.

The deployment chart shows Σ GPU utilization (GPUs busy) and Σ generated tokens/s per period. Summed
at read time that is one row per GPU and hour: 460,000 rows for 30 days of an 80-host deployment,
about a second on PostgreSQL. `refresh` runs after each `telemetry.rollups.roll` and writes one row
per deployment and period instead, so the chart reads 720 rows.

A deployment's rows count its hosts as they were when the period was rolled (a host moving to
another deployment takes only its later periods along). Periods older than the first one summed
here (history from before this table existed) are still summed from the hosts' rollups at read time,
with the deployment's hosts of today; `backfill` sums them once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from dashboard.models import DeploymentRollup
from telemetry.models import Gpu, GpuRollup, Host, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M

log = logging.getLogger(__name__)

CHUNK = 4000  # GPU or server ids per IN list: 500 8-GPU hosts, within every database's parameter limit
# a backfill's sums held at once: a fleet of single-host deployments has one per host and period
SLICE = {PERIOD_5M: timedelta(hours=6), PERIOD_1H: timedelta(days=1)}
SOURCES = ((GpuRollup, "gpu", Gpu, "util_pct_mean"), (ServerRollup, "server", InferenceServer, "gen_tps_mean"))

Sums = dict[datetime, list[float | None]]  # period start → [Σ util_pct_mean, Σ gen_tps_mean]


def refresh(period_s: int, lo: datetime, hi: datetime, host_id: int | None = None) -> None:
    """Sum [lo, hi) of the `period_s` tier again, for every deployment or for `host_id`'s (its late samples
    were rolled again), a SLICE at a time. A failure is logged, never raised: the rollup job must not stop
    for a chart."""
    try:
        start = lo
        while start < hi:
            end = min(hi, start + SLICE[period_s])
            with transaction.atomic():
                _refresh(period_s, start, end, host_id)
            start = end
        if host_id is None:  # as the rollups' retention
            days = settings.RETENTION_5M_DAYS if period_s == PERIOD_5M else settings.RETENTION_1H_DAYS
            DeploymentRollup.objects.filter(period_s=period_s, ts__lt=timezone.now() - timedelta(days=days)).delete()
    except DatabaseError as exc:
        log.warning("event=deployment_rollup_failed period_s=%d from=%s to=%s host_id=%s error=%r", period_s,
                    lo.isoformat(), hi.isoformat(), host_id, str(exc).strip().splitlines()[:1])  # fmt: skip


def _refresh(period_s: int, lo: datetime, hi: datetime, host_id: int | None) -> None:
    rows = DeploymentRollup.objects.filter(period_s=period_s)
    if host_id is not None:
        # One deployment's periods, and only from where every deployment's are summed here: the reads take
        # the periods before that from the hosts' rollups, for all deployments alike.
        lo = max(lo, _start(period_s) or hi)
        name = Host.objects.filter(pk=host_id).values_list("deployment", flat=True).first()
        if name is None or lo >= hi:
            return
        rows = rows.filter(deployment=name)
    sums = _sum_hosts(period_s, lo, hi, None if host_id is None else name)
    rows.filter(ts__gte=lo, ts__lt=hi).delete()
    DeploymentRollup.objects.bulk_create(
        (DeploymentRollup(deployment=name, period_s=period_s, ts=ts, util_pct_sum=u, gen_tps_sum=t)
         for (name, ts), (u, t) in sums.items()), batch_size=2000,
    )  # fmt: skip


def _sum_hosts(period_s: int, lo: datetime, hi: datetime, deployment: str | None) -> dict[tuple, list]:
    """Per (deployment, period) over [lo, hi): Σ of the GPUs' utilization and of the servers' tokens/s,
    grouped by the deployment their host belongs to now. The rollups are read by their primary key's first
    column, CHUNK ids at a time: they have no index on time alone, and a scan of them takes minutes."""
    out: dict[tuple, list] = defaultdict(lambda: [None, None])
    for column, (model, key, owner, value) in enumerate(SOURCES):
        owners = owner.objects.all() if deployment is None else owner.objects.filter(host__deployment=deployment)
        ids = list(owners.order_by("pk").values_list("pk", flat=True))
        by = (f"{key}__host__deployment", "ts")
        for start in range(0, len(ids), CHUNK):
            rows = model.objects.filter(**{f"{key}_id__in": ids[start : start + CHUNK]}, period_s=period_s,
                                        ts__gte=lo, ts__lt=hi)  # fmt: skip
            for name, ts, total in rows.values(*by).annotate(s=Sum(value)).values_list(*by, "s").order_by():
                sums = out[(name, ts)]  # a period with rows and no value is kept: a gap in the chart, as before
                if total is not None:
                    sums[column] = total + (sums[column] or 0.0)
    return out


def _start(period_s: int) -> datetime | None:
    """The first period summed here for every deployment; None before the first refresh."""
    return DeploymentRollup.objects.filter(period_s=period_s).aggregate(t=Min("ts"))["t"]


def read(name: str, host_ids: list[int], period_s: int, lo: datetime, hi: datetime) -> Sums:
    """The deployment's sums over [lo, hi): from its rows here, and where the range starts before them, from
    its hosts' rollups (`host_ids`, its hosts of today)."""
    start = _start(period_s)
    split = hi if start is None else min(max(lo, start), hi)
    out: Sums = {}
    if lo < split:
        out.update(_live(host_ids, period_s, lo, split))
    if split < hi:
        rows = DeploymentRollup.objects.filter(deployment=name, period_s=period_s, ts__gte=split, ts__lt=hi)
        out.update((ts, [u, t]) for ts, u, t in rows.values_list("ts", "util_pct_sum", "gen_tps_sum"))
    return out


def _live(host_ids: list[int], period_s: int, lo: datetime, hi: datetime) -> Sums:
    """The same sums from the hosts' GPU and server rollups (history from before this table was filled)."""
    out: Sums = defaultdict(lambda: [None, None])
    gpus = GpuRollup.objects.filter(period_s=period_s, ts__gte=lo, ts__lt=hi, gpu__host_id__in=host_ids)
    for ts, value in gpus.values("ts").annotate(s=Sum("util_pct_mean")).values_list("ts", "s").order_by():
        out[ts][0] = value
    servers = ServerRollup.objects.filter(period_s=period_s, ts__gte=lo, ts__lt=hi, server__host_id__in=host_ids)
    for ts, value in servers.values("ts").annotate(s=Sum("gen_tps_mean")).values_list("ts", "s").order_by():
        out[ts][1] = value
    return dict(out)


def backfill(days: int) -> None:
    """Sum the last `days` days of both tiers (as far as each keeps them) for every deployment."""
    now = timezone.now()
    for period_s, keep in ((PERIOD_5M, settings.RETENTION_5M_DAYS), (PERIOD_1H, settings.RETENTION_1H_DAYS)):
        end = now - timedelta(seconds=now.timestamp() % period_s)
        refresh(period_s, end - timedelta(days=min(days, keep)), end)
