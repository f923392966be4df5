"""Chart data: columns of times (epoch ms) and values per host, GPU, server and deployment.

Every read is one query per kind of entity, over the tier the range picked (timerange):
raw samples for a few hours, else the rollups' time-weighted means.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Avg, Sum

from dashboard.timerange import TimeRange
from recommender import memory
from recommender.catalog import match_model
from recommender.models import ModelSpec
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

# metric → (raw sample column, rollup column)
HOST_METRICS = {"cpu_pct": ("cpu_pct", "cpu_pct_mean"), "mem_used": ("mem_used_bytes", "mem_used_bytes_mean"),
                "net_rx_bps": ("net_rx_bps", "net_rx_bps_mean"),
                "net_tx_bps": ("net_tx_bps", "net_tx_bps_mean")}  # fmt: skip
GPU_METRICS = {"util_pct": ("util_pct", "util_pct_mean"), "mem_used": ("mem_used_bytes", "mem_used_bytes_mean"),
               "power_w": ("power_w", "power_w_mean")}  # fmt: skip
SERVER_METRICS = {"running": ("running", "running_mean"), "waiting": ("waiting", "waiting_mean"),
                  "kv_cache_pct": ("kv_cache_pct", "kv_cache_pct_mean"), "gen_tps": ("gen_tps", "gen_tps_mean"),
                  "prompt_tps": ("prompt_tps", "prompt_tps_mean")}  # fmt: skip


def _rows(raw_model, rollup_model, key: str, ids: list[int], metrics: dict, r: TimeRange):
    raw = r.period_s is None
    columns = [raw_col if raw else roll_col for raw_col, roll_col in metrics.values()]
    qs = (raw_model.objects if raw else rollup_model.objects.filter(period_s=r.period_s)).filter(
        **{f"{key}__in": ids}, ts__gte=r.lo, ts__lt=r.hi
    )
    return qs.order_by(key, "ts").values_list(key, "ts", *columns)


def _columns(rows, metrics: dict) -> dict[int, dict[str, list]]:
    out: dict[int, dict[str, list]] = {}
    names = list(metrics)
    for entity, ts, *values in rows:
        cols = out.get(entity)
        if cols is None:
            cols = out[entity] = {"t": [], **{n: [] for n in names}}
        cols["t"].append(int(ts.timestamp() * 1000))
        for name, value in zip(names, values, strict=True):
            cols[name].append(None if value is None else round(float(value), 2))
    return out


def _empty(metrics: dict) -> dict[str, list]:
    return {"t": [], **{n: [] for n in metrics}}


def host_series(host: Host, r: TimeRange) -> dict[str, Any]:
    gpus = list(Gpu.objects.filter(host=host, active=True).order_by("index"))
    servers = list(InferenceServer.objects.filter(host=host, active=True).prefetch_related("gpus"))
    host_cols = _columns(_rows(HostSample, HostRollup, "host_id", [host.pk], HOST_METRICS, r), HOST_METRICS)
    gpu_cols = _columns(_rows(GpuSample, GpuRollup, "gpu_id", [g.pk for g in gpus], GPU_METRICS, r), GPU_METRICS)
    server_cols = _columns(
        _rows(ServerSample, ServerRollup, "server_id", [s.pk for s in servers], SERVER_METRICS, r), SERVER_METRICS
    )
    needs = _gpu_needs(servers, server_cols)
    return {
        "range": r.as_json(),
        "host": {"mem_total": host.mem_total_bytes, **host_cols.get(host.pk, _empty(HOST_METRICS))},
        "gpus": [
            {
                "id": g.pk,
                "index": g.index,
                "name": g.name,
                "memory_total": g.memory_total_bytes,
                "power_limit_w": g.power_limit_w,
                **gpu_cols.get(g.pk, _empty(GPU_METRICS)),
                **needs.get(
                    g.pk,
                    {
                        "need": None,
                        "need_basis": "no inference server with a known model on this GPU: "
                        "memory used is the only figure",
                    },
                ),
            }
            for g in gpus
        ],  # fmt: skip
        "servers": [
            {"id": s.server_id, "kind": s.kind, "model": s.model, **server_cols.get(s.pk, _empty(SERVER_METRICS))}
            for s in servers
        ],
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
            points = [
                None if kv is None else round(memory.memory_need(match.shape, s.dtype, s.quantization or None, n,
                                                                 size, kv_cache_pct=kv).total / n)
                for kv in cols["kv_cache_pct"]
            ]  # fmt: skip
        except (memory.UnknownDtype, ValueError):
            continue
        has_kv = any(p is not None for p in points)
        need = {"t": cols["t"], "v": points} if has_kv else {"t": [], "v": [], "flat": round(base.total / n)}
        what = "weights + KV cache in use + overhead" if has_kv else "weights + overhead only (no KV metric here)"
        basis = f"{s.server_id} ({match.name}): {what}, per GPU"
        for g in gpus:
            out[g.pk] = {"need": need, "need_basis": basis}
    return out


def deployment_series(host_ids: list[int], r: TimeRange) -> dict[str, Any]:
    """Σ of the deployment's GPU utilization (in GPUs busy) and generated tokens/s, per period."""
    period = r.period_s  # deployments read rollups only: raw timestamps of different hosts do not line up
    load = (
        GpuRollup.objects.filter(period_s=period, ts__gte=r.lo, ts__lt=r.hi, gpu__host_id__in=host_ids)
        .values("ts")
        .annotate(load=Sum("util_pct_mean"))
        .order_by("ts")
        .values_list("ts", "load")
    )
    tokens = dict(
        ServerRollup.objects.filter(period_s=period, ts__gte=r.lo, ts__lt=r.hi, server__host_id__in=host_ids)
        .values("ts")
        .annotate(tps=Sum("gen_tps_mean"), waiting=Avg("waiting_mean"))
        .values_list("ts", "tps")
    )
    by_ts: dict = defaultdict(dict)
    for ts, value in load:
        by_ts[ts]["gpus_busy"] = None if value is None else round(value / 100, 3)
    for ts, value in tokens.items():
        by_ts[ts]["gen_tps"] = None if value is None else round(value, 1)
    times = sorted(by_ts)
    return {
        "range": r.as_json(),
        "t": [int(ts.timestamp() * 1000) for ts in times],
        "gpus_busy": [by_ts[ts].get("gpus_busy") for ts in times],
        "gen_tps": [by_ts[ts].get("gen_tps") for ts in times],
    }
