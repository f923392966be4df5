"""scripts/run.sh (make run, make demo) with stand-ins for the programs it starts: what it passes them, what it says."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each stand-in writes down the variables it was started with; the servers then wait to be stopped.
PYTHON = """#!/usr/bin/env bash
case "$2" in
  bootstrap_admin) echo "Created admin account: username admin  password s3cret-pw" ;;
  local_agent_token) echo "$RIGHTSIZER_VAR_DIR/token" ;;
  demo) echo "demo: 0 open recommendation(s), ready in 1 s" ;;
esac
"""
SERVER = """#!/usr/bin/env bash
echo "site_url=$RIGHTSIZER_SITE_URL access_log=${RIGHTSIZER_ACCESS_LOG:-}" > "$RIGHTSIZER_VAR_DIR/$(basename "$0").env"
exec sleep 30
"""


def _run(tmp_path: Path, **env: str) -> tuple[str, dict[str, str]]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name, text in {"python": PYTHON, "gunicorn": SERVER, "celery": SERVER, "rightsizer-agent": SERVER}.items():
        (venv / "bin" / name).write_text(text)
        (venv / "bin" / name).chmod(0o755)
    var = tmp_path / "var"
    base = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSIZER_") and k != "DEMO"}
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run.sh")], env={**base, "VENV": str(venv), "RIGHTSIZER_VAR_DIR": str(var), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    for line in proc.stdout:  # until the ready message's last line
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    deadline = time.monotonic() + 10
    while len(list(var.glob("*.env"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    lines += proc.stdout.read().splitlines(keepends=True)
    assert proc.wait(timeout=20) == 0
    started = {p.stem: p.read_text().strip() for p in var.glob("*.env")}
    return "".join(lines), started


def test_alert_links_follow_the_port_and_the_ready_message_repeats_the_login(tmp_path):
    out, started = _run(tmp_path, RIGHTSIZER_PORT="8791")
    # The worker sends the alerts, the web server the test ones: both link to where the pages are.
    assert started["celery"] == started["gunicorn"] == "site_url=http://127.0.0.1:8791 access_log=", started
    ready = out.split("Rightsizer is running at http://127.0.0.1:8791/", 1)[1]
    assert "Created admin account: username admin  password s3cret-pw" in ready, out
    assert "above" not in out


def test_a_site_url_that_is_set_stands_and_the_demo_logs_no_requests(tmp_path):
    out, started = _run(tmp_path, RIGHTSIZER_SITE_URL="https://rs.example.com", DEMO="1")
    assert started["gunicorn"] == "site_url=https://rs.example.com access_log=false", started
    assert "demo: 0 open recommendation(s)" in out
