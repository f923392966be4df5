"""A synthetic fleet's history, pushed through the agent's own push path.

Each simulated host is one of the archetypes below, cycled by host number, so
any --hosts count covers every case the recommender must get right. Every host
carries the label simulated=true.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from collectors import __version__
from collectors.agent import encode
from collectors.push import ACCEPTED, TRANSIENT, Backoff, Pusher

GIB = 1024**3
GPU_TYPES = {  # name, memory bytes, power limit W
    "a10g": ("NVIDIA A10G", 24 * GIB, 300.0),
    "a100": ("NVIDIA A100-SXM4-80GB", 80 * GIB, 400.0),
    "h100": ("NVIDIA H100 80GB HBM3", 80 * GIB, 700.0),
    "l4": ("NVIDIA L4", 24 * GIB, 72.0),
}


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
    preempt_per_sample: float = 0.0
    batch_size_peak: float | None = None
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
    Archetype("chat-diurnal", "a10g", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=75, night_util=10),
    Archetype("idle-gpu", "a100", 1, "vllm", "mistralai/Mistral-7B-Instruct-v0.3", peak_util=0.3, night_util=0.3,
              kv_peak=0, mem_held=0.9, serves=False, noise_sd=0.3),
    Archetype("oversized", "h100", 8, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=9, night_util=3,
              kv_peak=4),
    Archetype("llama70b-bf16", "a100", 4, "vllm", "meta-llama/Llama-3.1-70B-Instruct", peak_util=30,
              night_util=12, kv_peak=35),
    Archetype("batching-limited", "a100", 1, "vllm", "Qwen/Qwen2.5-7B-Instruct", max_batch=4, peak_util=30,
              night_util=20, kv_peak=8, waiting_peak=25, batch_size_peak=4),
    Archetype("saturated", "h100", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=99, night_util=95,
              kv_peak=99, waiting_peak=60, preempt_per_sample=3),
    Archetype("triton-no-batching", "l4", 1, "triton", "resnet50", dtype="float16", max_batch=1, peak_util=25,
              night_util=20, kv_peak=0, waiting_peak=4, batch_size_peak=1, mem_held=0.15, kv_metric=False),
    Archetype("tgi-healthy", "a10g", 1, "tgi", "google/gemma-2-9b-it", peak_util=70, night_util=40),
    Archetype("cpu-only", None, 0, None, cpu_peak=8),
    # Rules must leave these alone: little traffic makes small batches, not a batching problem…
    Archetype("low-traffic", "l4", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=12, night_util=3,
              kv_peak=3, batch_size_peak=1.3),
    # …and two healthy replicas on small GPUs are not merged into one bigger GPU.
    Archetype("two-replica-small", "l4", 2, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=65,
              night_util=35, kv_peak=40, servers=2),
    # A 70B at bf16 on Hopper: FP8 halves its weights and speeds it up.
    Archetype("llama70b-hopper", "h100", 4, "vllm", "meta-llama/Llama-3.1-70B-Instruct", peak_util=35,
              night_util=15, kv_peak=35),
    # Priced by its owner at the provider's rate, far under the catalog's list price.
    Archetype("user-priced", "h100", 1, "vllm", "meta-llama/Llama-3.1-8B-Instruct", peak_util=15, night_util=5,
              kv_peak=10, user_hourly_usd=2.10),
]  # fmt: skip


def diurnal(ts: float, peak: float, night: float, rng: random.Random, noise_sd: float = 1.5) -> float:
    hour = (ts % 86400) / 3600
    day = max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0
    return max(0.0, min(100.0, night + (peak - night) * day + rng.gauss(0, noise_sd)))


def inventory(h: int, arch: Archetype) -> dict[str, Any]:
    gpus = []
    if arch.gpu:
        name, memory, limit = GPU_TYPES[arch.gpu]
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


def sample(ts: float, inv: dict[str, Any], arch: Archetype, rng: random.Random) -> dict[str, Any]:
    util = diurnal(ts, arch.peak_util, arch.night_util, rng, arch.noise_sd)
    share = util / max(arch.peak_util, 1e-6) if arch.serves else 0.0
    out: dict[str, Any] = {
        "ts": round(ts, 3), "cpu_pct": round(min(100, arch.cpu_peak * (0.3 + 0.7 * share)), 2),
        "mem_used": int(48 * GIB * (0.8 + 0.2 * share)), "mem_available": int(200 * GIB),
        "net_rx_bps": round(2e5 + 2e6 * share, 1), "net_tx_bps": round(1e5 + 8e5 * share, 1),
    }  # fmt: skip
    out |= _host_extras(out["cpu_pct"], inv["host"]["cpu_count"], share)
    out["gpus"] = [
        {"uuid": g["uuid"], "util_pct": round(util, 2), "mem_used": int(g["memory_total"] * arch.mem_held),
         "power_w": round(g["power_limit_w"] * (0.2 + 0.75 * util / 100), 1), "temp_c": round(35 + 0.4 * util, 1),
         **_gpu_extras(ts, util, g["power_limit_w"], arch)}
        for g in inv["gpus"]
    ]  # fmt: skip
    running = arch.max_batch * 0.5 * share if arch.batch_size_peak is None else arch.batch_size_peak * share
    out["servers"] = [{
        "id": server["id"], "running": round(min(running, arch.max_batch), 2),
        "waiting": round(arch.waiting_peak * share, 2),
        **({"kv_cache_pct": round(arch.kv_peak * share, 2)} if arch.kv_metric else {}),
        "batch_size": round(max(1.0, min(running, arch.max_batch)) if share > 0.01 else 0.0, 2),
        "preempted": round(arch.preempt_per_sample * share), "prompt_tps": round(4000 * share, 1),
        "gen_tps": round(1200 * share, 1), "requests_ps": round(6 * share, 3),
        # Little's law: time queued = requests waiting ÷ requests arriving per second.
        "queue_time_ms": round(1000 * arch.waiting_peak / 6, 1) if share > 0.01 else 0.0,
    } for server in inv["servers"]]  # fmt: skip
    return out


def _host_extras(cpu_pct: float, cpu_count: int, share: float) -> dict[str, Any]:
    """The host readings no analysis reads, so every chart has something to draw. No random draw:
    the fleet's other values stay what they were."""
    return {"load1": round(cpu_count * cpu_pct / 100, 2), "swap_used": 256 * 1024**2,
            "disk_read_bps": round(5e5 + 5e6 * share, 1), "disk_write_bps": round(2e5 + 2e6 * share, 1)}  # fmt: skip


