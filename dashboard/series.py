"""Chart data: columns of times (epoch ms) and values per host, GPU, server and deployment.

Every read is one query per kind of entity, over the tier the range picked (timerange):
raw samples for a few hours, else the rollups' time-weighted means (a period's total for the
registry's counters: preemptions, and the energy the GPU counter says each period used).
Which metrics, and their labels and units, come from telemetry.registry.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import F, FloatField, Func
from django.db.models.expressions import RawSQL

from dashboard import deployment_metrics, deployment_rollup
from dashboard.timerange import TimeRange
from recommender import memory
from recommender.catalog import match_model
from recommender.models import ModelSpec
from telemetry import registry, units
from telemetry.models import (
    Gpu,
    GpuRollup,
    GpuSample,
    Host,
    HostRollup,
    HostSample,
    InferenceServer,
    ServerRollup,
    ServerSample,
)

# metric (wire name) → (raw sample column, rollup column), from telemetry.registry
HOST_METRICS = registry.chart_columns(registry.HOST)
GPU_METRICS = registry.chart_columns(registry.GPU)
SERVER_METRICS = registry.chart_columns(registry.SERVER)
NO_NEED = {
    "need": None,
    "need_basis": "no inference server with a known model on this GPU: memory used is the only figure",
}


def _counters(entity: str) -> frozenset[str]:
    """Cumulative counters: raw samples hold the running total, charts show what each step used."""
    return frozenset(m.wire for m in registry.of(entity) if m.chart_aggregate == "increase")


def _epoch_ms() -> RawSQL:
    """The row's time as epoch milliseconds, computed by the database: turning a thousand timestamps
    into datetimes and back cost more than the query."""
    if connection.vendor == "postgresql":
        return RawSQL("(EXTRACT(EPOCH FROM ts) * 1000)::bigint", [])
    return RawSQL("CAST(ROUND((julianday(ts) - 2440587.5) * 86400000.0) AS INTEGER)", [])


class _Rounded(Func):
    """A value to two decimals, by the database: rounding 50,000 floats in Python cost more than reading
    them. PostgreSQL's ROUND(x, 2) is numeric's (slow, and read back as Decimal): float arithmetic instead."""

    arity = 1
    output_field = FloatField()

    @property
    def convert_value(self):
        return self._convert_value_noop  # the driver reads a float already: no converter per value

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(ROUND(({sql})::float8 * 100) / 100)", params

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"ROUND({sql}, 2)", params


def _rows(raw_model, rollup_model, key: str, ids: list[int], metrics: dict, r: TimeRange, counters=frozenset()):
    """The entities' times (epoch ms) and values, the values rounded by the database (the raw tier's `counters`
    whole: their increments are rounded once taken). On PostgreSQL one row per entity: (entity, a JSON array per
    column); elsewhere (entity, ms, value per metric), ordered by entity and time."""
    if not ids:  # a host without GPU or server: nothing to ask (an empty IN is no SQL to wrap)
        return []
    raw = r.period_s is None
    qs = (raw_model.objects if raw else rollup_model.objects.filter(period_s=r.period_s)).filter(
        **{f"{key}__in": ids}, ts__gte=r.lo, ts__lt=r.hi
    )
    columns = {name: raw_col if raw else roll_col for name, (raw_col, roll_col) in metrics.items()}
    values = [_epoch_ms(), *(F(col) if name in counters else _Rounded(col) for name, col in columns.items())]
    rows = qs.order_by(key, "ts").values_list(key, *values)
    return _json_arrays(rows, len(values)) if connection.vendor == "postgresql" else rows


def _json_arrays(rows, n: int) -> list[tuple]:
    """(entity, the text of a JSON array per column) from `rows` (entity first, in time order): PostgreSQL
    writes the arrays and orjson reads them, a host's month of GPU rows (5,760 × 7 metrics) in a few
    milliseconds where the driver's rows cost tens and left thousands of tuples for the garbage collector.
    The rows come sorted once to the aggregates (an ORDER BY in each of them sorts each column again);
    `_columns` checks the order all the same."""
    sql, params = rows.query.sql_with_params()
    arrays = ", ".join(f"json_agg(c{i})::text" for i in range(1, n + 1))
    names = ", ".join(f"c{i}" for i in range(n + 1))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c0, {arrays} FROM ({sql}) AS s ({names}) GROUP BY c0", params)
        return cursor.fetchall()


def _columns(rows, metrics: dict, counters: frozenset[str] = frozenset()) -> dict[int, dict[str, list]]:
    """Per entity {"t": [ms], metric: [value]} from `_rows`; `counters` (raw tier only) become increments."""
    names = ["t", *metrics]
    if connection.vendor == "postgresql":
        out = {entity: _in_time_order(dict(zip(names, map(orjson.loads, arrays), strict=True)))
               for entity, *arrays in rows}  # fmt: skip
    else:
        out = {}
        # Rows come ordered by entity: each entity's rows turned into columns at once (zip runs in C).
        for entity, group in groupby(rows, key=itemgetter(0)):
            _, *series = zip(*group, strict=True)
            out[entity] = dict(zip(names, map(list, series), strict=True))
    for cols in out.values():
        for name in counters:
            cols[name] = _increments(cols["t"], cols[name])
    return out


def _in_time_order(cols: dict[str, list]) -> dict[str, list]:
    """The columns as they are where their times ascend (as the sorted rows feed the aggregates), else sorted."""
    t = cols["t"]
    if t == sorted(t):
        return cols
    order = sorted(range(len(t)), key=t.__getitem__)
    return {name: [values[i] for i in order] for name, values in cols.items()}


def _increments(t: list[int], totals: list) -> list:
    """What a cumulative counter added since the previous sample, like the rollups' `_increase`:
    nothing across a gap longer than ROLLUP_MAX_GAP_S or where the counter went back (a reset)."""
    max_gap_ms = settings.ROLLUP_MAX_GAP_S * 1000
    out: list = [None] * len(totals)
    for i in range(1, len(totals)):
        a, b = totals[i - 1], totals[i]
        if a is not None and b is not None and b >= a and t[i] - t[i - 1] <= max_gap_ms:
            out[i] = round(b - a, 2)
    return out


def _empty(metrics: dict) -> dict[str, list]:
    return {"t": [], **{n: [] for n in metrics}}


def _gpu_cols(gpu_ids: list[int], r: TimeRange) -> dict[int, dict[str, list]]:
    counters = _counters(registry.GPU) if r.period_s is None else frozenset()
    return _columns(_rows(GpuSample, GpuRollup, "gpu_id", gpu_ids, GPU_METRICS, r, counters), GPU_METRICS, counters)


def _server_cols(server_ids: list[int], r: TimeRange) -> dict[int, dict[str, list]]:
    return _columns(_rows(ServerSample, ServerRollup, "server_id", server_ids, SERVER_METRICS, r), SERVER_METRICS)


def _gpu_json(g: Gpu, gpu_cols: dict, needs: dict, servers: list[InferenceServer]) -> dict[str, Any]:
    return {
        "id": g.pk, "index": g.index, "name": g.name, "memory_total": g.memory_total_bytes,
        "power_limit_w": g.power_limit_w,
        "servers": [s.server_id for s in servers if any(sg.pk == g.pk for sg in s.gpus.all())],
        **gpu_cols.get(g.pk, _empty(GPU_METRICS)), **needs.get(g.pk, NO_NEED),
    }  # fmt: skip


def _server_json(s: InferenceServer, server_cols: dict) -> dict[str, Any]:
    return {
        "id": s.server_id, "kind": s.kind, "model": s.model,
        "gpus": sorted(g.index for g in s.gpus.all()), **server_cols.get(s.pk, _empty(SERVER_METRICS)),
    }  # fmt: skip


def host_series(host: Host, r: TimeRange) -> dict[str, Any]:
    """Every registry metric of the host, its GPUs and its servers over the range, with their metadata."""
    gpus = list(Gpu.objects.filter(host=host, active=True).order_by("index"))
    servers = list(InferenceServer.objects.filter(host=host, active=True).prefetch_related("gpus"))
    host_cols = _columns(_rows(HostSample, HostRollup, "host_id", [host.pk], HOST_METRICS, r), HOST_METRICS)
    gpu_cols = _gpu_cols([g.pk for g in gpus], r)
    server_cols = _server_cols([s.pk for s in servers], r)
    needs = _gpu_needs(servers, server_cols)
    return {
        "range": r.as_json(),
        "host": {
            "mem_total": host.mem_total_bytes,
            "cpu_count": host.cpu_count,
            **host_cols.get(host.pk, _empty(HOST_METRICS)),
        },  # fmt: skip
        "gpus": [_gpu_json(g, gpu_cols, needs, servers) for g in gpus],
        "servers": [_server_json(s, server_cols) for s in servers],
        "metrics": registry.metadata(),
    }


def gpu_series(gpu: Gpu, r: TimeRange) -> dict[str, Any]:
    """One GPU's every NVML metric over the range, and the inference servers on it."""
    servers = list(InferenceServer.objects.filter(gpus=gpu, active=True).prefetch_related("gpus"))
    server_cols = _server_cols([s.pk for s in servers], r)
    needs = _gpu_needs(servers, server_cols)
    return {
        "range": r.as_json(),
        "gpu": _gpu_json(gpu, _gpu_cols([gpu.pk], r), needs, servers),
        "servers": [_server_json(s, server_cols) for s in servers],
        "metrics": registry.metadata(registry.GPU, registry.SERVER),
    }


