"""The fleet as the overview and deployment pages read it: one row per host, filters, sorting and totals.

A fixed number of queries whatever the fleet size. The fleet page pages, filters and sorts in
SQL and reads only its page's hosts in detail; its totals and each deployment's share of the
savings come from one grouped query over hosts and their summaries (DeploymentFigures), so
10,000 hosts cost a few aggregates rather than 10,000 model instances. The deployment page
(`members`) reads its few hosts whole and derives the same figures from them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from dashboard.plan import CappedSaving, DeploymentSaving, capped_saving
from recommender.models import HostSummary, Recommendation
from rightsizer.jit import without_jit
from telemetry.models import Gpu, Host

OPEN = ["open", "acknowledged"]
SORTS = ["hostname", "status", "deployment", "gpus", "util", "need", "cost", "recs", "seen"]
STATUSES = ["online", "offline", "never seen"]
HEAVY = ("gpu_processes", "inventory_ids", "inventory_hash", "identity_history", "identity_conflict_hostnames")


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

    def weight(self, basis: str) -> float:
        """What this host brings to its deployment's `basis` (DeploymentFigures.share_basis)."""
        if basis == "cost":
            return float(self.summary.usd_month)
        if basis == "GPUs":
            return float(self.summary.gpu_count if self.summary else 0)
        return 1.0


@dataclass
class DeploymentFigures:
    """A deployment's hosts summed: what its share of the saving follows and what the fleet's totals add up."""

    hosts: int = 0
    online: int = 0
    summarised: int = 0  # with a summary (the others were registered since the last one)
    priced: int = 0  # with a summary that has a price
    usd_month: float = 0.0
    gpus: int = 0
    idle_gpus: int = 0
    energy_kwh_month: float = 0.0
    recs: int = 0  # its own open advice (the plan's steps and the like)

    @property
    def complete(self) -> bool:
        """Every host priced: its cost is what its hosts cost, not what its plan says."""
        return self.priced == self.hosts

    def share_basis(self) -> tuple[str, float]:
        """A host's share of the deployment's saving follows its cost where every host is priced, else its
        GPUs, else one part per host; with the deployment's total of that."""
        if self.complete and self.usd_month > 0:
            return "cost", self.usd_month
        if self.gpus > 0:
            return "GPUs", float(self.gpus)
        return "hosts", float(self.hosts)

    def add(self, r: HostRow) -> None:
        s = r.summary
        self.hosts += 1
        self.online += r.status == "online"
        if s is not None:
            self.summarised += 1
            self.priced += s.usd_month is not None
            self.usd_month += s.usd_month or 0.0
            self.gpus += s.gpu_count
            self.idle_gpus += s.idle_gpus
            self.energy_kwh_month += s.energy_kwh_month


def online_since(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)


def _status(h: Host, since: datetime) -> str:
    return "never seen" if h.last_seen is None else ("online" if h.last_seen >= since else "offline")


def _open_recs() -> Subquery:
    """Open advice about the host or its GPUs, counted per host in SQL."""
    qs = Recommendation.objects.filter(host=OuterRef("pk"), status__in=OPEN).order_by()
    return Subquery(qs.annotate(n=Func(F("pk"), function="COUNT")).values("n"))


def _detailed(hosts: QuerySet) -> QuerySet:
    """The hosts with what a row shows, their summary, without the inventory's large columns."""
    return hosts.select_related("summary").defer(*HEAVY)


def load_rows(deployment: str | None = None) -> list[HostRow]:
    """Every host's row, or only those of one deployment, read whole (the deployment page's few)."""
    since = online_since()
    # all of them: their advice counted by one join, not a subquery per host
    hosts = _detailed(Host.objects.all()).order_by("hostname", "pk")
    hosts = hosts.annotate(open_recs=Count("recommendations", filter=Q(recommendations__status__in=OPEN)))
    if deployment is not None:
        hosts = hosts.filter(deployment=deployment)
    rows = [HostRow(h, _summary(h), h.deployment, _status(h, since), h.open_recs) for h in hosts]
    figures: dict[str, DeploymentFigures] = {}
    for r in rows:
        figures.setdefault(r.deployment, DeploymentFigures()).add(r)
    _add_deployment_recs(rows, figures, fleet_saving(figures, deployment), deployment)
    return rows


def _deployment_recs(deployment: str | OuterRef | None) -> QuerySet:
    """The deployments' own open advice counted, per deployment, or for one (a name or an outer query's)."""
    qs = Recommendation.objects.filter(status__in=OPEN, target_type="deployment").order_by()
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    return qs.values("deployment").annotate(n=Count("pk"))


