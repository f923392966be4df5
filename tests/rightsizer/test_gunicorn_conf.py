"""gunicorn as the image and `make run` start it: counts add up across its workers, logs are JSON."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _refused(base: str) -> float:
    _, body = _get(base + "/metrics")
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == "rightsizer_ingest_requests_total" and s.labels == {"outcome": "refused"}:
                return s.value
    return 0.0


def test_two_workers_count_into_one_total_that_outlives_a_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(RIGHTSIZER_VAR_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
               RIGHTSIZER_LOG_FORMAT="json", WEB_CONCURRENCY="2")  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "out.log", "wb") as out, open(tmp_path / "err.log", "wb") as err:
        command = [BIN / "gunicorn", "-c", "python:rightsizer.gunicorn_conf", "rightsizer.wsgi"]
        master = subprocess.Popen([*command, "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=out, stderr=err)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if _get(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            workers = psutil.Process(master.pid).children()
            assert len(workers) == 2  # WEB_CONCURRENCY
            for _ in range(30):
                assert _get(base + "/api/v1/ingest", "POST")[0] == 401
            assert _refused(base) == 30
            counted = {int(p.stem.split("_")[-1]) for p in (tmp_path / "metrics").glob("counter_*.db")}
            served = [w for w in workers if w.pid in counted]  # each process counts in a file of its own
            assert served

            served[0].send_signal(signal.SIGTERM)  # a worker that counted exits; the master starts another
            served[0].wait(10)
            deadline = time.monotonic() + 10
            while len(psutil.Process(master.pid).children()) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _refused(base) == 30  # the dead worker's count is still in the total
        finally:
            master.send_signal(signal.SIGTERM)
            master.wait(30)
    access = [json.loads(line) for line in (tmp_path / "out.log").read_text().splitlines()]
    refused = [e for e in access if e.get("path") == "/api/v1/ingest"]
    assert len(refused) == 30
    assert refused[0]["event"] == "http_request" and refused[0]["status"] == 401 and refused[0]["method"] == "POST"
    for line in (tmp_path / "err.log").read_text().splitlines():
        json.loads(line)  # gunicorn's own log and the app's: every line one JSON object


def test_the_access_log_can_be_turned_off_and_warnings_still_come(monkeypatch):
    import importlib

    from rightsizer import gunicorn_conf

    try:
        monkeypatch.setenv("RIGHTSIZER_ACCESS_LOG", "false")
        assert importlib.reload(gunicorn_conf).logconfig_dict["loggers"]["gunicorn.access"]["level"] == "WARNING"
        monkeypatch.delenv("RIGHTSIZER_ACCESS_LOG")
        assert "level" not in importlib.reload(gunicorn_conf).logconfig_dict["loggers"]["gunicorn.access"]
    finally:
        monkeypatch.delenv("RIGHTSIZER_ACCESS_LOG", raising=False)
        importlib.reload(gunicorn_conf)
