"""The capacity planner: model, dtype, context length and concurrency → memory need, the GPUs that fit, and the
speed they serve it at.

Memory. need = weights (dtype, or quantization) + KV cache for concurrency × context tokens + runtime
overhead, held with the memory margin; each GPU type in the catalog answers with the fewest GPUs that hold
it, and what they cost a month. Sorted by cost.

Nodes. A node holds GPUS_PER_NODE GPUs: tensor parallelism (1, 2, 4 or 8 GPUs) stays inside one, because it
exchanges activations at every layer; past 8 GPUs the plan is multi-node, 8-way tensor parallel within each
node and pipeline parallel across them (as vLLM's --pipeline-parallel-size), up to MAX_NODES nodes.

Speed, a roofline estimate (as in Databricks/MosaicML, "LLM Inference Performance Engineering: Best
Practices", 2023, and the vLLM and TensorRT-LLM performance guides):

- decode is memory-bound: each step reads the weights once, and each sequence's KV cache, so one sequence
  gets  tokens/s ≈ bandwidth × DECODE_BANDWIDTH_EFFICIENCY × tensor-parallel GPUs / (weights + KV read);
  a batch of B shares the weight read, so the aggregate is  min(B × that, compute-bound), where
  compute-bound = FLOPs × PREFILL_MFU × GPUs / (2 × parameters) (2 FLOPs per parameter per token);
- prefill (time to first token) is compute-bound:  prompt tokens × 2 × parameters / (FLOPs × MFU × GPUs).

Bandwidth (GB/s) and dense 16-bit tensor TFLOPS are the GPU catalog's datasheet figures (GpuType.spec_source);
FP8 and INT8 W8A8 run the tensor cores at twice the 16-bit rate (NVIDIA H100 and A100 datasheets); 4-bit
weight-only kernels compute at 16-bit. Pipeline stages run one after another for one sequence, so a
sequence's speed is one node's; the overlap of stages across sequences is not credited (errs low), and
neither is the time of inter-node transfers (errs high).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recommender import memory
from recommender.findings import GpuTypeInfo
from recommender.rules.common import supports
from recommender.savings import HOURS_PER_MONTH
from telemetry import units

GPUS_PER_NODE = 8
MAX_NODES = 8
# GPU counts a plan may take: tensor-parallel sizes within a node, then whole nodes.
PLAN_SIZES = (1, 2, 4, 8, *(GPUS_PER_NODE * n for n in range(2, MAX_NODES + 1)))
# Share of the datasheet memory bandwidth decode reaches ("model bandwidth utilization"): serving stacks
# measure 60–85% (the Databricks post above; vLLM and TensorRT-LLM at moderate batch); 0.6 errs low.
DECODE_BANDWIDTH_EFFICIENCY = 0.6
# Share of the datasheet tensor FLOPS prefill reaches (model FLOPs utilization): 40–60% is typical of
# tuned inference kernels on long prompts; 0.5 is the middle. Also caps the decode of large batches.
PREFILL_MFU = 0.5
# W8A8 (FP8, INT8) runs the tensor cores at twice the 16-bit rate; weight-only 4-bit computes at 16-bit.
COMPUTE_SPEEDUP = {"fp8": 2.0, "int8": 2.0}
DEFAULT_PROMPT_TOKENS = 1024


@dataclass(frozen=True)
class Speed:
    decode_tps_per_sequence: float  # tokens/s one sequence gets while the batch runs
    decode_tps_total: float  # tokens/s over the whole batch
    bound: str  # "memory bandwidth" or "compute": which roof the batch's decode hits
    ttft_s: float  # prefill of one prompt: time to first token, queueing aside

    @property
    def ttft_ms(self) -> float:
        return self.ttft_s * 1000


@dataclass(frozen=True)
class PlanOption:
    gpu_type: str
    gpus: int
    memory_per_gpu_bytes: float
    usd_month: float
    price_label: str
    need_per_gpu_bytes: float = 0.0  # what each GPU holds: weights, KV and overhead shares, with the margin
    speed: Speed | None = None

    @property
    def nodes(self) -> int:
        return -(-self.gpus // GPUS_PER_NODE)

    @property
    def tensor_parallel(self) -> int:
        return min(self.gpus, GPUS_PER_NODE)

    @property
    def layout(self) -> str:
        """How the GPUs split the model, in the flags' terms."""
        if self.nodes == 1:
            return f"1 node, tensor parallel {self.gpus}" if self.gpus > 1 else "1 GPU"
        return f"{self.nodes} nodes × {GPUS_PER_NODE}: tensor parallel {GPUS_PER_NODE}, pipeline parallel {self.nodes}"

    @property
    def memory_fill_pct(self) -> float:
        """What each GPU holds, as a share of its memory (the margin included)."""
        return 100 * self.need_per_gpu_bytes / self.memory_per_gpu_bytes if self.memory_per_gpu_bytes else 0.0


@dataclass(frozen=True)
class Plan:
    weights_bytes: float
    kv_bytes: float
    kv_per_token_bytes: float
    overhead_per_gpu_bytes: float
    basis: str
    options: list[PlanOption]  # the types that fit, cheapest first
    unfit: list[str]  # the types that cannot hold it, or lack the dtype
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    speed_basis: str = ""


