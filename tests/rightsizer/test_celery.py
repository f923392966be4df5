"""A task sent through the real broker (Redis) and run by a real worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from rightsizer.celery import app
from telemetry.models import HostSample
from telemetry.tasks import apply_retention
from tests.batches import batch, post

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_worker_stopped_by_sigterm_says_so_in_a_json_line(tmp_path):
    # As make run and the container start it; Celery itself would print "worker: Warm shutdown (MainProcess)".
    env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
           "RIGHTSIZER_VAR_DIR": str(tmp_path), "RIGHTSIZER_LOG_FORMAT": "json"}  # fmt: skip
    cmd = [str(Path(sys.executable).parent / "celery"), "-A", "rightsizer", "--quiet", "worker",
           "--loglevel", "INFO", "--concurrency", "1", "--pool", "solo"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "ready." in line:
                break
        proc.send_signal(signal.SIGTERM)
        lines += proc.stdout.read().splitlines(keepends=True)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    said = [line for line in lines if "shutdown" in line.lower()]
    assert said and all(line.startswith("{") for line in said), lines  # no plain "worker: Warm shutdown"
    records = [json.loads(line) for line in said]
    expected = {"event": "worker_shutdown", "how": "warm", "signal": "SIGTERM"}
    assert any(expected.items() <= r.items() for r in records), said
