"""Hand-built hourly rollups for hosts, GPUs and servers, so a test can compute what a page must show."""

from __future__ import annotations

from datetime import datetime, timedelta

from recommender.models import GpuType
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H

H100 = "NVIDIA H100 80GB HBM3"
H100_BYTES = 80 * 1000**3
GPU_HOURLY_USD = 2.0  # the H100 type's price in these tests (an override, so the arithmetic is round)


def price_h100(usd: float = GPU_HOURLY_USD) -> None:
    GpuType.objects.filter(name="H100 80GB").update(price_override_usd=usd)


def host(name: str, deployment: str = "", cpus: int = 8) -> Host:
    return Host.objects.create(machine_id=f"m-{name}", hostname=name, deployment=deployment, cpu_count=cpus)


def gpu(on: Host, index: int = 0) -> Gpu:
    return Gpu.objects.create(uuid=f"GPU-{on.hostname}-{index}", host=on, index=index, name=H100,
                              memory_total_bytes=H100_BYTES)  # fmt: skip


def server(on: Host) -> InferenceServer:
    return InferenceServer.objects.create(host=on, server_id="vllm:8000", kind="vllm", model="llama")


def hours(start: datetime, end: datetime) -> list[datetime]:
    out, ts = [], start
    while ts < end:
        out.append(ts)
        ts += timedelta(hours=1)
    return out


def report_host(h: Host, start: datetime, end: datetime, covered_s: float = 3600.0) -> None:
    HostRollup.objects.bulk_create(
        [HostRollup(host=h, period_s=PERIOD_1H, ts=ts, samples=60, covered_s=covered_s) for ts in hours(start, end)]
    )


def report_gpu(g: Gpu, start: datetime, end: datetime, util_pct: float, power_w: float, covered_s: float = 3600.0):
    GpuRollup.objects.bulk_create([
        GpuRollup(gpu=g, period_s=PERIOD_1H, ts=ts, samples=60, covered_s=covered_s, util_pct_mean=util_pct,
                  power_w_mean=power_w)
        for ts in hours(start, end)
    ])  # fmt: skip


def report_server(s: InferenceServer, start: datetime, end: datetime, gen_tps: float) -> None:
    ServerRollup.objects.bulk_create([
        ServerRollup(server=s, period_s=PERIOD_1H, ts=ts, samples=60, covered_s=3600.0, gen_tps_mean=gen_tps)
        for ts in hours(start, end)
    ])  # fmt: skip


def report(h: Host, start: datetime, end: datetime, util_pct: float = 25.0, power_w: float = 300.0,
           gen_tps: float | None = None) -> None:  # fmt: skip
    """The host and every GPU (and server) on it report every hour of [start, end)."""
    report_host(h, start, end)
    for g in h.gpus.all():
        report_gpu(g, start, end, util_pct, power_w)
    if gen_tps is not None:
        for s in h.servers.all():
            report_server(s, start, end, gen_tps)
