"""Real processes for the fault tests: gunicorn, the agent, a Redis and a PostgreSQL database of their own."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.collectors.conftest import ROOT, IngestServer, free_port


def wait_for(condition, timeout_s: float, step_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return bool(condition())


class Server(IngestServer):
    """gunicorn as in the agent's tests, with REDIS_URL / DATABASE_URL when a test gives them."""

    extra_env: dict[str, str]

    def env(self) -> dict[str, str]:
        return {**super().env(), **getattr(self, "extra_env", {})}

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), check=True,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        return done.stdout.strip()


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory) -> Server:
    """One migrated SQLite database and agent token for the session; each test gets a copy."""
    template = Server(tmp_path_factory.mktemp("faults-template"), 0, "")
    template.manage("migrate", "-v0")
    template.token = template.manage("create_agent_token", "fault-tests")
    return template


@pytest.fixture
def make_server(_migrated):
    def make(var_dir: Path, **extra_env: str) -> Server:
        """gunicorn on a copy of the migrated SQLite database."""
        server = Server(var_dir, free_port(), _migrated.token)
        server.extra_env = extra_env
        var_dir.mkdir(parents=True, exist_ok=True)
        for f in _migrated.var_dir.glob("rightsizer.sqlite3*"):
            shutil.copy(f, var_dir / f.name)
        return server

    return make


def stored_ts(server) -> list[float]:
    """Every stored host sample's time, rounded to the agent's millisecond."""
    rows = server.query("SELECT ts FROM telemetry_hostsample ORDER BY ts")
    return [round(datetime.fromisoformat(str(r[0])).replace(tzinfo=UTC).timestamp(), 3) for r in rows]


class Agent:
    """`python -m collectors.cli … run` (what rightsizer-agent runs) in its own process, logging to a file."""

    def __init__(self, url: str, token: str, state: Path, sample_s: float, push_s: float) -> None:
        self.state, self.log = state, state / "agent.log"
        state.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "collectors.cli", "--url", url, "--token", token, "--state-dir", str(state),
               "--sample-interval", str(sample_s), "--push-interval", str(push_s), "run"]  # fmt: skip
        with open(self.log, "a") as log_file:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env={"PATH": "/usr/bin:/bin", "RIGHTSIZER_DISCOVER": "false", "RIGHTSIZER_LOG_FORMAT": "kv"},
            )  # these tests read key=value lines
        assert wait_for(lambda: self.proc.poll() is not None or "event=agent_started" in self.log.read_text(), 30)
        assert self.proc.poll() is None, self.log.read_text()

    def spooled(self) -> list[Path]:
        return sorted((self.state / "spool").glob("*.json.gz"))

    def stop(self) -> str:
        """SIGTERM: it pushes what it holds and exits; returns its log."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == 0, self.log.read_text()
        return self.log.read_text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def agents():
    started: list[Agent] = []

    def start(*args, **kwargs) -> Agent:
        agent = Agent(*args, **kwargs)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        if agent.proc.poll() is None:
            agent.kill()


class OwnRedis:
    """A redis-server of this test's own on a free port, without persistence: stopped and started at will."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.dir, self.proc = free_port(), tmp, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

        def answers() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        assert wait_for(answers, 10), "redis-server did not start"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)  # an outage, not a shutdown
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def push(url: str, token: str, payload: dict) -> tuple[int, dict[str, str], dict]:
    """One gzipped POST /api/v1/ingest over real HTTP: (status, headers, JSON answer)."""
    import gzip
    import http.client
    import json
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/api/v1/ingest", body=gzip.compress(json.dumps(payload).encode()),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                              "Content-Encoding": "gzip"})  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        assert headers.get("content-type", "").startswith("application/json"), (response.status, body[:200])
        return response.status, headers, json.loads(body)
    finally:
        conn.close()