def speed(gpu_type: GpuTypeInfo, gpus: int, params: float, weights: float, kv_per_sequence: float,
          concurrency: int, precision: str | None, prompt_tokens: int) -> Speed:  # fmt: skip
    """Decode tokens/s (per sequence and for the batch) and time to first token on `gpus` of `gpu_type`.

    `weights` in bytes at the served precision, `kv_per_sequence` the bytes of one sequence's KV cache read
    each step; `precision` the quantization key (None: 16-bit)."""
    tp = min(gpus, GPUS_PER_NODE)  # one sequence's step crosses the pipeline stages one after another
    bandwidth = gpu_type.bandwidth_gbps * 1e9 * DECODE_BANDWIDTH_EFFICIENCY
    flops = gpu_type.tflops * 1e12 * PREFILL_MFU * COMPUTE_SPEEDUP.get(precision or "", 1.0)
    step_bytes = weights + kv_per_sequence * concurrency  # one step reads the weights once, and every KV cache
    per_sequence = tp * bandwidth / step_bytes
    compute_bound = gpus * flops / (2 * params)
    total = min(per_sequence * concurrency, compute_bound)
    bound = "compute" if compute_bound < per_sequence * concurrency else "memory bandwidth"
    ttft = prompt_tokens * 2 * params / (tp * flops)
    return Speed(total / concurrency, total, bound, ttft)


def plan(shape: memory.ModelShape, dtype: str, quantization: str | None, context_tokens: int, concurrency: int,
         catalog: list[GpuTypeInfo], margin: float = 0.15, kv_bytes: float = 2.0,
         prompt_tokens: int = DEFAULT_PROMPT_TOKENS) -> Plan:  # fmt: skip
    if context_tokens < 1 or concurrency < 1 or prompt_tokens < 1:
        raise ValueError("context length, prompt length and concurrency must be at least 1")
    if dtype.lower() == "fp8" and not quantization:
        quantization = "fp8"  # FP8 weights need FP8 hardware, however they are named
    weights = memory.weight_bytes(shape, dtype, quantization)
    per_token = memory.kv_bytes_per_token(shape, kv_bytes) if shape.layers else 0.0
    kv = per_token * context_tokens * concurrency
    basis = (f"weights at {quantization or dtype} + KV cache for {concurrency} × {context_tokens:,} tokens "
             f"({per_token / 1024:.0f} KiB per token) + {memory.RUNTIME_OVERHEAD_PER_GPU / 1024**3:.1f} GiB per GPU, "
             f"held with a {units.fraction_to_pct(margin):.0f}% margin within {memory.SERVER_MEMORY_SHARE:.0%} of each "
             "GPU's memory (vLLM's default --gpu-memory-utilization)")  # fmt: skip
    if not shape.layers:
        basis = (f"weights at {quantization or dtype} + {memory.RUNTIME_OVERHEAD_PER_GPU / 1024**3:.1f} GiB per GPU; "
                 "no KV cache: give layers, KV heads and head dim to count it")  # fmt: skip
    precision = _precision(quantization)
    options, unfit = [], []
    for gpu_type in catalog:
        if not supports(gpu_type, dtype, quantization or ""):
            unfit.append(f"{gpu_type.name}: no {quantization or dtype} support")
            continue
        n = memory.gpus_needed(
            weights + kv, gpu_type.memory_bytes, margin=margin, sizes=PLAN_SIZES, usable=memory.SERVER_MEMORY_SHARE
        )  # the recommender's fit rule, the same call
        if n is None:
            unfit.append(f"{gpu_type.name}: needs more than {MAX_NODES} nodes of {GPUS_PER_NODE} GPUs")
            continue
        usd_month = round(n * gpu_type.price_usd * HOURS_PER_MONTH, 2)
        held = ((weights + kv) * (1 + margin) + memory.runtime_overhead(n)) / n
        pace = speed(gpu_type, n, shape.params, weights, per_token * context_tokens, concurrency, precision,
                     prompt_tokens)  # fmt: skip
        options.append(PlanOption(gpu_type.name, n, gpu_type.memory_bytes, usd_month, gpu_type.price_label, held,
                                  pace))  # fmt: skip
    options.sort(key=lambda o: (o.usd_month, o.gpus))
    speed_basis = (f"decode at {DECODE_BANDWIDTH_EFFICIENCY:.0%} of the datasheet memory bandwidth, reading the "
                   f"weights and the batch's KV cache at the full context each step, capped by compute at "
                   f"{PREFILL_MFU:.0%} of the datasheet tensor FLOPS (2 FLOPs per parameter per token); time to first "
                   f"token for a {prompt_tokens:,}-token prompt at that FLOPS share")  # fmt: skip
    return Plan(weights, kv, per_token, memory.RUNTIME_OVERHEAD_PER_GPU, basis, options, unfit, prompt_tokens,
                speed_basis)  # fmt: skip


def replicas_to_carry(option: PlanOption, peak_tps: float | None, replicas: int) -> int:
    """Replicas of `option` that carry an observed peak of generated tokens/s: at least `replicas` (each
    holding the planned concurrency), more where the estimated tokens/s per replica falls short, so that a
    cheap type is never priced at a size that cannot serve the load."""
    per_replica = option.speed.decode_tps_total if option.speed else 0.0
    if not peak_tps or per_replica <= 0:
        return replicas
    return max(replicas, math.ceil(round(peak_tps / per_replica, 6)))


def _precision(quantization: str | None) -> str | None:
    """The compute key of a quantization: "fp8" and "int8" (W8A8) speed up the tensor cores, 4-bit does not."""
    q = (quantization or "").lower()
    if q.startswith("fp8"):
        return "fp8"
    if q in {"int8", "w8a8"}:
        return "int8"
    return None
