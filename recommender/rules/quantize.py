"""quantize: a model served at 16-bit whose 8-bit or 4-bit weights fit on fewer or cheaper GPUs.

Compared with the best 16-bit option (the right-sized current type, or a cheaper type),
so the saving is what quantization adds on top of scale_down and smaller_gpu.
"""

from __future__ import annotations

from django.conf import settings

from recommender import memory
from recommender.findings import DeploymentStats, Finding, GpuTypeInfo, evidence
from recommender.rules.common import SIXTEEN_BIT, gib, sizing
from recommender.rules.smaller_gpu import alternatives, best_option
from recommender.savings import confidence, monthly

# (vLLM --quantization value, bytes per weight key, label, quality risk)
OPTIONS = [
    ("fp8", "fp8", "FP8", "8-bit weights are near lossless on published evaluations (typically under 1%)."),
    ("int8", "int8", "INT8 (W8A8)", "8-bit weights are near lossless on published evaluations (typically under 1%)."),
    ("awq", "awq", "4-bit AWQ/GPTQ",
     "4-bit weights cost a few percent on hard tasks (math, code, long reasoning): evaluate on your own traffic."),
]  # fmt: skip


def check(dep: DeploymentStats, catalog: list[GpuTypeInfo]) -> list[Finding]:
    s = sizing(dep)
    if s is None or s.server is None or s.server.shape is None or s.need is None:
        return []
    server = s.server
    if server.quantization or (server.dtype or "").lower() not in SIXTEEN_BIT:
        return []
    th = dep.th
    types = [s.gpu_type, *alternatives(s.gpu_type, catalog)]
    sixteen = best_option(s, types, server.dtype or "bf16")
    if sixteen is None:
        return []
    best = None
    for quant, key, label, risk in OPTIONS:
        weights = memory.weight_bytes(server.shape, "bf16", key)
        option = best_option(s, types, server.dtype or "bf16", quant, need_bytes=weights + s.need.kv_in_use)
        if option and (best is None or option.usd_per_hour < best[0].usd_per_hour):
            best = (option, quant, label, risk, weights)
    if best is None:
        return []
    option, quant, label, risk, weights = best
    if option.usd_per_hour > sixteen.usd_per_hour * (1 - th["min_saving_pct"] / 100):
        return []
    saved = sixteen.usd_per_hour - option.usd_per_hour
    new = option.gpu_type
    watts = s.power_mean_w * (sixteen.gpus * sixteen.gpu_type.tdp_w - option.gpus * new.tdp_w) / s.gpu_type.tdp_w
    reason = (
        f"{server.model} at 16-bit has {gib(s.need.weights)} of weights; at {label} they are {gib(weights)} "
        f"(embeddings and head stay 16-bit). With the KV cache in use ({gib(s.need.kv_in_use)}) and a "
        f"{th['memory_margin'] * 100:.0f}% margin it fits {option.per_replica} × {new.name} per replica, "
        f"against {sixteen.per_replica} × {sixteen.gpu_type.name} at 16-bit. {risk}"
    )
    basis = (f"{sixteen.gpus} × {sixteen.gpu_type.price_label} − {option.gpus} × {new.price_label}, × 730 h; "
             "power scaled by TDP")  # fmt: skip
    return [Finding(
        kind="quantize", target_type="deployment", target_key=f"deployment:{dep.name}", target_label=dep.name,
        deployment=dep.name, title=f"Quantize {dep.name} to {label}: {option.gpus} × {new.name} "
                                   f"instead of {sixteen.gpus} × {sixteen.gpu_type.name}",
        reason=reason,
        action=f"Serve {server.model} with --quantization {quant} (or a pre-quantized checkpoint) "
               f"on {option.gpus} × {new.name}; compare quality on your own prompts first.",
        evidence=[evidence("model weights", label, weights / 1024**3, round(s.need.weights / 1024**3, 1), "GiB",
                           dep.window_s, s.covered_s, sixteen_bit_gib=round(s.need.weights / 1024**3, 1),
                           kv_in_use_gib=round(s.need.kv_in_use / 1024**3, 1))],
        saving=monthly(saved, max(0.0, watts), settings.GRID_KG_CO2_PER_KWH, basis),
        confidence=confidence(s.covered_s / dep.window_s, option.usd_per_hour, sixteen.usd_per_hour,
                              scale=sixteen.usd_per_hour),
        gpu_ids=frozenset(g.gpu_id for g in s.gpus), host_ids=frozenset(h.host_id for h in dep.hosts),
    )]  # fmt: skip
