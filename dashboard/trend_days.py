"""Sum each host's UTC day from the hourly rollups into TrendDay, once per day, for the trends page.

Three grouped queries per chunk of hosts (host, GPU and server rollups), each walking the
rollups' primary key (entity, period_s, ts) with the chunk's ids: the tables also hold the
5-minute tier and a year of hours, which a scan by time alone would read whole.
A day is final once it was summed SETTLE_S after it ended (its last hour rolled up by then);
a day summed earlier is summed again, at most every REFRESH_S.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F, FloatField, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from dashboard.models import TrendDay, TrendDayDone
from recommender.catalog import match_model
from recommender.models import ModelSpec
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H

log = logging.getLogger(__name__)

SETTLE_S = 2 * 3600  # the hourly tier is rolled up minutes after each hour: two hours leave room for a slow beat
REFRESH_S = 900
# A page sums up to ~240,000 GPU rollup rows while one waits (a second or two): 90 days of a 110-GPU fleet; a
# larger fleet's days are summed by the hourly job alone.
INLINE_GPU_DAYS = 10_000
RUN_DAYS = 7  # a week of a 4,000 × 8-GPU fleet is ~40 s of summing: well inside the task's time limit
CHUNK_HOSTS = 500  # ids per IN list: ~4,000 GPU ids at 8 a host, well inside every database's parameter limit

LLM_KINDS = {"vllm", "tgi", "sglang"}  # servers that only serve generative language models

FIELDS = ("host_s", "gpu_s", "gpu_busy_s", "tokens")


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def ensure(first: date, last: date, now: datetime | None = None, budget_gpu_days: int | None = None) -> int:
    """Sum the days first..last (inclusive) that are not summed yet or not final, the latest first; return how many
    were never summed (they show empty). With a budget, only as many days as budget_gpu_days covers at the fleet's
    GPU count, maybe none: a page sums what it can while a person waits, the hourly job (dashboard.tasks) the rest."""
    now = now or timezone.now()
    todo = _stale_days(first, last, now)
    if budget_gpu_days is not None and todo:
        allowed = budget_gpu_days // max(1, Gpu.objects.count())
        todo = todo[max(0, len(todo) - allowed) :] if allowed else []
    for run in _runs(todo):
        _sum_run(run, now)
    return (last - first).days + 1 - TrendDayDone.objects.filter(day__gte=first, day__lte=last).count()


def _stale_days(first: date, last: date, now: datetime) -> list[date]:
    done = dict(TrendDayDone.objects.filter(day__gte=first, day__lte=last).values_list("day", "computed_at"))
    out, day = [], first
    while day <= last:
        at = done.get(day)
        final = at is not None and at >= day_start(day) + timedelta(days=1, seconds=SETTLE_S)
        fresh = at is not None and now - at < timedelta(seconds=REFRESH_S)
        if not (final or fresh):
            out.append(day)
        day += timedelta(days=1)
    return out


def _runs(days: list[date]) -> list[list[date]]:
    """Consecutive days together, up to RUN_DAYS (one set of queries and one transaction each), the latest first: a
    job stopped at its time limit keeps the runs it finished, and the days people look at first come first."""
    runs: list[list[date]] = []
    for day in days:
        if runs and runs[-1][-1] + timedelta(days=1) == day and len(runs[-1]) < RUN_DAYS:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs[::-1]


def _sum_run(days: list[date], now: datetime) -> None:
    lo, hi = day_start(days[0]), day_start(days[-1]) + timedelta(days=1)
    totals: dict[tuple[int, date], dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0.0))
    ids = list(Host.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK_HOSTS):
        _sum_chunk(ids[start : start + CHUNK_HOSTS], lo, hi, totals)
    rows = [TrendDay(host_id=h, day=d, **v) for (h, d), v in totals.items()]
    with transaction.atomic():
        TrendDay.objects.filter(day__gte=days[0], day__lte=days[-1]).delete()
        TrendDay.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        TrendDayDone.objects.bulk_create(
            [TrendDayDone(day=d, computed_at=now) for d in days],
            update_conflicts=True, update_fields=["computed_at"], unique_fields=["day"],
        )  # fmt: skip
    log.info("trend_days_summed first=%s last=%s rows=%d", days[0], days[-1], len(rows))


def _sum_chunk(host_ids: list[int], lo: datetime, hi: datetime, totals: dict) -> None:
    window = {"period_s": PERIOD_1H, "ts__gte": lo, "ts__lt": hi}
    day = TruncDate("ts", tzinfo=UTC)
    hosts = (HostRollup.objects.filter(host_id__in=host_ids, **window)
             .values("host_id", day=day).annotate(host_s=Sum("covered_s")))  # fmt: skip
    for r in hosts:
        totals[(r["host_id"], r["day"])]["host_s"] = r["host_s"] or 0.0
    gpu_ids = list(Gpu.objects.filter(host_id__in=host_ids).values_list("pk", flat=True))
    busy = Sum(F("util_pct_mean") * F("covered_s") / 100.0, output_field=FloatField())
    gpus = (GpuRollup.objects.filter(gpu_id__in=gpu_ids, util_pct_mean__isnull=False, **window)
            .values(h=F("gpu__host_id"), day=day).annotate(gpu_s=Sum("covered_s"), gpu_busy_s=busy))  # fmt: skip
    for r in gpus:
        t = totals[(r["h"], r["day"])]
        t["gpu_s"], t["gpu_busy_s"] = r["gpu_s"] or 0.0, r["gpu_busy_s"] or 0.0
    server_ids = token_servers(host_ids)
    servers = (ServerRollup.objects.filter(server_id__in=server_ids, gen_tps_mean__isnull=False, **window)
               .values(h=F("server__host_id"), day=day)
               .annotate(tokens=Sum(F("gen_tps_mean") * F("covered_s"), output_field=FloatField())))  # fmt: skip
    for r in servers:
        totals[(r["h"], r["day"])]["tokens"] = r["tokens"] or 0.0


def token_servers(host_ids: list[int]) -> list[int]:
    """The hosts' servers whose gen_tps counts as generated tokens: every server of an LLM serving kind
    (LLM_KINDS), and one of another kind (triton, torchserve, …) only where its model is an LLM the catalog knows
    (by name, or by a size in the name such as "70B"). A Triton image model's inferences are not tokens."""
    specs = list(ModelSpec.objects.all())
    servers = InferenceServer.objects.filter(host_id__in=host_ids).values_list("pk", "kind", "model")
    return [pk for pk, kind, model in servers if kind in LLM_KINDS or match_model(model, specs) is not None]


def drop_before(first: date) -> int:
    """Delete the days before `first` (past the longest range a page shows); return how many host-days went."""
    TrendDayDone.objects.filter(day__lt=first).delete()
    return TrendDay.objects.filter(day__lt=first).delete()[0]