def _gpu_needs(servers: list[InferenceServer], server_cols: dict[int, dict[str, list]]) -> dict[int, dict]:
    """Per GPU, the memory its server needs at each point: weights + KV cache in use + overhead, shared evenly."""
    specs = list(ModelSpec.objects.all()) if servers else []
    out: dict[int, dict] = {}
    for s in servers:
        gpus = list(s.gpus.all())
        match = match_model(s.model, specs)
        if not gpus or match is None:
            continue
        cols = server_cols.get(s.pk, _empty(SERVER_METRICS))
        n, size = len(gpus), gpus[0].memory_total_bytes
        try:
            base = memory.memory_need(match.shape, s.dtype, s.quantization or None, n, size)
            full = memory.memory_need(match.shape, s.dtype, s.quantization or None, n, size, kv_cache_pct=100.0)
        except (memory.UnknownDtype, ValueError):
            continue
        # the need is linear in the KV cache in use: the whole pool (`full`) scaled, point by point
        weights, pool, overhead = full.weights, full.kv_in_use, full.overhead
        points = [None if kv is None else round((weights + pool * units.pct_to_fraction(kv) + overhead) / n)
                  for kv in cols["kv_cache_pct"]]  # fmt: skip
        has_kv = any(p is not None for p in points)
        need = {"t": cols["t"], "v": points} if has_kv else {"t": [], "v": [], "flat": round(base.total / n)}
        what = "weights + KV cache in use + overhead" if has_kv else "weights + overhead only (no KV metric here)"
        basis = f"{s.server_id} ({match.name}): {what}, per GPU"
        for g in gpus:
            out[g.pk] = {"need": need, "need_basis": basis}
    return out


