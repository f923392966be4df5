"""A recommendation's evidence as charts: each row's metric over its window, hourly, against its threshold.

Each evidence row names the stored series it reads ({"entity", "id", "metric", "aggregate"},
recommender.findings.series), so the chart is drawn from that reference, never from the
metric's wording. Rows without one (model weights, a memory need) are drawn as the value
beside its threshold. A value the server does not export is null with "reported": false and
reads "not reported", never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Sum

from recommender.models import Recommendation
from telemetry import registry, units
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, ServerRollup
from telemetry.models.rollups import PERIOD_1H

# threshold_note: what the threshold means where its number alone does not say (scale_down's capacity).
FIELDS = ("metric", "statistic", "value", "threshold", "threshold_note", "unit", "window_days", "coverage_pct")


def items(rec: Recommendation) -> list[dict[str, Any]]:
    out = []
    for row in rec.evidence or []:
        item = {k: row.get(k) for k in FIELDS}
        item["reported"] = reported(row)
        ref = row.get("series") if item["reported"] else None
        item["aggregate"] = ref.get("aggregate") if isinstance(ref, dict) else None
        item["series"] = series_for(ref, rec.last_seen, float(row.get("window_days") or 14))
        out.append(item)
    return out


def reported(row: dict) -> bool:
    """False where the server does not export the metric: the page says "not reported", never 0."""
    return row.get("reported") is not False


def series_for(ref: dict | None, until: datetime, days: float) -> dict[str, list] | None:
    """The hourly mean and max of the referenced series over the `days` before `until`, or None."""
    if not isinstance(ref, dict):
        return None
    reader = READERS.get((ref.get("entity"), ref.get("metric")))
    if reader is None or ref.get("id") in (None, ""):
        return None
    window = {"period_s": PERIOD_1H, "ts__gte": until - timedelta(days=days), "ts__lt": until}
    return reader(ref["id"], window)


def _gpu_mem(gpu_id, window: dict) -> dict[str, list] | None:
    total = Gpu.objects.filter(pk=gpu_id).values_list("memory_total_bytes", flat=True).first()
    if not total:
        return None
    return _points(GpuRollup.objects.filter(gpu_id=gpu_id, **window), mean="mem_used_bytes_mean",
                   peak="mem_used_bytes_max", scale=units.pct_scale(total))  # fmt: skip


def _host_mem(host_id, window: dict) -> dict[str, list] | None:
    total = Host.objects.filter(pk=host_id).values_list("mem_total_bytes", flat=True).first()
    if not total:
        return None
    return _points(HostRollup.objects.filter(host_id=host_id, **window), mean="mem_used_bytes_mean",
                   peak="mem_used_bytes_max", scale=units.pct_scale(total))  # fmt: skip


def _deployment_load(name, window: dict) -> dict[str, list]:
    """Σ utilization over the GPUs of the deployment's hosts (Host.deployment), per hour: 100 = one GPU busy."""
    qs = GpuRollup.objects.filter(gpu__host__deployment=str(name), gpu__active=True, **window)
    return _grouped(qs, mean=Sum("util_pct_mean"))


ROLLUPS = {registry.HOST: (HostRollup, "host_id"), registry.GPU: (GpuRollup, "gpu_id"),
           registry.SERVER: (ServerRollup, "server_id")}  # fmt: skip


def _reader(metric: registry.Metric) -> Callable[[Any, dict], dict[str, list]]:
    """A registry metric's hourly rollups: its mean and max where it has them, else its total."""
    model, key = ROLLUPS[metric.entity]
    names = {"mean": "mean", "max": "peak", "sum": "total", "increase": "total"}
    columns = {names[a]: metric.rollup_column(a) for a in metric.aggregates}

    def read(entity_id, window: dict) -> dict[str, list]:
        return _points(model.objects.filter(**{key: entity_id}, **window), **columns)

    return read


# (entity, metric) → reader: every registry metric by its wire name, and the derived series.
READERS: dict[tuple[str, str], Callable[[Any, dict], dict[str, list] | None]] = {
    **{(m.entity, m.wire): _reader(m) for m in registry.METRICS},
    ("gpu", "mem_used_pct"): _gpu_mem,
    ("host", "mem_used_pct"): _host_mem,
    ("deployment", "util_pct_sum"): _deployment_load,
}


def _points(qs, scale: float = 1.0, **columns: str) -> dict[str, list]:
    """One point per hourly row: {"t": [ms], name: [value × scale]} for each name=column given."""
    names = list(columns)
    out: dict[str, list] = {"t": [], **{name: [] for name in names}}
    for ts, *values in qs.order_by("ts").values_list("ts", *columns.values()):
        out["t"].append(int(ts.timestamp() * 1000))
        for name, value in zip(names, values, strict=True):
            out[name].append(None if value is None else round(float(value) * scale, 2))
    return out


def _grouped(qs, **aggregates) -> dict[str, list]:
    out: dict[str, list] = {"t": [], **{name: [] for name in aggregates}}
    for row in qs.values("ts").annotate(**aggregates).order_by("ts"):
        out["t"].append(int(row["ts"].timestamp() * 1000))
        for name in aggregates:
            out[name].append(None if row[name] is None else round(float(row[name]), 2))
    return out
