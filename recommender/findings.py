"""The plain data rules read (a window of rollups, per entity) and write (findings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recommender.memory import ModelShape
from recommender.savings import Saving
from recommender.thresholds import Thresholds


@dataclass(frozen=True)
class GpuTypeInfo:
    name: str
    memory_bytes: float
    bandwidth_gbps: float
    tdp_w: float
    tflops: float
    bf16: bool
    fp8: bool
    int8: bool
    price_usd: float  # per GPU-hour
    price_label: str
    vendor: str = "nvidia"
    consumer: bool = False
    list_price_usd: float | None = None  # the catalog's on-demand list price (price_usd may be your override)

    @property
    def user_price(self) -> bool:
        return self.list_price_usd is not None and self.price_usd != self.list_price_usd


@dataclass
class GpuStats:
    gpu_id: int
    uuid: str
    index: int
    name: str
    memory_bytes: float
    gpu_type: GpuTypeInfo | None
    price_usd: float | None  # per hour, after host and type overrides
    price_label: str
    user_price: bool = False  # priced by you (host price or type override), not by the catalog
    covered_s: float = 0.0
    util_hist: list[float] = field(default_factory=list)
    util_mean: float | None = None
    util_max: float | None = None
    mem_used_max: float | None = None
    power_mean_w: float | None = None


@dataclass
class ServerStats:
    server_id: int
    key: str  # the agent's id, e.g. "vllm:8000"
    kind: str
    model: str
    dtype: str
    quantization: str
    tensor_parallel: int
    max_batch_size: int | None
    gpu_ids: list[int]
    model_match: Any = None  # recommender.catalog.ModelMatch | None
    covered_s: float = 0.0
    kv_hist: list[float] = field(default_factory=list)
    kv_max: float | None = None
    running_mean: float | None = None
    waiting_mean: float | None = None
    waiting_p95_hourly: float | None = None  # the p95 of hourly means
    batch_mean: float | None = None
    preempted_sum: float | None = None
    requests_ps_max: float | None = None
    gen_tps_max: float | None = None
    gen_tps_mean: float | None = None
    busy_hours_share: float = 0.0  # share of covered hours that served requests
    at_limit_share: float | None = None  # share of busy hours running at max_batch_size (None: no limit known)

    @property
    def shape(self) -> ModelShape | None:
        return self.model_match.shape if self.model_match else None

    @property
    def served_requests(self) -> bool:
        return bool((self.requests_ps_max or 0) > 0 or (self.gen_tps_max or 0) > 0 or (self.running_mean or 0) > 0)


@dataclass
class HostStats:
    host_id: int
    hostname: str
    machine_id: str
    deployment: str
    cpu_count: int | None
    mem_total_bytes: float | None
    price_usd: float | None  # the host's own price when overridden (HostPrice)
    th: Thresholds
    window_s: float
    covered_s: float = 0.0
    cpu_hist: list[float] = field(default_factory=list)
    cpu_max: float | None = None
    mem_used_max: float | None = None
    gpus: list[GpuStats] = field(default_factory=list)
    servers: list[ServerStats] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered_s / self.window_s if self.window_s else 0.0

    def enough_data(self, covered_s: float | None = None) -> bool:
        covered = self.covered_s if covered_s is None else covered_s
        return covered >= self.th.min_coverage_hours * 3600


@dataclass
class DeploymentStats:
    name: str
    th: Thresholds
    window_s: float
    hosts: list[HostStats] = field(default_factory=list)
    # Σ over the deployment's GPUs of the hourly mean utilization (in GPU-%), per hour start (epoch s).
    load_by_hour: dict[int, float] = field(default_factory=dict)


@dataclass
class Finding:
    kind: str
    target_type: str  # host, gpu or deployment
    target_key: str
    target_label: str
    deployment: str
    title: str
    reason: str
    action: str
    evidence: list[dict[str, Any]]
    saving: Saving
    confidence: float
    host_id: int | None = None
    gpu_id: int | None = None
    # The GPUs and hosts the advice is about, so conflicting advice can be found.
    gpu_ids: frozenset[int] = frozenset()
    host_ids: frozenset[int] = frozenset()
    # A step of its deployment's plan: the configuration it starts from and the one it proposes
    # (recommender.plan.Config.as_dict), rival options, and its place in the plan (1, 2, ...).
    current: dict[str, Any] | None = None
    proposed: dict[str, Any] | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    plan_step: int | None = None


@dataclass(frozen=True)
class Context:
    """What rules read besides the window: prices and grid intensity, passed in (rules read no settings)."""

    grid_kg_per_kwh: float
    vcpu_hourly_usd: float
    catalog: list[GpuTypeInfo] = field(default_factory=list)


def series(entity: str, entity_id: int | str | None, metric: str, aggregate: str) -> dict[str, Any]:
    """Which stored series a piece of evidence reads: entity (host, gpu, server, deployment), its id,
    the metric (the rollup column's stem, e.g. util_pct) and the aggregate over the window."""
    return {"entity": entity, "id": entity_id, "metric": metric, "aggregate": aggregate}


def evidence(
    metric: str,
    statistic: str,
    value: float | None,
    threshold: float | None,
    unit: str,
    window_s: float,
    covered_s: float,
    ref: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One piece of evidence: `metric` is the reader's wording, `ref` (series()) the stored series it
    reads, or None where it has none (model weights, a memory need). A value the server does not
    export stays None and reads "not reported", never 0."""
    return {
        "metric": metric, "statistic": statistic, "value": None if value is None else round(value, 2),
        "threshold": threshold, "unit": unit, "window_days": round(window_s / 86400, 1),
        "coverage_pct": round(100 * covered_s / window_s, 1) if window_s else 0.0, "series": ref, **extra,
    }  # fmt: skip
