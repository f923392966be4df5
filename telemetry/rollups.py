"""Roll raw samples into 5-minute rows, and 5-minute rows into 1-hour rows.

Each step is one INSERT … SELECT … GROUP BY per table with ON CONFLICT DO
UPDATE: recomputing a period writes the same row again, so a re-run changes
nothing and a late sample re-rolls its period. A cursor per tier records how
far closed periods are done; hosts that received samples behind the cursor are
marked (Host.rollup_dirty_from, set at ingest) and re-rolled from there.

A sample covers the time since the previous sample of the same entity, up to
ROLLUP_MAX_GAP_S; a longer gap is missing data. Means and histograms are
weighted by that time, so a backfill at one sample a minute and a live agent
at one every 5 s count the same hour the same.

One host's bad rows must not stop the fleet's rollups: when the statement for
all hosts fails, each host is rolled alone, and a host that still fails is
logged (event=rollup_failed host=…) and skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from telemetry import registry
from telemetry.histogram import BUCKETS
from telemetry.models import Gpu, GpuSample, Host, HostSample, InferenceServer, ServerSample
from telemetry.models.rollups import (
    ENTITY_ROLLUPS,
    HISTOGRAMS,
    PERIOD_1H,
    PERIOD_5M,
    GpuRollup,
    HostRollup,
    RollupCursor,
    histogram_fields,
)

log = logging.getLogger(__name__)

CHUNK = timedelta(hours=6)  # one statement never rolls more than this span


@dataclass(frozen=True)
class Table:
    rollup: type
    raw_table: str
    entity: str  # the entity key column in both tables
    means: tuple[str, ...]  # raw columns rolled to <col>_mean (time-weighted)
    maxes: tuple[str, ...]  # raw columns rolled to <col>_max
    sums: tuple[str, ...]  # raw columns rolled to <col>_sum (counts "since the previous sample")
    increases: tuple[str, ...] = ()  # cumulative counters rolled to <col>_increase (Σ of increments)

    @property
    def hist(self) -> dict[str, str]:
        return HISTOGRAMS[self.rollup]


def _table(entity: str, raw_model: type, key: str) -> Table:
    """The entity's rollup statement's columns, as telemetry.registry declares them."""
    return Table(
        ENTITY_ROLLUPS[entity], raw_model._meta.db_table, key,
        registry.rolled(entity, "mean"), registry.rolled(entity, "max"), registry.rolled(entity, "sum"),
        registry.rolled(entity, "increase"),
    )  # fmt: skip


TABLES = (
    _table(registry.HOST, HostSample, "host_id"),
    _table(registry.GPU, GpuSample, "gpu_id"),
    _table(registry.SERVER, ServerSample, "server_id"),
)


def _epoch(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {expr})"
    # julianday() is a float of days: rounded to the millisecond, or 12:05:00 can floor to 12:00.
    return f"ROUND((julianday({expr}) - 2440587.5) * 86400.0, 3)"


def _period_start(expr: str, period_s: int) -> str:
    if connection.vendor == "postgresql":
        return f"to_timestamp(floor({_epoch(expr)} / {period_s}) * {period_s})"
    return f"datetime(CAST({_epoch(expr)} / {period_s} AS INTEGER) * {period_s}, 'unixepoch')"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _columns(table: Table) -> list[str]:
    cols = [f"{c}_mean" for c in table.means] + [f"{c}_max" for c in table.maxes]
    cols += [f"{c}_sum" for c in table.sums] + [f"{c}_increase" for c in table.increases]
    for prefix in table.hist.values():
        cols += histogram_fields(prefix)
    return cols


def _upsert(table: Table, columns: list[str], select: str) -> str:
    names = [table.entity, "period_s", "ts", "samples", "covered_s", *columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[3:])
    return (
        f"INSERT INTO {table.rollup._meta.db_table} ({', '.join(names)}) {select} "
        f"ON CONFLICT ({table.entity}, period_s, ts) DO UPDATE SET {updates}"
    )


def _raw_sql(table: Table, entity_filter: str) -> str:
    """raw → 5 min for [lo, hi), reading back ROLLUP_MAX_GAP_S so the first sample knows its gap."""
    gap = settings.ROLLUP_MAX_GAP_S
    e = table.entity
    raw_cols = sorted({*table.means, *table.maxes, *table.sums, *table.hist, *table.increases})
    weight = "w"

    def weighted_mean(c: str) -> str:
        return f"SUM({c} * {weight}) / NULLIF(SUM(CASE WHEN {c} IS NOT NULL THEN {weight} END), 0)"

    exprs = [weighted_mean(c) for c in table.means] + [f"MAX({c})" for c in table.maxes]
    exprs += [f"SUM({c})" for c in table.sums]
    # A counter's increment counts where the gap does and the counter did not go back (a reset).
    exprs += [f"SUM(CASE WHEN {weight} > 0 AND {c}_inc >= 0 THEN {c}_inc END)" for c in table.increases]
    for metric in table.hist:
        for lo, hi in BUCKETS:
            upper = "" if hi >= 100 else f" AND {metric} < {hi}"
            exprs.append(f"COALESCE(SUM(CASE WHEN {metric} >= {lo}{upper} THEN {weight} END), 0)")
    increments = "".join(f"{c} - LAG({c}) OVER (PARTITION BY {e} ORDER BY ts) AS {c}_inc, " for c in table.increases)
    select = (
        f"WITH s AS (SELECT {e}, ts, {', '.join(raw_cols)}, {increments}"
        f"{_epoch('ts')} - {_epoch(f'LAG(ts) OVER (PARTITION BY {e} ORDER BY ts)')} AS gap "
        f"FROM {table.raw_table} WHERE ts >= %(lo_gap)s AND ts < %(hi)s{entity_filter}), "
        f"w AS (SELECT *, CASE WHEN gap <= {gap} THEN gap ELSE 0 END AS w, "
        f"{_period_start('ts', PERIOD_5M)} AS p FROM s WHERE ts >= %(lo)s) "
        f"SELECT {e}, {PERIOD_5M}, p, COUNT(*), SUM(w), {', '.join(exprs)} FROM w WHERE true GROUP BY {e}, p"
    )
    return select


def _hour_sql(table: Table, entity_filter: str) -> str:
    """5 min → 1 h for [lo, hi)."""
    e = table.entity
    exprs = [
        f"SUM({c}_mean * covered_s) / NULLIF(SUM(CASE WHEN {c}_mean IS NOT NULL THEN covered_s END), 0)"
        for c in table.means
    ]
    exprs += [f"MAX({c}_max)" for c in table.maxes] + [f"SUM({c}_sum)" for c in table.sums]
    exprs += [f"SUM({c}_increase)" for c in table.increases]
    exprs += [f"SUM({name})" for prefix in table.hist.values() for name in histogram_fields(prefix)]
    return (
        f"SELECT {e}, {PERIOD_1H}, {_period_start('ts', PERIOD_1H)} AS p, SUM(samples), SUM(covered_s), "
        f"{', '.join(exprs)} FROM {table.rollup._meta.db_table} "
        f"WHERE period_s = {PERIOD_5M} AND ts >= %(lo)s AND ts < %(hi)s{entity_filter} GROUP BY {e}, p"
    )


def _entity_filter(table: Table, host_id: int | None) -> str:
    if host_id is None:
        return ""
    if table.rollup is HostRollup:
        return f" AND host_id = {int(host_id)}"
    owner = Gpu if table.rollup is GpuRollup else InferenceServer
    return f" AND {table.entity} IN (SELECT id FROM {owner._meta.db_table} WHERE host_id = {int(host_id)})"


def roll(period_s: int, lo: datetime, hi: datetime, host_id: int | None = None) -> None:
    """(Re)compute every `period_s` row in [lo, hi), for one host or all, in chunks."""
    adapt = connection.ops.adapt_datetimefield_value
    start = lo
    while start < hi:
        end = min(hi, start + CHUNK)
        params = {
            "lo": adapt(start),
            "hi": adapt(end),
            "lo_gap": adapt(start - timedelta(seconds=settings.ROLLUP_MAX_GAP_S)),
        }
        hosts = Host.objects.order_by("pk")
        if host_id is not None:
            _roll_each_host(period_s, params, start, end, hosts.filter(pk=host_id))
        else:
            try:
                _roll_chunk(period_s, params, None)
            except DatabaseError:
                # One host's rows broke the statement for all (an overflow, a value out of range).
                _roll_each_host(period_s, params, start, end, hosts)
        start = end
    from dashboard import deployment_rollup  # the deployment charts' sums of what was just rolled

    deployment_rollup.refresh(period_s, lo, hi, host_id)


def _roll_chunk(period_s: int, params: dict, host_id: int | None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TABLES:
            where = _entity_filter(table, host_id)
            select = _raw_sql(table, where) if period_s == PERIOD_5M else _hour_sql(table, where)
            cursor.execute(_upsert(table, _columns(table), select), params)


def _roll_each_host(period_s: int, params: dict, start: datetime, end: datetime, hosts) -> None:
    for host_id, hostname in hosts.values_list("pk", "hostname"):
        try:
            _roll_chunk(period_s, params, host_id)
        except DatabaseError as exc:
            _log_failure(hostname, host_id, period_s, start, end, exc)


def _log_failure(hostname: str, host_id: int, period_s: int, start: datetime, end: datetime, exc: Exception) -> None:
    error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    log.warning(
        "event=rollup_failed host=%s host_id=%d period_s=%d from=%s to=%s error=%r action=skipped",
        hostname, host_id, period_s, start.isoformat(), end.isoformat(), error,
    )  # fmt: skip


def floor_to(dt: datetime, period_s: int) -> datetime:
    return datetime.fromtimestamp(int(dt.timestamp()) // period_s * period_s, tz=UTC)


def _cursor(tier: str, default: datetime) -> datetime:
    row = RollupCursor.objects.filter(tier=tier).first()
    return row.until if row else default


def _advance(tier: str, until: datetime) -> None:
    # Only forwards: two overlapping runs can both finish without moving it back.
    if not RollupCursor.objects.filter(tier=tier, until__gte=until).exists():
        RollupCursor.objects.update_or_create(tier=tier, defaults={"until": until})


def run_rollups(now: datetime | None = None) -> dict[str, int]:
    """The periodic task's body: new closed periods, then hosts with late samples."""
    now = now or timezone.now()
    raw_floor = floor_to(now - timedelta(days=settings.RETENTION_RAW_DAYS), PERIOD_1H)
    until_5m = floor_to(now - timedelta(seconds=settings.ROLLUP_GRACE_S), PERIOD_5M)
    from_5m = max(_cursor("5m", raw_floor), raw_floor)
    if from_5m < until_5m:
        roll(PERIOD_5M, from_5m, until_5m)
        _advance("5m", until_5m)
    done_5m = max(_cursor("5m", until_5m), from_5m)
    until_1h = floor_to(done_5m, PERIOD_1H)
    from_1h = _cursor("1h", raw_floor)
    if from_1h < until_1h:
        roll(PERIOD_1H, from_1h, until_1h)
        _advance("1h", until_1h)
    late = reroll_late_hosts(raw_floor, done_5m, until_1h)
    return {"periods_5m": int((until_5m - from_5m).total_seconds() // PERIOD_5M), "late_hosts": late}


def reroll_late_hosts(raw_floor: datetime, done_5m: datetime, done_1h: datetime) -> int:
    hosts = list(Host.objects.filter(rollup_dirty_from__isnull=False).values_list("pk", "rollup_dirty_from"))
    for host_id, dirty_from in hosts:
        # Periods older than the raw retention cannot be recomputed: their other samples are gone.
        lo = max(floor_to(dirty_from, PERIOD_5M), raw_floor)
        if lo < done_5m:
            roll(PERIOD_5M, lo, done_5m, host_id)
        lo_h = floor_to(lo, PERIOD_1H)
        if lo_h < done_1h:
            roll(PERIOD_1H, lo_h, done_1h, host_id)
        # Cleared only if no newer late sample moved the mark meanwhile; else the next run takes it.
        Host.objects.filter(pk=host_id, rollup_dirty_from=dirty_from).update(rollup_dirty_from=None)
    if hosts:
        log.info("event=late_samples_rerolled hosts=%d", len(hosts))
    return len(hosts)


def mark_late(host_id: int, oldest: datetime) -> None:
    """Called by ingest for a batch holding samples the rollup may have passed."""
    Host.objects.filter(pk=host_id).update(rollup_dirty_from=Least(Coalesce(F("rollup_dirty_from"), oldest), oldest))
