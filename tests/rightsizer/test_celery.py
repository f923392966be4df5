"""A task sent through the real broker (Redis) and run by a real worker."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from rightsizer.celery import app
from telemetry.models import HostSample
from telemetry.tasks import apply_retention
from tests.batches import batch, post


@pytest.mark.django_db(transaction=True)
def test_prune_task_runs_on_a_worker_through_redis(client, agent_token, redis_url, settings):
    assert app.conf.broker_url == redis_url
    settings.RETENTION_RAW_DAYS = 1
    post(client, agent_token[1], batch(n_samples=2, start=time.time() - 2 * 86400))
    post(client, agent_token[1], batch(n_samples=1))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        apply_retention.delay()
        deadline = time.monotonic() + 20
        while HostSample.objects.count() != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert HostSample.objects.count() == 1
