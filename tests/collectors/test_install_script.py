"""collectors/packaging/install.sh, the one-line systemd install: what it refuses before touching the host."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "collectors" / "packaging" / "install.sh"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT), *args], capture_output=True, text=True, timeout=10)


def test_it_parses_and_asks_for_what_it_needs():
    assert subprocess.run(["sh", "-n", str(SCRIPT)]).returncode == 0
    missing = run("--url", "https://rightsizer.example.com")
    assert missing.returncode == 2 and "--url, --token and --from are required" in missing.stderr
    unknown = run("--tokn", "x")
    assert unknown.returncode == 2 and "unknown option --tokn" in unknown.stderr


def test_the_unit_it_installs_runs_the_agent_from_the_prefix():
    unit = (SCRIPT.parent / "rightsizer-agent.service").read_text()
    assert "ExecStart=/opt/rightsizer-agent/bin/rightsizer-agent run" in unit  # install.sh rewrites the prefix
    assert "EnvironmentFile=-/etc/rightsizer/agent.env" in unit and "User=rightsizer-agent" in unit