def deployment_series(name: str, host_ids: list[int], r: TimeRange) -> dict[str, Any]:
    """Every deployment_metrics column per period (`columns`: its DeploymentRollup name → values, with
    `metrics` saying what each is), from the deployment's own rollup (dashboard.deployment_rollup;
    `host_ids`, its hosts, for history from before that was kept). GPUs busy and generated tokens/s
    also under their first names."""
    # deployments read rollups only: raw timestamps of different hosts do not line up
    sums = deployment_rollup.read(name, host_ids, r.period_s, r.lo, r.hi)
    times = sorted(sums)
    columns = {c: [_compact(sums[ts][c]) for ts in times] for c in deployment_metrics.names()}
    util = deployment_metrics.LEGACY[("gpu.util_pct", deployment_metrics.SUM)]
    return {
        "range": r.as_json(),
        "t": [int(ts.timestamp() * 1000) for ts in times],
        "gpus_busy": [None if sums[ts][util] is None else round(units.gpus_busy(sums[ts][util]), 3) for ts in times],
        "gen_tps": [None if v is None else round(v, 1) for v in columns["gen_tps_sum"]],
        "columns": columns,
        "metrics": {c.name: c.as_json() for c in deployment_metrics.COLUMNS},
    }


def _compact(value: float | None) -> float | None:
    """Three decimals where that matters (a 0.25 batch size), whole numbers where it cannot
    (bytes): the JSON stays small."""
    if value is None:
        return None
    return round(value) if abs(value) >= 1000 else round(value, 3)
