"""Rollups: raw → 5 min → 1 h, idempotent, late samples re-rolled, weighted by time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from telemetry import histogram
from telemetry.models import GpuRollup, Host, HostRollup, ServerRollup
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M, histogram_fields
from telemetry.rollups import run_rollups
from tests.batches import batch, post

pytestmark = pytest.mark.django_db

HOUR = 3600


def _hour_ago(hours: int) -> float:
    """The start of an hour `hours` back, so a test's periods are whole and closed."""
    return (time.time() // HOUR - hours) * HOUR


def _with_util(payload: dict, values: list[float]) -> dict:
    for sample, value in zip(payload["samples"], values, strict=True):
        sample["gpus"][0]["util_pct"] = value
        sample["cpu_pct"] = value / 2
    return payload


def _snapshot(model) -> list[tuple]:
    return sorted(model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]))


def _hist(row, prefix: str) -> list[int]:
    return [getattr(row, name) for name in histogram_fields(prefix)]


def test_five_minute_rows_hold_count_coverage_mean_max_and_histogram(client, agent_token):
    start = _hour_ago(2)
    # 5-s samples over [start, start + 10 min): util 10% for the first 5 min, 50% for the next.
    values = [10.0] * 60 + [50.0] * 60
    post(client, agent_token[1], _with_util(batch(n_samples=120, start=start, interval_s=5), values))
    run_rollups()
    rows = list(GpuRollup.objects.filter(period_s=PERIOD_5M).order_by("ts"))
    assert [r.ts for r in rows] == [datetime.fromtimestamp(start + i * 300, tz=UTC) for i in (0, 1)]
    first, second = rows
    assert (first.samples, second.samples) == (60, 60)
    # The first sample ever has no previous one, so it covers nothing; every other covers 5 s.
    assert (first.covered_s, second.covered_s) == (295, 300)
    assert (first.util_pct_mean, first.util_pct_max) == (10.0, 10.0)
    assert second.util_pct_mean == pytest.approx(50.0)
    assert sum(_hist(second, "util")) == 300 and _hist(second, "util")[histogram.bucket_index(50)] == 300
    host = HostRollup.objects.get(period_s=PERIOD_5M, ts=rows[1].ts)
    assert host.cpu_pct_mean == pytest.approx(25.0) and host.mem_used_bytes_max == 40 * 1024**3
    server = ServerRollup.objects.get(period_s=PERIOD_5M, ts=rows[1].ts)
    assert server.kv_cache_pct_mean == pytest.approx(12.0) and server.preempted_sum == 0


def test_hour_rows_add_up_the_five_minute_rows(client, agent_token):
    start = _hour_ago(3)
    values = [float(i % 100) for i in range(720)]  # one hour of 5-s samples, 0..99 over and over
    post(client, agent_token[1], _with_util(batch(n_samples=720, start=start, interval_s=5), values))
    run_rollups()
    hour = GpuRollup.objects.get(period_s=PERIOD_1H)
    fives = list(GpuRollup.objects.filter(period_s=PERIOD_5M))
    assert len(fives) == 12 and hour.samples == 720
    assert hour.covered_s == sum(r.covered_s for r in fives) == HOUR - 5
    summed = [sum(col) for col in zip(*(_hist(r, "util") for r in fives), strict=True)]
    assert _hist(hour, "util") == summed
    assert hour.util_pct_max == 99.0
    assert hour.util_pct_mean == pytest.approx(sum(values[1:]) / 719, rel=1e-3)
    assert histogram.percentile(_hist(hour, "util"), 95) == pytest.approx(95.0, abs=1.0)


def test_running_twice_changes_nothing(client, agent_token):
    post(client, agent_token[1], batch(n_samples=200, start=_hour_ago(2), interval_s=30))
    run_rollups()
    before = [_snapshot(m) for m in (HostRollup, GpuRollup, ServerRollup)]
    assert all(before)
    run_rollups()
    from telemetry.rollups import roll

    roll(PERIOD_5M, datetime.fromtimestamp(_hour_ago(3), tz=UTC), datetime.fromtimestamp(_hour_ago(0), tz=UTC))
    assert [_snapshot(m) for m in (HostRollup, GpuRollup, ServerRollup)] == before


def test_a_late_sample_re_rolls_its_period(client, agent_token):
    start = _hour_ago(2)
    payload = _with_util(batch(n_samples=60, start=start, interval_s=5), [20.0] * 60)
    late = payload["samples"].pop(30)
    post(client, agent_token[1], payload)
    run_rollups()
    row = GpuRollup.objects.get(period_s=PERIOD_5M, ts=datetime.fromtimestamp(start, tz=UTC))
    assert row.samples == 59 and row.util_pct_max == 20.0
    assert Host.objects.get().rollup_dirty_from is None

    late["gpus"][0]["util_pct"] = 90.0
    post(client, agent_token[1], {**payload, "samples": [late]})
    assert Host.objects.get().rollup_dirty_from == datetime.fromtimestamp(late["ts"], tz=UTC)
    run_rollups()
    row.refresh_from_db()
    assert row.samples == 60 and row.util_pct_max == 90.0
    assert GpuRollup.objects.get(period_s=PERIOD_1H).util_pct_max == 90.0
    assert Host.objects.get().rollup_dirty_from is None


def test_a_live_push_does_not_mark_the_host(client, agent_token):
    post(client, agent_token[1], batch(n_samples=3))
    assert Host.objects.get().rollup_dirty_from is None


def test_coverage_is_time_not_sample_count(client, agent_token):
    start = _hour_ago(3)
    post(client, agent_token[1], batch(machine_id="fast", n_samples=721, start=start - 5, interval_s=5))
    post(client, agent_token[1], batch(machine_id="slow", gpus=[{**batch()["gpus"][0], "uuid": "GPU-bbbb"}],
                                       n_samples=61, start=start - 60, interval_s=60))  # fmt: skip
    run_rollups()
    hour = datetime.fromtimestamp(start, tz=UTC)
    fast, slow = (HostRollup.objects.get(period_s=PERIOD_1H, ts=hour, host__machine_id=m) for m in ("fast", "slow"))
    assert (fast.samples, slow.samples) == (720, 60)
    assert fast.covered_s == slow.covered_s == HOUR


def test_a_gap_longer_than_the_limit_is_missing_data(client, agent_token, settings):
    settings.ROLLUP_MAX_GAP_S = 600
    start = _hour_ago(3)
    post(client, agent_token[1], batch(n_samples=4, start=start, interval_s=900))  # 15-min gaps
    run_rollups()
    assert GpuRollup.objects.get(period_s=PERIOD_1H).covered_s == 0


def test_the_cursor_rolls_only_closed_periods(client, agent_token, settings):
    settings.ROLLUP_GRACE_S = 180
    now = datetime.fromtimestamp(_hour_ago(1) + 20 * 60, tz=UTC)  # hh:20 of the last hour: always past
    post(client, agent_token[1], batch(n_samples=30, start=now.timestamp() - 30 * 60, interval_s=60))
    run_rollups(now=now)
    latest = GpuRollup.objects.filter(period_s=PERIOD_5M).latest("ts").ts
    assert latest == now - timedelta(minutes=10)  # hh:10–hh:15; hh:15–hh:20 is within the grace
    run_rollups(now=now + timedelta(minutes=5))
    assert GpuRollup.objects.filter(period_s=PERIOD_5M).latest("ts").ts == now - timedelta(minutes=5)
