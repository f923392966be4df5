"""The chart time range from the query string, and the storage tier that fits it.

`?range=1h|24h|7d|30d`, or `?from=&to=` in Unix seconds (the custom picker). A range of a
few hours reads raw samples; up to three days the 5-minute rollups; longer, the hourly
ones, so a chart never reads more than about a thousand rows per series. A tier whose
retention does not reach back to the range's start gives way to the next coarser one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from telemetry.models.rollups import PERIOD_1H, PERIOD_5M

PRESETS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RAW_UP_TO = timedelta(hours=3)
FIVE_MIN_UP_TO = timedelta(days=3)
LONGEST = timedelta(days=400)


class BadRange(ValueError):
    pass


@dataclass(frozen=True)
class TimeRange:
    lo: datetime
    hi: datetime
    period_s: int | None  # None: raw samples
    label: str

    @property
    def tier(self) -> str:
        return {None: "raw", PERIOD_5M: "5m", PERIOD_1H: "1h"}[self.period_s]

    def as_json(self) -> dict:
        return {"from": int(self.lo.timestamp() * 1000), "to": int(self.hi.timestamp() * 1000), "tier": self.tier,
                "label": self.label}  # fmt: skip


def _retained_since(period_s: int | None, now: datetime) -> datetime:
    days = {None: settings.RETENTION_RAW_DAYS, PERIOD_5M: settings.RETENTION_5M_DAYS,
            PERIOD_1H: settings.RETENTION_1H_DAYS}[period_s]  # fmt: skip
    return now - timedelta(days=days)


def tier_for(lo: datetime, hi: datetime, now: datetime, finest: int | None = None) -> int | None:
    span = hi - lo
    order: list[int | None] = [None, PERIOD_5M, PERIOD_1H]
    if span <= RAW_UP_TO:
        start = 0
    elif span <= FIVE_MIN_UP_TO:
        start = 1
    else:
        start = 2
    if finest is not None:
        start = max(start, order.index(finest))
    for period in order[start:]:
        if period == PERIOD_1H or lo >= _retained_since(period, now):
            return period
    return PERIOD_1H


def _epoch(value: str, name: str) -> datetime:
    try:
        seconds = float(value)
    except ValueError:
        raise BadRange(f"'{name}' must be Unix seconds, e.g. {int(timezone.now().timestamp())}") from None
    if seconds != seconds or not 0 <= seconds < 10**11:
        raise BadRange(f"'{name}' is out of range: give Unix seconds")
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse(params, now: datetime | None = None, finest: int | None = None) -> TimeRange:
    """The range a request asks for; BadRange says what was wrong."""
    now = now or timezone.now()
    if params.get("from") or params.get("to"):
        if not (params.get("from") and params.get("to")):
            raise BadRange("a custom range needs both 'from' and 'to'")
        lo, hi = _epoch(params["from"], "from"), _epoch(params["to"], "to")
        if lo >= hi:
            raise BadRange("'from' must be before 'to'")
        if hi - lo > LONGEST:
            raise BadRange(f"a range can span at most {LONGEST.days} days")
        hi = min(hi, now)
        if lo >= hi:
            raise BadRange("the range lies in the future")
        return TimeRange(lo, hi, tier_for(lo, hi, now, finest), "custom")
    name = params.get("range") or "24h"
    if name not in PRESETS:
        raise BadRange(f"unknown range {name!r}: use {', '.join(PRESETS)} or 'from' and 'to'")
    lo = now - PRESETS[name]
    return TimeRange(lo, now, tier_for(lo, now, now, finest), name)


def problem(params, now: datetime | None = None) -> str | None:
    """What is wrong with the range a page's URL asks for, or None (no range asked for counts as fine):
    the page shows this and its default range rather than charts that fail to load."""
    if not any(params.get(k) for k in ("range", "from", "to")):
        return None
    try:
        parse(params, now)
    except BadRange as exc:
        return str(exc)
    return None
