"""Did acting on advice pay off: cost, energy and GPU load before and after a recommendation was acknowledged.

Everything is read from the hourly rollups of the hosts the recommendation concerns: its host (a host or
GPU target), else every host of its deployment (Host.deployment as stored now). Whole hours only: the hour
the acknowledgement falls in belongs to neither side.

- before: the WINDOW (7 days) of hours that end where the acknowledgement's hour starts;
- after: the hours from the one after the acknowledgement's, up to WINDOW, and never past the last hour
  the rollups have finished (the "1h" cursor) or the current hour.

Each side is turned into rates over its own length in wall-clock hours, so two sides of unequal length
compare, and a host that stops reporting simply adds nothing from then on:

- cost: each host's hourly price × the hours it reported (covered_s / 3600). The price is the host's own
  (HostPrice) where set, else each GPU's catalog type × the hours that GPU reported (so a GPU swapped
  for a cheaper one costs its own price on each side), else the host's vCPU-equivalents
  (recommender.cpu_price) × VCPU_HOURLY_USD — the same order and basis as recommender.summary.host_cost.
  Per month-equivalent: × HOURS_PER_MONTH / window hours.
- energy: Σ power_w_mean × covered_s over the GPUs, in kWh, per month-equivalent the same way.
- GPU load: GPUs busy = Σ util_pct_mean / 100 × covered_s / window seconds (1.0 = one GPU busy all the
  time); generated tokens/s = Σ gen_tps_mean × covered_s / window seconds over the hosts' servers.

The realized saving is before − after in $/month; with under a day after, it is "too early".

The fleet's realized saving this month (fleet_realized) counts each host once, from the first
acknowledgement of any acted-on recommendation (still acknowledged, or resolved after one) that concerns
it: (hourly cost rate before − hourly cost rate over this month's hours since then) × those hours, added
up over the hosts that recommendations sharing hosts join into one group, and each group's sum floored at
0 and capped at what it cost before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, FloatField, Q, Sum
from django.utils import timezone

from recommender import cpu_price
from recommender.catalog import match_gpu_type
from recommender.models import GpuType, HostPrice, Recommendation
from recommender.savings import HOURS_PER_MONTH
from telemetry import units
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, ServerRollup
from telemetry.models.rollups import PERIOD_1H, RollupCursor
from telemetry.rollups import floor_to

WINDOW = timedelta(days=7)
TOO_EARLY = timedelta(days=1)
HOUR = timedelta(hours=1)
ACTED_ON = Q(status=Recommendation.Status.ACKNOWLEDGED) | Q(
    status=Recommendation.Status.RESOLVED, acknowledged_at__isnull=False
)


ROWS = [
    ("usd_month", "Cost per month", "usd"),
    ("kwh_month", "GPU energy per month", "kWh"),
    ("gpus_busy", "GPUs busy (Σ utilization)", "GPUs"),
    ("gen_tps", "Generated tokens/s", "tokens/s"),
]


@dataclass
class Usage:
    """What a set of hosts did in one window of whole hours: totals, and rates over the window's length."""

    start: datetime
    end: datetime
    usd: float = 0.0  # what the hosts cost while they reported
    kwh: float = 0.0
    gpu_busy_s: float = 0.0  # Σ util / 100 × covered seconds
    tokens: float = 0.0  # generated tokens
    host_hours: float = 0.0  # hours reported, all hosts together
    unpriced_gpu_hours: float = 0.0  # GPU hours of types not in the catalog: not counted in usd

    @property
    def hours(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds() / 3600)

    def _per_month(self, value: float) -> float | None:
        return value * HOURS_PER_MONTH / self.hours if self.hours else None

    @property
    def usd_hour(self) -> float | None:
        return self.usd / self.hours if self.hours else None

    @property
    def usd_month(self) -> float | None:
        return self._per_month(self.usd)

    @property
    def kwh_month(self) -> float | None:
        return self._per_month(self.kwh)

    @property
    def gpus_busy(self) -> float | None:
        return self.gpu_busy_s / (self.hours * 3600) if self.hours else None

    @property
    def gen_tps(self) -> float | None:
        return self.tokens / (self.hours * 3600) if self.hours else None


