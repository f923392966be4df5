"""Two real Celery workers, each with its own beat, on one Redis: every periodic job runs once per period."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import redis

from rightsizer.beat import LOCK_KEY

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "rightsizer-beat-test"
# A job every second, on a queue of its own, so the test runs in seconds and leaves nothing behind.
LAUNCH = f"""
import sys
from rightsizer.celery import app

@app.task(name="tests.beat_probe")
def beat_probe():
    return "ran"

app.conf.beat_schedule = {{"probe": {{"task": "tests.beat_probe", "schedule": 1.0, "options": {{"queue": "{QUEUE}"}}}}}}
app.worker_main(["worker", "--beat", "--pool", "solo", "--loglevel", "INFO", "-n", sys.argv[1], "-Q", "{QUEUE}",
                 "--schedule", sys.argv[2], "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def test_two_workers_with_beat_send_and_run_each_job_once_per_period(redis_url, tmp_path):
    client = redis.Redis.from_url(redis_url)
    client.delete(LOCK_KEY, QUEUE)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(REDIS_URL=redis_url, RIGHTSIZER_VAR_DIR=str(tmp_path), RIGHTSIZER_LOG_FORMAT="json")
    procs, logs = [], []
    for name in ("a", "b"):
        log = tmp_path / f"{name}.log"
        with open(log, "w") as out:
            procs.append(subprocess.Popen([sys.executable, "-c", LAUNCH, f"{name}@beat-test", str(tmp_path / name)],
                                          cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))  # fmt: skip
        logs.append(log)
    try:
        deadline = time.monotonic() + 45
        while not all("ready." in log.read_text() for log in logs) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [log.read_text() for log in logs]
            time.sleep(0.1)
        started = time.monotonic()
        time.sleep(6)
        window_s = time.monotonic() - started
    finally:
        # The waiting one first, so that it cannot take the lock the holder hands over as it stops.
        waiting_first = sorted(zip(procs, logs, strict=True), key=lambda pl: "beat_lock_taken" in pl[1].read_text())
        for p, _ in waiting_first:
            p.send_signal(signal.SIGTERM)
            p.wait(20)
        released = client.get(LOCK_KEY) is None
        client.delete(LOCK_KEY, QUEUE)
    texts = [log.read_text() for log in logs]
    sends = sorted(
        datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00")).timestamp()
        for t in texts
        for line in t.splitlines()
        if "Sending due task probe (tests.beat_probe)" in line
    )
    ran = [m for t in texts for m in re.findall(r"Task tests\.beat_probe\[([0-9a-f-]+)\] succeeded", t)]
    holders = [t for t in texts if "beat_lock_taken" in t]
    assert len(holders) == 1, texts  # one beat sends; the other waits for the lock
    assert released
    assert sum("Sending due task" in t for t in texts) == 1
    assert len(sends) >= window_s - 2, (sends, window_s)
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert min(gaps) > 0.5, gaps  # once a period: two beats would send the same job together
    assert len(ran) == len(set(ran))  # no job run twice
    assert len(sends) - 1 <= len(ran) <= len(sends)  # each sent was run by one worker (the last may be in flight)
