"""Hand-built hosts, GPUs and recommendations with the recommender's shapes, for the dashboard's tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from recommender.findings import evidence, series
from recommender.models import HostSummary, Recommendation
from telemetry.models import Gpu, Host

GIB = 1024**3


def host(hostname: str, deployment: str, gpus: int = 0, usd_month: float | None = None) -> Host:
    h = Host.objects.create(
        machine_id=f"m-{hostname}",
        hostname=hostname,
        cpu_count=32,
        mem_total_bytes=256 * GIB,
        labels={"deployment": deployment},
        last_seen=timezone.now(),
    )
    Host.objects.filter(pk=h.pk).update(deployment=deployment)  # stored at inventory sync; not editable
    h.refresh_from_db()
    for i in range(gpus):
        Gpu.objects.create(
            uuid=f"GPU-{hostname}-{i}",
            host=h,
            index=i,
            name="NVIDIA H100 80GB HBM3",
            memory_total_bytes=80 * GIB,
            power_limit_w=700.0,
        )
    if usd_month is not None:
        HostSummary.objects.create(host=h, updated_at=timezone.now(), gpu_count=gpus, usd_month=usd_month)
    return h


def config(
    gpu_type: str, per_replica: int, replicas: int, dtype: str, usd_month: float, kwh_month: float, **extra: Any
) -> dict[str, Any]:
    gpus = per_replica * replicas
    return {
        "gpu_type": gpu_type,
        "gpus_per_replica": per_replica,
        "replicas": replicas,
        "tensor_parallel": per_replica,
        "dtype": dtype,
        "spare_gpus": 0,
        "gpus": float(gpus),
        "usd_month": usd_month,
        "kwh_month": kwh_month,
        "price_basis": "catalog on-demand list price",
        "summary": f"{replicas} × {per_replica} {gpu_type} at {dtype}",
        **extra,
    }


TODAY = config("H100 80GB", 4, 2, "bf16", 14600.0, 2100.0)
SCALED = config("H100 80GB", 4, 1, "bf16", 7300.0, 1150.0)
QUANTIZED = config("H100 80GB", 2, 1, "fp8", 3650.0, 600.0)


def rec(
    kind: str,
    deployment: str,
    step: int | None = None,
    current: dict | None = None,
    proposed: dict | None = None,
    target_host: Host | None = None,
    status: str = "open",
    **fields: Any,
) -> Recommendation:
    saving = round(current["usd_month"] - proposed["usd_month"], 2) if current and proposed else 0.0
    kwh = round(current["kwh_month"] - proposed["kwh_month"], 1) if current and proposed else 0.0
    target = (
        ("host", f"host:{target_host.machine_id}", target_host.hostname)
        if target_host
        else ("deployment", f"deployment:{deployment}", deployment)
    )
    values = {
        "kind": kind,
        "target_type": target[0],
        "target_key": target[1],
        "target_label": target[2],
        "deployment": deployment,
        "host": target_host,
        "title": f"{kind} for {deployment}",
        "reason": "because",
        "action": "do it",
        "saving_usd_month": saving,
        "saving_kwh_month": kwh,
        "saving_basis": "a; b",
        "confidence": 0.8,
        "current": current,
        "proposed": proposed,
        "plan_step": step,
        "status": status,
        "last_seen": timezone.now(),
        "first_seen": timezone.now() - timedelta(days=1),
        **fields,
    }
    return Recommendation.objects.create(**values)


def util_evidence(entity: str, entity_id: Any, metric: str = "util_pct", **extra: Any) -> dict[str, Any]:
    return evidence(
        "load", "p95", 42.0, 50.0, "%", 14 * 86400, 14 * 86400, series(entity, entity_id, metric, "p95"), **extra
    )
