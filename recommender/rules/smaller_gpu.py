"""smaller_gpu: the deployment, as the previous steps left it, fits a cheaper GPU type.

A candidate holds one replica within a node (memory need × (1 + margin) at the step's
precision) and carries the load scaled by the slower of the compute and bandwidth ratios at
the target utilization, keeps the replica floor, never needs more GPUs than the step starts
with, costs less per GPU (a dearer GPU would merge replicas, which is not a smaller GPU), and
is cheaper on the same price basis by at least min_saving_pct. Moves stay within a
vendor and class: CUDA stays CUDA, and consumer cards are advised only for consumer cards.
"""

from __future__ import annotations

from recommender.findings import GpuTypeInfo, evidence, series
from recommender.plan import Config, perf_ratio, plural, tensor_parallel_flag
from recommender.rules.state import State, Step, candidate_price, need_text, replica_size, runs, saves_enough
from recommender.savings import confidence
from telemetry import units


def alternatives_of(current: GpuTypeInfo, catalog: list[GpuTypeInfo]) -> list[GpuTypeInfo]:
    return [
        c for c in catalog if c.name != current.name and c.vendor == current.vendor and c.consumer == current.consumer
    ]


def options(s: State, start: Config) -> list[tuple[Config, GpuTypeInfo, bool]]:
    out = []
    for candidate in alternatives_of(start.gpu_type, s.ctx.catalog):
        if not runs(candidate, start.precision or "bf16"):
            continue
        gpr = replica_size(s, candidate, start.precision)
        if gpr is None:
            continue
        price, label, user, mixed = candidate_price(s, start, candidate)
        if price >= start.usd_per_gpu_hour:
            continue  # a dearer GPU is a consolidation, not a smaller GPU: merging replicas is not advised here
        factor = start.load_factor * perf_ratio(start.gpu_type, candidate)
        config = s.sized(
            start, candidate, start.precision, factor, gpr, price, label, user, schedule=start.schedule is not None
        )
        if config.peak_gpus <= start.peak_gpus and saves_enough(start, config, s.th):
            out.append((config, candidate, mixed))
    return sorted(out, key=lambda o: (o[0].usd_month, o[0].peak_gpus))


def step(s: State, start: Config) -> Step | None:
    if s.gpu_type is None or start.gpu_type is None or start.replicas == 0 or s.need is None:
        return None
    found = options(s, start)
    if not found:
        return None
    proposed, new, mixed = found[0]
    old = start.gpu_type
    need = s.need_bytes(start.precision) or 0.0
    slower = perf_ratio(old, new)
    compute, bandwidth = old.tflops / new.tflops, old.bandwidth_gbps / new.bandwidth_gbps
    reason = (
        f"The load carried over by the slower of compute ({old.tflops:g}→{new.tflops:g} TFLOPS) and memory "
        f"bandwidth ({old.bandwidth_gbps:g}→{new.bandwidth_gbps:g} GB/s) needs {plural(proposed.replicas, 'replica')} "
        f"at {s.th.target_util_pct:g}% utilization."
        + need_text(s, start.precision, new, proposed.gpus_per_replica)
        + _latency(compute, bandwidth)
        + f" Prices compared: {start.price_label} today, {proposed.price_label} for the {new.name}"
        + (" (your price against a list price: an estimate)." if mixed else "; list prices differ by provider.")
    )
    kind = s.server.kind if s.server else None
    tp = (
        f" Tensor parallelism changes from {start.gpus_per_replica} to {proposed.gpus_per_replica} "
        f"({tensor_parallel_flag(kind, proposed.gpus_per_replica)})."
        if proposed.gpus_per_replica != start.gpus_per_replica
        else ""
    )
    title = (
        f"Move {s.dep.name} to {plural(proposed.replicas, 'replica')} × {proposed.gpus_per_replica} {new.name} "
        f"(from {plural(start.replicas, 'replica')} × {start.gpus_per_replica} {old.name})"
    )
    act = (
        f"Run {s.dep.name} on {plural(proposed.replicas, 'replica')} × {proposed.gpus_per_replica} {new.name}"
        f"{' on the same schedule' if proposed.schedule else ''}.{tp}"
        + (" Check latency targets first (see the reason)." if slower > 1 else "")
    )
    ev = [
        evidence(
            "memory need per replica",
            s.need.basis,
            need / 1024**3,
            round(new.memory_bytes * proposed.gpus_per_replica / (1 + s.th.memory_margin) / 1024**3, 1),
            "GiB",
            s.dep.window_s,
            s.covered_s,
            None,
        ),
        evidence(
            "deployment GPU load (Σ utilization)",
            "p95 of hourly means",
            units.fraction_to_pct(s.load_p95),
            None,
            "GPU-%",
            s.dep.window_s,
            s.covered_s,
            series("deployment", s.dep.name, "util_pct_sum", "p95_hourly"),
        ),
    ]
    boundary = start.usd_month * (1 - units.pct_to_fraction(s.th.min_saving_pct))
    alternatives = [(c, t.name) for c, t, _ in found[1:3]]
    return Step(
        "smaller_gpu",
        proposed,
        title,
        reason,
        act,
        ev,
        confidence(
            s.covered_s,
            s.th.full_confidence_hours * 3600,
            proposed.usd_month,
            boundary,
            scale=start.usd_month,
            mixed_prices=mixed,
        ),
        alternatives,
        mixed,
    )


def _latency(compute: float, bandwidth: float) -> str:
    """Prefill is bound by compute (time to first token), decode by memory bandwidth (each next token)."""
    parts = []
    if compute > 1:
        parts.append(f"time to first token up to {compute:.1f}× longer (compute)")
    if bandwidth > 1:
        parts.append(f"each generated token about {bandwidth:.1f}× longer (memory bandwidth)")
    return f" On the new GPUs: {' and '.join(parts)}." if parts else ""
