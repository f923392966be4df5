"""Each deployment's chart values, kept per rollup period as the rollup job writes the hosts', GPUs' and
servers' rows.

The deployment charts show every dashboard.deployment_metrics column per period: its GPUs', servers' and
hosts' rollups summed, averaged or maxed (GPUs busy, power, tokens/s, CPU…). Read at load time that is
one row per GPU and hour: 460,000 rows for 30 days of an 80-host deployment,
about a second on PostgreSQL. `refresh` runs after each `telemetry.rollups.roll` and writes one row
per deployment and period instead, so the chart reads 720 rows.

A deployment's rows count its hosts as they were when the period was rolled (a host moving to
another deployment takes only its later periods along). Periods older than the first one summed
here (history from before this table existed) are still summed from the hosts' rollups at read time,
with the deployment's hosts of today; `backfill` sums them once. Rows written before a column was added
(migration 0003 added all but the first two) hold None there until `backfill_deployment_rollup` runs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Aggregate, Case, Count, F, Max, Min, QuerySet, Sum, When
from django.utils import timezone

from dashboard import deployment_metrics
from dashboard.models import DeploymentRollup
from telemetry import registry
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M
from telemetry.registry import GPU, HOST, SERVER

log = logging.getLogger(__name__)

CHUNK = 4000  # GPU or server ids per IN list: 500 8-GPU hosts, within every database's parameter limit
# a backfill's sums held at once: a fleet of single-host deployments has one per host and period
SLICE = {PERIOD_5M: timedelta(hours=6), PERIOD_1H: timedelta(days=1)}
# entity → (its rollup, the rollup's key to it, the entity's model, that model's path to the host)
SOURCES = {HOST: (HostRollup, "host", Host, ""), GPU: (GpuRollup, "gpu", Gpu, "host__"),
           SERVER: (ServerRollup, "server", InferenceServer, "host__")}  # fmt: skip

Sums = dict[datetime, dict[str, float | None]]  # period start → {DeploymentRollup column: value}


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
        (DeploymentRollup(deployment=name, period_s=period_s, ts=ts, **values) for (name, ts), values in sums.items()),
        batch_size=2000,
    )


def _sum_hosts(period_s: int, lo: datetime, hi: datetime, deployment: str | None) -> dict[tuple, dict]:
    """Per (deployment, period) over [lo, hi): every deployment_metrics column, grouped by the deployment
    the host belongs to now: one grouped statement per rollup table (per CHUNK of ids). The rollups are
    read by their primary key's first column: they have no index on time alone, and a scan of them
    takes minutes."""
    partials: dict[tuple, dict] = defaultdict(dict)
    for entity, (model, key, owner, to_host) in SOURCES.items():
        owners = (
            owner.objects.all() if deployment is None else owner.objects.filter(**{f"{to_host}deployment": deployment})
        )
        ids = list(owners.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            rows = model.objects.filter(**{f"{key}_id__in": ids[start : start + CHUNK]}, period_s=period_s,
                                        ts__gte=lo, ts__lt=hi)  # fmt: skip
            _grouped(entity, rows, (f"{key}__{to_host}deployment", "ts"), partials)
    return {group: _finish(parts) for group, parts in partials.items()}


def _grouped(entity: str, rows: QuerySet, by: tuple[str, ...], into: dict[tuple, dict]) -> None:
    """Add the entity's partial aggregates of `rows`, grouped `by`, to `into` (group → {alias: value}). A
    period with rows and no value keeps its group: a gap in the chart."""
    parts = _parts(entity)
    aliases = list(parts)
    query = rows.values(*by).annotate(**{a: expr for a, (expr, _) in parts.items()}).values_list(*by, *aliases)
    for row in query.order_by():
        group = row[: len(by)] if len(by) > 1 else row[0]
        held = into[group]
        for alias, value in zip(aliases, row[len(by) :], strict=True):
            held[alias] = parts[alias][1](held.get(alias), value)


def _add(a: float | None, b: float | None) -> float | None:
    return a if b is None else b if a is None else a + b


def _max(a: float | None, b: float | None) -> float | None:
    return a if b is None else b if a is None else max(a, b)


def _parts(entity: str) -> dict[str, tuple[Aggregate, Callable]]:
    """alias → (aggregate, how two chunks' values merge). A mean is kept as its sum and count until every
    chunk is in; a weighted one also as Σ value × weight and Σ weight, where both are reported."""
    out: dict[str, tuple[Aggregate, Callable]] = {}
    for c in deployment_metrics.of(entity):
        if c.how == deployment_metrics.SUM:
            out[f"v_{c.name}"] = (Sum(c.source), _add)
        elif c.how == deployment_metrics.MAX:
            out[f"v_{c.name}"] = (Max(c.source), _max)
        else:
            out[f"s_{c.name}"], out[f"n_{c.name}"] = (Sum(c.source), _add), (Count(c.source), _add)
        if c.how == deployment_metrics.WEIGHTED:
            weight = registry.get(SERVER, deployment_metrics.WEIGHT).rollup_column("mean")
            out[f"qw_{c.name}"] = (Sum(F(c.source) * F(weight)), _add)
            out[f"w_{c.name}"] = (Sum(Case(When(**{f"{c.source}__isnull": False}, then=F(weight)))), _add)
    if entity == GPU:
        out[f"v_{deployment_metrics.GPU_MEMORY_TOTAL}"] = (Sum("gpu__memory_total_bytes"), _add)
    return out


def _finish(parts: dict[str, float | None]) -> dict[str, float | None]:
    """The columns from merged partials: a mean with no reading is None, a weighted one with no weight
    (no requests finished) is the plain mean."""
    out = {name: None for name in deployment_metrics.names()}
    for alias, value in parts.items():
        part, name = alias.split("_", 1)
        if part == "v":
            out[name] = value
        elif part == "n" and value:
            out[name] = parts[f"s_{name}"] / value
    for c in deployment_metrics.COLUMNS:
        weight = parts.get(f"w_{c.name}")
        if c.how == deployment_metrics.WEIGHTED and weight:
            out[c.name] = parts[f"qw_{c.name}"] / weight
    return out


def _start(period_s: int) -> datetime | None:
    """The first period summed here for every deployment; None before the first refresh."""
    return DeploymentRollup.objects.filter(period_s=period_s).aggregate(t=Min("ts"))["t"]


def read(name: str, host_ids: list[int], period_s: int, lo: datetime, hi: datetime) -> Sums:
    """The deployment's columns over [lo, hi): from its rows here, and where the range starts before them,
    from its hosts' rollups (`host_ids`, its hosts of today). Rows written before a column existed hold
    None in it (a gap) until `backfill_deployment_rollup` sums them again."""
    start = _start(period_s)
    split = hi if start is None else min(max(lo, start), hi)
    out: Sums = {}
    if lo < split:
        out.update(_live(host_ids, period_s, lo, split))
    if split < hi:
        columns = deployment_metrics.names()
        rows = DeploymentRollup.objects.filter(deployment=name, period_s=period_s, ts__gte=split, ts__lt=hi)
        out.update((row[0], dict(zip(columns, row[1:], strict=True))) for row in rows.values_list("ts", *columns))
    return out


def _live(host_ids: list[int], period_s: int, lo: datetime, hi: datetime) -> Sums:
    """The same columns from the hosts' rollups (history from before this table was filled)."""
    partials: dict[datetime, dict] = defaultdict(dict)
    for entity, (model, key, _, to_host) in SOURCES.items():
        through = f"{key}__host_id__in" if to_host else "host_id__in"
        rows = model.objects.filter(period_s=period_s, ts__gte=lo, ts__lt=hi, **{through: host_ids})
        _grouped(entity, rows, ("ts",), partials)
    return {ts: _finish(parts) for ts, parts in partials.items()}


def backfill(days: int) -> None:
    """Sum the last `days` days of both tiers (as far as each keeps them) for every deployment."""
    now = timezone.now()
    for period_s, keep in ((PERIOD_5M, settings.RETENTION_5M_DAYS), (PERIOD_1H, settings.RETENTION_1H_DAYS)):
        end = now - timedelta(seconds=now.timestamp() % period_s)
        refresh(period_s, end - timedelta(days=min(days, keep)), end)
