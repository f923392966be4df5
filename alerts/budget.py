"""A deployment's spend this calendar month (UTC) and its forecast to the month's end.

Spend so far: each host's hourly cost (its fleet-page cost, HostSummary.usd_month ÷ 730) times the
hours its hourly rollups cover since the 1st. Forecast: that, plus the hourly cost of the hosts
reporting now times the hours left in the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Sum

from recommender.models import HostSummary
from recommender.savings import HOURS_PER_MONTH
from telemetry.models import Host, HostRollup
from telemetry.models.rollups import PERIOD_1H


@dataclass(frozen=True)
class Spend:
    month_to_date_usd: float
    forecast_usd: float  # month to date + the rest of the month at today's rate
    hourly_usd: float
    priced_hosts: int
    hosts: int


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def spend(deployment: str, now: datetime) -> Spend:
    start, end = month_bounds(now)
    hosts = list(Host.objects.filter(deployment=deployment).values_list("pk", "last_seen"))
    ids = [pk for pk, _ in hosts]
    rates = {h: usd / HOURS_PER_MONTH for h, usd in HostSummary.objects.filter(host_id__in=ids, usd_month__isnull=False)
             .values_list("host_id", "usd_month")}  # fmt: skip
    covered = dict(HostRollup.objects.filter(host_id__in=ids, period_s=PERIOD_1H, ts__gte=start, ts__lt=end)
                   .values_list("host_id").annotate(s=Sum("covered_s")).values_list("host_id", "s"))  # fmt: skip
    mtd = sum(rates.get(h, 0.0) * (covered.get(h) or 0.0) / 3600 for h in ids)
    offline_after = settings.HOST_OFFLINE_AFTER_S
    reporting = [h for h, seen in hosts if seen is not None and (now - seen).total_seconds() <= offline_after]
    hourly = sum(rates.get(h, 0.0) for h in reporting)
    hours_left = max((end - now).total_seconds() / 3600, 0.0)
    return Spend(round(mtd, 2), round(mtd + hourly * hours_left, 2), hourly, len(rates), len(ids))
