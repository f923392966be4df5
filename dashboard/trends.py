"""Trends: the fleet's daily cost and utilization, cost per million tokens per deployment, cost split by a label.

Read from TrendDay (dashboard.trend_days sums each host's UTC day from the hourly rollups, once),
and priced at each host's hourly price today, as the fleet page prices it: the user's HostPrice where
one is set, else the summary's monthly cost ÷ 730. One grouped query per series, whatever the fleet
size; the days are the last N complete UTC days, or any whole UTC days within the last MAX_DAYS (from/to). A label
value drills down to its hosts: the same daily series over them alone, and the list of them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, FloatField, Max, Min, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from dashboard import trend_days
from dashboard.models import TrendDay, TrendDayDone
from recommender.savings import HOURS_PER_MONTH
from telemetry import units
from telemetry.models import Gpu, Host

DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 90
MAX_DAYS = 90
MAX_KEY_CHARS = 100
MAX_VALUE_CHARS = 255  # the longest label value ingest accepts
TOP_DEPLOYMENTS = 8  # lines on the cost-per-token chart; the table lists every deployment
UNLABELLED = "(unlabelled)"
MAX_DRILL_HOSTS = 200  # hosts listed under a label value, the costliest first; the page says how many more
CACHE_S = 3600

HOURLY_USD = Coalesce(F("host__price__hourly_usd"), F("host__summary__usd_month") / float(HOURS_PER_MONTH),
                      output_field=FloatField())  # fmt: skip
COST = Sum(F("host_s") / 3600.0 * HOURLY_USD, output_field=FloatField())


class BadQuery(ValueError):
    """A query value the page cannot use; its message says what to send instead."""


@dataclass
class Query:
    days: int
    key: str
    note: str = ""  # what was changed from the request (a clamped number of days or date)
    first: date | None = None  # a range of whole UTC days (from/to), else the last `days` days
    last: date | None = None
    value: str | None = None  # a label value to drill into (UNLABELLED: the hosts without the key)

    @property
    def dated(self) -> bool:
        return self.first is not None


def parse(params: QueryDict, keys: list[str], now: datetime | None = None) -> Query:
    """days (1 to MAX_DAYS, clamped with a note) or from/to (whole UTC days, inclusive); key (a label key; the
    fleet's most common by default) and value (one of its values, to drill into)."""
    raw = params.get("days", "").strip()
    try:
        days = int(raw) if raw else DEFAULT_DAYS
    except ValueError:
        raise BadQuery(f"days must be a whole number of days from 1 to {MAX_DAYS}, e.g. days=30.") from None
    note = ""
    if not 1 <= days <= MAX_DAYS:
        days = min(max(days, 1), MAX_DAYS)
        note = f"Showing {days} day{'s' if days > 1 else ''}: the trends cover 1 to {MAX_DAYS} days."
    key = params.get("key", "") or (keys[0] if keys else "")
    if len(key) > MAX_KEY_CHARS:
        raise BadQuery(f"A label key is at most {MAX_KEY_CHARS} characters; this one has {len(key)}.")
    value = params.get("value")
    if value is not None and len(value) > MAX_VALUE_CHARS:
        raise BadQuery(f"A label value is at most {MAX_VALUE_CHARS} characters; this one has {len(value)}.")
    query = Query(days, key, note, value=value or None)
    if params.get("from", "").strip() or params.get("to", "").strip():
        _dated(query, params.get("from", "").strip(), params.get("to", "").strip(), now)
    return query


def _dated(query: Query, raw_from: str, raw_to: str, now: datetime | None) -> None:
    """from/to as the query's range: either may be left out (the kept history's first day, yesterday); a day
    before the kept history or after the last complete one is clamped with a note; from after to, or a range
    wholly outside the kept days, answers 400 with the days it could show."""
    kept_first, kept_last = window(MAX_DAYS, now)
    first = _day("from", raw_from) if raw_from else kept_first
    last = _day("to", raw_to) if raw_to else kept_last
    span = f"the trends keep {kept_first} to {kept_last} (the last {MAX_DAYS} complete UTC days)"
    if first > last:
        raise BadQuery(f"from ({first}) is after to ({last}): send from=YYYY-MM-DD on or before to=YYYY-MM-DD.")
    if last < kept_first or first > kept_last:
        raise BadQuery(f"{first} to {last} is outside the days kept: {span}.")
    notes = []
    if first < kept_first:
        first, notes = kept_first, [f"Starting at {kept_first}: {span}."]
    if last > kept_last:
        last = kept_last
        notes.append(f"Ending at {kept_last}: the last complete UTC day (today's is not over).")
    query.first, query.last, query.days = first, last, (last - first).days + 1
    query.note = " ".join(notes)


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a day as YYYY-MM-DD, e.g. {name}=2026-03-01; got {raw[:20]!r}.") from None


def window(days: int, now: datetime | None = None) -> tuple[date, date]:
    """The last `days` complete UTC days: first and last, inclusive."""
    last = (now or timezone.now()).astimezone(UTC).date() - timedelta(days=1)
    return last - timedelta(days=days - 1), last


def range_of(query: Query, now: datetime | None = None) -> tuple[date, date]:
    """The query's days: its from/to, or the last `days` complete UTC days."""
    return (query.first, query.last) if query.dated else window(query.days, now)


def data_start(first: date, last: date) -> date:
    """The range's first day with data, or `first` where it has none or data from its first day: the charts and
    the CSV start there, so 14 days of data in a 90-day range do not read as 90 days of cost."""
    found = _in(first, last).filter(host_s__gt=0).aggregate(day=Min("day"))["day"]
    return max(first, found) if found else first


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _ms(day: date, hours: int = 0) -> int:
    return int((trend_days.day_start(day) + timedelta(hours=hours)).timestamp() * 1000)


def _in(first: date, last: date):
    return TrendDay.objects.filter(day__gte=first, day__lte=last)


def by_day_and_deployment(first: date, last: date) -> list[dict]:
    """One pass over the range's host-days: per day and deployment, cost, tokens, GPU-seconds and busy ones."""
    return list(_in(first, last).values("day", name=F("host__deployment")).annotate(
        cost=COST, tokens=Sum("tokens"), gpu_s=Sum("gpu_s"), busy_s=Sum("gpu_busy_s")).order_by())  # fmt: skip


def scans(first: date, last: date) -> tuple[list[dict], list[dict]]:
    """by_day_and_deployment and by_host, kept in the cache until a day of the range is summed again or a host's
    price or deployment changes: each reads every host-day of the range (360,000 rows at 4,000 hosts × 90 days),
    and another label key or another viewer needs neither again."""
    prices = hourly_prices()
    deployments = list(Host.objects.values_list("pk", "deployment").order_by("pk"))
    done = TrendDayDone.objects.filter(day__gte=first, day__lte=last).aggregate(at=Max("computed_at"), n=Count("day"))
    state = repr((first, last, done["at"], done["n"], sorted(prices.items()), deployments))
    key = "trends:scans:" + hashlib.sha256(state.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = (by_day_and_deployment(first, last), by_host(first, last, prices))
        cache.set(key, found, CACHE_S)
    return found


def by_host(first: date, last: date, prices: dict[int, float]) -> list[dict]:
    """One pass over the range's host-days, without a join: per host that reported, its hours, GPU-seconds and busy
    ones; then its cost, its hourly price today × its hours (one price over the whole range), and the price itself
    (None: unpriced)."""
    rows = list(_in(first, last).values("host_id").annotate(
        host_s=Sum("host_s"), gpu_s=Sum("gpu_s"), busy_s=Sum("gpu_busy_s")).order_by())  # fmt: skip
    for r in rows:
        r["hourly"] = prices.get(r["host_id"])
        r["cost"] = None if r["hourly"] is None else r["hourly"] * (r["host_s"] or 0.0) / 3600
    return rows


def hourly_prices() -> dict[int, float]:
    """Each priced host's hourly price today, as HOURLY_USD reads it."""
    return {pk: usd for pk, usd in Host.objects.annotate(usd=Coalesce(
        F("price__hourly_usd"), F("summary__usd_month") / float(HOURS_PER_MONTH), output_field=FloatField()))
        .filter(usd__isnull=False).values_list("pk", "usd").order_by()}  # fmt: skip


def fleet_daily(rows: list[dict], first: date, last: date) -> dict:
    """Per day: cost (USD), mean GPU utilization (%, time-weighted), GPUs busy and idle (daily means)."""
    days: dict[date, dict] = {}
    for r in rows:
        d = days.setdefault(r["day"], {"cost": None, "gpu_s": 0.0, "busy_s": 0.0})
        d["cost"] = _add(d["cost"], r["cost"])
        d["gpu_s"] += r["gpu_s"] or 0.0
        d["busy_s"] += r["busy_s"] or 0.0
    out: dict[str, list] = {"t": [], "cost_usd": [], "util_pct": [], "gpus_busy": [], "gpus_idle": []}
    for day in _days(first, last):
        d = days.get(day) or {"cost": None, "gpu_s": 0.0, "busy_s": 0.0}
        gpu_s, busy_s = d["gpu_s"], d["busy_s"]
        out["t"].append(_ms(day, 12))  # noon UTC: the day's date in every zone within 12 h of UTC
        out["cost_usd"].append(_round(d["cost"]))
        out["util_pct"].append(_round(100 * busy_s / gpu_s) if gpu_s else None)
        out["gpus_busy"].append(_round(busy_s / 86400) if gpu_s else None)
        out["gpus_idle"].append(_round((gpu_s - busy_s) / 86400) if gpu_s else None)
    out["total_usd"] = _round(sum(c for c in out["cost_usd"] if c is not None))
    return out


def _add(total: float | None, value: float | None) -> float | None:
    """A sum where unknown (None) stays unknown only while nothing known was added."""
    return total if value is None else (total or 0.0) + value


def unpriced_hosts(hosts: list[dict]) -> int:
    """Hosts that reported in the range with no price of their own and none from the summary: cost nothing here."""
    return sum(1 for h in hosts if h["hourly"] is None and (h["host_s"] or 0) > 0)


def deployments_daily(rows: list[dict], first: date, last: date) -> list[dict]:
    """Per deployment that generated tokens or cost money in the range: per day, its hosts' cost ÷ its tokens in
    millions (None on a day with no tokens: a gap, not infinity), and its totals; the costliest first. A deployment
    that cost money and generated nothing is listed too (its days with cost, no tokens are what it is there for)."""
    by_name: dict[str, dict[date, tuple[float | None, float]]] = defaultdict(dict)
    for r in rows:
        by_name[r["name"]][r["day"]] = (r["cost"], r["tokens"] or 0.0)
    out = [_deployment(name, days, first, last) for name, days in by_name.items()]
    out = [d for d in out if d["tokens"] > 0 or d["cost_usd"]]
    return sorted(out, key=lambda d: (-(d["cost_usd"] or 0.0), d["name"]))


def _deployment(name: str, by_day: dict, first: date, last: date) -> dict:
    values, no_tokens = [], 0
    for day in _days(first, last):
        cost, tokens = by_day.get(day, (None, 0.0))
        if tokens > 0 and cost is not None:
            values.append(_round(cost / (tokens / 1e6), 4))
        else:
            values.append(None)
            no_tokens += cost is not None  # it cost money that day and generated nothing
    costs = [c for c, _ in by_day.values() if c is not None]
    cost = sum(costs) if costs else None
    tokens = sum(t for _, t in by_day.values())
    per_m = cost / (tokens / 1e6) if cost is not None and tokens > 0 else None
    return {"name": name, "usd_per_million": values, "cost_usd": _round(cost), "tokens": round(tokens),
            "usd_per_million_range": _round(per_m, 4), "days_without_tokens": no_tokens}  # fmt: skip


def label_split(key: str, hosts: list[dict], labels: dict[int, dict]) -> dict:
    """The range's cost by the value of one label key, the way Kubecost allocates: per value its hosts (that
    reported), active GPUs, cost, share, mean GPU utilization and idle cost (cost × (1 − util)); the hosts
    without the key in one "(unlabelled)" row; the rows add up to the fleet's cost for the range.

    `hosts` is by_host's answer and `labels` each host's labels: grouping 4,000 hosts here costs less than a
    second pass over the host-days by a JSON key."""
    gpus = dict(Gpu.objects.filter(active=True).values("host_id").annotate(n=Count("pk"))
                .values_list("host_id", "n").order_by())  # fmt: skip
    groups: dict[str | None, dict] = {}
    for h in hosts:
        g = groups.setdefault(_value(labels.get(h["host_id"]), key),
                              {"cost": None, "hosts": 0, "gpu_s": 0.0, "busy_s": 0.0, "gpus": 0})  # fmt: skip
        g["cost"] = _add(g["cost"], h["cost"])
        g["hosts"] += 1
        g["gpus"] += gpus.get(h["host_id"], 0)
        g["gpu_s"] += h["gpu_s"] or 0.0
        g["busy_s"] += h["busy_s"] or 0.0
    return _split_rows(key, groups)


def _value(labels: dict | None, key: str) -> str | None:
    """A host's value for the key as text; absent, null and empty all mean unlabelled (None)."""
    raw = labels.get(key) if isinstance(labels, dict) else None
    return None if raw is None or raw == "" else str(raw)


def _split_rows(key: str, groups: dict[str | None, dict]) -> dict:
    total = sum(g["cost"] or 0.0 for g in groups.values())
    rows = []
    for v, g in groups.items():
        util = 100 * g["busy_s"] / g["gpu_s"] if g["gpu_s"] else None
        idle = g["cost"] * (1 - units.pct_to_fraction(util)) if g["cost"] is not None and util is not None else None
        rows.append({"value": UNLABELLED if v is None else v, "unlabelled": v is None, "hosts": g["hosts"],
                     "gpus": g["gpus"], "cost_usd": _round(g["cost"]),
                     "share_pct": _round(100 * (g["cost"] or 0.0) / total) if total else None,
                     "util_pct": _round(util), "idle_cost_usd": _round(idle)})  # fmt: skip
    rows.sort(key=lambda r: (r["unlabelled"], -(r["cost_usd"] or 0.0), r["value"]))
    gpu_s, busy_s = sum(g["gpu_s"] for g in groups.values()), sum(g["busy_s"] for g in groups.values())
    totals = {"hosts": sum(r["hosts"] for r in rows), "gpus": sum(r["gpus"] for r in rows),
              "cost_usd": _round(total), "share_pct": 100.0 if total else None,
              "util_pct": _round(100 * busy_s / gpu_s) if gpu_s else None,
              "idle_cost_usd": _round(sum(r["idle_cost_usd"] or 0.0 for r in rows))}  # fmt: skip
    return {"key": key, "rows": rows, "totals": totals}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def host_labels() -> dict[int, dict]:
    return {pk: labels for pk, labels in Host.objects.values_list("pk", "labels").order_by()}


def label_keys(labels: dict[int, dict]) -> list[str]:
    """The label keys the fleet's hosts carry, the most common first (ties by name)."""
    counts: Counter[str] = Counter()
    for host_labels in labels.values():
        if isinstance(host_labels, dict):
            counts.update(str(k) for k in host_labels)
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def split_for(query: Query, labels: dict[int, dict], now: datetime | None = None) -> tuple[dict, date, date]:
    """The cost-by-label table alone (the CSV), its days summed first."""
    first, last = range_of(query, now)
    trend_days.ensure(first, last, now, budget_gpu_days=trend_days.INLINE_GPU_DAYS)
    return label_split(query.key, scans(first, last)[1], labels), data_start(first, last), last


def build(query: Query, labels: dict[int, dict], now: datetime | None = None) -> dict:
    """Everything the page shows for a query: the days summed first where they are not yet (as many as a page
    may sum; the hourly job sums the rest)."""
    first, last = range_of(query, now)
    pending = trend_days.ensure(first, last, now, budget_gpu_days=trend_days.INLINE_GPU_DAYS)
    daily, hosts = scans(first, last)
    start = data_start(first, last)  # the charts' first day: the range's, or its first day with data
    fleet = fleet_daily(daily, start, last)
    fleet["unpriced_hosts"] = unpriced_hosts(hosts)
    return {"days": query.days, "first": first.isoformat(), "last": last.isoformat(), "pending_days": pending,
            "data_first": start.isoformat(), "data_days": (last - start).days + 1 if start > first else None,
            "from": _ms(start), "to": _ms(last + timedelta(days=1)), "fleet": fleet,
            "deployments": deployments_daily(daily, start, last),
            "labels": label_split(query.key, hosts, labels) if query.key else None,
            "drill": drill(query.key, query.value, labels, hosts, start, last) if query.key and query.value
            else None}  # fmt: skip


def drill(key: str, value: str, labels: dict[int, dict], hosts: list[dict], first: date, last: date) -> dict:
    """One label value's hosts over the range: their daily cost and GPU utilization (fleet_daily's series, from one
    grouped query by day over those hosts), and each host's cost and utilization (from by_host's answer), the
    costliest first. UNLABELLED drills into the hosts without the key, as the cost-by-label table groups them."""
    wanted = None if value == UNLABELLED else value
    ids = [pk for pk, host_labels in labels.items() if _value(host_labels, key) == wanted]
    rows = list(_in(first, last).filter(host_id__in=ids).values("day").annotate(
        cost=COST, gpu_s=Sum("gpu_s"), busy_s=Sum("gpu_busy_s")).order_by()) if ids else []  # fmt: skip
    reported = {h["host_id"]: h for h in hosts}
    names = dict(Host.objects.filter(pk__in=ids).values_list("pk", "hostname").order_by()) if ids else {}
    listed = [_drill_host(pk, names.get(pk, ""), reported.get(pk)) for pk in ids]
    listed.sort(key=lambda h: (-(h["cost_usd"] or 0.0), h["hostname"], h["id"]))
    return {
        "key": key,
        "value": value,
        "unlabelled": wanted is None,
        "series": fleet_daily(rows, first, last),
        "hosts": listed[:MAX_DRILL_HOSTS],
        "host_count": len(listed),
    }


def _drill_host(pk: int, hostname: str, reported: dict | None) -> dict:
    """A host of the drilled value: its cost and mean GPU utilization over the range (None: it did not report)."""
    gpu_s = (reported or {}).get("gpu_s") or 0.0
    return {"id": pk, "hostname": hostname, "reported": reported is not None,
            "cost_usd": _round(reported["cost"]) if reported else None,
            "util_pct": _round(100 * (reported["busy_s"] or 0.0) / gpu_s) if gpu_s else None}  # fmt: skip
