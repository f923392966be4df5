"""Hand-built hourly rollups for the trends page's tests (see tests/dashboard/test_trends.py for the sums).

Three hosts over two days:
  h1 team=search, deployment=chat, $2/h (its own HostPrice), 2 GPUs, server s1
  h2 team=ads,    deployment=chat, $730/month in its summary = $1/h, 1 GPU, server s2
  h3 no team,     deployment=embed, $2,190/month = $3/h, 1 GPU, server s3
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from recommender.models import HostPrice, HostSummary
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup

H = timedelta(hours=1)


def host(name: str, labels: dict, gpus: int) -> tuple[Host, list[Gpu], InferenceServer]:
    host = Host.objects.create(machine_id=f"m-{name}", hostname=name, cpu_count=16, labels=labels,
                               deployment=labels["deployment"], last_seen=timezone.now())  # fmt: skip
    cards = [Gpu.objects.create(uuid=f"GPU-{name}-{i}", host=host, index=i, name="NVIDIA L4",
                                memory_total_bytes=24 * 1024**3) for i in range(gpus)]  # fmt: skip
    server = InferenceServer.objects.create(host=host, server_id="vllm:8000", kind="vllm", model="m")
    return host, cards, server


def summary(host: Host, usd_month: float) -> None:
    HostSummary.objects.create(host=host, updated_at=timezone.now(), usd_month=usd_month)


def hours(host, gpus, server, start, n, covered_s, utils, gen_tps, period_s=3600):
    """n rollup rows from `start` for the host, each of its GPUs (one utilization each) and its server."""
    common = {"period_s": period_s, "samples": 10, "covered_s": covered_s}
    stamps = [start + i * H for i in range(n)]
    HostRollup.objects.bulk_create(HostRollup(host=host, ts=ts, **common) for ts in stamps)
    GpuRollup.objects.bulk_create(GpuRollup(gpu=g, ts=ts, util_pct_mean=u, **common)
                                  for ts in stamps for g, u in zip(gpus, utils, strict=True))  # fmt: skip
    if server is not None:  # a host without an inference server
        ServerRollup.objects.bulk_create(ServerRollup(server=server, ts=ts, gen_tps_mean=gen_tps, **common)
                                         for ts in stamps)  # fmt: skip


def seed(d1: datetime, d2: datetime) -> tuple[Host, Host, Host]:
    """Day 1: h1 10 h; h2 4 h half covered; h3 2 h, idle, no tokens. Day 2: h1 one hour busy and no tokens; h3
    one hour with tokens."""
    h1, g1, s1 = host("h1", {"team": "search", "deployment": "chat"}, 2)
    h2, g2, s2 = host("h2", {"team": "ads", "deployment": "chat"}, 1)
    h3, g3, s3 = host("h3", {"deployment": "embed"}, 1)
    HostPrice.objects.create(host=h1, hourly_usd=2.0)
    summary(h1, 99999.0)  # the user's price wins over the summary's
    summary(h2, 730.0)
    summary(h3, 2190.0)
    hours(h1, g1, s1, d1, 10, 3600, [50, 10], 100.0)
    hours(h2, g2, s2, d1, 4, 1800, [80], 50.0)
    hours(h3, g3, s3, d1, 2, 3600, [0], 0.0)
    hours(h1, g1, s1, d2, 1, 3600, [100, 100], 0.0)
    hours(h3, g3, s3, d2, 1, 3600, [20], 10.0)
    return h1, h2, h3
