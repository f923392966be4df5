"""One costed plan per deployment: today's configuration, then ordered steps, each starting where the
previous one ended, so step savings are marginal and add up to the plan's total.

Order: release idle GPUs (a wholly idle deployment ends its plan there), scale down or
schedule, quantize, move to a cheaper GPU type. Each step is advised only when it costs
less than where it starts.
"""

from __future__ import annotations

from recommender.findings import Context, DeploymentStats, Finding
from recommender.plan import Config
from recommender.rules import idle, quantize, scale_down, smaller_gpu
from recommender.rules.state import State, Step, build
from recommender.savings import Saving, arithmetic

STEPS = [idle.step, scale_down.step, quantize.step, smaller_gpu.step]


def check(dep: DeploymentStats, ctx: Context) -> list[Finding]:
    s = build(dep, ctx)
    if not s.dep.hosts:
        return []
    start = s.current
    out: list[Finding] = []
    enough = s.covered_s >= s.th.min_coverage_hours * 3600
    for rule in STEPS:
        if rule is not idle.step and not enough:
            break  # idle checks each GPU's own coverage; sizing needs the deployment's
        step = rule(s, start)
        if step is None:
            continue
        out.append(_finding(s, start, step, len(out) + 1))
        start = step.proposed
        if start.usd_month == 0:
            break  # released whole: nothing left to size
    return out


def _finding(s: State, start: Config, step: Step, n: int) -> Finding:
    proposed = step.proposed
    usd = round(start.usd_month - proposed.usd_month, 2)
    kwh = round(start.kwh_month - proposed.kwh_month, 1)
    more = " (the change draws more power)" if kwh < 0 else ""
    basis = arithmetic(
        f"From {start.describe()}: ${start.usd_month:,.2f}/month, {start.kwh_month:,.1f} kWh.",
        f"To {proposed.describe()}: ${proposed.usd_month:,.2f}/month, {proposed.kwh_month:,.1f} kWh{more}.",
        f"Each priced at {_prices(start, proposed)}, × 730 h a month.",
    )
    saving = Saving(usd, kwh, round(kwh * s.ctx.grid_kg_per_kwh, 1), basis)
    return Finding(
        kind=step.kind,
        target_type="deployment",
        target_key=f"deployment:{s.dep.name}",
        target_label=s.dep.name,
        deployment=s.dep.name,
        title=step.title,
        reason=step.reason,
        action=step.action,
        evidence=step.evidence,
        saving=saving,
        confidence=step.confidence,
        gpu_ids=frozenset(g.gpu_id for g in s.gpus),
        host_ids=frozenset(h.host_id for h in s.dep.hosts),
        current=start.as_dict(),
        proposed=proposed.as_dict(),
        alternatives=[
            {**c.as_dict(), "label": label, "saving_usd_month": round(start.usd_month - c.usd_month, 2)}
            for c, label in step.alternatives
        ],
        plan_step=n,
    )


def _prices(start: Config, proposed: Config) -> str:
    if proposed.mean_gpus == 0 or proposed.price_label == start.price_label or not proposed.price_label:
        return start.price_label
    return f"today {start.price_label}; proposed {proposed.price_label}"