@dataclass
class Comparison:
    """A recommendation's before and after; realized_usd_month is None while it is too early to say."""

    acknowledged_at: datetime
    hosts: int
    before: Usage
    after: Usage
    promised_usd_month: float

    @property
    def too_early(self) -> bool:
        return self.after.hours < TOO_EARLY.total_seconds() / 3600

    @property
    def after_hours(self) -> int:
        return int(self.after.hours)

    def _delta(self, name: str) -> float | None:
        before, after = getattr(self.before, name), getattr(self.after, name)
        if self.too_early or before is None or after is None:
            return None
        return before - after

    @property
    def realized_usd_month(self) -> float | None:
        """Positive: the hosts cost less per month than before."""
        return self._delta("usd_month")

    @property
    def realized_kwh_month(self) -> float | None:
        return self._delta("kwh_month")

    def rows(self) -> list[dict]:
        """The page's table: one row per figure, before, after and after − before (None while too early)."""
        out = []
        for name, label, unit in ROWS:
            before, after = getattr(self.before, name), getattr(self.after, name)
            change = None if self.too_early or before is None or after is None else after - before
            sign = "" if not change else ("+" if change > 0 else "−")
            magnitude = None if change is None else abs(change)
            out.append({"name": name, "label": label, "unit": unit, "before": before, "after": after,
                        "change": change, "sign": sign, "magnitude": magnitude})  # fmt: skip
        return out

    def as_dict(self) -> dict:
        sides = {name: _side(getattr(self, name)) for name in ("before", "after")}
        return {"acknowledged_at": self.acknowledged_at, "hosts": self.hosts, "too_early": self.too_early,
                "after_hours": self.after_hours, "promised_usd_month": self.promised_usd_month,
                "realized_usd_month": _round(self.realized_usd_month, 2),
                "realized_kwh_month": _round(self.realized_kwh_month, 1), **sides}  # fmt: skip


def _side(u: Usage) -> dict:
    return {"start": u.start, "end": u.end, "hours": u.hours, "usd_month": _round(u.usd_month, 2),
            "kwh_month": _round(u.kwh_month, 1), "gpus_busy": _round(u.gpus_busy, 2),
            "gen_tps": _round(u.gen_tps, 1), "host_hours": round(u.host_hours, 1)}  # fmt: skip


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def data_end(now: datetime | None = None) -> datetime:
    """The end of the last whole hour the hourly rollups hold: the current hour's start, or the rollup
    cursor where it lags behind (an hour not rolled yet would read as an hour nobody reported)."""
    end = floor_to(now or timezone.now(), PERIOD_1H)
    cursor = RollupCursor.objects.filter(tier="1h").values_list("until", flat=True).first()
    return min(end, cursor) if cursor else end


def after_start(acknowledged_at: datetime) -> datetime:
    """The first whole hour after the acknowledgement."""
    start = floor_to(acknowledged_at, PERIOD_1H)
    return start if start == acknowledged_at else start + HOUR


def host_ids(rec: Recommendation) -> list[int]:
    """The hosts a recommendation concerns: its own host, else its deployment's."""
    if rec.host_id is not None:
        return [rec.host_id]
    if rec.deployment:
        return list(Host.objects.filter(deployment=rec.deployment).order_by("pk").values_list("pk", flat=True))
    return []


def compare(rec: Recommendation, now: datetime | None = None) -> Comparison | None:
    """Before and after the recommendation's first acknowledgement; None if it was never acknowledged."""
    if rec.acknowledged_at is None:
        return None
    ids = host_ids(rec)
    ack_hour = floor_to(rec.acknowledged_at, PERIOD_1H)
    start = after_start(rec.acknowledged_at)
    end = max(start, min(start + WINDOW, data_end(now)))
    prices = Prices(ids)
    return Comparison(rec.acknowledged_at, len(ids), measure(ids, ack_hour - WINDOW, ack_hour, prices).total(),
                      measure(ids, start, end, prices).total(), rec.saving_usd_month)  # fmt: skip


