"""A simulated fleet through the ingest API; rollups and analysis run by a real Celery worker on Redis."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from recommender.models import Recommendation
from recommender.tasks import analyze
from rightsizer.celery import app
from telemetry.models import Gpu, GpuRollup
from telemetry.tasks import roll_up
from tests.recommender.fleet import push_fleet
from tests.recommender.test_archetypes import EXPECTED


def _wait(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_the_fleet_gets_the_expected_advice_and_the_healthy_hosts_none(client, agent_token, redis_url, catalog):
    assert app.conf.broker_url == redis_url
    # Two whole days ending at midnight UTC, so the diurnal phase is the same whenever the test runs.
    push_fleet(client, agent_token[1], days=2.0, step_s=300, end=time.time() // 86400 * 86400)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        roll_up.delay()
        gpus = Gpu.objects.count()
        assert _wait(lambda: GpuRollup.objects.filter(period_s=3600).count() >= gpus * 47)
        analyze.delay()
        assert _wait(lambda: Recommendation.objects.exists())
        time.sleep(0.5)  # the analysis writes all its rows in one transaction; let the worker finish
    got: dict[str, set[str]] = {}
    for rec in Recommendation.objects.all():
        got.setdefault(rec.deployment, set()).add(rec.kind)
    for dep, kinds in EXPECTED.items():
        if dep != "user-priced":  # its price is set by hand in test_archetypes
            assert got.get(dep, set()) == kinds, (dep, got.get(dep))
    idle = Recommendation.objects.get(kind="idle")
    assert idle.saving_usd_month == pytest.approx(2.45 * 730) and "Mistral" in idle.reason
    assert all(r.status == "open" and r.evidence for r in Recommendation.objects.all())

    # Run again, as beat would an hour later: nothing new, nothing doubled.
    before = sorted(Recommendation.objects.values_list("target_key", "kind", "saving_usd_month"))
    from django.core.management import call_command

    call_command("analyze")
    assert sorted(Recommendation.objects.values_list("target_key", "kind", "saving_usd_month")) == before
