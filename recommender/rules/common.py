"""What several rules compute the same way: percentiles, memory need and the GPU count a load needs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from recommender import memory
from recommender.findings import DeploymentStats, GpuStats, GpuTypeInfo, HostStats, ServerStats
from telemetry.histogram import percentile

PREALLOCATING = {"vllm", "tgi", "sglang"}  # reserve most of the GPU for KV cache at start
SIXTEEN_BIT = {"", "auto", "bf16", "bfloat16", "fp16", "float16", "half"}


def p(hist: list[float], q: float) -> float | None:
    return percentile(hist, q) if hist else None


def server_gpus(host: HostStats, server: ServerStats) -> list[GpuStats]:
    return [g for g in host.gpus if g.gpu_id in server.gpu_ids]


def memory_need(host: HostStats, server: ServerStats, quantization: str | None = None) -> memory.MemoryNeed | None:
    """The server's need at its KV-cache p95 (or NVML when the model is unknown)."""
    gpus = server_gpus(host, server)
    if not gpus:
        return None
    nvml = sum(g.mem_used_max or 0 for g in gpus) or None
    kv_p95 = p(server.kv_hist, 95)
    dtype = server.dtype or "bf16"
    quant = quantization if quantization is not None else (server.quantization or None)
    try:
        return memory.memory_need(server.shape, dtype, quant, len(gpus), gpus[0].memory_bytes,
                                  kv_cache_pct=kv_p95, nvml_used_bytes=nvml)  # fmt: skip
    except (ValueError, memory.UnknownDtype):
        return None


def need_without_overhead(need: memory.MemoryNeed) -> float:
    return need.weights + need.kv_in_use


@dataclass(frozen=True)
class Option:
    gpu_type: GpuTypeInfo
    gpus: int
    per_replica: int

    @property
    def usd_per_hour(self) -> float:
        return self.gpus * self.gpu_type.price_usd


def gpus_for(load_units: float, need_bytes: float, current: GpuTypeInfo, candidate: GpuTypeInfo,
             th: dict[str, float]) -> Option | None:  # fmt: skip
    """GPUs of `candidate` that hold the model (per replica) and carry `load_units` of `current` at the target.

    Load is in units of one `current` GPU busy 100% of the time. Decode is bound by memory
    bandwidth, prefill by tensor throughput: the slower of the two ratios carries the load over.
    """
    per_replica = memory.gpus_needed(need_bytes, candidate.memory_bytes, margin=th["memory_margin"])
    if per_replica is None:
        return None
    ratio = max(current.tflops / candidate.tflops, current.bandwidth_gbps / candidate.bandwidth_gbps)
    compute = math.ceil(round(load_units * ratio / (th["target_util_pct"] / 100), 6))
    replicas = max(1, math.ceil(compute / per_replica))
    return Option(candidate, replicas * per_replica, per_replica)


def supports(gpu_type: GpuTypeInfo, dtype: str, quantization: str = "") -> bool:
    q = (quantization or "").lower()
    if q.startswith("fp8"):
        return gpu_type.fp8
    if q in {"int8", "w8a8"}:
        return gpu_type.int8
    if q:
        return True  # weight-only 4-bit kernels run on every GPU here
    return gpu_type.bf16 if dtype.lower() in {"bf16", "bfloat16", "auto", ""} else True


@dataclass
class Sizing:
    """A deployment's load and model, as the sizing rules (scale_down, smaller_gpu, quantize) read it."""

    deployment: DeploymentStats
    gpu_type: GpuTypeInfo
    gpus: list[GpuStats]
    server: ServerStats | None
    need: memory.MemoryNeed | None
    load_p95_units: float
    covered_s: float

    @property
    def price_usd(self) -> float:
        prices = [g.price_usd for g in self.gpus if g.price_usd is not None]
        return sum(prices) / len(prices) if prices else self.gpu_type.price_usd

    @property
    def price_label(self) -> str:
        return next((g.price_label for g in self.gpus), self.gpu_type.price_label)

    @property
    def power_mean_w(self) -> float:
        watts = [g.power_mean_w for g in self.gpus if g.power_mean_w is not None]
        return sum(watts) / len(watts) if watts else 0.0


def sizing(dep: DeploymentStats) -> Sizing | None:
    gpus = [g for h in dep.hosts for g in h.gpus]
    types = {g.gpu_type.name if g.gpu_type else None for g in gpus}
    if not gpus or len(types) != 1 or None in types or not dep.load_by_hour:
        return None  # no GPU, mixed or unknown types: no like-for-like sizing
    covered = min(g.covered_s for g in gpus)
    if covered < dep.th["min_coverage_hours"] * 3600:
        return None
    loads = sorted(dep.load_by_hour.values())
    load_p95 = loads[min(len(loads) - 1, math.ceil(0.95 * len(loads)) - 1)] / 100
    host, server = next(((h, s) for h in dep.hosts for s in h.servers if s.gpu_ids), (dep.hosts[0], None))
    need = memory_need(host, server) if server else None
    if need is None:
        used = max((g.mem_used_max or 0 for g in gpus), default=0)
        if used:
            need = memory.MemoryNeed(used, 0.0, 0.0, "NVML memory used per GPU (no server metric; an upper bound)")
    return Sizing(dep, gpus[0].gpu_type, gpus, server, need, load_p95, covered)


def gib(value: float) -> str:
    return f"{value / 1024**3:.1f} GiB"