class Prices:
    """What each host costs an hour: its own price, its GPUs' catalog types, or its vCPUs."""

    def __init__(self, ids: list[int]):
        self.host_price = dict(HostPrice.objects.filter(host_id__in=ids).values_list("host_id", "hourly_usd"))
        rows = Host.objects.filter(pk__in=ids).values_list("pk", "cpu_count", "mem_total_bytes")
        self.cpus = {pk: (cpus, mem) for pk, cpus, mem in rows}
        types = list(GpuType.objects.all())
        self.gpu_host: dict[int, int] = {}
        self.gpu_price: dict[int, float | None] = {}
        for pk, host_id, name, memory in Gpu.objects.filter(host_id__in=ids).values_list(
            "pk", "host_id", "name", "memory_total_bytes"
        ):
            gpu_type = match_gpu_type(name, memory, types)
            self.gpu_host[pk], self.gpu_price[pk] = host_id, gpu_type.price_usd if gpu_type else None
        self.has_gpus = set(self.gpu_host.values())

    def by_host(self, host_id: int) -> bool:
        """Whether the host is priced as a whole (its own price, or its vCPUs) rather than by its GPUs."""
        return host_id in self.host_price or host_id not in self.has_gpus

    def host_hourly(self, host_id: int) -> float:
        if host_id in self.host_price:
            return self.host_price[host_id]
        return cpu_price.host_hourly(*self.cpus.get(host_id, (0, None)), settings.VCPU_HOURLY_USD)


@dataclass
class Measured:
    """Per host, what one window held (measure())."""

    start: datetime
    end: datetime
    hosts: dict[int, Usage] = field(default_factory=dict)

    def host(self, host_id: int) -> Usage:
        return self.hosts.setdefault(host_id, Usage(self.start, self.end))

    def total(self) -> Usage:
        out = Usage(self.start, self.end)
        for u in self.hosts.values():
            for name in ("usd", "kwh", "gpu_busy_s", "tokens", "host_hours", "unpriced_gpu_hours"):
                setattr(out, name, getattr(out, name) + getattr(u, name))
        return out


def measure(ids: list[int], start: datetime, end: datetime, prices: Prices, load: bool = True) -> Measured:
    """The hosts' cost, energy and (with load) GPU load and tokens in [start, end): three grouped queries."""
    out = Measured(start, end)
    if not ids or end <= start:
        return out
    hourly = {"period_s": PERIOD_1H, "ts__gte": start, "ts__lt": end}
    for host_id, covered in (
        HostRollup.objects.filter(host_id__in=ids, **hourly).values("host_id").annotate(s=Sum("covered_s"))
        .values_list("host_id", "s")
    ):  # fmt: skip
        u = out.host(host_id)
        u.host_hours = (covered or 0.0) / 3600
        if prices.by_host(host_id):
            u.usd += prices.host_hourly(host_id) * u.host_hours
    wanted = set(ids)
    gpu_ids = [gpu_id for gpu_id, host_id in prices.gpu_host.items() if host_id in wanted]
    _gpus(out, GpuRollup.objects.filter(gpu_id__in=gpu_ids, **hourly), prices)
    if load:
        tokens = (
            ServerRollup.objects.filter(server__host_id__in=ids, **hourly).values("server__host_id")
            .annotate(t=Sum(F("gen_tps_mean") * F("covered_s"), output_field=FloatField()))
            .values_list("server__host_id", "t")
        )  # fmt: skip
        for host_id, t in tokens:
            out.host(host_id).tokens += t or 0.0
    return out


def _gpus(out: Measured, rows, prices: Prices) -> None:
    """Energy, busy GPU-seconds, and the cost of hosts priced by their GPUs, per GPU."""
    by_gpu = rows.values("gpu_id").annotate(
        s=Sum("covered_s"),
        ws=Sum(F("power_w_mean") * F("covered_s"), output_field=FloatField()),
        busy=Sum(F("util_pct_mean") * F("covered_s"), output_field=FloatField()),
    )
    for row in by_gpu:
        host_id = prices.gpu_host[row["gpu_id"]]
        u, hours = out.host(host_id), (row["s"] or 0.0) / 3600
        u.kwh += (row["ws"] or 0.0) / 3.6e6
        u.gpu_busy_s += units.gpus_busy(row["busy"] or 0.0)
        if prices.by_host(host_id):
            continue
        price = prices.gpu_price[row["gpu_id"]]
        if price is None:
            u.unpriced_gpu_hours += hours
        else:
            u.usd += price * hours


