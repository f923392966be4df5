"""scale_down: a deployment whose p95 load fits in fewer GPUs or replicas at the target utilization.

Load is the sum over the deployment's GPUs of each hour's mean utilization (so 8 GPUs
at 9% are 0.72 GPU of work); its p95 over the window's hours is sized at the target
utilization, never below the GPUs one replica needs to hold the model. When the
quiet hours need clearly fewer, the advice is a time-of-day schedule.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.conf import settings

from recommender import memory
from recommender.findings import DeploymentStats, Finding, GpuTypeInfo, evidence
from recommender.rules.common import Sizing, gib, need_without_overhead, sizing
from recommender.savings import confidence, monthly


def needed_gpus(load_units: float, per_replica: int, target_pct: float) -> int:
    compute = math.ceil(round(load_units / (target_pct / 100), 6))
    return max(1, math.ceil(compute / per_replica)) * per_replica


def per_replica(s: Sizing) -> int:
    current = s.server.tensor_parallel if s.server and s.server.tensor_parallel else 1
    if s.need is None:
        return current
    fits = memory.gpus_needed(need_without_overhead(s.need), s.gpu_type.memory_bytes,
                              margin=s.deployment.th["memory_margin"])  # fmt: skip
    return fits or current


def right_size(s: Sizing) -> int:
    """The GPUs of the current type the deployment needs at its p95 load (never more than it has)."""
    return min(len(s.gpus), needed_gpus(s.load_p95_units, per_replica(s), s.deployment.th["target_util_pct"]))


def check(dep: DeploymentStats, catalog: list[GpuTypeInfo] = ()) -> list[Finding]:
    """`catalog` is unused: scale_down stays on the deployment's own GPU type."""
    s = sizing(dep)
    if s is None:
        return []
    th = dep.th
    have = len(s.gpus)
    replica = per_replica(s)
    need = right_size(s)
    by_hour = _hourly_need(dep, replica, th["target_util_pct"], have)
    quiet = min(by_hour.values()) if by_hour else need
    schedule = quiet < need and quiet <= need * th["diurnal_night_ratio"]
    if need >= have and not schedule:
        return []
    price = s.price_usd
    if schedule:
        gpu_hours_saved_per_day = sum(have - n for n in by_hour.values())
        saved_gpus = gpu_hours_saved_per_day / 24
        busy = sorted(h for h, n in by_hour.items() if n > quiet)
        hours = _ranges(busy)
        action = (f"Run {need} GPU(s) ({need // replica} replica(s)) during {hours} UTC and {quiet} "
                  f"({quiet // replica}) otherwise, e.g. with a scheduled autoscaler.")  # fmt: skip
        title = f"Scale {dep.name} on a schedule: {need} GPUs by day, {quiet} by night (now {have})"
    else:
        saved_gpus = have - need
        action = f"Scale {dep.name} from {have} to {need} GPU(s) ({need // replica} replica(s) of {replica})."
        title = f"Scale down {dep.name}: {have} → {need} GPUs"
    capacity = have * th["target_util_pct"]
    reason = (
        f"The deployment's p95 hourly load is {s.load_p95_units * 100:.0f} GPU-% summed over {have} "
        f"{s.gpu_type.name} GPU(s); at a {th['target_util_pct']:g}% target that needs {need}. "
        f"One replica needs {replica} GPU(s) to hold the model"
        + (f" ({gib(s.need.total)}: {s.need.basis})." if s.need else ".")
    )
    watts = s.power_mean_w * saved_gpus
    basis = (f"{saved_gpus:.2f} GPU(s) fewer on average × {s.price_label} × 730 h; "
             f"{s.power_mean_w:.0f} W mean draw per GPU")  # fmt: skip
    profile = [round(max((v for t, v in dep.load_by_hour.items() if _hour(t) == h), default=0), 1) for h in range(24)]
    return [Finding(
        kind="scale_down", target_type="deployment", target_key=f"deployment:{dep.name}", target_label=dep.name,
        deployment=dep.name, title=title, reason=reason, action=action,
        evidence=[evidence("deployment GPU load (Σ utilization)", "p95 of hourly means", s.load_p95_units * 100,
                           capacity, "GPU-%", dep.window_s, s.covered_s, gpus=have, needed=need,
                           by_hour_of_day_max=profile)],
        saving=monthly(price * saved_gpus, watts, settings.GRID_KG_CO2_PER_KWH, basis),
        confidence=confidence(s.covered_s / dep.window_s, s.load_p95_units * 100, need * th["target_util_pct"],
                              scale=capacity),
        gpu_ids=frozenset(g.gpu_id for g in s.gpus), host_ids=frozenset(h.host_id for h in dep.hosts),
    )]  # fmt: skip


def _hour(epoch: int) -> int:
    return datetime.fromtimestamp(epoch, tz=UTC).hour


def _hourly_need(dep: DeploymentStats, replica: int, target: float, have: int) -> dict[int, int]:
    """For each hour of the day (UTC), the GPUs its busiest occurrence in the window needs."""
    peak: dict[int, float] = {}
    for epoch, load in dep.load_by_hour.items():
        h = _hour(epoch)
        peak[h] = max(peak.get(h, 0.0), load)
    if len(peak) < 24:
        return {}
    return {h: min(have, needed_gpus(v / 100, replica, target)) for h, v in peak.items()}


def _ranges(hours: list[int]) -> str:
    if not hours:
        return "no hour"
    spans, start, prev = [], hours[0], hours[0]
    for h in hours[1:] + [None]:
        if h is not None and h == prev + 1:
            prev = h
            continue
        spans.append(f"{start:02d}:00–{(prev + 1) % 24:02d}:00")
        if h is not None:
            start = prev = h
    return ", ".join(spans)
