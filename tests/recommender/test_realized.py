"""Before and after an acknowledgement, and the fleet's realized saving, over hand-built hourly rollups.

Prices: an H100 at $2/GPU-h (an override), one host at its own $10/h. Every expected figure is worked out
by hand in the test that asserts it.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps

from recommender import realized
from recommender.models import HostPrice, Recommendation
from telemetry.models import Gpu, RollupCursor
from tests.recommender import history
from tests.recommender.history import day, gpu, host, nov, price_h100, report, report_gpu, report_host

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)


def rec(kind: str, status: str, acknowledged_at: datetime | None, on=None, deployment: str = "", usd=0.0):
    target = f"host:{on.machine_id}" if on else f"deployment:{deployment}"
    return Recommendation.objects.create(
        kind=kind, status=status, acknowledged_at=acknowledged_at, status_changed_at=acknowledged_at,
        target_type="host" if on else "deployment", target_key=target, target_label=str(on or deployment),
        deployment=on.deployment if on else deployment, host=on, title=f"{kind} {target}", reason="r",
        confidence=0.8, saving_usd_month=usd,
    )  # fmt: skip


@pytest.fixture
def chat():
    return history.chat_deployment()


def test_before_and_after_a_deployment_recommendation(chat):
    r = rec("scale_down", "acknowledged", nov(26, 10, 20), deployment="chat", usd=2920.0)
    c = realized.compare(r, NOW)
    # before: Nov 19 10:00 – Nov 26 10:00; after: Nov 26 11:00 – Dec 3 11:00 (7 days, not to 12:00)
    assert (c.before.start, c.before.end, c.after.start, c.after.end) == (nov(19, 10), nov(26, 10), nov(26, 11),
                                                                          day(3, 11))  # fmt: skip
    assert c.hosts == 2 and c.before.hours == c.after.hours == 168 and not c.too_early
    # cost: 4 GPUs × $2 × 730 h = $5,840/month before; 2 GPUs after (chat-2 stopped: it costs nothing)
    assert c.before.usd == pytest.approx(4 * 2.0 * 168)
    assert c.before.usd_month == pytest.approx(5840.0) and c.after.usd_month == pytest.approx(2920.0)
    assert c.realized_usd_month == pytest.approx(2920.0) and c.promised_usd_month == 2920.0
    # energy: 4 × 300 W = 1.2 kW × 730 h = 876 kWh/month before; 2 × 400 W × 730 h = 584 after
    assert c.before.kwh_month == pytest.approx(876.0) and c.after.kwh_month == pytest.approx(584.0)
    assert c.realized_kwh_month == pytest.approx(292.0)
    # load: 4 GPUs at 25% = 1 GPU busy, 2 at 50% = 1; tokens 2 × 100/s before, 1 × 200/s after
    assert c.before.gpus_busy == pytest.approx(1.0) and c.after.gpus_busy == pytest.approx(1.0)
    assert c.before.gen_tps == pytest.approx(200.0) and c.after.gen_tps == pytest.approx(200.0)
    rows = {row["name"]: row for row in c.rows()}
    assert rows["usd_month"]["change"] == pytest.approx(-2920.0) and rows["gen_tps"]["change"] == pytest.approx(0)
    body = c.as_dict()
    assert body["realized_usd_month"] == 2920.0 and body["after"]["kwh_month"] == 584.0


def test_less_than_a_day_after_is_too_early_and_the_rollups_bound_the_after_side(chat):
    h1, _ = chat
    r = rec("host_rightsize", "acknowledged", day(3, 7, 30), on=h1, usd=100.0)
    c = realized.compare(r, NOW)
    assert c.hosts == 1 and c.too_early and c.after_hours == 4  # 08:00 – 12:00
    assert c.realized_usd_month is None and all(row["change"] is None for row in c.rows())
    assert c.before.usd_month == pytest.approx(2 * 2.0 * 730)  # its host alone, reporting all week
    RollupCursor.objects.create(tier="1h", until=day(3, 10))  # hours not rolled up yet are not "no cost"
    assert realized.compare(r, NOW).after_hours == 2
    assert realized.compare(rec("idle", "open", None, on=h1), NOW) is None


def test_the_fleet_counts_each_host_once_and_only_this_months_hours():
    """chat-1 ($10/h of its own) reports until Dec 2, chat-2 (2 H100s, $4/h) until Dec 1, batch-1 goes from
    one H100 to two on Dec 2. Acknowledged: a host rec on chat-1 (Nov 28), the chat deployment's (Nov 29),
    and a resolved one on batch-1 (Dec 2 00:30). December until Dec 3 12:00 is 60 hours."""
    price_h100()
    h1, h2, h3 = host("chat-1", "chat"), host("chat-2", "chat"), host("batch-1", "batch")
    HostPrice.objects.create(host=h1, hourly_usd=10.0)
    gpu(h2, 0), gpu(h2, 1)
    g0, g1 = gpu(h3, 0), gpu(h3, 1)
    report(h1, nov(21), day(2))
    report(h2, nov(22), day(1))
    report_host(h3, nov(25), day(3, 12))
    report_gpu(g0, nov(25), day(3, 12), 50.0, 300.0)
    report_gpu(g1, day(2), day(3, 12), 50.0, 300.0)
    rec("host_rightsize", "acknowledged", nov(28, 9, 15), on=h1)
    rec("scale_down", "acknowledged", nov(29, 14, 40), deployment="chat")
    rec("idle", "resolved", day(2, 0, 30), on=h3)
    rec("batching", "open", nov(20), on=h3)  # acknowledged once, reopened since: not acted on
    rec("scale_down", "resolved", None, deployment="batch")  # resolved without anyone acting
    got = realized.fleet_realized(NOW)
    # chat-1 from Nov 28: $10/h before; in December 24 of 60 hours reported = $4/h: (10 − 4) × 60 = $360
    # chat-2 from Nov 29: $4/h before; nothing in December: 4 × 60 = $240
    # batch-1 from Dec 2 01:00: $2/h before, $4/h after: floored at 0
    assert got.usd == pytest.approx(600.0)
    assert (got.recommendations, got.hosts, got.month_start) == (3, 3, day(1))


def test_a_replacement_host_counts_against_the_saving_and_a_group_never_counts_negative():
    """A deployment moves from a host of 2 H100s ($4/h) to a new one with 1 ($2/h) at its acknowledgement
    (Dec 2 00:30); elsewhere a host's advice was acted on and it costs more since (a second GPU)."""
    price_h100()
    assert realized.fleet_realized(NOW).usd == 0.0  # nothing acted on
    old, new, grew = host("old", "move"), host("new", "move"), host("grew", "grew")
    gpu(old, 0), gpu(old, 1), gpu(new, 0), gpu(grew, 0)
    report(old, nov(20), day(2))
    report(new, day(2), day(3, 12))
    report(grew, nov(20), day(3, 12))
    report_gpu(gpu(grew, 1), day(2), day(3, 12), 10.0, 100.0)
    rec("smaller_gpu", "acknowledged", day(2, 0, 30), deployment="move")
    rec("host_rightsize", "acknowledged", day(2, 0, 30), on=grew)
    got = realized.fleet_realized(NOW)
    # Dec 2 01:00 – Dec 3 12:00 = 35 h: old saves 4 × 35 = 140, new costs 2 × 35 = 70 it did not before: 70.
    # grew: (2 − 4) × 35 < 0, floored at 0 as a group of its own.
    assert got.usd == pytest.approx(70.0) and (got.recommendations, got.hosts) == (2, 3)


