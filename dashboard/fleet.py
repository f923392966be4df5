"""The fleet as the overview and deployment pages read it: one row per host, filters, sorting and totals.

A fixed number of queries whatever the fleet size: hosts (with their stored deployment), their
summary and open recommendation count, their deployments' open advice, GPU counts by type, open
savings (each deployment's capped at what it costs).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from dashboard.plan import capped_saving, deployment_costs
from recommender.models import HostSummary, Recommendation
from telemetry.models import Gpu, Host

OPEN = ["open", "acknowledged"]
SORTS = {
    "hostname": lambda r: r.host.hostname.lower(),
    "status": lambda r: r.status,
    "deployment": lambda r: r.deployment.lower(),
    "gpus": lambda r: r.summary.gpu_count if r.summary else -1,
    "util": lambda r: _num(r.summary and r.summary.util_mean_pct),
    "need": lambda r: _num(r.need_pct),
    "cost": lambda r: _num(r.summary and r.summary.usd_month),
    "recs": lambda r: r.all_recs,
    "seen": lambda r: r.host.last_seen.timestamp() if r.host.last_seen else -1.0,
}
STATUSES = ["online", "offline", "never seen"]


def _num(value: float | None) -> float:
    return -1.0 if value is None else float(value)


@dataclass
class HostRow:
    host: Host
    summary: HostSummary | None
    deployment: str  # Host.deployment: the label, else the first served model, else the hostname
    status: str  # online, offline or never seen
    open_recs: int  # about the host or its GPUs
    deployment_recs: int = 0  # its deployment's own (the plan's steps and the like), open
    deployment_saving_usd_month: float = 0.0  # their monthly saving, capped at the deployment's cost

    @property
    def all_recs(self) -> int:
        return self.open_recs + self.deployment_recs

    @property
    def need_pct(self) -> float | None:
        s = self.summary
        if s is None or s.memory_need_bytes is None or not s.gpu_memory_bytes:
            return None
        return 100 * s.memory_need_bytes / s.gpu_memory_bytes

    @property
    def labels(self) -> list[str]:
        return [f"{k}={v}" for k, v in sorted(self.host.labels.items())]


def online_since(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)


def load_rows(deployment: str | None = None) -> list[HostRow]:
    """Every host's row, or only those of one deployment."""
    since = online_since()
    hosts = (
        Host.objects.select_related("summary")
        .defer("gpu_processes", "inventory_ids", "inventory_hash")
        .annotate(open_recs=Count("recommendations", filter=Q(recommendations__status__in=OPEN)))
        .order_by("hostname", "pk")
    )
    if deployment is not None:
        hosts = hosts.filter(deployment=deployment)
    rows = []
    for h in hosts:
        status = "never seen" if h.last_seen is None else ("online" if h.last_seen >= since else "offline")
        rows.append(HostRow(h, _summary(h), h.deployment, status, h.open_recs))
    _add_deployment_recs(rows, deployment)
    return rows


def _add_deployment_recs(rows: list[HostRow], deployment: str | None) -> None:
    """Each row learns its deployment's open advice (one query): count and saving, capped at the cost."""
    qs = Recommendation.objects.filter(status__in=OPEN, target_type="deployment")
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    per_deployment = qs.values("deployment").annotate(n=Count("pk"), s=Sum("saving_usd_month"))
    found = {d: (n, s or 0.0) for d, n, s in per_deployment.values_list("deployment", "n", "s")}
    costs = deployment_costs(rows)
    for r in rows:
        n, saving = found.get(r.deployment, (0, 0.0))
        r.deployment_recs = n
        r.deployment_saving_usd_month = min(saving, costs[r.deployment]) if costs[r.deployment] else saving


def _summary(host: Host) -> HostSummary | None:
    try:
        return host.summary  # the reverse one-to-one raises when absent
    except HostSummary.DoesNotExist:
        return None


def members(name: str) -> list[HostRow]:
    return load_rows(deployment=name)


def member_ids(name: str) -> list[int]:
    """The ids of a deployment's hosts, without the fleet page's summaries and counts (for the chart reads)."""
    return list(Host.objects.filter(deployment=name).order_by("pk").values_list("pk", flat=True))


def filter_rows(rows: list[HostRow], q: str = "", deployment: str = "", label: str = "", status: str = "") -> list:
    q = q.strip().lower()
    if q:
        rows = [r for r in rows if q in _haystack(r)]
    if deployment:
        rows = [r for r in rows if r.deployment == deployment]
    if label:
        key, _, value = label.partition("=")
        rows = [r for r in rows if key in r.host.labels and (not _ or str(r.host.labels[key]) == value)]
    if status:
        rows = [r for r in rows if r.status == status]
    return rows


def _haystack(r: HostRow) -> str:
    parts = [r.host.hostname, r.host.machine_id, r.deployment, r.host.instance_type, *r.labels]
    if r.summary:
        parts.append(r.summary.gpu_types)
    return " ".join(parts).lower()


def sort_rows(rows: list[HostRow], sort: str) -> tuple[list[HostRow], str]:
    """Sorted by `sort` (a key of SORTS, '-' first for descending); an unknown key sorts by hostname."""
    key = sort.lstrip("-")
    by_name = sorted(rows, key=SORTS["hostname"])
    if key not in SORTS:
        return by_name, "hostname"
    # A stable sort, reversed or not, keeps ties in hostname order.
    return sorted(by_name, key=SORTS[key], reverse=sort.startswith("-")), sort


@dataclass
class Totals:
    hosts: int
    online: int
    offline: int
    gpus_by_type: list[tuple[str, int]]
    usd_month: float
    saving_usd_month: float  # per deployment capped at its cost, and never above the fleet's (dashboard.plan)
    saving_capped: bool
    idle_gpus: int
    energy_kwh_month: float
    unpriced_hosts: int


def totals(rows: list[HostRow]) -> Totals:
    gpus = Counter(
        dict(Gpu.objects.filter(active=True).values("name").annotate(n=Count("pk")).values_list("name", "n"))
    )
    saving = capped_saving(deployment_costs(rows))
    summaries = [r.summary for r in rows if r.summary]
    return Totals(
        hosts=len(rows),
        online=sum(r.status == "online" for r in rows),
        offline=sum(r.status != "online" for r in rows),
        gpus_by_type=gpus.most_common(),
        usd_month=sum(s.usd_month or 0.0 for s in summaries),
        saving_usd_month=saving.usd_month,
        saving_capped=saving.capped,
        idle_gpus=sum(s.idle_gpus for s in summaries),
        energy_kwh_month=sum(s.energy_kwh_month for s in summaries),
        unpriced_hosts=sum(1 for r in rows if not r.summary or r.summary.usd_month is None),
    )
