"""A synthetic fleet's history, pushed through the agent's own push path.

Each simulated host is one of the archetypes below, cycled by host number, so
any --hosts count of at least len(ARCHETYPES) covers every case the recommender
must get right (fewer is refused, naming the archetypes left out). Every host
carries the label simulated=true.

The readings hang together as a served fleet's do: an LLM server's generated
tokens/s are its running requests × the decode rate one sequence gets on its GPUs
(the capacity planner's roofline, recommender.planner.speed, from the GPU's
memory bandwidth and the model's weight and KV-cache bytes); its requests/s are
those tokens/s ÷ the output tokens of a request; its queue time is Little's law.
A server that generates no tokens (Triton serving an image model) reports no token
rates at all. The GPU energy counter integrates each sample's power draw.
"""

from __future__ import annotations

import functools
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from collectors import __version__
from collectors.agent import encode
from collectors.push import ACCEPTED, TRANSIENT, Backoff, Pusher
from recommender import memory  # plain arithmetic; the planner (and the server's dependencies) load on first use

GIB = 1024**3
# NVML name, memory bytes, power limit W, memory bandwidth GB/s, dense 16-bit TFLOPS: the datasheet figures
# of the recommender's GPU catalog (tests/collectors/test_simulate.py checks they agree).
GPU_TYPES = {
    "a10g": ("NVIDIA A10G", 24 * GIB, 300.0, 600.0, 125.0),
    "a100": ("NVIDIA A100-SXM4-80GB", 80 * GIB, 400.0, 2039.0, 312.0),
    "h100": ("NVIDIA H100 80GB HBM3", 80 * GIB, 700.0, 3350.0, 989.0),
    "l4": ("NVIDIA L4", 24 * GIB, 72.0, 300.0, 121.0),
}
# The served LLMs' shapes (parameters, layers, KV heads, head dim, embedding + head parameters), from each
# model's config.json as in the recommender's model catalog; an -Instruct model has its base's shape.
MODEL_SHAPES = {
    "meta-llama/Llama-3.1-8B-Instruct": memory.ModelShape(8.03e9, 32, 8, 128, 2 * 128_256 * 4096),
    "meta-llama/Llama-3.1-70B-Instruct": memory.ModelShape(70.55e9, 80, 8, 128, 2 * 128_256 * 8192),
    "mistralai/Mistral-7B-Instruct-v0.3": memory.ModelShape(7.25e9, 32, 8, 128, 2 * 32_768 * 4096),
    "Qwen/Qwen2.5-7B-Instruct": memory.ModelShape(7.62e9, 28, 4, 128, 2 * 152_064 * 3584),
    "google/gemma-2-9b-it": memory.ModelShape(9.24e9, 42, 8, 256, 256_000 * 3584),
}
LLM_KINDS = {"vllm", "tgi"}  # servers that generate tokens; Triton here serves an image model
# A queue grows faster than the load that makes it (M/M/1: ρ / (1 − ρ)); waiting ∝ load ** this.
QUEUE_EXPONENT = 3.0
# vLLM preempts (recomputes or swaps out) sequences once its KV cache is this full: preemptions grow with
# the cache's fill above it.
PREEMPT_FROM_KV_PCT = 90.0


@dataclass(frozen=True)
class Archetype:
    name: str  # also the deployment label
    gpu: str | None
    gpus: int
    kind: str | None  # inference server kind, None for none
    model: str = ""
    dtype: str = "bfloat16"
    max_batch: int = 256
    peak_util: float = 60.0  # % at the daily peak
    night_util: float = 15.0  # % at night (diurnal when far from peak)
    kv_peak: float = 50.0
    waiting_peak: float = 0.0
    preempt_per_sample: float = 0.0  # preemptions per sample at the KV-cache peak
    batch_size_peak: float | None = None  # requests running at the daily peak (None: half of max_batch)
    prompt_tokens: int = 1024  # per request (LLM servers)
    output_tokens: int = 256  # generated per request (LLM servers)
    service_ms: float = 3.0  # GPU time of one request at batch 1 (servers that generate no tokens)
    mem_held: float = 0.9  # share of GPU memory held (vLLM reserves ~90%)
    cpu_peak: float = 30.0
    serves: bool = True  # False: the server is up and loaded, but no request arrives
    noise_sd: float = 1.5  # utilization noise, percentage points
    servers: int = 1  # replicas on the host, each on gpus / servers GPUs
    kv_metric: bool = True  # False: the server exports no KV-cache metric (Triton)
    # What the host really costs you per hour, for a test or a demo to set as its price (HostPrice):
    # the agent cannot send prices.
    user_hourly_usd: float | None = None


