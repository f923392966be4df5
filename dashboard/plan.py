"""A deployment's plan as one story, and savings totals that never exceed what is spent.

The recommender writes one ordered plan per deployment: step N's `current` is step N−1's
`proposed`, and each step saves current − proposed. The deployment page reads it as
today → step 1 → step 2 → … → total; the other advice about the deployment (batching,
saturation, a host's own) sits beside it. The fleet page's potential saving sums each
deployment's open money advice, capped at what that deployment costs today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from recommender.api import by_impact
from recommender.models import Recommendation

OPEN = ["open", "acknowledged"]


@dataclass
class Plan:
    deployment: str
    steps: list[Recommendation]  # ordered by plan_step; resolved ones left out
    today: dict[str, Any] | None  # step 1's current configuration
    saving_usd_month: float  # Σ of the open and acknowledged steps
    saving_kwh_month: float  # signed: negative when the plan draws more power
    final: dict[str, Any] | None  # the last step's proposed configuration
    dismissed: list[int] = field(default_factory=list)  # step numbers left out of the total

    @property
    def final_usd_month(self) -> float | None:
        """What the deployment costs once every open step is done (never below zero)."""
        if self.today is None:
            return None
        return max(0.0, float(self.today.get("usd_month") or 0.0) - self.saving_usd_month)


def plan_of(deployment: str) -> Plan:
    steps = list(
        Recommendation.objects.filter(deployment=deployment, plan_step__isnull=False)
        .exclude(status="resolved")
        .order_by("plan_step", "pk")
    )
    counted = [s for s in steps if s.status in OPEN]
    return Plan(
        deployment=deployment,
        steps=steps,
        today=steps[0].current if steps else None,
        saving_usd_month=round(sum(s.saving_usd_month for s in counted), 2),
        saving_kwh_month=round(sum(s.saving_kwh_month for s in counted), 1),
        final=steps[-1].proposed if steps else None,
        dismissed=[s.plan_step for s in steps if s.status not in OPEN],
    )


def beside_plan(deployment: str, host_ids: Iterable[int] = ()) -> list[Recommendation]:
    """The deployment's advice outside its plan (batching, saturation, a host's or GPU's own), by impact."""
    qs = Recommendation.objects.filter(Q(deployment=deployment) | Q(host_id__in=list(host_ids)))
    qs = qs.filter(plan_step__isnull=True).exclude(status="resolved").select_related("host")
    return list(by_impact(qs))


@dataclass
class DeploymentSaving:
    """A deployment's open money advice a month: its plan's steps, the rest, and the two capped at its cost."""

    plan_usd_month: float = 0.0  # the open plan steps
    other_usd_month: float = 0.0  # advice outside the plan (host_rightsize, a GPU's or a host's own…)
    usd_month: float = 0.0  # plan + other, capped at what the deployment costs
    capped: bool = False


@dataclass
class CappedSaving:
    usd_month: float
    capped: bool  # True where some deployment's advice added up to more than it costs
    capped_deployments: list[str] = field(default_factory=list)
    per_deployment: dict[str, DeploymentSaving] = field(default_factory=dict)
    scale: float = 1.0  # < 1 where the fleet's cost capped the sum: each deployment's part × this


def capped_saving(costs: dict[str, float], complete: Iterable[str] = (), deployment: str | None = None) -> CappedSaving:
    """Σ per deployment of its open advice's monthly saving, each capped at that deployment's cost
    today (`costs`, e.g. its hosts' monthly cost, or what its plan says it costs where that is more
    and the hosts' prices are not `complete`), and the whole capped at the fleet's cost.
    `deployment`: that one only (two queries either way)."""
    per: dict[str, DeploymentSaving] = {}
    rows = Recommendation.objects.filter(status__in=OPEN, saving_usd_month__gt=0)
    today = Recommendation.objects.filter(plan_step=1, status__in=OPEN)
    if deployment is not None:
        rows, today = rows.filter(deployment=deployment), today.filter(deployment=deployment)
    for name, step, usd in rows.values_list("deployment", "plan_step", "saving_usd_month"):
        d = per.setdefault(name, DeploymentSaving())
        if step is None:
            d.other_usd_month += usd
        else:
            d.plan_usd_month += usd
    fleet_cost = sum(costs.values())  # the fleet page's monthly cost
    caps = {**costs}
    complete = set(complete)
    for name, current in today.values_list("deployment", "current"):
        # what the plan says it costs today, where that is more than its hosts' priced cost (some unpriced)
        if name not in complete and isinstance(current, dict) and current.get("usd_month") is not None:
            caps[name] = max(caps.get(name, 0.0), float(current["usd_month"]))
    total, capped = 0.0, []
    for name, d in sorted(per.items()):
        d.plan_usd_month, d.other_usd_month = round(d.plan_usd_month, 2), round(d.other_usd_month, 2)
        usd, cap = d.plan_usd_month + d.other_usd_month, caps.get(name)
        if cap is not None and usd > cap:
            capped.append(name)
            usd, d.capped = cap, True
        d.usd_month = round(usd, 2)
        total += d.usd_month
    if fleet_cost and total > fleet_cost:
        return CappedSaving(round(fleet_cost, 2), True, capped, per, fleet_cost / total)
    return CappedSaving(round(total, 2), bool(capped), capped, per)


def capped_total(recs: Iterable[Recommendation]) -> tuple[float, bool]:
    """Σ of the listed advice's monthly saving, each deployment's part capped at what its plan says it costs
    today (the largest `current` among its steps), so a list never promises more than is spent."""
    sums: dict[str, float] = {}
    costs: dict[str, float] = {}
    for r in recs:
        key = r.deployment or f"target:{r.target_key}"
        sums[key] = sums.get(key, 0.0) + max(0.0, r.saving_usd_month)
        if isinstance(r.current, dict) and r.current.get("usd_month") is not None:
            costs[key] = max(costs.get(key, 0.0), float(r.current["usd_month"]))
    total, capped = 0.0, False
    for key, usd in sums.items():
        if key in costs and usd > costs[key] + 0.005:
            usd, capped = costs[key], True
        total += usd
    return round(total, 2), capped
