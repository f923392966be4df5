"""Hand-built hourly rollups for hosts, GPUs and servers, so a test can compute what a page must show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def nov(d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, minute, tzinfo=UTC)


def day(d: int, hour: int = 0, minute: int = 0) -> datetime:
    """A day of December 2026 (UTC)."""
    return datetime(2026, 12, d, hour, minute, tzinfo=UTC)


def chat_deployment() -> tuple[Host, Host]:
    """Deployment "chat": two hosts of 2 H100s ($2/GPU-h) with a server each. Until Nov 26 10:00 both
    report every hour (GPUs at 25%, 300 W; 100 tokens/s each); from 11:00 chat-2 is gone and chat-1's
    GPUs run at 50%, 400 W, 200 tokens/s, until Dec 3 12:00. The hour 10:00–11:00 holds absurd power and
    utilization: an acknowledgement at 10:20 must count it on neither side."""
    price_h100()
    h1, h2 = host("chat-1", "chat"), host("chat-2", "chat")
    for h in (h1, h2):
        gpu(h, 0), gpu(h, 1), server(h)
        report(h, nov(19, 10), nov(26, 10), util_pct=25.0, power_w=300.0, gen_tps=100.0)
        report(h, nov(26, 10), nov(26, 11), util_pct=100.0, power_w=99_000.0, gen_tps=100.0)
    report(h1, nov(26, 11), day(3, 12), util_pct=50.0, power_w=400.0, gen_tps=200.0)
    return h1, h2
