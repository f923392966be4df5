"""Rule thresholds as one typed object: each with its unit, bounds and meaning.

The values in force are layered: the built-in defaults, then RIGHTSIZER_RECOMMENDER_THRESHOLDS
(the operator's base, checked at start-up by recommender.checks), then the fleet-wide values an
admin saved in the dashboard (FleetThresholds), then a deployment's overrides of any but the
window (DeploymentThresholds); recommender.in_force reads them. Rules receive the merged object
in their context and read no settings.

The defaults learn from the established right-sizing tools: a 14-day window, at least 30
hours of data before any advice, sizing to 70% utilization with a 15% memory safety margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


def _t(default: float, unit: str, lo: float, hi: float, description: str) -> Any:
    return Field(default, ge=lo, le=hi, description=description, json_schema_extra={"unit": unit})


# What the settings form calls each threshold (the field names are the configuration's keys).
LABELS: dict[str, str] = {
    "window_days": "Analysis window",
    "min_coverage_hours": "Minimum data",
    "full_confidence_hours": "Data for full confidence",
    "target_util_pct": "Target utilization",
    "memory_margin": "Memory margin",
    "replica_floor": "Replica floor",
    "max_gpus_per_replica": "Most GPUs per replica",
    "idle_util_p99_pct": "Idle: utilization p99 below",
    "idle_held_mem_pct": "Idle-held: memory above",
    "min_saving_pct": "Smallest saving worth a step",
    "diurnal_night_ratio": "Schedule: quiet-hours share of peak",
    "batching_waiting": "Batching: requests waiting",
    "batching_at_limit_share": "Batching: hours at the batch limit",
    "batching_kv_headroom_pct": "Batching: KV cache below",
    "batching_util_headroom_pct": "Batching: GPU utilization below",
    "host_cpu_p95_pct": "Host size: CPU p95 below",
    "host_mem_peak_pct": "Host size: memory peak below",
    "saturation_kv_pct": "Saturation: KV cache above",
    "saturation_util_p50_pct": "Saturation: median utilization above",
    "saturation_mem_pct": "Saturation: memory peak above",
}


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    window_days: Annotated[float, _t(14, "days", 1, 90, "how far back the analysis looks (fleet-wide only)")]
    min_coverage_hours: Annotated[float, _t(30, "hours", 1, 2160, "no advice before this much data")]
    full_confidence_hours: Annotated[
        float, _t(168, "hours", 1, 2160, "data coverage that counts as complete for confidence (a week of cycles)")
    ]
    target_util_pct: Annotated[float, _t(70, "%", 10, 100, "utilization a right-sized deployment runs at")]
    memory_margin: Annotated[float, _t(0.15, "share", 0, 1, "headroom added to the memory need")]
    replica_floor: Annotated[
        float, _t(2, "replicas", 1, 64, "fewest replicas a deployment of 2 or more is sized to (availability)")
    ]
    max_gpus_per_replica: Annotated[float, _t(8, "GPUs", 1, 8, "a replica stays within one node")]
    idle_util_p99_pct: Annotated[float, _t(5, "%", 0, 50, "idle: GPU p99 utilization below this, no request served")]
    idle_held_mem_pct: Annotated[float, _t(10, "%", 0, 100, "idle-held: memory held above this share while idle")]
    min_saving_pct: Annotated[float, _t(15, "%", 0, 100, "a sizing step is advised only when it saves this much")]
    diurnal_night_ratio: Annotated[
        float, _t(0.6, "share", 0, 1, "a schedule when the quiet hours need this share of the peak or less")
    ]
    batching_waiting: Annotated[
        float, _t(1, "requests", 0, 10_000, "batching: requests waiting (p95 of hourly means) at least this")
    ]
    batching_at_limit_share: Annotated[
        float, _t(0.25, "share", 0, 1, "batching: or running at the batch limit in this share of busy hours")
    ]
    batching_kv_headroom_pct: Annotated[float, _t(50, "%", 0, 100, "batching: only while the KV cache p95 is below")]
    batching_util_headroom_pct: Annotated[float, _t(70, "%", 0, 100, "batching: and GPU utilization p95 below")]
    host_cpu_p95_pct: Annotated[float, _t(20, "%", 0, 100, "host_rightsize: CPU p95 below this")]
    host_mem_peak_pct: Annotated[float, _t(40, "%", 0, 100, "host_rightsize: and memory peak below this share")]
    saturation_kv_pct: Annotated[
        float, _t(90, "%", 0, 100, "saturation: KV cache p95 above this with preemptions or a queue")
    ]
    saturation_util_p50_pct: Annotated[float, _t(95, "%", 0, 100, "saturation: GPU median utilization above this")]
    saturation_mem_pct: Annotated[
        float, _t(95, "%", 0, 100, "saturation: memory peak above this where no server pre-allocates")
    ]

    @model_validator(mode="after")
    def _coverage_fits_the_window(self) -> Thresholds:
        """Advice needs min_coverage_hours of data within the window: more than the window never comes."""
        if self.min_coverage_hours > self.window_days * 24:
            raise ValueError(
                f"min_coverage_hours ({self.min_coverage_hours:g} hours) is longer than the window "
                f"(window_days {self.window_days:g} = {self.window_days * 24:g} hours): no advice could ever be given"
            )
        return self

    def __getitem__(self, key: str) -> float:
        return getattr(self, key)

    def with_overrides(self, overrides: Mapping[str, float] | None) -> Thresholds:
        return self if not overrides else Thresholds(**{**self.model_dump(), **overrides})


def _defaults() -> dict[str, float]:
    return {name: float(field.default) for name, field in Thresholds.model_fields.items()}


DEFAULTS: dict[str, float] = _defaults()
UNITS: dict[str, str] = {n: (f.json_schema_extra or {}).get("unit", "") for n, f in Thresholds.model_fields.items()}


def describe() -> list[dict[str, Any]]:
    """Each threshold with its unit, bounds and meaning (the settings page and the README)."""
    out = []
    for name, field in Thresholds.model_fields.items():
        bounds = {type(m).__name__: getattr(m, type(m).__name__.lower(), None) for m in field.metadata}
        out.append(
            {
                "name": name,
                "label": LABELS.get(name, name.replace("_", " ")),
                "default": DEFAULTS[name],
                "unit": UNITS[name],
                "min": bounds.get("Ge"),
                "max": bounds.get("Le"),
                "description": field.description,
            }
        )
    return out


def _error(exc: ValidationError) -> str:
    unknown = [".".join(str(p) for p in e["loc"]) for e in exc.errors() if e["type"] == "extra_forbidden"]
    parts = [f"unknown threshold(s) {', '.join(unknown)}: use {', '.join(DEFAULTS)}"] if unknown else []
    for err in exc.errors():
        if err["type"] == "extra_forbidden":
            continue
        if not err["loc"]:  # a rule across fields: its message names them
            parts.append(err["msg"].removeprefix("Value error, "))
            continue
        name = ".".join(str(p) for p in err["loc"])
        parts.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


def parse(values: Any, base: Mapping[str, float] | None = None) -> Thresholds:
    """`values` over `base` (default: the built-in defaults), as a Thresholds; ValueError names what is wrong."""
    if not isinstance(values, Mapping):
        raise ValueError('thresholds must be a JSON object, e.g. {"target_util_pct": 60}')
    clean = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}
    try:
        return Thresholds(**{**(base or DEFAULTS), **clean})
    except ValidationError as exc:
        raise ValueError(_error(exc)) from None


def validate_overrides(values: Any) -> dict[str, float]:
    """A deployment's overrides: known keys within bounds, and not the fleet-wide window."""
    if isinstance(values, Mapping) and "window_days" in values:
        raise ValueError("window_days is fleet-wide: set it in the fleet-wide thresholds")
    parse(values)
    return {k: float(v) for k, v in values.items()}


def merged(base: Mapping[str, float] | Thresholds, overrides: Mapping[str, float] | None) -> Thresholds:
    start = base if isinstance(base, Thresholds) else parse(base)
    try:
        return start.with_overrides(overrides)
    except ValidationError:
        return start  # an override saved before a bound changed: the layer below applies


def sources(env: Mapping[str, float], saved: Mapping[str, float]) -> dict[str, str]:
    """Where each fleet-wide value comes from: "dashboard" (saved there), "environment" or "default"."""
    return {n: "dashboard" if n in saved else "environment" if n in env else "default" for n in DEFAULTS}
