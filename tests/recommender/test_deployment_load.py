"""A deployment's hourly load: one grouped pass for the fleet, equal to what each chunk would sum."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommender import analysis
from recommender.analysis import Analysis
from telemetry.models import Gpu, GpuRollup, Host
from telemetry.models.rollups import PERIOD_1H
from telemetry.rollups import floor_to
from tests.batches import batch, gpu_info, post
from tests.telemetry.test_poisoned_host import _poison_rollups

pytestmark = pytest.mark.django_db

HOURS = 30
# host → (deployment, GPUs): hosts of one deployment land in different chunks of one host each.
FLEET = {"a1": ("chat", 2), "b1": ("embed", 1), "a2": ("chat", 1), "b2": ("embed", 2), "a3": ("chat", 1)}


def _util(host: str, index: int, hour: int) -> float:
    return float((sum(map(ord, host)) * 7 + index * 13 + hour * 5) % 97)


@pytest.fixture
def fleet(client, agent_token):
    hi = floor_to(timezone.now(), PERIOD_1H)
    rows = []
    for name, (deployment, n) in FLEET.items():
        gpus = [gpu_info(f"GPU-{name}-{i}", index=i) for i in range(n)]
        payload = batch(machine_id=f"m-{name}", hostname=name, gpus=gpus, servers=[], n_samples=1,
                        labels={"deployment": deployment})  # fmt: skip
        assert post(client, agent_token[1], payload).status_code == 202
        for gpu in Gpu.objects.filter(host__hostname=name):
            for hour in range(1, HOURS + 1):
                rows.append(GpuRollup(gpu=gpu, period_s=PERIOD_1H, ts=hi - timedelta(hours=hour), samples=720,
                                      covered_s=3600.0, util_pct_mean=_util(name, gpu.index, hour)))  # fmt: skip
    GpuRollup.objects.bulk_create(rows)
    return hi


def _expected(hi, hosts) -> dict[str, dict[int, float]]:
    loads: dict[str, dict[int, float]] = {}
    for name in hosts:
        deployment, n = FLEET[name]
        for hour in range(1, HOURS + 1):
            key = int((hi - timedelta(hours=hour)).timestamp())
            by_hour = loads.setdefault(deployment, {})
            by_hour[key] = by_hour.get(key, 0.0) + sum(_util(name, i, hour) for i in range(n))
    return loads


def _loads(a: Analysis) -> dict[str, dict[int, float]]:
    return {name: {k: pytest.approx(v) for k, v in dep.load_by_hour.items()} for name, dep in a.deployments.items()}


def test_one_grouped_pass_gives_each_deployment_the_sum_of_its_gpus_however_hosts_are_chunked(fleet, monkeypatch):
    monkeypatch.setattr(analysis, "CHUNK_HOSTS", 1)
    table = GpuRollup._meta.db_table
    one_pass = Analysis()
    with CaptureQueriesContext(connection) as queries:
        one_pass.run()
    by_hour = f'"{table}"."ts" AS "ts"'  # the hour is selected: per-deployment (or per-host) hourly sums
    grouped = [q["sql"] for q in queries if by_hour in q["sql"] and "GROUP BY" in q["sql"]]
    assert len(grouped) == 1, grouped  # not one per chunk: that scanned the whole table per chunk
    assert _expected(fleet, FLEET) == _loads(one_pass)

    monkeypatch.setattr(Analysis, "_deployment_loads", lambda self: None)  # the per-chunk fallback
    per_chunk = Analysis()
    per_chunk.run()
    assert _loads(per_chunk) == _loads(one_pass)


def test_a_host_that_cannot_be_loaded_adds_no_load_to_its_deployment(fleet, caplog):
    _poison_rollups(Host.objects.get(hostname="a2"), PERIOD_1H, fleet - timedelta(hours=10))
    a = Analysis()
    with caplog.at_level(logging.WARNING, logger="recommender.analysis"):
        a.run()
    assert any("event=analysis_failed host=a2" in r.getMessage() for r in caplog.records)
    assert a.loads is not None  # the poison sits in two hours of one GPU: the grouped pass itself worked
    assert sorted(h.hostname for h in a.deployments["chat"].hosts) == ["a1", "a3"]
    assert _loads(a) == _expected(fleet, ["a1", "a3", "b1", "b2"])
