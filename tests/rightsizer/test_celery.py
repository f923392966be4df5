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


def test_the_beat_schedule_names_real_tasks_with_expiry_near_one_and_a_half_intervals():
    from django.conf import settings

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {e["task"] for e in schedule.values()} >= {
        "telemetry.tasks.roll_up", "recommender.tasks.analyze", "telemetry.tasks.apply_retention",
        "recommender.tasks.summarize_fleet", "recommender.tasks.summarize_new",
    }  # fmt: skip
    for entry in schedule.values():
        assert entry["task"] in app.tasks
    intervals = {"roll-up": 60, "analyze": 3600, "apply-retention": 86400, "summarize-fleet": 300,
                 "summarize-new-hosts": 60}  # fmt: skip
    for name, interval in intervals.items():
        assert 1.4 * interval <= schedule[name]["options"]["expires"] <= 1.6 * interval, name
