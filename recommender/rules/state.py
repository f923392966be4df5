"""A deployment as the plan's steps read it: today's configuration, its load and its memory need.

Load is Σ over the deployment's GPUs of each hour's mean utilization (8 GPUs at 9% are 0.72
GPUs' worth of work), in GPUs of today's type at today's precision. A configuration on
another type or precision carries it multiplied by its `load_factor` (the slower of the
compute and bandwidth ratios, divided by the precision's credited speed-up).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

from recommender import cpu_price, memory
from recommender.findings import Context, DeploymentStats, GpuStats, GpuTypeInfo, HostStats, ServerStats
from recommender.plan import (
    Config,
    normalize_precision,
    peaks_by_hour,
    per_replica,
    precision_label,
    replicas_for,
    schedule_for,
)
from recommender.precisions import BY_KEY
from recommender.rules.common import gib, memory_need, p
from recommender.thresholds import Thresholds
from telemetry import units


@dataclass
class State:
    dep: DeploymentStats
    ctx: Context
    gpus: list[GpuStats]
    gpu_type: GpuTypeInfo | None  # None: no GPU, or mixed or unknown types (no like-for-like sizing)
    host: HostStats | None  # the host of the first server, for its memory need
    server: ServerStats | None
    need: memory.MemoryNeed | None
    load_p95: float  # GPUs' worth of work, p95 of hourly sums
    load_mean: float
    covered_s: float
    current: Config
    replicas_now: int

    @property
    def th(self) -> Thresholds:
        return self.dep.th

    @property
    def floor(self) -> int:
        """Replicas never drop below this: the threshold where the deployment has 2 or more, else 1."""
        return min(int(self.th.replica_floor), self.replicas_now) if self.replicas_now >= 2 else 1

    @property
    def max_per_replica(self) -> int:
        return int(self.th.max_gpus_per_replica)

    @property
    def sixteen_bit(self) -> bool:
        return self.current.precision in {"bf16", "fp16"}

    def need_bytes(self, precision: str) -> float | None:
        """Weights at `precision` (from the model's shape) + the KV cache in use; NVML only at today's precision."""
        if self.need is None:
            return None
        if self.need.from_model and self.server is not None and self.server.shape is not None:
            weights = memory.weight_bytes(
                self.server.shape, "bf16", None if precision in {"bf16", "fp16"} else precision
            )
            return weights + self.need.kv_in_use
        return self.need.weights + self.need.kv_in_use if precision == self.current.precision else None

    def sized(
        self,
        start: Config,
        gpu_type: GpuTypeInfo,
        precision: str,
        factor: float,
        gpr: int,
        price: float,
        label: str,
        user_price: bool,
        schedule: bool,
    ) -> Config:
        """`gpr`-GPU replicas of `gpu_type` at `precision` carrying the load × `factor`: flat, or on a schedule."""
        target = self.th.target_util_pct
        flat = replace(
            start,
            gpu_type=gpu_type,
            precision=precision,
            gpus_per_replica=gpr,
            schedule=None,
            replicas=replicas_for(self.load_p95 * factor, gpr, target, self.floor),
            usd_per_gpu_hour=price,
            price_label=label,
            user_price=user_price,
            work_units=self.load_mean * factor,
            load_factor=factor,
            fixed_usd_per_hour=None,
        )
        if not schedule:
            return flat
        plan = schedule_for(peaks_by_hour(self.dep.load_by_hour, factor), gpr, target, self.floor)
        return replace(flat, replicas=plan.peak_replicas, schedule=plan) if plan else flat


def build(dep: DeploymentStats, ctx: Context) -> State:
    gpus = [g for h in dep.hosts for g in h.gpus]
    types = {g.gpu_type.name if g.gpu_type else None for g in gpus}
    gpu_type = gpus[0].gpu_type if gpus and len(types) == 1 and None not in types else None
    covered = min((g.covered_s for g in gpus), default=min((h.covered_s for h in dep.hosts), default=0.0))
    loads = sorted(dep.load_by_hour.values())
    load_p95 = units.gpus_busy(loads[min(len(loads) - 1, math.ceil(0.95 * len(loads)) - 1)]) if loads else 0.0
    load_mean = units.gpus_busy(sum(loads) / len(loads)) if loads else 0.0
    host, server = next(((h, s) for h in dep.hosts for s in h.servers if s.gpu_ids), (None, None))
    need = memory_need(host, server) if server else None
    if need is not None and not need.from_model:
        need = None  # NVML for the server's GPUs: count it per GPU below, like a host without a server
    if need is None and gpus:
        used = max((g.mem_used_max or 0 for g in gpus), default=0)
        if used:
            need = memory.MemoryNeed(used, 0.0, 0.0, "NVML memory used per GPU (no server metric; an upper bound)")
    current, replicas = _current(dep, ctx, gpus, gpu_type, server, load_mean)
    return State(dep, ctx, gpus, gpu_type, host, server, need, load_p95, load_mean, covered, current, replicas)


def _current(
    dep: DeploymentStats,
    ctx: Context,
    gpus: list[GpuStats],
    gpu_type: GpuTypeInfo | None,
    server: ServerStats | None,
    load_mean: float,
) -> tuple[Config, int]:
    servers = [s for h in dep.hosts for s in h.servers if s.gpu_ids]
    if servers:
        per = Counter(len(s.gpu_ids) for s in servers).most_common(1)[0][0]
        replicas = len(servers)
    else:
        with_gpus = [h for h in dep.hosts if h.gpus]
        per = max((len(h.gpus) for h in with_gpus), default=0)
        replicas = len(with_gpus) if gpus else len(dep.hosts)
    spare = max(0, len(gpus) - replicas * per)
    precision = normalize_precision(server.dtype, server.quantization) if server else ""
    prices = [g.price_usd for g in gpus if g.price_usd is not None]
    price = sum(prices) / len(prices) if prices else 0.0
    label = gpus[0].price_label if gpus else ""
    user = any(g.user_price for g in gpus)
    fixed = None
    if not gpus:  # hosts without GPUs: their own price, else their vCPU-equivalents (recommender.cpu_price)
        fixed = sum(
            h.price_usd
            if h.price_usd is not None
            else cpu_price.host_hourly(h.cpu_count, h.mem_total_bytes, ctx.vcpu_hourly_usd)
            for h in dep.hosts
        )
        label = _cpu_label(dep.hosts, ctx.vcpu_hourly_usd)
    elif gpu_type is None:
        fixed = sum(prices)
    config = Config(
        gpu_type, per, replicas, precision, price, label, user, load_mean, spare_gpus=spare, fixed_usd_per_hour=fixed
    )
    return _calibrated(config, gpus, gpu_type), replicas


def _cpu_label(hosts: list[HostStats], usd_per_vcpu_hour: float) -> str:
    """Where a GPU-less deployment's price comes from, in the words the fleet page uses for one host."""
    if len(hosts) == 1 and hosts[0].price_usd is None:
        return cpu_price.host_label(hosts[0].cpu_count, hosts[0].mem_total_bytes, usd_per_vcpu_hour)
    return (
        f"each host's own price, else the larger of its vCPUs and its memory ÷ {cpu_price.GIB_PER_VCPU} GiB "
        f"× ${usd_per_vcpu_hour}/vCPU-h"
    )


def _calibrated(config: Config, gpus: list[GpuStats], gpu_type: GpuTypeInfo | None) -> Config:
    """Idle share from the measured draw and utilization; then scale the model to read what was measured."""
    measured = [g for g in gpus if g.power_mean_w is not None]
    if gpu_type is None or not measured:
        return config
    watts = sum(g.power_mean_w for g in measured) / len(measured)
    util = units.pct_to_fraction(sum((g.util_mean or 0.0) for g in measured) / len(measured))
    idle_share = config.idle_share
    if util < 0.95:
        idle_share = min(0.6, max(0.05, (watts - gpu_type.tdp_w * util) / (1 - util) / gpu_type.tdp_w))
    config = replace(config, idle_share=idle_share)
    modelled = config.watts
    total = watts * len(gpus)
    return replace(config, power_scale=min(2.0, max(0.5, total / modelled))) if modelled > 0 else config


def runs(gpu_type: GpuTypeInfo, precision: str) -> bool:
    """Whether the GPU type runs weights at this precision with fast kernels."""
    if precision == "bf16":
        return gpu_type.bf16
    p = BY_KEY.get(precision)
    return True if p is None else {"fp8": gpu_type.fp8, "int8": gpu_type.int8}.get(p.needs, True)


def replica_size(s: State, gpu_type: GpuTypeInfo, precision: str) -> int | None:
    need = s.need_bytes(precision)
    if need is None:
        return None
    if not s.need.from_model:  # NVML per GPU: keep today's replica size
        fits = need * (1 + s.th.memory_margin) <= gpu_type.memory_bytes
        return s.current.gpus_per_replica if fits and s.current.gpus_per_replica else None
    return per_replica(need, gpu_type, s.th.memory_margin, s.max_per_replica)


@dataclass
class Step:
    """One step of a plan, before it becomes a Finding (recommender.rules.deployment_plan)."""

    kind: str
    proposed: Config
    title: str
    reason: str
    action: str
    evidence: list[dict]
    confidence: float
    alternatives: list[tuple[Config, str]]
    mixed_prices: bool = False


def candidate_price(s: State, start: Config, candidate: GpuTypeInfo) -> tuple[float, str, bool, bool]:
    """The candidate's price on the start's basis: (price per GPU-hour, label, your price?, mixed bases?).

    The catalog holds on-demand list prices. Where today's GPUs carry your price and the
    candidate only a list price, the candidate gets the same discount off its list price,
    and the comparison says so (and counts for less in the confidence)."""
    base = s.gpu_type
    if start.user_price and not candidate.user_price and base is not None and base.list_price_usd:
        ratio = start.usd_per_gpu_hour / base.list_price_usd
        price = (candidate.list_price_usd or candidate.price_usd) * ratio
        label = (
            f"${price:.2f}/GPU-h ({candidate.name}: its list price × {ratio:.0%}, the share your price for the "
            f"{base.name} is of its list price; an estimate)"
        )
        return price, label, True, True
    if candidate.user_price and not start.user_price:
        return candidate.price_usd, candidate.price_label + " — your price, against list prices today", True, True
    return candidate.price_usd, candidate.price_label, candidate.user_price, False


def saves_enough(start: Config, proposed: Config, th: Thresholds) -> bool:
    return (
        proposed.usd_month <= start.usd_month * (1 - units.pct_to_fraction(th.min_saving_pct))
        and proposed.usd_month < start.usd_month
    )


def need_text(s: State, precision: str, gpu_type: GpuTypeInfo, gpr: int) -> str:
    """The memory a replica of `gpr` GPUs needs, in its parts, and the KV pool it would leave."""
    need = s.need_bytes(precision)
    if need is None or s.need is None:
        return ""
    if not s.need.from_model:
        return f" A replica needs about {gib(need)} per GPU ({s.need.basis})."
    weights = need - s.need.kv_in_use
    overhead = memory.runtime_overhead(gpr)
    text = (
        f" A replica of {gpr} {gpu_type.name} holds the weights ({gib(weights)} at {precision_label(precision)}), "
        f"the KV cache in use ({gib(s.need.kv_in_use)}, p95) and runtime overhead ({gib(overhead)}) with a "
        f"{units.fraction_to_pct(s.th.memory_margin):.0f}% margin within {memory.SERVER_MEMORY_SHARE:.0%} "
        "of its memory."
    )
    pool = memory.SERVER_MEMORY_SHARE * gpu_type.memory_bytes * gpr - weights - overhead
    today = p(s.server.kv_hist, 95) if s.server else None
    if pool > 0 and s.need.kv_in_use > 0:
        share = 100 * s.need.kv_in_use / pool
        text += f" The KV cache in use would fill about {share:.0f}% of its pool at p95"
        text += f" (today {today:.0f}%)." if today is not None else "."
        if share > 60 and s.server is not None and s.server.kind in {"vllm", "sglang"}:
            text += " An FP8 KV cache (`--kv-cache-dtype fp8`) doubles that room."
    return text


def node_note(s: State, start: Config, proposed: Config) -> str:
    """Freeing GPUs inside whole nodes saves money only where GPUs are rented one by one."""
    per_host = max((len(h.gpus) for h in s.dep.hosts), default=0)
    if per_host > 1 and proposed.peak_gpus < start.peak_gpus and proposed.gpus_per_replica < per_host:
        return (
            f" The hosts have {per_host} GPUs each: where GPUs come as whole nodes, the saving needs a smaller "
            "instance of the same GPU, or replicas packed onto fewer nodes."
        )
    return ""