@dataclass
class FleetRealized:
    """This month's realized saving over the acted-on recommendations, each host counted once."""

    usd: float
    recommendations: int
    hosts: int
    month_start: datetime


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def concerned(recs: list[Recommendation]) -> list[set[int]]:
    """Each recommendation's hosts (its host, else its deployment's), with one query for the deployments."""
    deployments = {r.deployment for r in recs if r.host_id is None and r.deployment}
    members: dict[str, set[int]] = defaultdict(set)
    for host_id, name in Host.objects.filter(deployment__in=deployments).values_list("pk", "deployment"):
        members[name].add(host_id)
    return [{r.host_id} if r.host_id is not None else members.get(r.deployment, set()) for r in recs]


def first_acknowledged(recs: list[Recommendation]) -> tuple[dict[int, datetime], list[list[int]]]:
    """Per host, the earliest acknowledgement among the recommendations that concern it; and the hosts in
    groups joined by the recommendations they share (a deployment's plan and advice on one of its hosts are
    one group), so a group's saving is counted once, whole."""
    first: dict[int, datetime] = {}
    parent: dict[int, int] = {}

    def root(h: int) -> int:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    for rec, hosts in zip(recs, concerned(recs), strict=True):
        for h in hosts:
            first[h] = min(first.get(h, rec.acknowledged_at), rec.acknowledged_at)
            parent.setdefault(h, h)
        for h in hosts:
            parent[root(h)] = root(min(hosts))
    groups: dict[int, list[int]] = defaultdict(list)
    for h in sorted(parent):
        groups[root(h)].append(h)
    return first, list(groups.values())


def fleet_realized(now: datetime | None = None) -> FleetRealized:
    """Per group of hosts (first_acknowledged): Σ over its hosts of (hourly cost before − hourly cost after)
    × this month's hours since the host's first acknowledgement, floored at 0 and capped at what the
    group cost before over those hours; summed over the groups. Before is the WINDOW before that
    acknowledgement's hour, after is those hours of this month (module docstring). A host that joined a
    group after its acknowledgement (a replacement) costs nothing before, so its cost after is subtracted."""
    now = now or timezone.now()
    recs = list(Recommendation.objects.filter(ACTED_ON).only("host_id", "deployment", "acknowledged_at"))
    if not recs:  # the fleet page's usual case costs this one query
        return FleetRealized(0.0, 0, 0, month_start(now))
    first, groups = first_acknowledged(recs)
    saved, cap = _host_savings(first, month_start(now), data_end(now))
    usd = sum(max(0.0, min(sum(cap[h] for h in g), sum(saved[h] for h in g))) for g in groups)
    return FleetRealized(round(usd, 2), len(recs), len(first), month_start(now))


def _host_savings(first: dict[int, datetime], since_month: datetime, end: datetime):
    """Per host: (before − after) × hours, and before × hours, over this month's hours since its first
    acknowledgement. Hosts acknowledged in the same hour share their queries."""
    by_hour: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
    for host_id, at in first.items():
        by_hour[(floor_to(at, PERIOD_1H), after_start(at))].append(host_id)
    prices = Prices(list(first))
    saved, cap = dict.fromkeys(first, 0.0), dict.fromkeys(first, 0.0)
    for (ack_hour, start), ids in by_hour.items():
        since = max(start, since_month)
        if end <= since:
            continue
        before = measure(ids, ack_hour - WINDOW, ack_hour, prices, load=False)
        after = measure(ids, since, end, prices, load=False)
        hours = (end - since).total_seconds() / 3600
        for h in ids:
            rate_before = before.host(h).usd_hour or 0.0
            saved[h] = (rate_before - (after.host(h).usd_hour or 0.0)) * hours
            cap[h] = rate_before * hours
    return saved, cap
