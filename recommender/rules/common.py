"""What several rules compute the same way: percentiles and a server's memory need."""

from __future__ import annotations

from recommender import memory
from recommender.findings import GpuStats, GpuTypeInfo, HostStats, ServerStats
from telemetry.histogram import percentile

PREALLOCATING = {"vllm", "tgi", "sglang"}  # reserve most of the GPU for KV cache at start
SIXTEEN_BIT = {"", "auto", "bf16", "bfloat16", "fp16", "float16", "half"}
# How the servers spell their own names, for text that starts a sentence with one.
SERVER_NAMES = {"vllm": "vLLM", "tgi": "TGI", "triton": "Triton", "sglang": "SGLang", "torchserve": "TorchServe"}


def server_name(kind: str) -> str:
    """'vllm' → 'vLLM': the kind as its project writes it (the agent's ids are lower case)."""
    return SERVER_NAMES.get(kind, kind)


def server_ref(server: ServerStats) -> str:
    """'vLLM server vllm:8000': the kind said once, in words, then the agent's id."""
    name = server_name(server.kind)
    return f"{name} server {server.key}" if name != "other" else f"server {server.key}"


def kind_suffix(server_id: str, kind: str) -> str:
    """' (TGI)' after an id that does not name its kind; '' after 'vllm:8000', which does, or for 'other'."""
    if server_id.lower().startswith(f"{kind}:") or kind == "other":
        return ""
    return f" ({server_name(kind)})"


def server_label(server: ServerStats) -> str:
    """The agent's id, with its kind only where the id does not already name it ('vllm:8000', 'api (TGI)')."""
    return server.key + kind_suffix(server.key, server.kind)


def p(hist: list[float], q: float) -> float | None:
    return percentile(hist, q) if hist and sum(hist) > 0 else None


def server_gpus(host: HostStats, server: ServerStats) -> list[GpuStats]:
    return [g for g in host.gpus if g.gpu_id in server.gpu_ids]


def memory_need(host: HostStats, server: ServerStats, quantization: str | None = None) -> memory.MemoryNeed | None:
    """The server's need at its KV-cache p95 (or NVML when the model or its KV metric is unknown)."""
    gpus = server_gpus(host, server)
    if not gpus:
        return None
    nvml = sum(g.mem_used_max or 0 for g in gpus) or None
    kv_p95 = p(server.kv_hist, 95)
    dtype = server.dtype or "bf16"
    quant = quantization if quantization is not None else (server.quantization or None)
    try:
        return memory.memory_need(
            server.shape, dtype, quant, len(gpus), gpus[0].memory_bytes, kv_cache_pct=kv_p95, nvml_used_bytes=nvml
        )
    except (ValueError, memory.UnknownDtype):
        return None


def supports(gpu_type: GpuTypeInfo, dtype: str, quantization: str = "") -> bool:
    q = (quantization or "").lower()
    if q.startswith("fp8"):
        return gpu_type.fp8
    if q in {"int8", "w8a8"}:
        return gpu_type.int8
    if q:
        return True  # weight-only 4-bit kernels run on every GPU here
    return gpu_type.bf16 if dtype.lower() in {"bf16", "bfloat16", "auto", ""} else True


def gib(value: float) -> str:
    return f"{value / 1024**3:.1f} GiB"
