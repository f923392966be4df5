"""smaller_gpu: the deployment's memory need × (1 + margin) and its load fit a cheaper GPU type.

The baseline is the deployment right-sized on its current type (what scale_down
advises), so the two savings add up instead of counting the same GPUs twice.
"""

from __future__ import annotations

from django.conf import settings

from recommender.findings import DeploymentStats, Finding, GpuTypeInfo, evidence
from recommender.rules.common import Option, Sizing, gib, gpus_for, need_without_overhead, sizing, supports
from recommender.rules.scale_down import right_size
from recommender.savings import confidence, monthly


def best_option(s: Sizing, catalog: list[GpuTypeInfo], dtype: str, quantization: str = "",
                need_bytes: float | None = None) -> Option | None:  # fmt: skip
    need_bytes = need_without_overhead(s.need) if need_bytes is None else need_bytes
    options = []
    for candidate in catalog:
        if not supports(candidate, dtype, quantization):
            continue
        option = gpus_for(s.load_p95_units, need_bytes, s.gpu_type, candidate, s.deployment.th)
        if option:
            options.append(option)
    return min(options, key=lambda o: (o.usd_per_hour, o.gpus), default=None)


def alternatives(current: GpuTypeInfo, catalog: list[GpuTypeInfo]) -> list[GpuTypeInfo]:
    """Moves a team can make without changing its software stack or class of hardware:
    the same vendor (CUDA stays CUDA), and consumer cards only for consumer cards."""
    return [c for c in catalog if c.name != current.name and c.vendor == current.vendor
            and c.consumer == current.consumer]  # fmt: skip


def check(dep: DeploymentStats, catalog: list[GpuTypeInfo]) -> list[Finding]:
    s = sizing(dep)
    if s is None or s.need is None:
        return []
    th = dep.th
    dtype = s.server.dtype if s.server else "fp16"
    quant = s.server.quantization if s.server else ""
    baseline_gpus = right_size(s)
    baseline = baseline_gpus * s.price_usd
    best = best_option(s, alternatives(s.gpu_type, catalog), dtype, quant)
    if best is None or best.usd_per_hour > baseline * (1 - th["min_saving_pct"] / 100):
        return []
    new = best.gpu_type
    saved = baseline - best.usd_per_hour
    watts = s.power_mean_w * baseline_gpus - new.tdp_w / s.gpu_type.tdp_w * s.power_mean_w * best.gpus
    reason = (
        f"The model needs {gib(s.need.total)} per replica ({s.need.basis}); with a "
        f"{th['memory_margin'] * 100:.0f}% margin that fits {best.per_replica} × {new.name} "
        f"({gib(new.memory_bytes)} each). The p95 load ({s.load_p95_units * 100:.0f} GPU-% of {s.gpu_type.name}) "
        f"carried over by the slower of compute ({s.gpu_type.tflops:g}→{new.tflops:g} TFLOPS) and memory bandwidth "
        f"({s.gpu_type.bandwidth_gbps:g}→{new.bandwidth_gbps:g} GB/s) needs {best.gpus} at "
        f"{th['target_util_pct']:g}% utilization."
    )
    basis = (f"{baseline_gpus} × {s.price_label} − {best.gpus} × {new.price_label}, × 730 h; "
             f"power scaled by TDP ({s.gpu_type.tdp_w:g} W → {new.tdp_w:g} W)")  # fmt: skip
    return [Finding(
        kind="smaller_gpu", target_type="deployment", target_key=f"deployment:{dep.name}", target_label=dep.name,
        deployment=dep.name,
        title=f"Move {dep.name} to {best.gpus} × {new.name} (from {baseline_gpus} × {s.gpu_type.name})",
        reason=reason,
        action=f"Run {dep.name} on {best.gpus} × {new.name} ({best.gpus // best.per_replica} replica(s)).",
        evidence=[
            evidence("memory need per replica", s.need.basis, s.need.total / 1024**3,
                     round(new.memory_bytes * best.per_replica / (1 + th["memory_margin"]) / 1024**3, 1), "GiB",
                     dep.window_s, s.covered_s),
            evidence("deployment GPU load (Σ utilization)", "p95 of hourly means", s.load_p95_units * 100,
                     None, "GPU-%", dep.window_s, s.covered_s),
        ],
        saving=monthly(saved, max(0.0, watts), settings.GRID_KG_CO2_PER_KWH, basis),
        confidence=confidence(s.covered_s / dep.window_s, best.usd_per_hour, baseline, scale=baseline),
        gpu_ids=frozenset(g.gpu_id for g in s.gpus), host_ids=frozenset(h.host_id for h in dep.hosts),
    )]  # fmt: skip