ARCHETYPES = [
    Archetype("chat-diurnal", "a10g", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=75, night_util=10,
              batch_size_peak=24),
    Archetype("idle-gpu", "a100", 1, "vllm", "mistralai/Mistral-7B-Instruct-v0.3", peak_util=0.3, night_util=0.3,
              kv_peak=0, mem_held=0.9, serves=False, noise_sd=0.3),
    Archetype("oversized", "h100", 8, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=9, night_util=3,
              kv_peak=4, batch_size_peak=16),
    Archetype("llama70b-bf16", "a100", 4, "vllm", "meta-llama/Llama-3.1-70B-Instruct", peak_util=30,
              night_util=12, kv_peak=35, batch_size_peak=32),
    Archetype("batching-limited", "a100", 1, "vllm", "Qwen/Qwen2.5-7B-Instruct", max_batch=4, peak_util=30,
              night_util=20, kv_peak=8, waiting_peak=25, batch_size_peak=4),
    Archetype("saturated", "h100", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=99, night_util=95,
              kv_peak=99, waiting_peak=60, preempt_per_sample=6, batch_size_peak=200),
    Archetype("triton-no-batching", "l4", 1, "triton", "resnet50", dtype="float16", max_batch=1, peak_util=25,
              night_util=20, kv_peak=0, waiting_peak=4, batch_size_peak=1, mem_held=0.15, kv_metric=False),
    Archetype("tgi-healthy", "a10g", 1, "tgi", "google/gemma-2-9b-it", peak_util=70, night_util=40,
              batch_size_peak=16),
    Archetype("cpu-only", None, 0, None, cpu_peak=8),
    # Rules must leave these alone: little traffic makes small batches, not a batching problem…
    Archetype("low-traffic", "l4", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=12, night_util=3,
              kv_peak=3, batch_size_peak=1.3),
    # …and two healthy replicas on small GPUs are not merged into one bigger GPU.
    Archetype("two-replica-small", "l4", 2, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=65,
              night_util=35, kv_peak=40, servers=2, batch_size_peak=12),
    # A 70B at bf16 on Hopper: FP8 halves its weights and speeds it up.
    Archetype("llama70b-hopper", "h100", 4, "vllm", "meta-llama/Llama-3.1-70B-Instruct", peak_util=35,
              night_util=15, kv_peak=35, batch_size_peak=32),
    # Priced by its owner at the provider's rate, far under the catalog's list price.
    Archetype("user-priced", "h100", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=15, night_util=5,
              kv_peak=10, batch_size_peak=8, user_hourly_usd=2.10),
]  # fmt: skip


def diurnal(ts: float, peak: float, night: float, rng: random.Random, noise_sd: float = 1.5) -> float:
    hour = (ts % 86400) / 3600
    day = max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0
    return max(0.0, min(100.0, night + (peak - night) * day + rng.gauss(0, noise_sd)))


