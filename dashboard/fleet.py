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
from django.db.models import Count, Q
from django.utils import timezone

from dashboard.plan import CappedSaving, DeploymentSaving, capped_saving, deployment_costs
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
    deployment_saving_usd_month: float = 0.0  # its deployment's open advice a month, capped at what it costs
    deployment_saving: DeploymentSaving | None = None  # that saving: plan, other advice, capped or not
    saving_share_usd_month: float = 0.0  # this host's share of it: Σ over the fleet's rows = the fleet's total
    share_basis: str = ""  # "cost", "GPUs" or "hosts": what the share is proportional to
    share: float = 0.0  # 0–1, this host's part of its deployment
    saving_scale: float = 1.0  # < 1 where the fleet's cost capped the fleet's saving

    @property
    def all_recs(self) -> int:
        return self.open_recs + self.deployment_recs

    @property
    def share_pct(self) -> float:
        return 100 * self.share

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
    """Each row learns its deployment's open advice (one query for the count, two for the money): the count,
    the deployment's saving capped at what it costs, and this host's share of that saving."""
    qs = Recommendation.objects.filter(status__in=OPEN, target_type="deployment")
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    found = dict(qs.values("deployment").annotate(n=Count("pk")).values_list("deployment", "n"))
    saving = fleet_saving(rows, deployment)
    groups: dict[str, list[HostRow]] = {}
    for r in rows:
        r.deployment_recs = found.get(r.deployment, 0)
        groups.setdefault(r.deployment, []).append(r)
    for name, members in groups.items():
        d = saving.per_deployment.get(name)
        basis, weights = _weights(members)
        total = sum(weights)
        for r, w in zip(members, weights, strict=True):
            r.deployment_saving, r.share_basis = d, basis
            r.share = w / total if total else 1 / len(members)
            r.deployment_saving_usd_month = d.usd_month if d else 0.0
            r.saving_scale = saving.scale
            r.saving_share_usd_month = r.deployment_saving_usd_month * saving.scale * r.share


def _weights(members: list[HostRow]) -> tuple[str, list[float]]:
    """What a host's share of its deployment's saving follows: its cost where every host is priced, else
    its GPUs, else one part per host."""
    costs = [r.summary.usd_month if r.summary else None for r in members]
    if all(c is not None for c in costs) and sum(costs) > 0:
        return "cost", [float(c) for c in costs]
    gpus = [r.summary.gpu_count if r.summary else 0 for r in members]
    if sum(gpus) > 0:
        return "GPUs", [float(g) for g in gpus]
    return "hosts", [1.0] * len(members)


def fleet_saving(rows: list[HostRow], deployment: str | None = None) -> CappedSaving:
    """The rows' deployments' open advice, each capped at what its hosts cost (or at what its plan says it
    costs where some host is unpriced), the whole at the fleet's cost."""
    unpriced = {r.deployment for r in rows if not r.summary or r.summary.usd_month is None}
    complete = {r.deployment for r in rows} - unpriced
    return capped_saving(deployment_costs(rows), complete, deployment)


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
    unpriced_hosts: int  # summarised, and no price is known
    pending_hosts: int  # registered since the last summary: costed within a minute

    @property
    def gpus(self) -> int:
        """Active GPUs in the fleet, of every type."""
        return sum(n for _, n in self.gpus_by_type)


def totals(rows: list[HostRow]) -> Totals:
    gpus = Counter(
        dict(Gpu.objects.filter(active=True).values("name").annotate(n=Count("pk")).values_list("name", "n"))
    )
    shares = [r.saving_share_usd_month for r in rows]  # the hosts' shares add up to the fleet's total
    capped = any(r.deployment_saving and r.deployment_saving.capped for r in rows)
    summaries = [r.summary for r in rows if r.summary]
    return Totals(
        hosts=len(rows),
        online=sum(r.status == "online" for r in rows),
        offline=sum(r.status != "online" for r in rows),
        gpus_by_type=gpus.most_common(),
        usd_month=sum(s.usd_month or 0.0 for s in summaries),
        saving_usd_month=round(sum(shares), 2),
        saving_capped=capped or any(r.saving_scale < 1 for r in rows),
        idle_gpus=sum(s.idle_gpus for s in summaries),
        energy_kwh_month=sum(s.energy_kwh_month for s in summaries),
        unpriced_hosts=sum(1 for r in rows if r.summary and r.summary.usd_month is None),
        pending_hosts=sum(1 for r in rows if not r.summary),
    )
