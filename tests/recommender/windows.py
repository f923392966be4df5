"""Hand-built windows for the rules: no database, just the plain data the analysis would load."""

from __future__ import annotations

from recommender.catalog import ModelMatch
from recommender.findings import Context, DeploymentStats, GpuStats, GpuTypeInfo, HostStats, ServerStats
from recommender.memory import GIB, ModelShape
from recommender.thresholds import DEFAULTS, Thresholds
from telemetry.histogram import of_values

HOUR = 3600
WINDOW = 14 * 24 * HOUR


def gpu_type(name, mem_gib, bw, tdp, tflops, price, bf16=True, fp8=False, int8=True):
    return GpuTypeInfo(
        name, mem_gib * GIB, bw, tdp, tflops, bf16, fp8, int8, price, f"${price}/GPU-h ({name})", list_price_usd=price
    )


H100 = gpu_type("H100 80GB", 80, 3350, 700, 989, 4.76, fp8=True)
A100 = gpu_type("A100 80GB", 80, 2039, 400, 312, 2.45)
A100_40 = gpu_type("A100 40GB", 40, 1555, 400, 312, 1.29)
L40S = gpu_type("L40S", 48, 864, 350, 362, 1.40, fp8=True)
A10G = gpu_type("A10G", 24, 600, 300, 125, 1.006)
L4 = gpu_type("L4", 24, 300, 72, 121, 0.78, fp8=True)
CATALOG = [H100, A100, A100_40, L40S, A10G, L4]
CTX = Context(grid_kg_per_kwh=0.4, vcpu_hourly_usd=0.0504, catalog=CATALOG)


def th(**overrides) -> Thresholds:
    return Thresholds(**{**DEFAULTS, **{k: float(v) for k, v in overrides.items()}})


LLAMA_8B = ModelMatch(ModelShape(8.03e9, 32, 8, 128, 2 * 128_256 * 4096), "meta-llama/Llama-3.1-8B", "catalog")
LLAMA_70B = ModelMatch(ModelShape(70.55e9, 80, 8, 128, 2 * 128_256 * 8192), "meta-llama/Llama-3.1-70B", "catalog")


def hist(values: list[float], covered: float = WINDOW) -> list[float]:
    return of_values(values, covered / len(values))


def gpu(
    gpu_id=1, util=(30.0,), covered=WINDOW, kind=A10G, mem_used_gib=20.0, power=150.0, index=0, price=None
) -> GpuStats:
    """`price`: your price for this GPU per hour (a host price's share), instead of the catalog's."""
    if kind is None:
        g = GpuStats(gpu_id, f"GPU-{gpu_id}", index, "Mystery GPU", 16 * GIB, None, None, "no price")
    elif price is not None:
        g = GpuStats(
            gpu_id,
            f"GPU-{gpu_id}",
            index,
            kind.name,
            kind.memory_bytes,
            kind,
            price,
            f"${price:.2f}/h (your price)",
            True,
        )
    else:
        g = GpuStats(
            gpu_id, f"GPU-{gpu_id}", index, kind.name, kind.memory_bytes, kind, kind.price_usd, kind.price_label
        )
    g.covered_s, g.util_hist, g.util_max, g.util_mean = (
        covered,
        hist(list(util), covered),
        max(util),
        sum(util) / len(util),
    )
    g.mem_used_max, g.power_mean_w = mem_used_gib * GIB, power
    return g


def server(
    server_id=1,
    gpu_ids=(1,),
    kind="vllm",
    model=LLAMA_8B,
    kv=(20.0,),
    waiting=0.0,
    preempted=0.0,
    batch=8.0,
    busy=1.0,
    requests=2.0,
    covered=WINDOW,
    max_batch=256,
    dtype="bfloat16",
    tp=1,
    at_limit=None,
):
    s = ServerStats(
        server_id,
        f"{kind}:{8000 + server_id}",
        kind,
        model.name if model else "resnet50",
        dtype,
        "",
        tp,
        max_batch,
        list(gpu_ids),
        model,
    )
    s.at_limit_share = at_limit
    s.covered_s, s.kv_hist, s.kv_max = covered, hist(list(kv), covered) if kv else [], max(kv) if kv else None
    s.waiting_p95_hourly, s.waiting_mean, s.preempted_sum = waiting, waiting, preempted
    s.batch_mean, s.busy_hours_share, s.requests_ps_max, s.running_mean = (
        batch,
        busy,
        requests,
        batch if requests else 0,
    )
    s.gen_tps_max = 100.0 if requests else 0.0
    return s


def host(
    gpus=(),
    servers=(),
    cpu=(40.0,),
    cpu_count=32,
    mem_total_gib=256,
    mem_used_gib=150,
    covered=WINDOW,
    deployment="chat",
    host_id=1,
    price=None,
    **overrides,
) -> HostStats:
    h = HostStats(
        host_id,
        f"node-{host_id}",
        f"machine-{host_id}",
        deployment,
        cpu_count,
        mem_total_gib * GIB,
        price,
        th(**overrides),
        WINDOW,
    )
    h.covered_s, h.cpu_hist, h.cpu_max, h.mem_used_max = covered, hist(list(cpu), covered), max(cpu), mem_used_gib * GIB
    h.gpus, h.servers = list(gpus), list(servers)
    return h


def deployment(hosts: list[HostStats], load_by_hour_of_day, name="chat", **overrides) -> DeploymentStats:
    """`load_by_hour_of_day`: a number (every hour) or 24 numbers, repeated over the 14 days (GPU-%)."""
    loads = [load_by_hour_of_day] * 24 if isinstance(load_by_hour_of_day, int | float) else load_by_hour_of_day
    start = 1_760_000_400 // 86400 * 86400
    by_hour = {start + h * HOUR: float(loads[h % 24]) for h in range(14 * 24)}
    return DeploymentStats(name, th(**overrides), WINDOW, hosts, by_hour)