def inventory(h: int, arch: Archetype) -> dict[str, Any]:
    gpus = []
    if arch.gpu:
        name, memory, limit, *_ = GPU_TYPES[arch.gpu]
        gpus = [{"uuid": f"GPU-sim-{h:05d}-{i}", "index": i, "name": name, "memory_total": memory,
                 "power_limit_w": limit} for i in range(arch.gpus)]  # fmt: skip
    servers = []
    if arch.kind:
        port = {"vllm": 8000, "tgi": 8080, "triton": 8002}[arch.kind]
        per = max(1, arch.gpus // arch.servers)
        servers = [{"id": f"{arch.kind}:{port + i}", "kind": arch.kind, "model": arch.model, "dtype": arch.dtype,
                    "quantization": None, "tensor_parallel": per, "max_batch_size": arch.max_batch,
                    "gpu_uuids": [g["uuid"] for g in gpus[i * per:(i + 1) * per]]}
                   for i in range(arch.servers)]  # fmt: skip
    return {
        "agent": {"version": __version__},
        "host": {"hostname": f"sim-{arch.name}-{h:05d}", "machine_id": f"sim-machine-{h:05d}",
                 "cpu_count": 32, "mem_total": 256 * GIB, "os": "Linux 6.8.0 (simulated)",
                 "labels": {"deployment": arch.name, "simulated": "true"}, "instance_type": ""},
        "gpus": gpus,
        "servers": servers,
    }  # fmt: skip


def sample(ts: float, inv: dict[str, Any], arch: Archetype, rng: random.Random,
           energy: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:  # fmt: skip
    """One sample of the host at `ts`. `energy` (GPU uuid → time and joules of the previous sample) carries the
    energy counters from one sample to the next: pass the same dict for all of a host's samples, in order."""
    util = diurnal(ts, arch.peak_util, arch.night_util, rng, arch.noise_sd)
    share = util / max(arch.peak_util, 1e-6) if arch.serves else 0.0
    out: dict[str, Any] = {
        "ts": round(ts, 3), "cpu_pct": round(min(100, arch.cpu_peak * (0.3 + 0.7 * share)), 2),
        "mem_used": int(48 * GIB * (0.8 + 0.2 * share)), "mem_available": int(200 * GIB),
        "net_rx_bps": round(2e5 + 2e6 * share, 1), "net_tx_bps": round(1e5 + 8e5 * share, 1),
    }  # fmt: skip
    out |= _host_extras(out["cpu_pct"], inv["host"]["cpu_count"], share)
    energy = {} if energy is None else energy
    out["gpus"] = []
    for g in inv["gpus"]:
        power = round(g["power_limit_w"] * (0.2 + 0.75 * util / 100), 1)
        out["gpus"].append({"uuid": g["uuid"], "util_pct": round(util, 2), "power_w": power,
                            "mem_used": int(g["memory_total"] * arch.mem_held), "temp_c": round(35 + 0.4 * util, 1),
                            **_gpu_extras(ts, util, g, power, energy)})  # fmt: skip
    out["servers"] = [_server_sample(server["id"], arch, util, share) for server in inv["servers"]]
    return out


def _server_sample(server_id: str, arch: Archetype, util: float, share: float) -> dict[str, Any]:
    """An inference server's readings at a load `share` of its daily peak (`util` % on its GPUs)."""
    peak = arch.max_batch * 0.5 if arch.batch_size_peak is None else arch.batch_size_peak
    running = min(peak * share, arch.max_batch)
    kv = min(100.0, arch.kv_peak * share)
    waiting = arch.waiting_peak * share**QUEUE_EXPONENT
    out: dict[str, Any] = {
        "id": server_id, "running": round(running, 2), "waiting": round(waiting, 2),
        "batch_size": round(max(1.0, running) if share > 0.01 else 0.0, 2), "preempted": _preempted(arch, kv, share),
    }  # fmt: skip
    if arch.kv_metric:
        out["kv_cache_pct"] = round(kv, 2)
    if arch.kind in LLM_KINDS:
        gen = running * decode_tps_per_sequence(arch, running, kv)
        requests = gen / arch.output_tokens
        out |= {"gen_tps": round(gen, 1), "prompt_tps": round(requests * arch.prompt_tokens, 1)}
    else:  # no tokens: each request holds the GPU for service_ms, so util % ÷ that is the request rate
        requests = util / 100 / (arch.service_ms / 1000) if share > 0.01 else 0.0
    out["requests_ps"] = round(requests, 3)
    # Little's law: time queued = requests waiting ÷ requests arriving per second.
    out["queue_time_ms"] = round(1000 * waiting / requests, 1) if requests > 0 and share > 0.01 else 0.0
    return out


def _preempted(arch: Archetype, kv_pct: float, share: float) -> int:
    """Preemptions in one sample: none until the KV cache nears full, then more the fuller it is."""
    if not arch.preempt_per_sample:
        return 0
    if arch.kv_peak <= PREEMPT_FROM_KV_PCT:
        return round(arch.preempt_per_sample * share)
    return round(
        arch.preempt_per_sample * max(0.0, kv_pct - PREEMPT_FROM_KV_PCT) / (arch.kv_peak - PREEMPT_FROM_KV_PCT)
    )


def decode_tps_per_sequence(arch: Archetype, running: float, kv_pct: float) -> float:
    """Tokens/s one of `running` sequences gets on one server's GPUs: the planner's roofline, each decode step
    reading the weights once and the KV cache in use (`kv_pct` of the pool the server reserved)."""
    from recommender import planner  # noqa: PLC0415 - needs the server extra, checked by simulate() first

    gpu, shape, per, weights = _server_shape(arch)
    kv_in_use = memory.kv_pool_bytes(gpu.memory_bytes, per, weights) * kv_pct / 100
    concurrency = max(1.0, running)
    pace = planner.speed(gpu, per, shape.params, weights, kv_in_use / concurrency, concurrency, None,
                         arch.prompt_tokens)  # fmt: skip
    return pace.decode_tps_per_sequence


@functools.cache
def _server_shape(arch: Archetype) -> tuple[Any, memory.ModelShape, int, float]:
    """One server's GPU type (a recommender.findings.GpuTypeInfo), model shape, GPU count and weight bytes."""
    from recommender.findings import GpuTypeInfo  # noqa: PLC0415 - as the planner: the server extra

    name, memory_bytes, limit, bandwidth, tflops = GPU_TYPES[arch.gpu]
    gpu = GpuTypeInfo(name, memory_bytes, bandwidth, limit, tflops, True, arch.gpu == "h100", True, 0.0, "")
    shape = MODEL_SHAPES[arch.model]
    return gpu, shape, max(1, arch.gpus // arch.servers), memory.weight_bytes(shape, arch.dtype)


def _host_extras(cpu_pct: float, cpu_count: int, share: float) -> dict[str, Any]:
    """The host readings no analysis reads, so every chart has something to draw. No random draw:
    the fleet's other values stay what they were."""
    return {"load1": round(cpu_count * cpu_pct / 100, 2), "swap_used": 256 * 1024**2,
            "disk_read_bps": round(5e5 + 5e6 * share, 1), "disk_write_bps": round(2e5 + 2e6 * share, 1)}  # fmt: skip


def _gpu_extras(ts: float, util: float, gpu: dict[str, Any], power_w: float,
                energy: dict[str, tuple[float, float]]) -> dict[str, Any]:  # fmt: skip
    """Memory-bandwidth use, SM clock and the energy counter, which adds this sample's draw over the time since
    the one before (NVML's total_energy_consumption); a GPU's first sample starts it as if it had idled at a
    fifth of its power limit since the epoch."""
    last = energy.get(gpu["uuid"])
    joules = ts * gpu["power_limit_w"] * 0.2 if last is None else last[1] + power_w * max(0.0, ts - last[0])
    energy[gpu["uuid"]] = (ts, joules)
    return {"mem_util_pct": round(util * 0.6, 2), "sm_clock_mhz": round(345 + 1635 * min(1.0, util / 30)),
            "energy_j": round(joules, 1)}  # fmt: skip


def simulate(
    pusher: Pusher,
    hosts: int,
    days: float,
    step_s: float = 300.0,
    seed: int = 1,
    batch_samples: int = 500,
    end: float | None = None,
    max_tries: int = 8,
) -> dict[str, int]:
    """Push `days` of history for `hosts` hosts ending at `end` (default now). Fewer hosts than archetypes
    would leave cases out: refused, naming them."""
    if hosts < len(ARCHETYPES):
        missing = ", ".join(a.name for a in ARCHETYPES[hosts:])
        raise SystemExit(f"rightsizer-agent simulate: --hosts {hosts} leaves out archetypes {missing}: "
                         f"use at least {len(ARCHETYPES)}")  # fmt: skip
    _need_the_planner()
    rng = random.Random(seed)
    end = time.time() if end is None else end
    start = end - days * 86400
    counts = {"batches": 0, "samples": 0, "errors": 0}
    for h in range(hosts):
        arch = ARCHETYPES[h % len(ARCHETYPES)]
        inv, energy = inventory(h, arch), {}
        n = int((end - start) // step_s)
        for first in range(0, n, batch_samples):
            samples = [sample(start + i * step_s, inv, arch, rng, energy)
                       for i in range(first, min(n, first + batch_samples))]  # fmt: skip
            if _push(pusher, encode({**inv, "samples": samples}), max_tries):
                counts["batches"] += 1
                counts["samples"] += len(samples)
            else:
                counts["errors"] += 1
    return counts


def _need_the_planner() -> None:
    """The simulated servers' speeds are the capacity planner's, which needs the server's dependencies: an
    agent installed alone (`pip install '.[agent]'`) is told so before anything is pushed."""
    try:
        from recommender import planner  # noqa: F401, PLC0415
    except ImportError as exc:
        raise SystemExit(
            f"rightsizer-agent simulate: the simulated servers' speeds come from the server's capacity planner, "
            f"which needs the server's dependencies ({exc.name} is missing): pip install '.[server]'"
        ) from exc


def _push(pusher: Pusher, body: bytes, max_tries: int) -> bool:
    backoff = Backoff(base_s=0.5, cap_s=30)
    for _ in range(max_tries):
        result = pusher.push(body)
        if result.outcome == ACCEPTED:
            return True
        if result.outcome != TRANSIENT:
            raise SystemExit(
                f"rightsizer-agent simulate: the server refused a batch ({result.status}): {result.message}"
            )
        time.sleep(backoff.next_delay(result.retry_after_s))
    return False
