"""The minute watcher: turns what the other steps wrote into events (alerts.events), each under a
dedupe key, so running it twice — or two of it at once — emits nothing twice.

- recommendations and plan steps opened in the last day, and savings that grew materially;
- users waiting: a server's raw samples of the last few minutes show requests queued (at once,
  not with the hourly analysis); one event per server per flap window;
- hosts offline and back, throttled per host: one offline/back pair per flap window, then one
  summary (host.flapping) when the window ends;
- budgets: a deployment's month-to-date spend plus forecast passing its budget, once a month;
- deliveries whose queued task was lost (the broker was down) are queued again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Max, Min, Q
from django.urls import reverse
from django.utils import timezone

from alerts import budget
from alerts.emit import emit, enqueue
from alerts.models import Budget, Delivery, WatchState
from dashboard.plan import capped_total
from recommender.in_force import InForce
from recommender.lifecycle import material
from recommender.models import Recommendation
from telemetry.models import Host, InferenceServer, ServerSample

log = logging.getLogger(__name__)
REC_LOOKBACK = timedelta(days=1)  # older advice is the digest's, not a fresh alert's
SATURATION_MIN_SAMPLES = 3  # one stray reading is not users waiting


def run(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"recommendations": recommendations(now), "saturation": saturation(now), "hosts": hosts(now),
              "budgets": budgets(now), "requeued": requeue(now)}  # fmt: skip
    if any(counts.values()):
        log.info("event=alerts_watched %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _rec_path(rec: Recommendation) -> str:
    return reverse("dashboard:recommendation", args=[rec.pk])


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 host', '2 hosts', '0 hosts'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def duration(seconds: float) -> str:
    """'45 seconds', '1 minute', '12 minutes', '2 hours 5 minutes', '3 days 4 hours'."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return plural(s, "second")
    m = s // 60
    if m < 60:
        return plural(m, "minute")
    h, m = divmod(m, 60)
    if h < 24:
        return plural(h, "hour") + (f" {plural(m, 'minute')}" if m else "")
    d, h = divmod(h, 24)
    return plural(d, "day") + (f" {plural(h, 'hour')}" if h else "")


def _rec_what(rec: Recommendation) -> str:
    """What a recommendation is about, as the subject's lead: the title already names its target, mostly."""
    if rec.plan_step is not None:
        on = "" if rec.deployment and rec.deployment in rec.title else f" for {rec.deployment}"
        return f"Plan step {rec.plan_step}{on}: {rec.title}"
    return rec.title if rec.target_label and rec.target_label in rec.title else f"{rec.target_label}: {rec.title}"


def recommendations(now: datetime) -> int:
    marks = {s.key: s for s in WatchState.objects.filter(key__startswith="rec:")}
    cut = now - REC_LOOKBACK
    fresh = Q(status_changed_at__gte=cut) | Q(status_changed_at__isnull=True, first_seen__gte=cut)
    recs = list(Recommendation.objects.filter(fresh | Q(pk__in=_marked_ids(marks)), status=Recommendation.Status.OPEN))
    emitted = sum(_one_recommendation(rec, marks.get(f"rec:{rec.pk}"), now) for rec in recs)
    # A mark outlives its recommendation's open spell by nothing: reopened, it is new again.
    still_open = {f"rec:{rec.pk}" for rec in recs}
    WatchState.objects.filter(key__in=[k for k in marks if k not in still_open]).delete()
    return emitted


def _marked_ids(marks: dict) -> list[int]:
    return [int(k.split(":")[1]) for k in marks]


def _one_recommendation(rec: Recommendation, mark: WatchState | None, now: datetime) -> int:
    opened = rec.status_changed_at or rec.first_seen
    key = f"rec:{rec.pk}:open:{int(opened.timestamp())}"
    data = {"recommendation_id": rec.pk, "kind": rec.kind, "deployment": rec.deployment, "target": rec.target_label,
            "action": rec.action, "plan_step": rec.plan_step, "confidence": rec.confidence}  # fmt: skip
    saving = rec.saving_usd_month
    if mark is None or mark.value.get("opened") != key:
        if opened < now - REC_LOOKBACK:
            return 0
        kind = "plan_step.new" if rec.plan_step is not None else "recommendation.new"
        with transaction.atomic():
            value = {"opened": key, "saving": saving}
            WatchState.objects.update_or_create(key=f"rec:{rec.pk}", defaults={"value": value, "updated_at": now})
            sent = emit(kind, key, f"{_rec_what(rec)} (${saving:,.0f}/month)", rec.reason, _rec_path(rec), saving,
                        data)  # fmt: skip
        return int(sent is not None)
    before = mark.value.get("saving")
    if before is None or saving <= before or not material(before, saving):
        return 0
    with transaction.atomic():
        mark.value = {**mark.value, "saving": saving}
        mark.updated_at = now
        mark.save()
        sent = emit("saving.grew", f"rec:{rec.pk}:grew:{before:.0f}->{saving:.0f}",
                    f"Saving grew to ${saving:,.0f}/month (was ${before:,.0f}): {_rec_what(rec)}",
                    f"{rec.reason}\n\nWas ${before:,.0f}/month when last alerted.", _rec_path(rec), saving,
                    {**data, "previous_saving_usd_month": before})  # fmt: skip
    return int(sent is not None)