def deployment_figures(since: datetime) -> dict[str, DeploymentFigures]:
    """Every deployment's figures in one grouped query over hosts and their summaries."""
    grouped = (
        Host.objects.order_by()
        .values("deployment")
        .annotate(
            hosts=Count("pk"), online=Count("pk", filter=Q(last_seen__gte=since)), summarised=Count("summary"),
            priced=Count("summary__usd_month"), usd_month=Sum("summary__usd_month"), gpus=Sum("summary__gpu_count"),
            idle_gpus=Sum("summary__idle_gpus"), energy_kwh_month=Sum("summary__energy_kwh_month"),
        )
    )  # fmt: skip
    out = {}
    for g in grouped:
        name = g.pop("deployment")
        out[name] = DeploymentFigures(**{k: v for k, v in g.items() if v is not None})  # Σ of nothing is NULL
    return out


def fleet_saving(figures: dict[str, DeploymentFigures], deployment: str | None = None) -> CappedSaving:
    """The deployments' open advice, each capped at what its hosts cost (or at what its plan says it
    costs where some host is unpriced), the whole at the fleet's cost."""
    costs = {name: f.usd_month for name, f in figures.items()}
    return capped_saving(costs, {name for name, f in figures.items() if f.complete}, deployment)


def _add_deployment_recs(
    rows: list[HostRow], figures: dict[str, DeploymentFigures], saving: CappedSaving, deployment: str | None
) -> None:
    """Each row learns its deployment's open advice (one grouped count; the money is in `saving`): the count,
    the deployment's saving capped at what it costs, and this host's share of that saving."""
    for name, n in _deployment_recs(deployment).values_list("deployment", "n"):
        if name in figures:
            figures[name].recs = n
    for r in rows:
        f = figures.get(r.deployment)
        if f is None:  # registered between the grouped query and the page's: it is its deployment's only part
            f = figures[r.deployment] = DeploymentFigures()
            f.add(r)
        d = saving.per_deployment.get(r.deployment)
        basis, total = f.share_basis()
        r.deployment_recs = f.recs
        r.deployment_saving, r.share_basis = d, basis
        r.share = r.weight(basis) / total if total else 1 / f.hosts
        r.deployment_saving_usd_month = d.usd_month if d else 0.0
        r.saving_scale = saving.scale
        r.saving_share_usd_month = r.deployment_saving_usd_month * saving.scale * r.share


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


