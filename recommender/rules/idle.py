"""idle: a GPU (or a whole host) that does no work → release it, or scale it to zero.

A GPU is idle when its p99 utilization over the window stays under the threshold
and no inference server on it served a request. "Idle-held" is the case generic
tools miss: the memory is held (a loaded server), the compute is ~0.
"""

from __future__ import annotations

from django.conf import settings

from recommender.findings import Finding, HostStats, evidence
from recommender.rules.common import p, server_gpus
from recommender.savings import confidence, monthly


def check(host: HostStats) -> list[Finding]:
    th = host.th
    limit = th["idle_util_p99_pct"]
    idle = []
    for gpu in host.gpus:
        p99 = p(gpu.util_hist, 99)
        if p99 is None or not host.enough_data(gpu.covered_s) or p99 >= limit:
            continue
        if any(s.served_requests for s in host.servers if gpu.gpu_id in s.gpu_ids):
            continue
        idle.append((gpu, p99))
    if host.gpus and len(idle) == len(host.gpus):
        return [_whole_host(host, idle)]
    if not host.gpus:
        return _cpu_host(host)
    return [_one_gpu(host, gpu, p99) for gpu, p99 in idle]


def _one_gpu(host: HostStats, gpu, p99: float) -> Finding:
    th = host.th
    held_pct = 100 * (gpu.mem_used_max or 0) / gpu.memory_bytes if gpu.memory_bytes else 0.0
    held = held_pct >= th["idle_held_mem_pct"]
    servers = [s for s in host.servers if gpu.gpu_id in s.gpu_ids]
    what = f"GPU {gpu.index} ({gpu.name}) on {host.hostname}"
    reason = (
        f"Over {host.window_s / 86400:.0f} days its utilization stayed under {limit_text(th)} "
        f"(p99 {p99:.1f}%) and it served no request."
    )
    if held:
        names = ", ".join(f"{s.key} ({s.model})" for s in servers) or "a process"
        reason += f" It still holds {held_pct:.0f}% of its memory: {names} is loaded and unused."
    price = gpu.price_usd or 0.0
    saving = monthly(price, gpu.power_mean_w or 0.0, settings.GRID_KG_CO2_PER_KWH,
                     f"1 GPU × {gpu.price_label} × 730 h; {gpu.power_mean_w or 0:.0f} W mean draw × 730 h")  # fmt: skip
    return Finding(
        kind="idle", target_type="gpu", target_key=f"gpu:{gpu.uuid}", target_label=what,
        deployment=host.deployment, title=f"{'Idle but holding memory' if held else 'Idle'}: {what}",
        reason=reason,
        action=("Stop the idle server and release the GPU, or let it scale to zero when no traffic comes."
                if held else "Release the GPU, or give it work."),
        evidence=[_util_evidence(host, gpu, p99), *_mem_evidence(host, gpu, held_pct)],
        saving=saving, confidence=confidence(gpu.covered_s / host.window_s, p99, th["idle_util_p99_pct"]),
        host_id=host.host_id, gpu_id=gpu.gpu_id, gpu_ids=frozenset({gpu.gpu_id}),
        host_ids=frozenset({host.host_id}),
    )  # fmt: skip


def _whole_host(host: HostStats, idle: list) -> Finding:
    th = host.th
    gpu_price = sum(g.price_usd or 0 for g, _ in idle)
    price = host.price_usd if host.price_usd is not None else gpu_price
    label = host.hostname
    watts = sum(g.power_mean_w or 0 for g, _ in idle)
    worst = max(p99 for _, p99 in idle)
    priced = f"the host's price ${host.price_usd:.2f}/h" if host.price_usd is not None else (
        f"{len(idle)} GPU × {idle[0][0].price_label}")  # fmt: skip
    basis = f"{priced} × 730 h; {watts:.0f} W of GPUs × 730 h"
    servers = [s for s in host.servers if s.gpu_ids]
    held = [s for s in servers if any((g.mem_used_max or 0) > 0 for g in server_gpus(host, s))]
    reason = (
        f"All {len(idle)} GPU(s) stayed under {limit_text(th)} utilization at p99 (worst {worst:.1f}%) "
        f"over {host.window_s / 86400:.0f} days, and no request was served."
    )
    if held:
        reason += " Memory is still held by " + ", ".join(f"{s.key} ({s.model})" for s in held) + "."
    covered = min(g.covered_s for g, _ in idle)
    return Finding(
        kind="idle", target_type="host", target_key=f"host:{host.machine_id}", target_label=label,
        deployment=host.deployment, title=f"Idle host: {label} ({len(idle)} GPU)",
        reason=reason, action="Release the host, or scale the deployment to zero when no traffic comes.",
        evidence=[_util_evidence(host, g, p99) for g, p99 in idle],
        saving=monthly(price, watts, settings.GRID_KG_CO2_PER_KWH, basis),
        confidence=confidence(covered / host.window_s, worst, th["idle_util_p99_pct"]),
        host_id=host.host_id, gpu_ids=frozenset(g.gpu_id for g, _ in idle), host_ids=frozenset({host.host_id}),
    )  # fmt: skip


def _cpu_host(host: HostStats) -> list[Finding]:
    th = host.th
    p99 = p(host.cpu_hist, 99)
    if p99 is None or not host.enough_data() or p99 >= th["idle_util_p99_pct"]:
        return []
    if any(s.served_requests for s in host.servers):
        return []
    vcpu = settings.VCPU_HOURLY_USD
    price = host.price_usd if host.price_usd is not None else (host.cpu_count or 0) * vcpu
    basis = (f"the host's price ${host.price_usd:.2f}/h × 730 h" if host.price_usd is not None
             else f"{host.cpu_count} vCPU × ${vcpu}/vCPU-h (RIGHTSIZER_VCPU_HOURLY_USD) × 730 h; "
                  "energy not measured")  # fmt: skip
    return [Finding(
        kind="idle", target_type="host", target_key=f"host:{host.machine_id}", target_label=host.hostname,
        deployment=host.deployment, title=f"Idle host: {host.hostname} (no GPU)",
        reason=(f"CPU stayed under {limit_text(th)} at p99 ({p99:.1f}%) over {host.window_s / 86400:.0f} days, "
                "and no inference server on it served a request."),
        action="Release the host, or give it work.",
        evidence=[evidence("host CPU utilization", "p99", p99, th["idle_util_p99_pct"], "%", host.window_s,
                           host.covered_s)],
        saving=monthly(price, 0.0, settings.GRID_KG_CO2_PER_KWH, basis),
        confidence=confidence(host.coverage, p99, th["idle_util_p99_pct"]),
        host_id=host.host_id, host_ids=frozenset({host.host_id}),
    )]  # fmt: skip


def limit_text(th: dict[str, float]) -> str:
    return f"{th['idle_util_p99_pct']:g}%"


def _util_evidence(host: HostStats, gpu, p99: float) -> dict:
    return evidence(f"GPU {gpu.index} utilization", "p99", p99, host.th["idle_util_p99_pct"], "%", host.window_s,
                    gpu.covered_s, gpu=gpu.uuid, max=gpu.util_max)  # fmt: skip


def _mem_evidence(host: HostStats, gpu, held_pct: float) -> list[dict]:
    if not gpu.mem_used_max:
        return []
    return [evidence(f"GPU {gpu.index} memory used", "max", held_pct, host.th["idle_held_mem_pct"], "% of memory",
                     host.window_s, gpu.covered_s, gpu=gpu.uuid)]  # fmt: skip
