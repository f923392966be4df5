"""GPU memory arithmetic for served LLMs: what a model needs, counted as an LLM engineer would.

    weights   = parameters × bytes per parameter for the dtype; under 8-bit or 4-bit
                quantization the embedding and output layers stay at 16-bit
    KV / token = 2 (K and V) × layers × KV heads × head dim × bytes per KV element
    need      = weights + the KV cache actually in use + runtime overhead

"Memory used" from NVML is not memory needed: vLLM and TGI reserve most of the GPU for
their KV cache at start (vLLM: --gpu-memory-utilization, 0.9 by default), so an idle
server shows ~90% used. The need uses the server's own KV metric where it has one, and
says which basis it used.

Sizes are bytes. Worked examples (tests/recommender/test_memory.py): Llama-3.1-70B at
bf16 is ≈141 GB of weights and 320 KiB of KV cache per token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from telemetry import units

GIB = 1024**3

# Bytes per weight. 4-bit GPTQ/AWQ: 0.5 plus group scales and zeros (≈0.52 at group size 128).
BYTES_PER_PARAM = {
    "fp32": 4.0, "float32": 4.0,
    "bf16": 2.0, "bfloat16": 2.0, "fp16": 2.0, "float16": 2.0, "half": 2.0,
    "fp8": 1.0, "float8": 1.0, "int8": 1.0, "w8a8": 1.0, "8bit": 1.0,
    "int4": 0.52, "4bit": 0.52, "awq": 0.52, "gptq": 0.52, "nf4": 0.52, "bitsandbytes": 0.52,
}  # fmt: skip
QUANTIZED_BELOW = 2.0  # under 16-bit, embeddings and the output head stay at 16-bit
# CUDA context, NCCL buffers, activations and graphs that are not weights or KV cache.
# vLLM's own profiling typically finds 1–2 GiB per GPU for these; 1.5 GiB is the middle.
RUNTIME_OVERHEAD_PER_GPU = 1.5 * GIB
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8, 16)  # heads split evenly only over these in practice
# The share of a GPU's memory an inference server takes for weights, KV cache and runtime
# (vLLM --gpu-memory-utilization defaults to 0.9); sizing checks against it, not the whole card.
SERVER_MEMORY_SHARE = 0.9


class UnknownDtype(ValueError):
    pass


def bytes_per_param(dtype: str, quantization: str | None = None) -> float:
    """Quantization, when named, decides; else the dtype ('auto' reads as bf16)."""
    for name in (quantization, dtype):
        if not name:
            continue
        key = name.strip().lower().replace("-", "").replace("_", "")
        if key == "auto":
            return BYTES_PER_PARAM["bf16"]
        for candidate, size in BYTES_PER_PARAM.items():
            if key == candidate.replace("-", "").replace("_", ""):
                return size
        if name is quantization and key.startswith(("awq", "gptq", "marlin")):
            return BYTES_PER_PARAM["awq"]
        if name is quantization and key.startswith("fp8"):
            return BYTES_PER_PARAM["fp8"]
        raise UnknownDtype(f"unknown dtype or quantization {name!r}: use one of {', '.join(BYTES_PER_PARAM)}")
    return BYTES_PER_PARAM["bf16"]


@dataclass(frozen=True)
class ModelShape:
    params: float  # all parameters
    layers: int
    kv_heads: int
    head_dim: int
    embedding_params: float = 0.0  # input embedding + output head (both, if untied)


def weight_bytes(shape: ModelShape, dtype: str, quantization: str | None = None) -> float:
    per_param = bytes_per_param(dtype, quantization)
    if per_param >= QUANTIZED_BELOW:
        return shape.params * per_param
    return (shape.params - shape.embedding_params) * per_param + shape.embedding_params * 2.0


def kv_bytes_per_token(shape: ModelShape, kv_bytes: float = 2.0) -> float:
    """K and V for one token across all layers (kv_bytes: 2 at bf16/fp16, 1 with an fp8 KV cache)."""
    return 2 * shape.layers * shape.kv_heads * shape.head_dim * kv_bytes


def runtime_overhead(gpus: int) -> float:
    return gpus * RUNTIME_OVERHEAD_PER_GPU


def kv_pool_bytes(gpu_memory_bytes: float, gpus: int, weights: float, utilization: float = 0.9) -> float:
    """The KV cache a pre-allocating server reserves: its share of memory less weights and overhead."""
    return max(0.0, utilization * gpu_memory_bytes * gpus - weights - runtime_overhead(gpus))


@dataclass(frozen=True)
class MemoryNeed:
    weights: float
    kv_in_use: float
    overhead: float
    basis: str  # how the figure was reached, said in every recommendation that uses it

    @property
    def from_model(self) -> bool:
        """Counted from the model's shape (weights + KV in use + overhead), not read off NVML."""
        return self.overhead > 0

    @property
    def total(self) -> float:
        return self.weights + self.kv_in_use + self.overhead


def memory_need(shape: ModelShape | None, dtype: str, quantization: str | None, gpus: int,
                gpu_memory_bytes: float, kv_cache_pct: float | None = None,
                nvml_used_bytes: float | None = None, utilization: float = 0.9) -> MemoryNeed:  # fmt: skip
    """What the deployment needs, with the basis: the server's KV metric, else NVML."""
    overhead = runtime_overhead(gpus)
    if shape is not None:
        weights = weight_bytes(shape, dtype, quantization)
        if kv_cache_pct is not None:
            pool = kv_pool_bytes(gpu_memory_bytes, gpus, weights, utilization)
            return MemoryNeed(weights, pool * units.pct_to_fraction(kv_cache_pct), overhead,
                              f"model weights ({dtype}{', ' + quantization if quantization else ''}) "
                              f"+ the server's KV-cache use ({kv_cache_pct:.0f}% of its pool)")  # fmt: skip
        if nvml_used_bytes is None:
            return MemoryNeed(weights, 0.0, overhead, "model weights only: the server reports no KV-cache use")
    if nvml_used_bytes is None:
        raise ValueError("no basis: neither a known model shape nor NVML memory used")
    return MemoryNeed(nvml_used_bytes, 0.0, 0.0, "NVML memory used (no server KV metric; an upper bound)")


def gpus_needed(need_bytes: float, gpu_memory_bytes: float, margin: float = 0.15,
                sizes: tuple[int, ...] = TENSOR_PARALLEL_SIZES, usable: float = 1.0) -> int | None:  # fmt: skip
    """The fewest GPUs of this memory size, among tensor-parallel sizes, that hold need × (1 + margin).

    `need_bytes` is weights + KV cache; the runtime overhead grows with the GPU count, so it
    is added per candidate size."""
    for n in sizes:
        per_gpu = (need_bytes * (1 + margin) + runtime_overhead(n)) / n
        if per_gpu <= gpu_memory_bytes * usable:
            return n
    return None


def tokens_of_kv(kv_bytes: float, shape: ModelShape, kv_bytes_per_element: float = 2.0) -> int:
    """How many tokens of context `kv_bytes` of cache holds (for the capacity planner)."""
    return math.floor(kv_bytes / kv_bytes_per_token(shape, kv_bytes_per_element))
