"""Redis stopped under a running server, and a Celery worker SIGKILLed mid-task: each with a Redis of its own."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from celery import Celery

from tests.batches import batch
from tests.collectors.conftest import ROOT
from tests.faults.conftest import push, wait_for

HOUR = 3600


def closed_hour_batches(n: int, start: float) -> list[dict]:
    """n pushes of six 5-second samples, back to back from `start`: all in one closed hour."""
    return [batch(n_samples=6, start=start + 30 * k, interval_s=5.0) for k in range(n)]


def rollup_rows(server, period_s: int) -> tuple[int, int, int]:
    """(host rows, distinct host rows, gpu rows) of one rollup tier."""
    return server.query(
        f"SELECT (SELECT count(*) FROM telemetry_hostrollup WHERE period_s = {period_s}),"
        f" (SELECT count(DISTINCT host_id || ':' || ts) FROM telemetry_hostrollup WHERE period_s = {period_s}),"
        f" (SELECT count(*) FROM telemetry_gpurollup WHERE period_s = {period_s})"
    )[0]


def periods_5m(server) -> int:
    """The 5-minute periods the stored samples fall in: one rollup row each per entity."""
    return server.query("SELECT count(DISTINCT CAST(strftime('%s', ts) AS INTEGER) / 300) FROM telemetry_hostsample")[
        0
    ][0]


class Worker:
    """A real `celery worker` (solo pool) on the test's Redis; acks_late messages come back after
    a short visibility timeout when the worker that took them dies."""

    LAUNCH = (
        "import sys; from rightsizer.celery import app; "
        "app.conf.broker_transport_options = {'visibility_timeout': 3, 'unacked_restore_interval': 1, "
        "'unacked_restore_throttle': 1}; "
        "app.worker_main(['worker', '--pool', 'solo', '--loglevel', 'INFO', '--without-gossip', "
        "'--without-mingle', '--without-heartbeat', '-n', sys.argv[1]])"
    )

    def __init__(self, server, name: str, log_path) -> None:
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", self.LAUNCH, f"{name}@faults"], cwd=ROOT,
                                         env={**server.env(), "RIGHTSIZER_LOG_LEVEL": "INFO"},
                                         stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        assert wait_for(lambda: self.proc.poll() is not None or "ready." in self.log(), 45), self.log()
        assert self.proc.poll() is None, self.log()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def redis_server(make_server, own_redis, tmp_path):
    """gunicorn on SQLite with the test's own Redis as REDIS_URL (rate limits, broker); 4 pushes a minute."""
    server = make_server(tmp_path / "server", REDIS_URL=own_redis.url, RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN="4")
    server.start()
    yield server
    server.stop()


def test_ingest_answers_202_with_redis_down_and_rollups_catch_up_after(redis_server, own_redis, tmp_path):
    server, limit = redis_server, 4
    start = (time.time() // HOUR - 1) * HOUR  # the last closed hour
    pushes = iter(closed_hour_batches(20, start))
    assert push(server.url, server.token, next(pushes))[0] == 202

    own_redis.stop()  # the rate limiter's counters (and the broker) are gone
    answers = [push(server.url, server.token, next(pushes)) for _ in range(limit + 3)]
    assert [a[0] for a in answers] == [202] * (limit + 3)  # fails open: more than the limit, all taken
    assert all(a[2]["accepted"] == 6 for a in answers)

    own_redis.start()  # back, empty
    statuses = []
    for _ in range(2 * limit + 1):  # enough to pass the limit even if a minute's window turns meanwhile
        status, headers, answer = push(server.url, server.token, next(pushes))
        statuses.append(status)
        if status == 429:
            assert answer["error"] == "rate_limited" and int(headers["retry-after"]) >= 1
            break
    assert statuses[-1] == 429 and statuses.count(202) >= limit  # the limiter counts again

    # The rollups catch up: the roll-up task, run by a worker once the broker is back.
    stored = server.query("SELECT count(*) FROM telemetry_hostsample")[0][0]
    assert stored == 6 * (1 + limit + 3 + statuses.count(202))
    worker = Worker(server, "rollup", tmp_path / "worker.log")
    try:
        Celery(broker=own_redis.url).send_task("telemetry.tasks.roll_up")
        assert wait_for(lambda: rollup_rows(server, HOUR)[0] >= 1, 40), worker.log()
    finally:
        worker.stop()
    assert rollup_rows(server, 300) == (periods_5m(server), periods_5m(server), periods_5m(server))
    assert rollup_rows(server, HOUR) == (1, 1, 1)


def test_a_worker_killed_mid_rollup_is_redelivered_and_its_effect_happens_once(redis_server, own_redis, tmp_path):
    server = redis_server
    start = (time.time() // HOUR - 1) * HOUR
    for payload in closed_hour_batches(4, start):
        assert push(server.url, server.token, payload)[0] == 202
    first = Worker(server, "first", tmp_path / "first.log")
    # Hold SQLite's write lock, so the task, once started, blocks on its first write.
    db = sqlite3.connect(server.var_dir / "rightsizer.sqlite3", isolation_level=None, timeout=20)
    db.execute("BEGIN IMMEDIATE")
    try:
        Celery(broker=own_redis.url).send_task("telemetry.tasks.roll_up")
        assert wait_for(lambda: "telemetry.tasks.roll_up" in first.log(), 30), first.log()
        time.sleep(1.0)  # it runs, and waits on the lock
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        db.execute("ROLLBACK")
        db.close()
    assert "succeeded" not in first.log()
    assert rollup_rows(server, 300) == (0, 0, 0)  # the killed task wrote nothing

    second = Worker(server, "second", tmp_path / "second.log")
    try:  # acks_late: the message was never acknowledged, so it comes back to the next worker
        assert wait_for(lambda: "succeeded" in second.log(), 40), second.log()
        time.sleep(0.5)  # anything doubled would be delivered meanwhile
    finally:
        second.stop()
    assert second.log().count("telemetry.tasks.roll_up[") == 2  # received, succeeded: once
    assert rollup_rows(server, 300) == (periods_5m(server), periods_5m(server), periods_5m(server))
    assert rollup_rows(server, HOUR) == (1, 1, 1)
