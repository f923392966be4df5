"""The deployments list and a deployment page's cards, summed by the database.

The list is one grouped query over hosts and their summaries (dashboard.fleet.deployment_figures, as
the fleet page's totals) and a few grouped counts, whatever the fleet's size: no host is read. A
deployment page reads its own hosts for its replicas table; its cost per million tokens comes from its
own hourly rollup: a week of its hosts' and servers' rollups is 34,000 rows of each table for 200 hosts,
each on a page of its own, a second or more to read.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from dashboard import deployment_rollup, fleet, simulated
from recommender.models import Recommendation
from recommender.savings import HOURS_PER_MONTH
from rightsizer.jit import without_jit
from telemetry.models.rollups import PERIOD_1H

COST_WINDOW_DAYS = 7


def listed() -> tuple[list[dict], dict]:
    """One row per deployment with hosts: its hosts, GPUs and cost, its open recs (its own + its hosts'), its
    plan's saving, the money advice outside the plan, and the two capped at what it costs (× the fleet's
    scale, as each host's share adds up on the fleet page); and the total row."""
    with without_jit():  # grouping 10,000 hosts passes jit_above_cost: compiling would cost more
        figures = fleet.deployment_figures(fleet.online_since())
        saving = fleet.fleet_saving(figures)
        own = dict(fleet._deployment_recs(None).values_list("deployment", "n"))
        of_hosts = dict(
            Recommendation.objects.filter(status__in=fleet.OPEN, host__isnull=False).order_by()
            .values("host__deployment").annotate(n=Count("pk")).values_list("host__deployment", "n")
        )  # fmt: skip
        all_simulated = simulated.deployments()
    groups = [_row(name, f, saving, own.get(name, 0) + of_hosts.get(name, 0), name in all_simulated)
              for name, f in figures.items()]  # fmt: skip
    groups.sort(key=lambda g: (-g["usd_month"], g["name"]))
    total = {k: round(sum(g[k] for g in groups), 2) for k in ("usd_month", "plan_usd_month", "other_usd_month",
                                                               "saving_usd_month")}  # fmt: skip
    total["capped"] = any(g["capped"] for g in groups)
    total["hosts"], total["pending"] = sum(g["hosts"] for g in groups), sum(g["pending"] for g in groups)
    return groups, total


def _row(name: str, f: fleet.DeploymentFigures, saving, open_recs: int, all_simulated: bool) -> dict:
    d = saving.per_deployment.get(name)
    return {
        "name": name, "hosts": f.hosts, "online": f.online, "gpus": f.gpus, "usd_month": f.usd_month,
        "open_recs": open_recs,
        "plan_usd_month": d.plan_usd_month if d else 0.0, "other_usd_month": d.other_usd_month if d else 0.0,
        "capped": bool(d and (d.capped or saving.scale < 1)),
        # its hosts' shares of its capped saving add up to the whole of it
        "saving_usd_month": round(d.usd_month * saving.scale, 2) if d else 0.0,
        "pending": f.hosts - f.summarised,  # registered since the last summary: costed within a minute
        "simulated": all_simulated,  # tagged when all its hosts are
    }  # fmt: skip


def cost_per_million_tokens(name: str, rows: list[fleet.HostRow]) -> dict | None:
    """Over the last COST_WINDOW_DAYS, from the deployment's own hourly rollup (dashboard.deployment_rollup, 168
    rows, where its hosts' would be 2 × 168 per host): what its hosts cost an hour today × the hours it reported,
    ÷ the tokens its servers generated (each hour's Σ of their mean tokens/s × the hour). A host that joined or
    left within the week is counted at today's membership."""
    now = timezone.now()
    hours = deployment_rollup.read(
        name, [r.host.pk for r in rows], PERIOD_1H, now - timedelta(days=COST_WINDOW_DAYS), now
    )
    tokens = sum(h["gen_tps_sum"] for h in hours.values() if h["gen_tps_sum"] is not None) * PERIOD_1H
    usd_hour = sum(r.summary.usd_month or 0.0 for r in rows if r.summary) / HOURS_PER_MONTH
    if not tokens or not usd_hour:
        return None
    usd = usd_hour * len(hours)
    return {"usd_per_million": usd / (tokens / 1e6), "usd": usd, "tokens": tokens, "hours": len(hours),
            "usd_hour": usd_hour, "days": COST_WINDOW_DAYS}  # fmt: skip
