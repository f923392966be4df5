"""A real ingest server in its own process, for the agent's end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class IngestServer:
    var_dir: Path
    port: int
    token: str
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        return {**env, "RIGHTSIZER_VAR_DIR": str(self.var_dir), "RIGHTSIZER_LOG_LEVEL": "WARNING"}

    def start(self) -> None:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen(
            [str(gunicorn), "rightsizer.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--log-level", "warning"], cwd=ROOT, env=self.env(),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the ingest server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
            self.proc = None

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "rightsizer.sqlite3") as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def ingest_server(tmp_path):
    """gunicorn on a fresh SQLite database of its own; stopped and started by the test."""
    var_dir = tmp_path / "server"
    server = IngestServer(var_dir, free_port(), "")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", *a],
        cwd=ROOT,
        env=server.env(),
        check=True,
        capture_output=True,
        text=True,
    )
    run("migrate", "-v0")
    server.token = run("create_agent_token", "agent-tests").stdout.strip()
    server.start()
    yield server
    server.stop()