def _gpu_extras(ts: float, util: float, limit: float, arch: Archetype) -> dict[str, Any]:
    """Memory-bandwidth use, SM clock and the energy counter. The counter grows at the archetype's mean
    draw, so it only ever goes up (a sample knows nothing of the ones before it)."""
    mean_draw = limit * (0.2 + 0.75 * (arch.peak_util + arch.night_util) / 200)
    return {"mem_util_pct": round(util * 0.6, 2), "sm_clock_mhz": round(345 + 1635 * min(1.0, util / 30)),
            "energy_j": round(ts * mean_draw, 1)}  # fmt: skip


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
    """Push `days` of history for `hosts` hosts ending at `end` (default now)."""
    rng = random.Random(seed)
    end = time.time() if end is None else end
    start = end - days * 86400
    counts = {"batches": 0, "samples": 0, "errors": 0}
    for h in range(hosts):
        arch = ARCHETYPES[h % len(ARCHETYPES)]
        inv = inventory(h, arch)
        n = int((end - start) // step_s)
        for first in range(0, n, batch_samples):
            samples = [sample(start + i * step_s, inv, arch, rng) for i in range(first, min(n, first + batch_samples))]
            if _push(pusher, encode({**inv, "samples": samples}), max_tries):
                counts["batches"] += 1
                counts["samples"] += len(samples)
            else:
                counts["errors"] += 1
    return counts


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
