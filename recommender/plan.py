"""A deployment's configuration, costed: what it runs today and what a step of its plan proposes.

A configuration is a GPU type, GPUs per replica (the tensor-parallel size), replicas (or a
two-level day/night schedule of them), the weights' precision, and GPUs held that serve no
replica. Its cost is GPU-hours × one price basis × 730 h; its energy is modelled as

    watts = GPUs running × idle draw + (TDP − idle draw) × GPUs' worth of work

with the idle share calibrated on the deployment's measured draw, and the whole model scaled
so that today's configuration reads exactly what was measured. A step's saving is then
current − proposed, signed: a move that draws more power says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from recommender import memory
from recommender.findings import GpuTypeInfo
from recommender.savings import HOURS_PER_MONTH, MIXED_PRICE_FACTOR  # noqa: F401  (re-exported for rules)
from telemetry import units

DEFAULT_IDLE_SHARE = 0.2  # idle draw ÷ TDP where nothing was measured (the real H100 fixture idles at 17%)


LEAD_HOURS = 1  # a replica started this long before the busy hours has loaded its model when they begin


@dataclass(frozen=True)
class Schedule:
    peak_replicas: int
    off_replicas: int
    peak_hours: tuple[int, ...]  # hours of the day (UTC) that run peak_replicas, the lead hours included
    busy_hours: tuple[int, ...] = ()  # the hours whose load needs peak_replicas (peak_hours less the lead)

    @property
    def mean_replicas(self) -> float:
        n = len(self.peak_hours)
        return (self.peak_replicas * n + self.off_replicas * (24 - n)) / 24

    def hours_text(self) -> str:
        return hour_ranges(sorted(self.peak_hours))

    def busy_text(self) -> str:
        return hour_ranges(sorted(self.busy_hours or self.peak_hours))

    def lead_text(self) -> str:
        """Why peak_hours start before the busy hours, or "" where they do not."""
        if not self.busy_hours or set(self.busy_hours) == set(self.peak_hours):
            return ""
        return (
            f"the extra {'replica starts' if self.peak_replicas - self.off_replicas == 1 else 'replicas start'} "
            f"{plural(LEAD_HOURS, 'hour')} before the busy hours ({self.busy_text()} UTC) so that "
            f"{'its' if self.peak_replicas - self.off_replicas == 1 else 'their'} model has loaded when they begin"
        )


@dataclass(frozen=True)
class Config:
    gpu_type: GpuTypeInfo | None
    gpus_per_replica: int
    replicas: int
    precision: str  # bf16, fp16, fp8, int8, awq, or "" where unknown
    usd_per_gpu_hour: float
    price_label: str
    user_price: bool
    work_units: float  # mean GPUs' worth of work, in GPUs of this type at this precision
    load_factor: float = 1.0  # today's load × this = the load in GPUs of this type at this precision
    idle_share: float = DEFAULT_IDLE_SHARE
    power_scale: float = 1.0
    spare_gpus: int = 0
    schedule: Schedule | None = None
    fixed_usd_per_hour: float | None = None  # a whole price (a host without GPUs, or your host price)

    @property
    def mean_gpus(self) -> float:
        replicas = self.schedule.mean_replicas if self.schedule else self.replicas
        return replicas * self.gpus_per_replica + self.spare_gpus

    @property
    def peak_gpus(self) -> int:
        replicas = self.schedule.peak_replicas if self.schedule else self.replicas
        return replicas * self.gpus_per_replica + self.spare_gpus

    @property
    def usd_month(self) -> float:
        if self.fixed_usd_per_hour is not None:
            return round(self.fixed_usd_per_hour * HOURS_PER_MONTH, 2)
        return round(self.mean_gpus * self.usd_per_gpu_hour * HOURS_PER_MONTH, 2)

    @property
    def watts(self) -> float:
        if self.gpu_type is None or self.mean_gpus == 0:
            return 0.0
        tdp = self.gpu_type.tdp_w
        idle = self.idle_share * tdp
        return self.power_scale * (self.mean_gpus * idle + (tdp - idle) * min(self.work_units, self.mean_gpus))

    @property
    def kwh_month(self) -> float:
        return round(self.watts * HOURS_PER_MONTH / 1000, 1)

    def describe(self) -> str:
        if self.gpu_type is None:
            return "no GPU"
        if self.mean_gpus == 0:
            return "nothing (released)"
        name = self.gpu_type.name
        if self.schedule:
            s = self.schedule
            text = (
                f"{replicas_of(s.peak_replicas, self.gpus_per_replica, name)} during "
                f"{s.hours_text()} UTC, {plural(s.off_replicas, 'replica')} otherwise"
            )
        else:
            text = replicas_of(self.replicas, self.gpus_per_replica, name)
        if self.precision:
            text += f" at {precision_label(self.precision)}"
        if self.spare_gpus:
            text += f", plus {plural(self.spare_gpus, 'GPU')} serving nothing"
        return text

    def as_dict(self) -> dict[str, Any]:
        out = {
            "gpu_type": self.gpu_type.name if self.gpu_type else None,
            "gpus_per_replica": self.gpus_per_replica,
            "replicas": self.replicas,
            "tensor_parallel": self.gpus_per_replica,
            "dtype": self.precision or None,
            "spare_gpus": self.spare_gpus,
            "gpus": round(self.mean_gpus, 2),
            "usd_month": self.usd_month,
            "kwh_month": self.kwh_month,
            "price_basis": self.price_label if self.mean_gpus or self.fixed_usd_per_hour else "",  # none when released
            "summary": self.describe(),
        }
        if self.schedule:
            s = self.schedule
            out["schedule"] = {
                "peak_replicas": s.peak_replicas,
                "off_replicas": s.off_replicas,
                "peak_hours_utc": list(s.peak_hours),
                "text": f"{s.hours_text()} UTC",
                "busy_hours_utc": list(s.busy_hours),
            }
        return out


def released(c: Config) -> Config:
    return replace(
        c,
        replicas=0,
        spare_gpus=0,
        schedule=None,
        work_units=0.0,
        fixed_usd_per_hour=0.0 if c.fixed_usd_per_hour is not None else None,
    )


def precision_label(key: str) -> str:
    return {"bf16": "bf16", "fp16": "fp16", "fp8": "FP8", "int8": "INT8", "awq": "INT4 (AWQ)"}.get(key, key)


def normalize_precision(dtype: str, quantization: str) -> str:
    q = (quantization or "").lower()
    if q:
        if q.startswith("fp8"):
            return "fp8"
        if q in {"int8", "w8a8", "w8a8_int8", "compressed-tensors", "eetq", "smoothquant"}:
            return "int8"
        return "awq"  # awq, gptq, marlin and other 4-bit weight formats
    d = (dtype or "").lower()
    if d in {"fp16", "float16", "half"}:
        return "fp16"
    if d in {"", "auto", "bf16", "bfloat16"}:
        return "bf16"
    return d


def replicas_for(load_units: float, per_replica: int, target_pct: float, floor: int) -> int:
    """Replicas of `per_replica` GPUs that carry `load_units` GPUs' worth of work at the target."""
    gpus = load_units / units.pct_to_fraction(target_pct)
    return max(floor, math.ceil(round(gpus / per_replica, 6)))


