"""saturation: the other direction. KV cache near full with preemptions or a queue, memory near full,
utilization pinned → scale up or quantize. A risk, not a saving."""

from __future__ import annotations

import re

from recommender.findings import Finding, HostStats, evidence, series
from recommender.plan import plural, replicas_of
from recommender.rules.common import PREALLOCATING, p
from recommender.savings import HOURS_PER_MONTH, Saving, confidence

RISK = Saving(basis="A risk, not a saving: adding capacity costs money, and latency or errors cost more.")


def check(host: HostStats, ctx=None) -> list[Finding]:
    th = host.th
    out = []
    for server in host.servers:
        kv_p95 = p(server.kv_hist, 95)
        if kv_p95 is None or not host.enough_data(server.covered_s) or kv_p95 < th.saturation_kv_pct:
            continue
        queue = (server.waiting_p95_hourly or 0) >= th.batching_waiting
        preempted = (server.preempted_sum or 0) > 0
        if not (queue or preempted):
            continue
        label = f"{server.key} on {host.hostname}"
        signs = [f"the KV cache p95 is {kv_p95:.1f}%"]  # the evidence's 99.64 reads 99.6%, never 100%
        if preempted:
            days = plural(round(host.window_s / 86400), "day")
            n = round(server.preempted_sum)
            signs.append(
                f"{n:,} request{'' if n == 1 else 's'} {'was' if n == 1 else 'were'} preempted over the last {days}"
            )
        if queue:
            waiting = plural(round(server.waiting_p95_hourly), "request")
            signs.append(f"{waiting} waiting (p95 of hourly means)")
        out.append(
            Finding(
                kind="saturation",
                target_type="host",
                target_key=f"host:{host.machine_id}/server:{server.key}",
                target_label=label,
                deployment=host.deployment,
                title=f"Saturated: {label}",
                reason=_sentence(signs) + " Latency grows and requests are recomputed.",
                action=_kv_action(host, server),
                evidence=[
                    evidence(
                        "KV cache use",
                        "p95",
                        kv_p95,
                        th.saturation_kv_pct,
                        "%",
                        host.window_s,
                        server.covered_s,
                        series("server", server.server_id, "kv_cache_pct", "p95"),
                    ),
                    evidence(
                        "preemptions",
                        "sum",
                        server.preempted_sum,
                        0,
                        "requests",
                        host.window_s,
                        server.covered_s,
                        series("server", server.server_id, "preempted", "sum"),
                    ),
                    evidence(
                        "requests waiting",
                        "p95 of hourly means",
                        server.waiting_p95_hourly,
                        th.batching_waiting,
                        "requests",
                        host.window_s,
                        server.covered_s,
                        series("server", server.server_id, "waiting", "p95_hourly"),
                    ),
                ],
                saving=RISK,
                confidence=confidence(
                    server.covered_s,
                    th.full_confidence_hours * 3600,
                    kv_p95,
                    th.saturation_kv_pct,
                    scale=100 - th.saturation_kv_pct,
                ),
                host_id=host.host_id,
                gpu_ids=frozenset(server.gpu_ids),
                host_ids=frozenset({host.host_id}),
            )
        )
    flagged = {g for f in out for g in f.gpu_ids}
    for gpu in host.gpus:
        if gpu.gpu_id in flagged or not host.enough_data(gpu.covered_s):
            continue
        p50 = p(gpu.util_hist, 50)
        preallocated = any(gpu.gpu_id in s.gpu_ids and s.kind in PREALLOCATING for s in host.servers)
        mem_pct = 100 * (gpu.mem_used_max or 0) / gpu.memory_bytes if gpu.memory_bytes else 0.0
        pinned = p50 is not None and p50 >= th.saturation_util_p50_pct
        full = not preallocated and mem_pct >= th.saturation_mem_pct
        if not (pinned or full):
            continue
        what = f"GPU {gpu.index} ({gpu.name}) on {host.hostname}"
        signs = ([f"utilization is pinned (median {p50:.0f}%)"] if pinned else []) + (
            [f"memory peaked at {mem_pct:.0f}%"] if full else []
        )
        out.append(
            Finding(
                kind="saturation",
                target_type="gpu",
                target_key=f"gpu:{gpu.uuid}",
                target_label=what,
                deployment=host.deployment,
                title=f"Saturated: {what}",
                reason=_sentence(signs),
                action="Add capacity (another GPU or replica), or quantize to free memory.",
                evidence=[
                    evidence(
                        f"GPU {gpu.index} utilization",
                        "p50",
                        p50,
                        th.saturation_util_p50_pct,
                        "%",
                        host.window_s,
                        gpu.covered_s,
                        series("gpu", gpu.gpu_id, "util_pct", "p50"),
                    ),
                    evidence(
                        f"GPU {gpu.index} memory used",
                        "max",
                        mem_pct,
                        th.saturation_mem_pct,
                        "% of memory",
                        host.window_s,
                        gpu.covered_s,
                        series("gpu", gpu.gpu_id, "mem_used_pct", "max"),
                    ),
                ],
                saving=RISK,
                confidence=confidence(
                    gpu.covered_s,
                    th.full_confidence_hours * 3600,
                    p50 if pinned else mem_pct,
                    th.saturation_util_p50_pct if pinned else th.saturation_mem_pct,
                    scale=5,
                ),
                host_id=host.host_id,
                gpu_id=gpu.gpu_id,
                gpu_ids=frozenset({gpu.gpu_id}),
                host_ids=frozenset({host.host_id}),
            )
        )
    return out


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


KV_ROOM = {
    "vllm": "an FP8 KV cache (`--kv-cache-dtype fp8`) or FP8 weights on Hopper/Ada (`--quantization fp8`)",
    "sglang": "an FP8 KV cache (`--kv-cache-dtype fp8_e5m2`) or FP8 weights (`--quantization fp8`)",
    "tgi": "FP8 weights on Hopper/Ada (`--quantize fp8`) or a lower `--max-batch-total-tokens` to stop preemption",
}


def _kv_action(host: HostStats, server) -> str:
    """Add a replica (priced), or make room for the KV cache with a flag the server accepts."""
    gpus = [g for g in host.gpus if g.gpu_id in server.gpu_ids]
    prices = [g.price_usd for g in gpus if g.price_usd is not None]
    cost = ""
    if prices:
        hourly = sum(prices) / len(prices)
        cost = f", about +${sum(prices) * HOURS_PER_MONTH:,.0f}/month at ${hourly:.2f}/GPU-h"
    room = KV_ROOM.get(server.kind)
    gpu_name = gpus[0].gpu_type.name if gpus and gpus[0].gpu_type else None
    text = f"Add {replicas_of(1, len(gpus) or 1, gpu_name)}{cost}" + (
        f", or make room for KV cache with {room}." if room else "."
    )
    return text + (f" Price source: {price_source(gpus[0].price_label)}." if prices else "")


def price_source(label: str) -> str:
    """A catalog price label without its leading price, so it reads in its own sentence with at most one
    bracket level: "$4.76/GPU-h (H100 80GB: RunPod on-demand, …)" → "H100 80GB: RunPod on-demand, …"."""
    m = re.fullmatch(r"\$[\d.,]+/GPU-h \((.*)\)", label.strip())
    return m.group(1) if m else label
