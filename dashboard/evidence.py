"""A recommendation's evidence as charts: each row's metric over its window, hourly, against its threshold.

Rows whose metric has a time series (GPU and host utilization, memory, KV cache, queue,
batch size, deployment load) come with hourly points; the others (model weights, memory
need) are drawn as the value beside its threshold.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db.models import Avg, Max, Sum

from dashboard.fleet import member_ids
from recommender.models import Recommendation
from telemetry.models import Gpu, GpuRollup, HostRollup, ServerRollup
from telemetry.models.rollups import PERIOD_1H

GPU_METRIC = re.compile(r"^GPU (\d+) (utilization|memory used)$")


def items(rec: Recommendation) -> list[dict[str, Any]]:
    out = []
    for row in rec.evidence or []:
        item = {k: row.get(k) for k in ("metric", "statistic", "value", "threshold", "unit", "window_days",
                                        "coverage_pct")}  # fmt: skip
        item["series"] = _series(rec, row)
        out.append(item)
    return out


def _series(rec: Recommendation, row: dict) -> dict[str, list] | None:
    metric = str(row.get("metric", ""))
    days = float(row.get("window_days") or 14)
    hi = rec.last_seen
    lo = hi - timedelta(days=days)
    window = {"period_s": PERIOD_1H, "ts__gte": lo, "ts__lt": hi}
    host = rec.host
    match = GPU_METRIC.match(metric)
    if match and host is not None:
        gpu = Gpu.objects.filter(host=host, index=int(match.group(1)), active=True).first()
        if gpu is None:
            return None
        if match.group(2) == "utilization":
            return _points(GpuRollup.objects.filter(gpu=gpu, **window), mean="util_pct_mean", peak="util_pct_max")
        scale = 100 / gpu.memory_total_bytes
        return _points(GpuRollup.objects.filter(gpu=gpu, **window), peak="mem_used_bytes_max", scale=scale)
    if metric == "GPU utilization" and host is not None:
        return _grouped(GpuRollup.objects.filter(gpu__host=host, gpu__active=True, **window),
                        mean=Avg("util_pct_mean"), peak=Max("util_pct_max"))  # fmt: skip
    if metric == "host CPU utilization" and host is not None:
        return _points(HostRollup.objects.filter(host=host, **window), mean="cpu_pct_mean", peak="cpu_pct_max")
    if metric == "host memory used" and host is not None and host.mem_total_bytes:
        return _points(HostRollup.objects.filter(host=host, **window), peak="mem_used_bytes_max",
                       scale=100 / host.mem_total_bytes)  # fmt: skip
    server_metrics = {"KV cache use": ("kv_cache_pct_mean", "kv_cache_pct_max"), "requests waiting": ("waiting_mean",
                      "waiting_max"), "batch size": ("batch_size_mean", None)}  # fmt: skip
    if metric in server_metrics and host is not None:
        mean, peak = server_metrics[metric]
        aggregates = {"mean": Avg(mean)}
        if peak:
            aggregates["peak"] = Max(peak)
        return _grouped(ServerRollup.objects.filter(server__host=host, server__active=True, **window), **aggregates)
    if metric.startswith("deployment GPU load") and rec.deployment:
        ids = member_ids(rec.deployment)
        return _grouped(GpuRollup.objects.filter(gpu__host_id__in=ids, gpu__active=True, **window),
                        mean=Sum("util_pct_mean"))  # fmt: skip
    return None


def _points(qs, mean: str | None = None, peak: str | None = None, scale: float = 1.0) -> dict[str, list]:
    columns = [c for c in (mean, peak) if c]
    out: dict[str, list] = {"t": [], **({"mean": []} if mean else {}), **({"peak": []} if peak else {})}
    for ts, *values in qs.order_by("ts").values_list("ts", *columns):
        out["t"].append(int(ts.timestamp() * 1000))
        for name, value in zip([n for n, c in (("mean", mean), ("peak", peak)) if c], values, strict=True):
            out[name].append(None if value is None else round(float(value) * scale, 2))
    return out


def _grouped(qs, **aggregates) -> dict[str, list]:
    out: dict[str, list] = {"t": [], **{name: [] for name in aggregates}}
    for row in qs.values("ts").annotate(**aggregates).order_by("ts"):
        out["t"].append(int(row["ts"].timestamp() * 1000))
        for name in aggregates:
            out[name].append(None if row[name] is None else round(float(row[name]), 2))
    return out
