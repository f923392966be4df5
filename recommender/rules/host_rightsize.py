"""host_rightsize: the host's CPU p95 and memory peak sit far below what it has."""

from __future__ import annotations

import math

from django.conf import settings

from recommender.findings import Finding, HostStats, evidence
from recommender.rules.common import p
from recommender.savings import confidence, monthly


def check(host: HostStats) -> list[Finding]:
    th = host.th
    cpu_p95 = p(host.cpu_hist, 95)
    if cpu_p95 is None or not host.enough_data() or not host.cpu_count or not host.mem_total_bytes:
        return []
    mem_peak_pct = 100 * (host.mem_used_max or 0) / host.mem_total_bytes
    if cpu_p95 >= th["host_cpu_p95_pct"] or mem_peak_pct >= th["host_mem_peak_pct"]:
        return []
    target = th["target_util_pct"] / 100
    vcpus = max(2, math.ceil(host.cpu_count * cpu_p95 / 100 / target))
    mem_gib = max(4, math.ceil((host.mem_used_max or 0) * (1 + th["memory_margin"]) / target / 1024**3))
    if vcpus >= host.cpu_count:
        return []
    freed = host.cpu_count - vcpus
    if host.price_usd is not None:
        usd = host.price_usd * freed / host.cpu_count
        basis = f"the host's price ${host.price_usd:.2f}/h × {freed}/{host.cpu_count} vCPU × 730 h"
    else:
        usd = freed * settings.VCPU_HOURLY_USD
        basis = (f"{freed} vCPU × ${settings.VCPU_HOURLY_USD}/vCPU-h "
                 "(RIGHTSIZER_VCPU_HOURLY_USD, memory included) × 730 h")  # fmt: skip
    note = (" On cloud GPU instances the CPU and memory come with the GPUs: pick the smallest instance size "
            "of the same GPU, or share the host." if host.gpus else "")  # fmt: skip
    return [Finding(
        kind="host_rightsize", target_type="host", target_key=f"host:{host.machine_id}", target_label=host.hostname,
        deployment=host.deployment, title=f"Right-size {host.hostname}: {vcpus} vCPU / {mem_gib} GiB "
                                          f"(now {host.cpu_count} / {host.mem_total_bytes / 1024**3:.0f} GiB)",
        reason=(f"CPU p95 is {cpu_p95:.0f}% of {host.cpu_count} vCPU and the memory peak is {mem_peak_pct:.0f}% "
                f"of {host.mem_total_bytes / 1024**3:.0f} GiB over {host.window_s / 86400:.0f} days.{note}"),
        action=f"Move to a host with about {vcpus} vCPU and {mem_gib} GiB.",
        evidence=[
            evidence("host CPU utilization", "p95", cpu_p95, th["host_cpu_p95_pct"], "%", host.window_s,
                     host.covered_s),
            evidence("host memory used", "max", mem_peak_pct, th["host_mem_peak_pct"], "% of memory", host.window_s,
                     host.covered_s),
        ],
        saving=monthly(usd, 0.0, settings.GRID_KG_CO2_PER_KWH, basis + "; energy not measured for CPUs"),
        confidence=confidence(host.coverage, cpu_p95, th["host_cpu_p95_pct"]),
        host_id=host.host_id, host_ids=frozenset({host.host_id}),
    )]  # fmt: skip
