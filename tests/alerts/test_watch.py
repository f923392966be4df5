"""The minute watcher: hosts offline and back by a moved clock (no sleeping), flapping held back to one pair and
a summary, users waiting, new and grown savings, budgets, the digest, and no event twice under a re-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from alerts import watch
from alerts.models import Budget, Channel, Delivery, Event, WatchState
from recommender.models import HostSummary, Recommendation
from telemetry.models import Host, HostRollup, InferenceServer, ServerSample
from tests.alerts.conftest import ALL_EVENTS
from tests.batches import batch, post

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def channel(db):
    return Channel.objects.create(kind="webhook", name="ops", target="https://hooks.example.com/", events=ALL_EVENTS)


def types() -> list[str]:
    return list(Event.objects.order_by("id").values_list("type", flat=True))


def test_a_host_that_stops_pushing_is_offline_after_the_setting_and_back_on_its_next_push(
    client, agent_token, channel, settings
):
    settings.HOST_OFFLINE_AFTER_S = 300
    with time_machine.travel(T0, tick=False) as clock:
        assert post(client, agent_token[1], batch()).status_code == 202
        assert watch.hosts(timezone.now()) == 0  # first sight: remembered, nothing said
        clock.shift(timedelta(seconds=299))
        assert watch.hosts(timezone.now()) == 0
        clock.shift(timedelta(seconds=2))
        assert watch.hosts(timezone.now()) == 1
        assert watch.hosts(timezone.now()) == 0  # a re-run sends nothing twice
        clock.shift(timedelta(minutes=10))
        assert post(client, agent_token[1], batch()).status_code == 202
        assert watch.hosts(timezone.now()) == 1
    assert types() == ["host.offline", "host.back"]
    offline = Event.objects.get(type="host.offline")
    assert offline.subject == "gpu-node-7 (chat-prod) stopped reporting" and offline.data["deployment"] == "chat-prod"
    assert offline.text.startswith("No sample from gpu-node-7 (chat-prod) for 5 minutes (last at 2026-11-30 12:0")
    assert " UTC). Check the agent on the host (rightsizer-agent check)" in offline.text
    back = Event.objects.get(type="host.back")
    assert back.subject == "gpu-node-7 (chat-prod) reports again" and back.text.endswith("UTC). Nothing to do.")
    assert Delivery.objects.filter(channel=channel).count() == 2


def test_a_flapping_host_sends_one_pair_per_window_then_one_summary(channel, settings):
    settings.HOST_OFFLINE_AFTER_S, settings.ALERTS_FLAP_WINDOW_S = 300, 3600
    host = Host.objects.create(machine_id="m", hostname="flappy", deployment="d", last_seen=T0)
    now = T0
    watch.hosts(now)
    for _ in range(4):  # offline, back, four times within the hour
        now += timedelta(minutes=6)
        watch.hosts(now)  # offline
        now += timedelta(minutes=1)
        host.last_seen = now
        host.save()
        watch.hosts(now)  # back
    assert types() == ["host.offline", "host.back"]
    watch.hosts(T0 + timedelta(hours=1, minutes=1))  # the window ends; silent since, so offline opens the next
    assert types() == ["host.offline", "host.back", "host.flapping", "host.offline"]
    summary = Event.objects.get(type="host.flapping")
    assert summary.data["changes_held_back"] == 6 and summary.subject == "flappy (d) is flapping"
    assert "went offline or came back 6 more times in 1 hour; those alerts were held back. It is now offline." in (
        summary.text
    )
    assert summary.data["offline"] is True  # as it is when the window closes, not as the window last saw it


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40))
def test_at_most_one_pair_per_window_whatever_the_pattern(channel, settings, gaps_min):
    """Any sequence of pushes and silences: per window at most one offline and one back, in that order."""
    Event.objects.all().delete()
    Host.objects.all().delete()
    settings.HOST_OFFLINE_AFTER_S, settings.ALERTS_FLAP_WINDOW_S = 300, 3600
    host = Host.objects.create(machine_id="m", hostname="h", deployment="d", last_seen=T0)
    now = T0
    watch.hosts(now)
    by_window: dict[float, list[str]] = {}
    for i, gap in enumerate(gaps_min):
        now += timedelta(minutes=gap)
        if i % 2:
            host.last_seen = now
            host.save(update_fields=["last_seen"])
        before = set(Event.objects.values_list("pk", flat=True))
        watch.hosts(now)
        window = WatchState.objects.get(key=f"host:{host.pk}").value["window"]
        new = Event.objects.exclude(pk__in=before).filter(type__in=["host.offline", "host.back"]).order_by("id")
        by_window.setdefault(window, []).extend(new.values_list("type", flat=True))
    for kinds in by_window.values():
        assert kinds in ([], ["host.offline"], ["host.back"], ["host.offline", "host.back"]), kinds


def rec(**kw) -> Recommendation:
    values = {"kind": "idle", "target_type": "gpu", "target_key": "gpu:G1", "target_label": "gpu-7 GPU 0",
              "deployment": "chat-prod", "title": "idle GPU", "reason": "No work for 14 days.",
              "action": "Release it.", "saving_usd_month": 1900.0, "confidence": 0.9, **kw}  # fmt: skip
    return Recommendation.objects.create(**values)


def test_new_recommendations_and_plan_steps_once_and_a_material_growth_once(channel, settings):
    settings.RECOMMENDER_MATERIAL_CHANGE = 0.25
    now = timezone.now()
    idle = rec(first_seen=now)
    rec(kind="scale_down", target_type="deployment", target_key="dep:chat-prod", plan_step=1, first_seen=now,
        saving_usd_month=7300.0)  # fmt: skip
    rec(kind="batching", target_key="gpu:G2", first_seen=now - timedelta(days=3))  # old advice: the digest's
    assert watch.recommendations(now) == 2
    assert watch.recommendations(now) == 0  # re-run
    assert sorted(types()) == ["plan_step.new", "recommendation.new"]
    # The subject names its target once: the title's target is not repeated, a missing one is added.
    assert Event.objects.get(type="recommendation.new").subject == "gpu-7 GPU 0: idle GPU ($1,900/month)"
    assert Event.objects.get(type="plan_step.new").subject == "Plan step 1 for chat-prod: idle GPU ($7,300/month)"
    idle.saving_usd_month = 2100.0  # +10 %: not material
    idle.save()
    assert watch.recommendations(now) == 0
    idle.saving_usd_month = 2500.0  # +32 %
    idle.save()
    assert watch.recommendations(now) == 1 and watch.recommendations(now) == 0
    grew = Event.objects.get(type="saving.grew")
    assert grew.saving_usd_month == 2500 and grew.data["previous_saving_usd_month"] == 1900
    assert grew.subject == "Saving grew to $2,500/month (was $1,900): gpu-7 GPU 0: idle GPU"
    idle.status = Recommendation.Status.RESOLVED
    idle.save()
    assert watch.recommendations(now) == 0
    assert not WatchState.objects.filter(key=f"rec:{idle.pk}").exists()  # no mark outlives its open spell


def test_a_subject_does_not_repeat_a_target_its_title_names():
    r = Recommendation(target_label="sim-cpu-only-8", deployment="cpu-only", title="Right-size sim-cpu-only-8: 8 vCPU")
    assert watch._rec_what(r) == "Right-size sim-cpu-only-8: 8 vCPU"
    r = Recommendation(target_label="big", deployment="big", title="Scale big: 2 replicas", plan_step=1)
    assert watch._rec_what(r) == "Plan step 1: Scale big: 2 replicas"


def test_counts_and_durations_read_as_words():
    assert [watch.plural(n, "host") for n in (0, 1, 2, 1500)] == ["0 hosts", "1 host", "2 hosts", "1,500 hosts"]
    assert [watch.duration(s) for s in (1, 59, 60, 301, 3600, 3660, 7500, 86400, 90000 + 3600)] == [
        "1 second", "59 seconds", "1 minute", "5 minutes", "1 hour", "1 hour 1 minute", "2 hours 5 minutes", "1 day",
        "1 day 2 hours"]  # fmt: skip


def test_a_channel_s_saving_threshold_filters_recommendation_events(channel):
    channel.min_saving_usd_month = 5000
    channel.save()
    now = timezone.now()
    rec(first_seen=now)
    rec(kind="scale_down", target_key="dep:x", plan_step=1, first_seen=now, saving_usd_month=7300.0)
    watch.recommendations(now)
    assert Event.objects.count() == 2
    assert list(Delivery.objects.values_list("event__type", flat=True)) == ["plan_step.new"]


def test_users_waiting_in_the_last_minutes_of_raw_samples_alert_at_once_once_per_window(channel):
    now = timezone.now()
    host = Host.objects.create(machine_id="m", hostname="gpu-7", deployment="chat-prod", last_seen=now)
    server = InferenceServer.objects.create(host=host, server_id="vllm:8000", kind="vllm")
    quiet = InferenceServer.objects.create(host=host, server_id="vllm:8001", kind="vllm")
    for i in range(6):  # the last 30 s of 5-second samples, as one push carries them
        ts = now - timedelta(seconds=5 * i)
        ServerSample.objects.create(server=server, ts=ts, waiting=12.0, kv_cache_pct=97.0)
        ServerSample.objects.create(server=quiet, ts=ts, waiting=0.2 if i else 3.0)  # one spike: mean 0.6
    ServerSample.objects.create(server=quiet, ts=now - timedelta(minutes=10), waiting=50.0)  # long gone
    assert watch.saturation(now) == 1 and watch.saturation(now + timedelta(minutes=1)) == 0
    event = Event.objects.get()
    assert event.type == "saturation" and "vllm:8000 on gpu-7" in event.subject and event.data["waiting_mean"] == 12
    assert event.data["samples"] == 6 and "threshold 1" in event.text
    assert event.subject == "Users waiting on vllm:8000 on gpu-7: 12.0 requests queued"
    assert "(deployment chat-prod): 12.0 waiting on average over 6 samples from " in event.text
    assert "UTC (threshold 1), KV cache 97% full. Users are queueing: add a replica to chat-prod" in event.text


def test_two_readings_are_not_yet_users_waiting(channel):
    now = timezone.now()
    host = Host.objects.create(machine_id="m", hostname="gpu-7", deployment="chat-prod", last_seen=now)
    server = InferenceServer.objects.create(host=host, server_id="vllm:8000", kind="vllm")
    for i in range(2):
        ServerSample.objects.create(server=server, ts=now - timedelta(seconds=5 * i), waiting=40.0)
    assert watch.saturation(now) == 0


def test_a_budget_passed_by_spend_plus_forecast_alerts_once_a_month(channel):
    now = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # half of November gone, half left
    host = Host.objects.create(machine_id="m", hostname="gpu-7", deployment="chat-prod", last_seen=now)
    HostSummary.objects.create(host=host, updated_at=now, usd_month=730.0)  # $1/h
    for h in range(15 * 24):  # every hour of the month so far
        HostRollup.objects.create(host=host, period_s=3600, ts=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=h),
                                  samples=720, covered_s=3600)  # fmt: skip
    Budget.objects.create(deployment="chat-prod", usd_month=800)
    from alerts.budget import spend

    s = spend("chat-prod", now)
    assert s.month_to_date_usd == 360 and s.forecast_usd == 720  # 360 h so far, 360 h left at $1/h
    assert watch.budgets(now) == 0
    Budget.objects.filter(deployment="chat-prod").update(usd_month=700)
    assert watch.budgets(now) == 1 and watch.budgets(now + timedelta(days=1)) == 0
    assert watch.budgets(datetime(2026, 12, 2, tzinfo=UTC)) == 0  # December: nothing spent yet
    event = Event.objects.get()
    assert event.data["forecast_usd"] == 720
    assert event.subject == "chat-prod: forecast $720 passes its $700 budget"
    assert event.text.startswith(
        "chat-prod has cost $360 this month and is on course for $720 by the month's end (November), over its budget "
        "of $700. Its page shows what each host costs"
    )


def test_the_weekly_digest_once_per_week(channel):
    rec(first_seen=timezone.now())
    Budget.objects.create(deployment="chat-prod", usd_month=800)
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert watch.digest(monday) is not None and watch.digest(monday + timedelta(hours=1)) is None
    digest = Event.objects.get(type="digest.weekly")
    assert "1 open recommendation, $1,900/month in all." in digest.text and "0 hosts not reporting." in digest.text
    assert "chat-prod: $0 so far this month, forecast $0, within its $800 budget." in digest.text
    assert digest.data["week"] == "2026-W49"


def test_the_digest_total_is_capped_at_what_a_deployment_costs_like_the_recommendations_page(channel):
    today = {"usd_month": 3000.0}
    rec(kind="idle", plan_step=1, saving_usd_month=2500.0, current=today)
    rec(kind="quantize", target_key="dep:chat-prod", plan_step=2, saving_usd_month=400.0, current={"usd_month": 500.0})
    rec(kind="batching", target_key="gpu:G2", saving_usd_month=900.0)  # a third way to save on the same $3,000
    watch.digest(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    digest = Event.objects.get(type="digest.weekly")
    assert digest.subject == "Weekly digest: $3,000/month to save" and digest.data["open_saving_usd_month"] == 3000.0