def saturation(now: datetime) -> int:
    """Servers whose raw samples of the last RIGHTSIZER_ALERTS_SATURATION_WINDOW_S show requests waiting past
    the batching_waiting threshold on average: within a minute or two of the push that carried them, not
    with the hourly analysis nor after the 5-minute rollup closes."""
    thresholds = InForce()
    since = now - timedelta(seconds=settings.ALERTS_SATURATION_WINDOW_S)
    rows = (ServerSample.objects.filter(ts__gte=since, ts__lte=now, waiting__isnull=False).values("server_id")
            .annotate(waiting_mean=Avg("waiting"), kv_cache_pct_mean=Avg("kv_cache_pct"), samples=Count("ts"),
                      first=Min("ts"), last=Max("ts")))  # fmt: skip
    rows = [r for r in rows if r["samples"] >= SATURATION_MIN_SAMPLES]
    servers = {s.pk: s for s in InferenceServer.objects.filter(pk__in={r["server_id"] for r in rows})
               .select_related("host")}  # fmt: skip
    window = settings.ALERTS_FLAP_WINDOW_S
    emitted = 0
    for r in rows:
        server = servers.get(r["server_id"])
        if server is None:
            continue
        limit = thresholds.for_deployment(server.host.deployment)["batching_waiting"]
        if r["waiting_mean"] < limit:
            continue
        where = f"{server.server_id} on {server.host.hostname}"
        kv = r["kv_cache_pct_mean"]
        dep = server.host.deployment
        text = (f"Requests waited on {where}{f' (deployment {dep})' if dep else ''}: {r['waiting_mean']:,.1f} waiting "
                f"on average over {plural(r['samples'], 'sample')} from {r['first']:%H:%M:%S} "
                f"to {r['last']:%H:%M:%S} UTC "
                f"(threshold {limit:g})" + (f", KV cache {kv:.0f}% full" if kv is not None else "") + ". "
                f"Users are queueing: add a replica{f' to {dep}' if dep else ''} or raise the server's batch limits "
                "(e.g. vLLM --max-num-seqs) if the GPU has headroom.")  # fmt: skip
        key = f"saturation:{server.pk}:{int(r['last'].timestamp()) // window}"
        path = reverse("dashboard:host", args=[server.host_id])
        data = {"server": server.server_id, "host": server.host.hostname, "deployment": server.host.deployment,
                "waiting_mean": r["waiting_mean"], "kv_cache_pct_mean": r["kv_cache_pct_mean"],
                "samples": r["samples"], "first_sample": r["first"].isoformat(),
                "last_sample": r["last"].isoformat()}  # fmt: skip
        subject = f"Users waiting on {where}: {r['waiting_mean']:,.1f} requests queued"
        emitted += emit("saturation", key, subject, text, path, None, data) is not None
    return emitted


def hosts(now: datetime) -> int:
    offline_after = timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)
    states = {s.key: s for s in WatchState.objects.filter(key__startswith="host:")}
    emitted, first_sight = 0, []
    for host in Host.objects.filter(last_seen__isnull=False).only("pk", "hostname", "deployment", "last_seen"):
        offline = now - host.last_seen > offline_after
        state = states.get(f"host:{host.pk}")
        if state is None:  # first sight: remember, say nothing
            value = {"offline": offline, "window": now.timestamp(), "sent": [], "suppressed": 0}
            first_sight.append(WatchState(key=f"host:{host.pk}", updated_at=now, value=value))
            continue
        with transaction.atomic():
            emitted += _one_host(host, offline, state, now)
    WatchState.objects.bulk_create(first_sight, batch_size=500, ignore_conflicts=True)  # a concurrent run's win
    return emitted


def _one_host(host: Host, offline: bool, state: WatchState, now: datetime) -> int:
    window = settings.ALERTS_FLAP_WINDOW_S
    v = dict(state.value)
    emitted = 0
    if now.timestamp() - v["window"] >= window:
        if v["suppressed"]:
            emitted += _flapping(host, v, offline) is not None
        v.update(window=now.timestamp(), sent=[], suppressed=0)
    if offline != v["offline"]:
        v["offline"] = offline
        kind = "host.offline" if offline else "host.back"
        # One pair per window: offline first, then back; any further change is counted for the summary.
        allowed = (offline and not v["sent"]) or (not offline and v["sent"] == ["host.offline"])
        if allowed:
            v["sent"] = [*v["sent"], kind]
            emitted += _host_event(host, kind, now) is not None
        else:
            v["suppressed"] += 1
    if v != state.value:
        state.value, state.updated_at = v, now
        state.save()
    return emitted


