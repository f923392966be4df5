"""From the hourly rollups of the window to findings: load per host in chunks, run the rules, resolve.

Memory stays bounded: the rollup rows are summed in SQL (histograms add), and
the only per-hour rows read are each chunk's deployment load and server queues.

One host's bad rows must not cost the fleet its advice: a chunk that fails to
load is loaded again host by host, and a host (or deployment) whose loading or
rules fail is logged (event=analysis_failed host=…) and skipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, FloatField, Max, Q, Sum, When
from django.db.models.functions import Cast
from django.utils import timezone

from recommender import rules
from recommender.catalog import match_gpu_type, match_model
from recommender.findings import Context, DeploymentStats, Finding, GpuStats, GpuTypeInfo, HostStats, ServerStats
from recommender.in_force import InForce
from recommender.models import GpuType, HostPrice, ModelSpec
from recommender.thresholds import Thresholds
from rightsizer.jit import jit_off
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H, histogram_fields
from telemetry.rollups import floor_to

log = logging.getLogger(__name__)
CHUNK_HOSTS = 200


def type_info(t: GpuType) -> GpuTypeInfo:
    return GpuTypeInfo(t.name, t.memory_bytes, t.memory_bandwidth_gbps, t.tdp_w, t.tflops_16bit, t.bf16, t.fp8,
                       t.int8, t.price_usd, t.price_label, t.vendor, t.consumer, t.hourly_price_usd)  # fmt: skip


def _wmean(column: str) -> dict:
    """Time-weighted mean of a `<metric>_mean` column over rows, as two sums divided in Python."""
    return {
        f"{column}__w": Sum(F(column) * F("covered_s"), output_field=FloatField()),
        f"{column}__c": Sum(Case(When(**{f"{column}__isnull": False}, then=F("covered_s")), output_field=FloatField())),
    }


def _mean(row: dict, column: str) -> float | None:
    weight = row.get(f"{column}__c")
    return row[f"{column}__w"] / weight if weight else None


def _hist(row: dict, prefix: str) -> list[float]:
    return [float(row[name] or 0) for name in histogram_fields(prefix)]


def _hist_sums(prefix: str) -> dict:
    return {name: Sum(name) for name in histogram_fields(prefix)}


class Analysis:
    def __init__(self, now: datetime | None = None):
        self.now = now or timezone.now()
        self.thresholds = InForce()
        self.base = self.thresholds.fleet
        self.hi = floor_to(self.now, PERIOD_1H)
        self.lo = self.hi - timedelta(days=self.base.window_days)
        self.window_s = (self.hi - self.lo).total_seconds()
        self.types = list(GpuType.objects.all())
        self.catalog = [type_info(t) for t in self.types]
        self.ctx = Context(settings.GRID_KG_CO2_PER_KWH, settings.VCPU_HOURLY_USD, self.catalog)
        self.specs = list(ModelSpec.objects.all())
        self.deployments: dict[str, DeploymentStats] = {}
        self.loads: dict[str, dict[int, float]] | None = None  # per deployment and hour; run() reads them
        self.partial: set[str] = set()  # deployments with a host that could not be loaded

    def th(self, deployment: str) -> Thresholds:
        return self.thresholds.for_deployment(deployment)

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        self.loads = self._deployment_loads()
        for hosts in self._chunks():
            for host in hosts:
                what = f"host={host.hostname} host_id={host.host_id}"
                findings += _isolated(what, lambda h=host: [f for r in rules.HOST_RULES for f in r(h, self.ctx)])
        for name in self.partial & set(self.deployments) if self.loads is not None else ():
            # A host of this deployment could not be loaded: its load must not count where its GPUs don't.
            dep = self.deployments[name]
            dep.load_by_hour = {}
            _isolated(f"deployment={name}", lambda d=dep: self._load_deployment_load({h.host_id: h for h in d.hosts}))
        for dep in self.deployments.values():
            what = f"deployment={dep.name} host_ids={','.join(str(h.host_id) for h in dep.hosts)}"
            findings += _isolated(what, lambda d=dep: [f for r in rules.DEPLOYMENT_RULES for f in r(d, self.ctx)])
        return rules.resolve(findings)

    def _chunks(self) -> Iterator[list[HostStats]]:
        ids = list(Host.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK_HOSTS):
            chunk = ids[start : start + CHUNK_HOSTS]
            try:
                yield self._load_atomic(chunk)
            except Exception:  # one host's rows (an overflow in a sum): load the others alone
                yield [host for host_id in chunk for host in self._load_alone(host_id)]

    def _load_atomic(self, ids: list[int]) -> list[HostStats]:
        # A savepoint, so a failed query leaves the caller's transaction usable.
        with transaction.atomic():
            jit_off()
            return self._load(ids)

    def _load_alone(self, host_id: int) -> list[HostStats]:
        hostname, deployment = Host.objects.filter(pk=host_id).values_list("hostname", "deployment").first() or (
            None, None)  # fmt: skip
        loaded = _isolated(f"host={hostname} host_id={host_id}", lambda: self._load_atomic([host_id]))
        if not loaded and deployment is not None:
            self.partial.add(deployment)
        return loaded

    def _window(self, **extra) -> Q:
        return Q(period_s=PERIOD_1H, ts__gte=self.lo, ts__lt=self.hi, **extra)

    def _load(self, ids: list[int]) -> list[HostStats]:
        prices = dict(HostPrice.objects.filter(host_id__in=ids).values_list("host_id", "hourly_usd"))
        hosts: dict[int, HostStats] = {}
        gpus_by_host: dict[int, int] = {}
        for g in Gpu.objects.filter(host_id__in=ids, active=True).values("host_id"):
            gpus_by_host[g["host_id"]] = gpus_by_host.get(g["host_id"], 0) + 1
        servers = list(InferenceServer.objects.filter(host_id__in=ids, active=True).prefetch_related("gpus"))
        for h in Host.objects.filter(pk__in=ids):
            deployment = h.deployment  # telemetry.deployment, stored at inventory sync
            hosts[h.pk] = HostStats(h.pk, h.hostname, h.machine_id, deployment, h.cpu_count, h.mem_total_bytes,
                                    prices.get(h.pk), self.th(deployment), self.window_s)  # fmt: skip
        self._load_host_rollups(hosts)
        self._load_gpus(hosts, prices, gpus_by_host)
        self._load_servers(hosts, servers)
        if self.loads is None:
            self._load_deployment_load(hosts)
        for host in hosts.values():
            self._deployment(host).hosts.append(host)
        return list(hosts.values())

    def _deployment(self, host: HostStats) -> DeploymentStats:
        dep = self.deployments.get(host.deployment)
        if dep is None:
            dep = self.deployments[host.deployment] = DeploymentStats(host.deployment, host.th, self.window_s)
            if self.loads is not None:
                dep.load_by_hour = self.loads.get(host.deployment, {})
        return dep

    def _sums(self, model, key: str, ids, **aggregates):
        """Per entity, the window's hourly rows summed in SQL: covered seconds plus `aggregates`."""
        return (
            model.objects.filter(self._window(**{f"{key}__in": list(ids)}))
            .values(key)
            .annotate(covered=Sum("covered_s"), **aggregates)
        )

    def _load_host_rollups(self, hosts: dict[int, HostStats]) -> None:
        rows = self._sums(
            HostRollup,
            "host_id",
            hosts,
            cpu_max=Max("cpu_pct_max"),
            mem_max=Max("mem_used_bytes_max"),
            **_hist_sums("cpu"),
        )
        for row in rows:
            host = hosts[row["host_id"]]
            host.covered_s, host.cpu_max, host.mem_used_max = row["covered"] or 0.0, row["cpu_max"], row["mem_max"]
            host.cpu_hist = _hist(row, "cpu")

    def _load_gpus(self, hosts: dict[int, HostStats], prices: dict[int, float], counts: dict[int, int]) -> None:
        by_id: dict[int, GpuStats] = {}
        for g in Gpu.objects.filter(host_id__in=list(hosts), active=True).order_by("host_id", "index"):
            gpu_type = match_gpu_type(g.name, g.memory_total_bytes, self.types)
            host_price = prices.get(g.host_id)
            user = True
            if host_price is not None:
                price, label = host_price / counts[g.host_id], f"${host_price:.2f}/h for the host (your price)"
            elif gpu_type is not None:
                price, label, user = gpu_type.price_usd, gpu_type.price_label, gpu_type.price_override_usd is not None
            else:
                price, label, user = None, f"no price: {g.name} is not in the GPU catalog", False
            info = type_info(gpu_type) if gpu_type else None
            stats = GpuStats(g.pk, g.uuid, g.index, g.name, g.memory_total_bytes, info, price, label, user)
            hosts[g.host_id].gpus.append(stats)
            by_id[g.pk] = stats
        rows = self._sums(
            GpuRollup,
            "gpu_id",
            by_id,
            util_max=Max("util_pct_max"),
            mem_max=Max("mem_used_bytes_max"),
            **_wmean("util_pct_mean"),
            **_wmean("power_w_mean"),
            **_hist_sums("util"),
        )
        for row in rows:
            gpu = by_id[row["gpu_id"]]
            gpu.covered_s, gpu.util_max, gpu.mem_used_max = row["covered"] or 0.0, row["util_max"], row["mem_max"]
            gpu.util_mean, gpu.power_mean_w = _mean(row, "util_pct_mean"), _mean(row, "power_w_mean")
            gpu.util_hist = _hist(row, "util")

    def _load_servers(self, hosts: dict[int, HostStats], servers: list[InferenceServer]) -> None:
        by_id: dict[int, ServerStats] = {}
        for s in servers:
            stats = ServerStats(s.pk, s.server_id, s.kind, s.model, s.dtype, s.quantization, s.tensor_parallel or 1,
                                s.max_batch_size, [g.pk for g in s.gpus.all()],
                                match_model(s.model, self.specs))  # fmt: skip
            hosts[s.host_id].servers.append(stats)
            by_id[s.pk] = stats
        rows = self._sums(
            ServerRollup,
            "server_id",
            by_id,
            kv_max=Max("kv_cache_pct_max"),
            preempted=Sum("preempted_sum"),
            requests_max=Max("requests_ps_max"),
            gen_max=Max("gen_tps_max"),
            **_wmean("running_mean"),
            **_wmean("waiting_mean"),
            **_wmean("batch_size_mean"),
            **_wmean("gen_tps_mean"),
            **_hist_sums("kv"),
        )
        for row in rows:
            s = by_id[row["server_id"]]
            s.covered_s, s.kv_max, s.preempted_sum = row["covered"] or 0.0, row["kv_max"], row["preempted"]
            s.requests_ps_max, s.gen_tps_max = row["requests_max"], row["gen_max"]
            s.running_mean, s.waiting_mean = _mean(row, "running_mean"), _mean(row, "waiting_mean")
            s.batch_mean, s.gen_tps_mean = _mean(row, "batch_size_mean"), _mean(row, "gen_tps_mean")
            s.kv_hist = _hist(row, "kv")
        # The queue as the hours saw it: the p95 of hourly means, and how many hours had traffic.
        # …and how many of the busy hours ran at the batch limit (the hourly mean within 10% of it).
        hourly: dict[int, list[tuple[float, bool, float]]] = {}
        busy = Q(requests_ps_mean__gt=0) | Q(gen_tps_mean__gt=0) | Q(running_mean__gt=0)
        for server_id, waiting, is_busy, running in (
            ServerRollup.objects.filter(self._window(server_id__in=list(by_id)))
            .annotate(is_busy=Case(When(busy, then=1), default=0))
            .values_list("server_id", "waiting_mean", "is_busy", "running_mean")
        ):
            hourly.setdefault(server_id, []).append((waiting or 0.0, bool(is_busy), running or 0.0))
        for server_id, hours in hourly.items():
            s = by_id[server_id]
            waits = sorted(w for w, _, _ in hours)
            s.waiting_p95_hourly = waits[max(0, math.ceil(0.95 * len(waits)) - 1)]
            s.busy_hours_share = sum(b for _, b, _ in hours) / len(hours)
            busy_hours = [r for _, b, r in hours if b]
            if s.max_batch_size and busy_hours:
                s.at_limit_share = sum(r >= 0.9 * s.max_batch_size for r in busy_hours) / len(busy_hours)

    def _deployment_loads(self) -> dict[str, dict[int, float]] | None:
        """Σ of the active GPUs' hourly mean utilization per deployment and hour, in one pass over the window.

        One grouped query for the fleet: asked per chunk of hosts, PostgreSQL scanned the whole hourly
        table each time (the chunk's GPUs are too many for the primary key to pay), so the analysis grew
        with hosts². None when it fails (a sum that overflows): each chunk then sums its own hosts. Either
        way a host that cannot be loaded adds no load to its deployment (run() sums that deployment again).
        """
        loads: dict[str, dict[int, float]] = {}
        try:
            with transaction.atomic():
                jit_off()
                rows = list(
                    GpuRollup.objects.filter(self._window(gpu__active=True))
                    .values("gpu__host__deployment", "ts")
                    .annotate(load=Sum(Cast("util_pct_mean", FloatField())))
                    .values_list("gpu__host__deployment", "ts", "load")
                )
        except Exception as exc:
            log.warning("event=analysis_deployment_load_failed error=%s action=per_chunk", type(exc).__name__)
            return None
        for deployment, ts, load in rows:
            loads.setdefault(deployment, {})[int(ts.timestamp())] = load or 0.0
        return loads

    def _load_deployment_load(self, hosts: dict[int, HostStats]) -> None:
        """Σ of the GPUs' hourly mean utilization, per deployment and hour, for one chunk's hosts."""
        rows = (
            GpuRollup.objects.filter(self._window(gpu__host_id__in=list(hosts), gpu__active=True))
            .values("gpu__host_id", "ts")
            .annotate(load=Sum(Cast("util_pct_mean", FloatField())))
            .values_list("gpu__host_id", "ts", "load")
        )
        for host_id, ts, load in list(rows):  # every row read before any deployment changes
            dep = self._deployment(hosts[host_id])
            key = int(ts.timestamp())
            dep.load_by_hour[key] = dep.load_by_hour.get(key, 0.0) + (load or 0.0)


def _isolated(what: str, work: Callable[[], list]) -> list:
    """`work()`, or nothing when it fails: one host's (or deployment's) failure is logged, not the fleet's."""
    try:
        return work()
    except Exception as exc:
        log.exception("event=analysis_failed %s error=%s action=skipped", what, type(exc).__name__)
        return []
