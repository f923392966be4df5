"""The fleet page's per-host figures (HostSummary): cost, GPU memory need, 24 h utilization, idle GPUs, energy.

Computed in chunks of hosts from the hourly rollups, with a handful of grouped queries
per chunk; run by the beat every few minutes and after each analysis.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, F, FloatField, Max, Sum
from django.utils import timezone

from recommender import cpu_price, memory
from recommender.catalog import match_gpu_type, match_model
from recommender.in_force import InForce
from recommender.models import GpuType, HostPrice, HostSummary, ModelSpec
from recommender.plan import plural
from recommender.savings import HOURS_PER_MONTH
from telemetry.models import Gpu, GpuRollup, Host, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H
from telemetry.rollups import floor_to

log = logging.getLogger(__name__)
CHUNK_HOSTS = 500
SPARK_HOURS = 24


def host_cost(host: Host, gpus: list[Gpu], types: list[GpuType], host_price: float | None) -> tuple[float | None, str]:
    """Monthly cost and where it came from: the host's own price, else its GPUs' types, else its vCPUs and
    memory (recommender.cpu_price, the basis host_rightsize prices today's host on)."""
    if host_price is not None:
        return round(host_price * HOURS_PER_MONTH, 2), f"${host_price:.2f}/h for the host (your price)"
    if gpus:
        usd, labels, unpriced = 0.0, [], 0
        for name, group in _by_name(gpus).items():
            gpu_type = match_gpu_type(name, group[0].memory_total_bytes, types)
            if gpu_type is None:
                unpriced += len(group)
                continue
            usd += len(group) * gpu_type.price_usd
            labels.append(f"{len(group)} × {gpu_type.price_label}")
        if unpriced:
            labels.append(f"{plural(unpriced, 'GPU')} not in the catalog, not counted")
        return (round(usd * HOURS_PER_MONTH, 2) if labels and unpriced < len(gpus) else None), "; ".join(labels)
    if host.cpu_count:
        hourly = cpu_price.host_hourly(host.cpu_count, host.mem_total_bytes, settings.VCPU_HOURLY_USD)
        label = cpu_price.host_label(host.cpu_count, host.mem_total_bytes, settings.VCPU_HOURLY_USD)
        return round(hourly * HOURS_PER_MONTH, 2), label
    return None, "no price: no GPU and no CPU count"


def _by_name(gpus: list[Gpu]) -> dict[str, list[Gpu]]:
    groups: dict[str, list[Gpu]] = defaultdict(list)
    for g in gpus:
        groups[g.name].append(g)
    return groups


def gpu_types_label(gpus: list[Gpu]) -> str:
    return ", ".join(f"{n}× {name}" for name, n in Counter(g.name for g in gpus).most_common())


class Summarizer:
    def __init__(self, now: datetime | None = None):
        self.now = now or timezone.now()
        self.hi = floor_to(self.now, PERIOD_1H)
        self.lo = self.hi - timedelta(hours=SPARK_HOURS)
        self.month_start = self.now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        self.types = list(GpuType.objects.all())
        self.specs = list(ModelSpec.objects.all())
        self.thresholds = InForce()

    def run(self, host_ids: list[int] | None = None) -> int:
        hosts = Host.objects.order_by("pk")
        ids = list((hosts if host_ids is None else hosts.filter(pk__in=host_ids)).values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK_HOSTS):
            rows = self._chunk(ids[start : start + CHUNK_HOSTS])
            with transaction.atomic():
                HostSummary.objects.filter(host_id__in=[r.host_id for r in rows]).delete()
                HostSummary.objects.bulk_create(rows, batch_size=500)
        return len(ids)

    def _chunk(self, ids: list[int]) -> list[HostSummary]:
        hosts = Host.objects.filter(pk__in=ids).in_bulk()
        prices = dict(HostPrice.objects.filter(host_id__in=ids).values_list("host_id", "hourly_usd"))
        gpus: dict[int, list[Gpu]] = defaultdict(list)
        for g in Gpu.objects.filter(host_id__in=ids, active=True).order_by("host_id", "index"):
            gpus[g.host_id].append(g)
        gpu_ids = [g.pk for group in gpus.values() for g in group]
        hourly = self._hourly_util(ids)
        per_gpu = {
            row["gpu_id"]: row
            for row in GpuRollup.objects.filter(period_s=PERIOD_1H, ts__gte=self.lo, ts__lt=self.hi, gpu_id__in=gpu_ids)
            .values("gpu_id")
            .annotate(util_max=Max("util_pct_max"), util_mean=Avg("util_pct_mean"), mem_max=Max("mem_used_bytes_max"))
        }
        energy = dict(
            GpuRollup.objects.filter(period_s=PERIOD_1H, ts__gte=self.month_start, ts__lt=self.hi, gpu__host_id__in=ids)
            .values("gpu__host_id")
            .annotate(ws=Sum(F("power_w_mean") * F("covered_s"), output_field=FloatField()))
            .values_list("gpu__host_id", "ws")
        )
        needs = self._server_needs(ids)
        rows = []
        for host_id, host in hosts.items():
            host_gpus = gpus.get(host_id, [])
            usd, label = host_cost(host, host_gpus, self.types, prices.get(host_id))
            need, basis = self._host_need(host_gpus, per_gpu, needs.get(host_id, {}))
            seen = [per_gpu[g.pk] for g in host_gpus if g.pk in per_gpu]
            utils = [row["util_mean"] for row in seen if row["util_mean"] is not None]
            th = self.thresholds.for_deployment(host.deployment)
            idle_line = th["idle_util_p99_pct"]
            idle = sum(1 for g in host_gpus if g.pk in per_gpu and (per_gpu[g.pk]["util_max"] or 0) < idle_line)
            series = [hourly.get((host_id, self.lo + timedelta(hours=i))) for i in range(SPARK_HOURS)]
            rows.append(HostSummary(
                host_id=host_id, updated_at=self.now, gpu_count=len(host_gpus), gpu_types=gpu_types_label(host_gpus),
                gpu_memory_bytes=sum(g.memory_total_bytes for g in host_gpus), memory_need_bytes=need,
                memory_need_basis=basis[:255], usd_month=usd, price_label=label[:255],
                util_mean_pct=round(sum(utils) / len(utils), 1) if utils else None,
                util_hourly=[None if v is None else round(v, 1) for v in series], idle_gpus=idle,
                energy_kwh_month=round((energy.get(host_id) or 0.0) / 3600 / 1000, 1),
            ))  # fmt: skip
        return rows

    def _hourly_util(self, ids: list[int]) -> dict[tuple[int, datetime], float]:
        rows = (
            GpuRollup.objects.filter(
                period_s=PERIOD_1H, ts__gte=self.lo, ts__lt=self.hi, gpu__host_id__in=ids, gpu__active=True
            )  # fmt: skip
            .values("gpu__host_id", "ts")
            .annotate(util=Avg("util_pct_mean"))
            .values_list("gpu__host_id", "ts", "util")
        )
        return {(host_id, ts): util for host_id, ts, util in rows if util is not None}

    def _server_needs(self, ids: list[int]) -> dict[int, dict[int, tuple[float, str]]]:
        """Per host, per GPU id: the share of its server's peak need (weights + KV in use + overhead)."""
        servers = list(InferenceServer.objects.filter(host_id__in=ids, active=True).prefetch_related("gpus"))
        kv_peak = dict(
            ServerRollup.objects.filter(
                period_s=PERIOD_1H, ts__gte=self.lo, ts__lt=self.hi, server_id__in=[s.pk for s in servers]
            )  # fmt: skip
            .values("server_id")
            .annotate(kv=Max("kv_cache_pct_max"))
            .values_list("server_id", "kv")
        )
        out: dict[int, dict[int, tuple[float, str]]] = defaultdict(dict)
        for s in servers:
            server_gpus = list(s.gpus.all())
            match = match_model(s.model, self.specs)
            if match is None or not server_gpus:
                continue
            try:
                need = memory.memory_need(match.shape, s.dtype, s.quantization or None, len(server_gpus),
                                          server_gpus[0].memory_total_bytes, kv_peak.get(s.pk))  # fmt: skip
            except (memory.UnknownDtype, ValueError):
                continue
            for g in server_gpus:
                out[s.host_id][g.pk] = (need.total / len(server_gpus), need.basis)
        return out

    @staticmethod
    def _host_need(gpus: list[Gpu], per_gpu: dict, served: dict[int, tuple[float, str]]) -> tuple[float | None, str]:
        """Σ over GPUs: the server's need where a known model runs, else NVML's peak memory used (an upper bound)."""
        total, bases, missing = 0.0, set(), 0
        for g in gpus:
            if g.pk in served:
                total += served[g.pk][0]
                bases.add("model weights + KV cache in use")
            elif per_gpu.get(g.pk, {}).get("mem_max") is not None:
                total += per_gpu[g.pk]["mem_max"]
                bases.add("NVML memory used (upper bound)")
            else:
                missing += 1
        if not gpus or missing == len(gpus):
            return None, "no data yet" if gpus else "no GPU"
        basis = " and ".join(sorted(bases)) + (f"; {plural(missing, 'GPU')} without data" if missing else "")
        return round(total), basis


def summarize(now: datetime | None = None, host_ids: list[int] | None = None) -> int:
    started = time.monotonic()
    count = Summarizer(now).run(host_ids)
    log.info("event=summary_done hosts=%d seconds=%.2f", count, time.monotonic() - started)
    return count


def summarize_new_hosts(now: datetime | None = None) -> int:
    """Hosts that have no summary yet (registered since the last run): one indexed query when there are none."""
    ids = list(Host.objects.filter(summary__isnull=True).values_list("pk", flat=True)[:CHUNK_HOSTS])
    try:
        return summarize(now, ids) if ids else 0
    except IntegrityError:  # the 5-minute run or an analysis summarised them at the same moment
        log.info("event=summary_skipped reason=concurrent_summary hosts=%d", len(ids))
        return 0
