"""scale_down: the deployment's p95 load fits fewer replicas (or smaller ones), or fewer at night.

Replicas are sized so the p95 hourly load runs at the target utilization, each replica as
small as the model's memory allows (within one node), never fewer than the replica floor.
When the quiet hours need clearly fewer, a two-level schedule is proposed, and its saving
is the saving of exactly the schedule it prints. The flat option stays as an alternative.
"""

from __future__ import annotations

from recommender.findings import evidence, series
from recommender.plan import Config, peaks_by_hour, plural, tensor_parallel_flag
from recommender.rules.state import State, Step, need_text, node_note, replica_size
from recommender.savings import confidence
from telemetry import units


def step(s: State, start: Config) -> Step | None:
    if s.gpu_type is None or start.replicas == 0:
        return None
    th = s.th
    fits = replica_size(s, s.gpu_type, start.precision)
    gpr = min(fits, start.gpus_per_replica) if fits else start.gpus_per_replica
    args = (start, s.gpu_type, start.precision, 1.0, gpr, start.usd_per_gpu_hour, start.price_label, start.user_price)
    flat = s.sized(*args, schedule=False)
    timed = s.sized(*args, schedule=True)
    use_schedule = timed.schedule is not None and (
        timed.usd_month <= flat.usd_month * (1 - units.pct_to_fraction(th.min_saving_pct))
        and timed.schedule.off_replicas <= timed.schedule.peak_replicas * th.diurnal_night_ratio
    )
    proposed = timed if use_schedule else flat
    if proposed.usd_month >= start.usd_month or proposed.peak_gpus > start.peak_gpus:
        return None
    alternatives = (
        [(flat, "the same replicas around the clock")] if use_schedule and flat.usd_month < start.usd_month else []
    )
    kind = s.server.kind if s.server else None
    tp = (
        f" Tensor parallelism changes from {start.gpus_per_replica} to {gpr}: restart each replica with "
        f"{tensor_parallel_flag(kind, gpr)}."
        if gpr != start.gpus_per_replica
        else ""
    )
    floor = (
        f" The replica floor keeps {plural(s.floor, 'replica')} for availability."
        if proposed.replicas == s.floor and s.floor > 1
        else ""
    )
    peak = proposed.schedule.peak_replicas if proposed.schedule else proposed.replicas
    capacity = peak * gpr * th.target_util_pct
    now = f"now {plural(start.replicas, 'replica')} × {start.gpus_per_replica} {s.gpu_type.name}"
    reason = (
        f"The deployment's p95 hourly load is {units.fraction_to_pct(s.load_p95):.0f} GPU-% summed over "
        f"{plural(len(s.gpus), 'GPU')} "
        f"({s.gpu_type.name}); at a {th.target_util_pct:g}% target that needs "
        f"{plural(peak, 'replica')} × {gpr} {s.gpu_type.name}."
        + need_text(s, start.precision, s.gpu_type, gpr)
        + floor
        + node_note(s, start, proposed)
    )
    if proposed.schedule:
        sc = proposed.schedule
        title = (
            f"Scale {s.dep.name} on a schedule: {plural(sc.peak_replicas, 'replica')} during {sc.hours_text()} UTC, "
            f"{sc.off_replicas} otherwise ({now})"
        )
        lead = f"; {sc.lead_text()}" if sc.lead_text() else ""
        action = (
            f"Run {plural(sc.peak_replicas, 'replica')} × {gpr} {s.gpu_type.name} during {sc.hours_text()} UTC "
            f"and {sc.off_replicas} otherwise, e.g. with a scheduled autoscaler{lead}.{tp}"
        )
    else:
        title = (
            f"Scale down {s.dep.name}: {plural(start.replicas, 'replica')} × {start.gpus_per_replica} "
            f"{s.gpu_type.name} → {plural(proposed.replicas, 'replica')} × {gpr} {s.gpu_type.name}"
        )
        action = f"Scale {s.dep.name} to {plural(proposed.replicas, 'replica')} × {gpr} {s.gpu_type.name}.{tp}"
    profile = [round(units.fraction_to_pct(v), 1) for _, v in sorted(peaks_by_hour(s.dep.load_by_hour).items())]
    ev = [
        evidence(
            "deployment GPU load (Σ utilization)",
            "p95 of hourly means",
            units.fraction_to_pct(s.load_p95),
            capacity,
            "GPU-%",
            s.dep.window_s,
            s.covered_s,
            series("deployment", s.dep.name, "util_pct_sum", "p95_hourly"),
            gpus=len(s.gpus),
            by_hour_of_day_max=profile,
            threshold_note=(
                f"what {plural(peak, 'replica')} × {plural(gpr, 'GPU')} carry at the {th.target_util_pct:g}% target "
                f"({peak * gpr} × {th.target_util_pct:g} GPU-%)"
            ),
        )
    ]
    return Step(
        "scale_down",
        proposed,
        title,
        reason,
        action,
        ev,
        confidence(
            s.covered_s, th.full_confidence_hours * 3600, proposed.usd_month, start.usd_month, scale=start.usd_month
        ),
        alternatives,
    )
