"""The capacity planner: model, dtype, context length and concurrency → memory need and the GPUs that fit.

need = weights (dtype, or quantization) + KV cache for concurrency × context tokens + runtime overhead,
held with the memory margin; each GPU type in the catalog answers with the fewest GPUs (among
tensor-parallel sizes) that hold it, and what they cost a month. Sorted by cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommender import memory
from recommender.findings import GpuTypeInfo
from recommender.rules.common import supports
from recommender.savings import HOURS_PER_MONTH


@dataclass(frozen=True)
class PlanOption:
    gpu_type: str
    gpus: int
    memory_per_gpu_bytes: float
    usd_month: float
    price_label: str


@dataclass(frozen=True)
class Plan:
    weights_bytes: float
    kv_bytes: float
    kv_per_token_bytes: float
    overhead_per_gpu_bytes: float
    basis: str
    options: list[PlanOption]  # the types that fit, cheapest first
    unfit: list[str]  # the types that cannot hold it, or lack the dtype


def plan(shape: memory.ModelShape, dtype: str, quantization: str | None, context_tokens: int, concurrency: int,
         catalog: list[GpuTypeInfo], margin: float = 0.15, kv_bytes: float = 2.0) -> Plan:  # fmt: skip
    if context_tokens < 1 or concurrency < 1:
        raise ValueError("context length and concurrency must be at least 1")
    weights = memory.weight_bytes(shape, dtype, quantization)
    per_token = memory.kv_bytes_per_token(shape, kv_bytes) if shape.layers else 0.0
    kv = per_token * context_tokens * concurrency
    basis = (f"weights at {quantization or dtype} + KV cache for {concurrency} × {context_tokens:,} tokens "
             f"({per_token / 1024:.0f} KiB per token) + {memory.RUNTIME_OVERHEAD_PER_GPU / 1024**3:.1f} GiB per GPU, "
             f"held with a {margin * 100:.0f}% margin")  # fmt: skip
    if not shape.layers:
        basis = (f"weights at {quantization or dtype} + {memory.RUNTIME_OVERHEAD_PER_GPU / 1024**3:.1f} GiB per GPU; "
                 "no KV cache: give layers, KV heads and head dim to count it")  # fmt: skip
    options, unfit = [], []
    for gpu_type in catalog:
        if not supports(gpu_type, dtype, quantization or ""):
            unfit.append(f"{gpu_type.name}: no {quantization or dtype} support")
            continue
        n = memory.gpus_needed(weights + kv, gpu_type.memory_bytes, margin=margin)
        if n is None:
            unfit.append(f"{gpu_type.name}: needs more than {memory.TENSOR_PARALLEL_SIZES[-1]} GPUs")
            continue
        usd_month = round(n * gpu_type.price_usd * HOURS_PER_MONTH, 2)
        options.append(PlanOption(gpu_type.name, n, gpu_type.memory_bytes, usd_month, gpu_type.price_label))
    options.sort(key=lambda o: (o.usd_month, o.gpus))
    return Plan(weights, kv, per_token, memory.RUNTIME_OVERHEAD_PER_GPU, basis, options, unfit)