def _host_event(host: Host, kind: str, now: datetime):
    seen = host.last_seen
    path = reverse("dashboard:host", args=[host.pk])
    data = {"host": host.hostname, "deployment": host.deployment, "last_seen": seen.isoformat()}
    of = f" ({host.deployment})" if host.deployment else ""
    if kind == "host.offline":
        return emit(kind, f"host:{host.pk}:offline:{int(seen.timestamp())}", f"{host.hostname}{of} stopped reporting",
                    f"No sample from {host.hostname}{of} for {duration((now - seen).total_seconds())} (last at "
                    f"{seen:%Y-%m-%d %H:%M} UTC). Check the agent on the host (rightsizer-agent check) and that the "
                    "host is up.", path, None, data)  # fmt: skip
    return emit(
        kind,
        f"host:{host.pk}:back:{int(seen.timestamp())}",
        f"{host.hostname}{of} reports again",
        f"{host.hostname}{of} sent samples again (latest at {seen:%Y-%m-%d %H:%M} UTC). Nothing to do.",
        path,
        None,
        data,
    )


def _flapping(host: Host, v: dict, offline: bool):
    """The window's summary; `offline` is the host's state now, not the last one the window recorded."""
    n = v["suppressed"]
    of = f" ({host.deployment})" if host.deployment else ""
    return emit("host.flapping", f"host:{host.pk}:flapping:{int(v['window'])}", f"{host.hostname}{of} is flapping",
                f"{host.hostname} went offline or came back {plural(n, 'more time')} in "
                f"{duration(settings.ALERTS_FLAP_WINDOW_S)}; those alerts were held back. It is now "
                f"{'offline' if offline else 'reporting'}. Check the agent's connection to Rightsizer and the "
                "host's network.",
                reverse("dashboard:host", args=[host.pk]), None,
                {"host": host.hostname, "deployment": host.deployment, "changes_held_back": n,
                 "offline": offline})  # fmt: skip


def budgets(now: datetime) -> int:
    emitted = 0
    for b in Budget.objects.all():
        s = budget.spend(b.deployment, now)
        if s.forecast_usd <= b.usd_month:
            continue
        text = (f"{b.deployment} has cost ${s.month_to_date_usd:,.0f} this month and is on course for "
                f"${s.forecast_usd:,.0f} by the month's end ({now:%B}), over its budget of ${b.usd_month:,.0f}. "
                "Its page shows what each host costs and the open recommendations that would cut it; the budget "
                "is set there too.")  # fmt: skip
        data = {"deployment": b.deployment, "budget_usd_month": b.usd_month, "month_to_date_usd": s.month_to_date_usd,
                "forecast_usd": s.forecast_usd, "month": f"{now:%Y-%m}"}  # fmt: skip
        path = reverse("dashboard:deployment", args=[b.deployment])
        subject = f"{b.deployment}: forecast ${s.forecast_usd:,.0f} passes its ${b.usd_month:,.0f} budget"
        emitted += (
            emit("budget.exceeded", f"budget:{b.deployment}:{now:%Y-%m}", subject, text, path, None, data) is not None
        )
    return emitted


def requeue(now: datetime) -> int:
    """Deliveries whose task never ran (the broker was down when they were queued), or whose retry was lost."""
    late = now - timedelta(minutes=5)
    stuck = list(Delivery.objects.filter(Q(status=Delivery.Status.PENDING, created_at__lt=late)
                                         | Q(status=Delivery.Status.RETRYING, next_attempt_at__lt=late))
                 .values_list("pk", flat=True)[:500])  # fmt: skip
    enqueue(stuck)
    return len(stuck)


def digest(now: datetime | None = None):
    """The weekly digest: open savings, the largest five, hosts offline, budgets; one per ISO week."""
    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    open_recs = Recommendation.objects.filter(status=Recommendation.Status.OPEN)
    # As the recommendations page totals them: each deployment's part capped at what it costs today.
    total, _ = capped_total(open_recs)
    top = list(open_recs.order_by("-saving_usd_month")[:5])
    offline = Host.objects.filter(last_seen__lt=now - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)).count()
    lines = [f"{plural(open_recs.count(), 'open recommendation')}, ${total:,.0f}/month in all."]
    lines += [f"- ${r.saving_usd_month:,.0f}/month: {r.title}" for r in top]
    lines.append(f"{plural(offline, 'host')} not reporting.")
    for b in Budget.objects.all():
        s = budget.spend(b.deployment, now)
        over = "over" if s.forecast_usd > b.usd_month else "within"
        lines.append(f"{b.deployment}: ${s.month_to_date_usd:,.0f} so far this month, forecast ${s.forecast_usd:,.0f}, "
                     f"{over} its ${b.usd_month:,.0f} budget.")  # fmt: skip
    data = {"open_recommendations": open_recs.count(), "open_saving_usd_month": round(total, 2),
            "hosts_offline": offline, "week": f"{year}-W{week:02d}"}  # fmt: skip
    return emit(
        "digest.weekly",
        f"digest:{year}-W{week:02d}",
        f"Weekly digest: ${total:,.0f}/month to save",
        "\n".join(lines),
        reverse("dashboard:recommendations"),
        round(total, 2),
        data,
    )
