"""One host's impossible rows cost that host its rollups and advice, never the fleet's.

Validation now refuses such values at ingest, so the poison is written straight into the
tables, as an older server, a restore or a hand edit could have left it. PostgreSQL
refuses to overflow a float8 (1e308 × seconds); SQLite rounds that to infinity but refuses
to overflow an integer sum, so the poison has a part for each.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from django.db import connection

from recommender.analysis import Analysis
from telemetry.models import Gpu, GpuRollup, GpuSample, Host, HostRollup, HostSample
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M, histogram_fields
from telemetry.rollups import run_rollups
from tests.batches import batch, gpu_info, gpu_reading, post

pytestmark = pytest.mark.django_db

HOUR = 3600
HUGE_INT = 2**62  # two of them overflow SQLite's integer sum


def _push_idle_host(client, token: str, name: str, hours: int = 40) -> Host:
    start = (time.time() // HOUR - hours) * HOUR
    payload = batch(machine_id=f"m-{name}", hostname=name, gpus=[gpu_info(f"GPU-{name}")], servers=[],
                    n_samples=hours * 12, start=start, interval_s=300.0,
                    labels={"deployment": f"dep-{name}"})  # fmt: skip
    for sample in payload["samples"]:
        sample["gpus"] = [gpu_reading(f"GPU-{name}", util_pct=0.0)]
    resp = post(client, token, payload)
    assert resp.status_code == 202, resp.content
    return Host.objects.get(hostname=name)


def _poison_rollups(host: Host, period_s: int, hour_start: datetime) -> None:
    """Two rows in one hour whose sums overflow: float8 on PostgreSQL, integer on SQLite."""
    gpu = Gpu.objects.get(host=host)
    big = HUGE_INT if connection.vendor == "sqlite" else 1
    step = 300 if period_s == PERIOD_5M else 0
    for i in range(2):
        ts = datetime.fromtimestamp(hour_start.timestamp() + i * step, tz=UTC)
        if period_s == PERIOD_1H and i:  # one row per hour in the hourly tier: the next hour
            ts = datetime.fromtimestamp(hour_start.timestamp() + HOUR, tz=UTC)
        hist = dict.fromkeys(histogram_fields("util"), big)
        GpuRollup.objects.update_or_create(
            gpu=gpu, period_s=period_s, ts=ts,
            defaults={"samples": big, "covered_s": 1e308, "util_pct_mean": 1e308, "util_pct_max": 1e308,
                      "power_w_mean": 1e308, **hist},
        )  # fmt: skip
        HostRollup.objects.update_or_create(
            host=host, period_s=period_s, ts=ts,
            defaults={"samples": big, "covered_s": 1e308, "cpu_pct_mean": 1e308, **dict.fromkeys(
                histogram_fields("cpu"), big)},
        )  # fmt: skip


@pytest.fixture
def fleet(client, agent_token):
    token = agent_token[1]
    hosts = {name: _push_idle_host(client, token, name) for name in ("healthy-a", "poisoned", "healthy-b")}
    # The raw tier: a reading no GPU can give, behind validation's back.
    poisoned = hosts["poisoned"]
    sample = GpuSample.objects.filter(gpu__host=poisoned).order_by("ts")[100]
    GpuSample.objects.filter(gpu=sample.gpu, ts=sample.ts).update(util_pct=1e308, power_w=1e308)
    HostSample.objects.filter(host=poisoned, ts=sample.ts).update(cpu_pct=1e308, net_rx_bps=1e308)
    return hosts


def test_a_poisoned_host_is_skipped_and_logged_and_the_others_roll_up(fleet, caplog):
    poisoned = fleet["poisoned"]
    hour = datetime.fromtimestamp((time.time() // HOUR - 30) * HOUR, tz=UTC)
    _poison_rollups(poisoned, PERIOD_5M, hour)  # stays: the poisoned host has its own raw rows there
    GpuSample.objects.filter(gpu__host=poisoned, ts__gte=hour, ts__lt=hour.replace(minute=10)).delete()
    HostSample.objects.filter(host=poisoned, ts__gte=hour, ts__lt=hour.replace(minute=10)).delete()
    with caplog.at_level(logging.WARNING, logger="telemetry.rollups"):
        run_rollups()
    for name in ("healthy-a", "healthy-b"):
        hours = GpuRollup.objects.filter(gpu__host=fleet[name], period_s=PERIOD_1H).count()
        assert hours >= 39, (name, hours)
        assert HostRollup.objects.filter(host=fleet[name], period_s=PERIOD_1H).count() == hours
    failures = [r.getMessage() for r in caplog.records if "event=rollup_failed" in r.getMessage()]
    assert failures and all("host=poisoned" in line for line in failures), failures
    assert any(f"period_s={PERIOD_1H}" in line for line in failures)
    # The poisoned host's other hours still rolled.
    assert GpuRollup.objects.filter(gpu__host=poisoned, period_s=PERIOD_1H).count() >= 30


def test_a_poisoned_host_is_skipped_and_logged_and_the_others_get_advice(fleet, caplog):
    run_rollups()
    hour = datetime.fromtimestamp((time.time() // HOUR - 20) * HOUR, tz=UTC)
    _poison_rollups(fleet["poisoned"], PERIOD_1H, hour)
    with caplog.at_level(logging.WARNING, logger="recommender.analysis"):
        findings = Analysis().run()
    advised = {f.deployment for f in findings}
    assert {"dep-healthy-a", "dep-healthy-b"} <= advised, [(f.kind, f.deployment) for f in findings]
    assert "dep-poisoned" not in advised
    failures = [r.getMessage() for r in caplog.records if "event=analysis_failed" in r.getMessage()]
    assert failures and all("host=poisoned" in line for line in failures), failures


def test_a_failing_rule_for_one_host_skips_only_that_host(fleet, caplog, monkeypatch):
    from recommender import rules

    run_rollups()
    real = list(rules.HOST_RULES)

    def fragile(host, ctx):
        if host.hostname == "poisoned":
            raise OverflowError("math range error")
        return []

    monkeypatch.setattr(rules, "HOST_RULES", [fragile, *real])
    with caplog.at_level(logging.WARNING, logger="recommender.analysis"):
        findings = Analysis().run()
    assert {"dep-healthy-a", "dep-healthy-b"} <= {f.deployment for f in findings}
    assert any("event=analysis_failed host=poisoned" in r.getMessage() for r in caplog.records)
