"""Rule thresholds: defaults in settings.RECOMMENDER_THRESHOLDS, overridable per deployment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The defaults learn from the established right-sizing tools: a 14-day window, at
# least 30 hours of data before any advice, sizing to 70% utilization with a 15%
# memory safety margin.
DEFAULTS: dict[str, float] = {
    "window_days": 14,
    "min_coverage_hours": 30,
    "target_util_pct": 70,
    "memory_margin": 0.15,
    "idle_util_p99_pct": 5,  # idle: GPU p99 utilization below this, and no request served
    "idle_held_mem_pct": 10,  # idle-held: memory held above this share while idle
    "min_saving_pct": 15,  # smaller_gpu / quantize: only when the cheaper option saves this much
    "diurnal_night_ratio": 0.6,  # a schedule when the quiet hours need this share of the peak or less
    "batching_waiting": 1,  # batching: requests waiting (p95 of hourly means) at least this…
    "batching_kv_headroom_pct": 50,  # …while the KV cache p95 stays below this…
    "batching_util_headroom_pct": 70,  # …and GPU utilization p95 below this
    "batching_batch_near_one": 1.5,  # or the mean batch at most this under steady traffic
    "host_cpu_p95_pct": 20,  # host_rightsize: CPU p95 below this…
    "host_mem_peak_pct": 40,  # …and memory peak below this share of the host's memory
    "saturation_kv_pct": 90,  # saturation: KV cache p95 above this with preemptions or a queue
    "saturation_util_p50_pct": 95,  # utilization pinned: the median above this
    "saturation_mem_pct": 95,  # memory near full (NVML, where no server pre-allocates)
}


def validate_overrides(values: Any) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise ValueError('overrides must be a JSON object, e.g. {"target_util_pct": 60}')
    if "window_days" in values:
        raise ValueError("window_days is fleet-wide: set it in RIGHTSIZER_RECOMMENDER_THRESHOLDS")
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown threshold(s) {', '.join(unknown)}: use {', '.join(DEFAULTS)}")
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number ≥ 0, not {value!r}")
    return dict(values)


def merged(base: Mapping[str, float], overrides: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(base)
    out.update(overrides or {})
    return out