class _LabelText(Func):
    """A host's labels as ' k=v k=v' (a space before each, keys sorted), '' without any: what the search
    box matches besides the names. Written per database: JSON objects are walked differently."""

    output_field = TextField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE((SELECT string_agg(' ' || e.key || '=' || e.value, '' ORDER BY e.key) FROM "
            f"jsonb_each_text(CASE WHEN jsonb_typeof({sql}) = 'object' THEN {sql} END) e), '')",
            (*params, *params),
        )

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE((SELECT group_concat(' ' || e.key || '=' || e.value, '') FROM "
            f"(SELECT key, value FROM json_each({sql}) WHERE key IS NOT NULL ORDER BY key) e), '')",
            params,
        )


def _haystack() -> Lower:
    """Host name, machine id, deployment, instance type, labels and GPU types, lower-cased, spaces between."""
    gpu_types = Case(When(summary__isnull=False, then=Concat(Value(" "), "summary__gpu_types")), default=Value(""))
    return Lower(
        Concat("hostname", Value(" "), "machine_id", Value(" "), "deployment", Value(" "), "instance_type",
               _LabelText("labels"), gpu_types, output_field=TextField())
    )  # fmt: skip


def label_choices() -> list[str]:
    """Every 'key=value' some host carries, sorted, from the database without reading the hosts."""
    table = connection.ops.quote_name(Host._meta.db_table)
    if connection.vendor == "postgresql":
        sql = (f"SELECT DISTINCT e.key, e.value FROM {table} h CROSS JOIN LATERAL jsonb_each_text("
               "CASE WHEN jsonb_typeof(h.labels) = 'object' THEN h.labels END) e")  # fmt: skip
    else:
        sql = f"SELECT DISTINCT e.key, e.value FROM {table} h, json_each(h.labels) e WHERE e.key IS NOT NULL"
    with connection.cursor() as cur:
        cur.execute(sql)
        return sorted(f"{k}={v}" for k, v in cur.fetchall())


def filter_hosts(
    hosts: QuerySet, since: datetime, q: str = "", deployment: str = "", label: str = "", status: str = ""
) -> QuerySet:
    """The hosts the fleet page's search box and menus leave: `q` anywhere in the row's names, labels and
    GPU types (any case); `label` as key=value, or key alone for any value; `status` as the rows show it."""
    q = q.strip().lower()
    if q:
        hosts = hosts.alias(haystack=_haystack()).filter(haystack__contains=q)
    if deployment:
        hosts = hosts.filter(deployment=deployment)
    if label:
        key, has_value, value = label.partition("=")
        hosts = hosts.filter(labels__has_key=key)
        if has_value:
            hosts = hosts.alias(label_value=KeyTransform(key, "labels")).filter(label_value=value)
    if status:
        by_status = {"online": Q(last_seen__gte=since), "offline": Q(last_seen__lt=since),
                     "never seen": Q(last_seen__isnull=True)}  # fmt: skip
        hosts = hosts.filter(by_status[status]) if status in by_status else hosts.none()
    return hosts


def _sort_key(key: str, since: datetime):
    """The SQL of a column's sort key; missing values sort as -1, below every real one."""
    if key == "status":
        return Case(When(last_seen__isnull=True, then=Value("never seen")), When(last_seen__gte=since,
                    then=Value("online")), default=Value("offline"))  # fmt: skip
    if key == "deployment":
        return Lower("deployment")
    if key == "need":
        known = Q(summary__memory_need_bytes__isnull=False) & ~Q(summary__gpu_memory_bytes=0)
        need = 100.0 * F("summary__memory_need_bytes") / F("summary__gpu_memory_bytes")
        return Case(When(known, then=need), default=Value(-1.0), output_field=FloatField())
    if key == "recs":
        of_deployment = Subquery(_deployment_recs(OuterRef("deployment")).values("n"))
        return _open_recs() + Coalesce(of_deployment, 0)
    if key == "seen":
        return Coalesce("last_seen", Value(datetime(1, 1, 1, tzinfo=UTC)))  # never seen: before any time
    column = {"gpus": "summary__gpu_count", "util": "summary__util_mean_pct", "cost": "summary__usd_month"}[key]
    return Coalesce(column, Value(-1), output_field=FloatField())


def sort_hosts(hosts: QuerySet, sort: str, since: datetime) -> tuple[QuerySet, str]:
    """Sorted by `sort` (one of SORTS, '-' first for descending), ties by host name (any case first) whichever
    the direction; an unknown key sorts by host name."""
    if sort.lstrip("-") not in SORTS:
        sort = "hostname"
    key = sort.lstrip("-")
    value = Lower("hostname") if key == "hostname" else _sort_key(key, since)
    first = F("sort_key").desc() if sort.startswith("-") else F("sort_key").asc()
    return hosts.alias(sort_key=value).order_by(first, Lower("hostname"), "hostname", "pk"), sort


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


def totals(figures: dict[str, DeploymentFigures] | None = None, saving: CappedSaving | None = None) -> Totals:
    """The fleet's cards, from the deployments' figures and capped saving (read here unless given)."""
    figures = deployment_figures(online_since()) if figures is None else figures
    saving = fleet_saving(figures) if saving is None else saving
    gpus = Counter(
        dict(Gpu.objects.filter(active=True).values("name").annotate(n=Count("pk")).values_list("name", "n"))
    )
    counted = [saving.per_deployment[name] for name in figures if name in saving.per_deployment]
    every = list(figures.values())
    return Totals(
        hosts=sum(f.hosts for f in every),
        online=sum(f.online for f in every),
        offline=sum(f.hosts - f.online for f in every),
        gpus_by_type=gpus.most_common(),
        usd_month=sum(f.usd_month for f in every),
        # the hosts' shares add up to their deployment's saving: Σ over the deployments that have hosts
        saving_usd_month=round(sum(d.usd_month * saving.scale for d in counted), 2),
        saving_capped=any(d.capped for d in counted) or bool(figures and saving.scale < 1),
        idle_gpus=sum(f.idle_gpus for f in every),
        energy_kwh_month=sum(f.energy_kwh_month for f in every),
        unpriced_hosts=sum(f.summarised - f.priced for f in every),
        pending_hosts=sum(f.hosts - f.summarised for f in every),
    )


@dataclass
class Overview:
    """The fleet page: its totals, one page of rows, and what its menus offer."""

    totals: Totals
    page: Page
    sort: str
    deployments: list[str]
    labels: list[str]


def overview(params: dict[str, str], sort: str, page: str | None, per_page: int) -> Overview:
    """Filtered, sorted and paged in SQL; only the page's hosts are read whole, the rest as sums."""
    with without_jit():
        return _overview(params, sort, page, per_page)


def _overview(params: dict[str, str], sort: str, page: str | None, per_page: int) -> Overview:
    since = online_since()
    figures = deployment_figures(since)
    saving = fleet_saving(figures)
    fleet_totals = totals(figures, saving)
    hosts, sort = sort_hosts(filter_hosts(Host.objects.all(), since, **params), sort, since)
    paginator = Paginator(_detailed(hosts).annotate(open_recs=_open_recs()), per_page)  # for the page's only
    # A cached property, set here: counting the detailed query would run its per-host subquery for every host;
    # and unfiltered, the grouped query counted them already.
    paginator.count = hosts.count() if any(params.values()) else fleet_totals.hosts
    shown = paginator.get_page(page)
    rows = [HostRow(h, _summary(h), h.deployment, _status(h, since), h.open_recs) for h in shown.object_list]
    _add_deployment_recs(rows, figures, saving, None)
    shown.object_list = rows
    return Overview(fleet_totals, shown, sort, sorted(name for name in figures if name), label_choices())