def schedule_for(peaks_by_hour: dict[int, float], per_replica: int, target_pct: float, floor: int) -> Schedule | None:
    """Two levels: the busiest hour's replicas where the hour needs more than the quietest, else the quietest.
    The peak level starts LEAD_HOURS before each busy span, so a replica has loaded its model when the load comes."""
    if len(peaks_by_hour) < 24:
        return None
    need = {h: replicas_for(v, per_replica, target_pct, floor) for h, v in peaks_by_hour.items()}
    off, peak = min(need.values()), max(need.values())
    if off >= peak:
        return None
    busy = {h for h, n in need.items() if n > off}
    running = busy | {(h - k) % 24 for h in busy for k in range(1, LEAD_HOURS + 1)}
    if len(running) == 24:
        return None
    return Schedule(peak, off, tuple(sorted(running)), tuple(sorted(busy)))


def hour_of(epoch: int) -> int:
    return datetime.fromtimestamp(epoch, tz=UTC).hour


def peaks_by_hour(load_by_hour: dict[int, float], factor: float = 1.0) -> dict[int, float]:
    """The busiest occurrence of each hour of the day over the window, in GPUs' worth of work × factor."""
    out: dict[int, float] = {}
    for epoch, load in load_by_hour.items():
        h = hour_of(epoch)
        out[h] = max(out.get(h, 0.0), units.gpus_busy(load) * factor)
    return out


def hour_ranges(hours: list[int]) -> str:
    if not hours:
        return "no hour"
    spans, start, prev = [], hours[0], hours[0]
    for h in [*hours[1:], None]:
        if h is not None and h == prev + 1:
            prev = h
            continue
        spans.append(f"{start:02d}:00–{(prev + 1) % 24:02d}:00")
        if h is not None:
            start = prev = h
    return ", ".join(spans)


def plural(n: float, word: str) -> str:
    if isinstance(n, float) and not n.is_integer():
        return f"{n:g} {word}s"
    return f"{int(n)} {word}" + ("" if int(n) == 1 else "s")


def replicas_of(replicas: float, gpus_per_replica: int, gpu_name: str | None) -> str:
    """'3 replicas × 1 H100 80GB': the one notation advice, plan and planner write a shape in ('GPU' where the
    type is unknown)."""
    return f"{plural(replicas, 'replica')} × {gpus_per_replica} {gpu_name or 'GPU'}"


def perf_ratio(current: GpuTypeInfo, candidate: GpuTypeInfo) -> float:
    """How many `candidate` GPUs do the work of one `current`: decode is bound by memory bandwidth and
    prefill by tensor throughput, so the slower of the two ratios carries the load over."""
    return max(current.tflops / candidate.tflops, current.bandwidth_gbps / candidate.bandwidth_gbps)


def per_replica(need_bytes: float, gpu_type: GpuTypeInfo, margin: float, max_gpus: int) -> int | None:
    sizes = tuple(n for n in memory.TENSOR_PARALLEL_SIZES if n <= max_gpus)
    return memory.gpus_needed(
        need_bytes, gpu_type.memory_bytes, margin=margin, sizes=sizes, usable=memory.SERVER_MEMORY_SHARE
    )


def tensor_parallel_flag(server_kind: str | None, n: int) -> str:
    """How the server is told to split a replica over `n` GPUs."""
    return {
        "vllm": f"--tensor-parallel-size {n}",
        "sglang": f"--tp-size {n}",
        "tgi": f"--num-shard {n}",
        "triton": f"a TensorRT-LLM engine rebuilt with tp_size {n}",
    }.get(server_kind or "", f"{plural(n, 'GPU')} per replica")
