"""quantize: a 16-bit deployment whose FP8, INT8 or 4-bit weights fit fewer GPUs per replica, and whose
lower precision carries more load per GPU (recommender.precisions: credited, sourced factors).

The weights come from the model's shape (never from NVML memory used, which includes the
pre-allocated KV pool); the KV cache in use is kept as measured. The action names a flag the
server accepts. Other precisions, and the best quantized option on other GPU types, are
listed as alternatives inside the step. A step that keeps the replica size and saves only
through the credited speed-up must save twice the usual minimum (the factor is an estimate).
"""

from __future__ import annotations

from recommender import memory
from recommender.findings import evidence, series
from recommender.plan import Config, perf_ratio, plural, precision_label, replicas_of, tensor_parallel_flag
from recommender.precisions import PRECISIONS, action
from recommender.rules.common import gib, server_ref
from recommender.rules.smaller_gpu import alternatives_of
from recommender.rules.state import (
    State,
    Step,
    candidate_price,
    need_text,
    node_note,
    replica_size,
    runs,
    saves_enough,
)
from recommender.savings import confidence
from telemetry import units


def options(s: State, start: Config, gpu_type, base_factor: float) -> list[tuple[Config, object]]:
    out = []
    for prec in PRECISIONS:
        if not runs(gpu_type, prec.key) or action(s.server.kind, prec.key) is None:
            continue
        gpr = replica_size(s, gpu_type, prec.key)
        if gpr is None:
            continue
        price, label, user, _ = candidate_price(s, start, gpu_type)
        if gpu_type.name == start.gpu_type.name:
            price, label, user = start.usd_per_gpu_hour, start.price_label, start.user_price
        config = s.sized(
            start,
            gpu_type,
            prec.key,
            base_factor / prec.throughput,
            gpr,
            price,
            label,
            user,
            schedule=start.schedule is not None,
        )
        if config.peak_gpus <= start.peak_gpus:
            out.append((config, prec))
    return out


def step(s: State, start: Config) -> Step | None:
    server = s.server
    if s.gpu_type is None or server is None or server.shape is None or s.need is None or not s.need.from_model:
        return None
    if not s.sixteen_bit or start.replicas == 0:
        return None
    here = [o for o in options(s, start, start.gpu_type, start.load_factor) if _worth_it(s, start, o[0])]
    if not here:
        return None
    # At the same cost the least lossy precision wins (PRECISIONS is ordered FP8, INT8, INT4).
    here.sort(key=lambda o: (o[0].usd_month, PRECISIONS.index(o[1])))
    proposed, prec = here[0]
    others = [(c, f"{p.label} on this GPU type: {p.differs}") for c, p in _less_lossy(here[1:], prec)]
    for other in alternatives_of(start.gpu_type, s.ctx.catalog):
        factor = start.load_factor * perf_ratio(start.gpu_type, other)
        found = sorted(options(s, start, other, factor), key=lambda o: o[0].usd_month)
        if found and found[0][0].usd_month < proposed.usd_month:
            c, p = found[0]
            others.append((c, f"{p.label} on {other.name}" + (f": {p.differs}" if p is not prec else "")))
    others = sorted(others, key=lambda o: o[0].usd_month)[:3]
    weights16 = s.need.weights
    weights = memory.weight_bytes(server.shape, "bf16", prec.key)
    tp = (
        f" Tensor parallelism changes from {start.gpus_per_replica} to {proposed.gpus_per_replica} "
        f"({tensor_parallel_flag(server.kind, proposed.gpus_per_replica)})."
        if proposed.gpus_per_replica != start.gpus_per_replica
        else ""
    )
    if proposed.gpus_per_replica < start.gpus_per_replica:
        why = (
            f"a replica then fits {plural(proposed.gpus_per_replica, 'GPU')} instead of "
            f"{start.gpus_per_replica} and carries {prec.throughput:g}× the load per GPU."
        )
    else:  # the same replica size: the saving rests on the credited speed-up alone
        peak = proposed.schedule.peak_replicas if proposed.schedule else proposed.replicas
        needed = (
            s.load_p95
            * start.load_factor
            / (peak * proposed.gpus_per_replica * units.pct_to_fraction(s.th.target_util_pct))
        )
        why = (
            f"the replica size stays {plural(proposed.gpus_per_replica, 'GPU')}; the saving rests on the speed-up: "
            f"{plural(peak, 'replica')} carry today's p95 load at {s.th.target_util_pct:g}% if the quantized model "
            f"is at least {max(needed, 1.0):.2f}× faster; it is credited {prec.throughput:g}×."
        )
    reason = (
        f"{server.model} at 16-bit has {gib(weights16)} of weights; at {prec.label} they are {gib(weights)} "
        f"(embeddings and head stay 16-bit): {why}"
        + need_text(s, prec.key, start.gpu_type, proposed.gpus_per_replica)
        + node_note(s, start, proposed)
        + f" Throughput source: {prec.source}. {prec.risk}"
    )
    title = (
        f"Quantize {s.dep.name} to {prec.label}: {plural(proposed.replicas, 'replica')} × "
        f"{proposed.gpus_per_replica} {start.gpu_type.name} instead of {start.replicas} × {start.gpus_per_replica}"
    )
    act = (
        f"On {server_ref(server)}, {action(server.kind, prec.key)}; run "
        f"{replicas_of(proposed.replicas, proposed.gpus_per_replica, start.gpu_type.name)}.{tp} "
        "Compare quality on your own prompts first."
    )
    ev = [
        evidence(
            "model weights",
            precision_label(prec.key),
            weights / 1024**3,
            round(weights16 / 1024**3, 1),
            "GiB",
            s.dep.window_s,
            s.covered_s,
            None,
            sixteen_bit_gib=round(weights16 / 1024**3, 1),
            kv_in_use_gib=round(s.need.kv_in_use / 1024**3, 1),
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
    return Step(
        "quantize",
        proposed,
        title,
        reason,
        act,
        ev,
        confidence(s.covered_s, s.th.full_confidence_hours * 3600, proposed.usd_month, boundary, scale=start.usd_month),
        others,
    )


def _less_lossy(here: list, chosen) -> list:
    """The other precisions on this GPU type worth listing: only those that lose less accuracy than the one chosen
    (earlier in PRECISIONS). The chosen one is the cheapest, and at equal cost the least lossy, so any other costs
    at least as much and loses at least as much: listing it adds nothing."""
    rank = PRECISIONS.index(chosen)
    return [(c, p) for c, p in here if PRECISIONS.index(p) < rank]


def _worth_it(s: State, start: Config, proposed: Config) -> bool:
    """Fewer GPUs per replica (the weights' memory) clears the usual bar; a saving that rests on the credited
    speed-up alone (same replica size, fewer replicas) must clear twice it, for the factor is an estimate."""
    if proposed.gpus_per_replica < start.gpus_per_replica:
        return saves_enough(start, proposed, s.th)
    return proposed.usd_month <= start.usd_month * (1 - 2 * units.pct_to_fraction(s.th.min_saving_pct))