def test_hosts_are_priced_by_their_own_price_else_their_gpus_else_their_vcpus(settings):
    price_h100()
    settings.VCPU_HOURLY_USD = 0.05
    own, gpus, odd, cpu = host("own"), host("gpus"), host("odd"), host("cpu", cpus=10)
    HostPrice.objects.create(host=own, hourly_usd=7.0)
    gpu(own, 0), gpu(gpus, 0)
    Gpu.objects.create(uuid="GPU-odd", host=odd, index=0, name="Mystery 9000", memory_total_bytes=10**10)
    for h in (own, gpus, odd, cpu):
        report(h, day(1), day(1, 10))
    ids = [own.pk, gpus.pk, odd.pk, cpu.pk]
    got = realized.measure(ids, day(1), day(1, 10), realized.Prices(ids)).hosts
    assert got[own.pk].usd == pytest.approx(70.0) and got[gpus.pk].usd == pytest.approx(20.0)
    assert got[odd.pk].usd == 0.0 and got[odd.pk].unpriced_gpu_hours == pytest.approx(10.0)
    assert got[cpu.pk].usd == pytest.approx(10 * 0.05 * 10) and got[cpu.pk].host_hours == pytest.approx(10.0)


def test_the_migration_backfills_acknowledged_rows_from_their_last_status_change():
    h = host("old")
    acked = rec("idle", "acknowledged", None, on=h)
    Recommendation.objects.filter(pk=acked.pk).update(status_changed_at=nov(10))
    resolved = rec("batching", "resolved", None, on=h)
    Recommendation.objects.filter(pk=resolved.pk).update(status_changed_at=nov(11))
    importlib.import_module("recommender.migrations.0007_recommendation_acknowledged_at").backfill(apps, None)
    assert Recommendation.objects.get(pk=acked.pk).acknowledged_at == nov(10)
    assert Recommendation.objects.get(pk=resolved.pk).acknowledged_at is None
