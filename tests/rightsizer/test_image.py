"""The image's install steps, run here without a Docker engine.

Two checks, chosen for what a broken image would really need: (1) the lock covers every server
dependency of pyproject.toml, within its ranges, each pin with hashes: read from the files, no
network; (2) the Dockerfile's own dependency step, run as written against PyPI into a fresh venv
with --dry-run: pip fetches every pinned file and checks its hash (the slow part of a real build,
a few seconds with pip's cache warm) but writes nothing. And the build stage's wheel is built for
real and holds everything the server reads from disk. A real `docker build` adds only the base
image and file copies, which test_compose.py checks path by path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "server.lock"
PIP = [sys.executable, "-m", "pip"]


def pins() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, [hashes])} from the lock."""
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        m = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def dockerfile_run(marker: str) -> list[str]:
    """The Dockerfile's RUN command that contains `marker`, as arguments."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("RUN ") and marker in line:
            return shlex.split(line.removeprefix("RUN ").split("&&")[0])
    raise AssertionError(f"no RUN line with {marker!r} in the Dockerfile")


def test_the_lock_pins_every_server_dependency_within_its_range_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins()
    for spec in project["optional-dependencies"]["server"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is a server dependency but not in {LOCK.name}: regenerate it (README)"
        assert req.specifier.contains(locked[name][0], prereleases=True), f"{name}=={locked[name][0]} is outside {req}"
    for name, (version, hashes) in locked.items():
        assert hashes, f"{name}=={version} has no hash"
    header = LOCK.read_text()[:600]
    assert "pip-compile" in header and "--generate-hashes" in header and "--extra=server" in header


def test_the_dockerfile_installs_the_lock_before_the_code_and_the_code_without_dependencies():
    text = (ROOT / "Dockerfile").read_text()
    deps = dockerfile_run("requirements/server.lock")
    assert {"--require-hashes", "--no-deps"} <= set(deps)
    code = dockerfile_run("/tmp/dist/")
    assert "--no-deps" in code
    final = text[text.rindex("FROM ") :]
    assert final.index("COPY requirements/server.lock") < final.index(" ".join(deps)) < final.index("COPY --from=build")
    assert "USER rightsizer" in final and "collectstatic" in final


def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=5).close()  # noqa: S310
    except OSError:
        return False
    return True


def test_the_dependency_step_resolves_every_pinned_file_against_its_hash(tmp_path):
    if not _pypi_reachable():
        require_service("PyPI", "the image's dependency step downloads from it")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    step = dockerfile_run("requirements/server.lock")  # pip install --no-cache-dir --require-hashes --no-deps -r …
    assert step[:2] == ["pip", "install"]
    args = [a for a in step[2:] if a != "--no-cache-dir"]  # the cache keeps this test to seconds
    report = tmp_path / "report.json"
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # PyPI as the image sees it, not this machine's mirrors
    subprocess.run([*PIP, "--python", str(tmp_path / "venv" / "bin" / "python"), "install", *args, "--dry-run",
                    "--ignore-installed", "--quiet", "--report", str(report)],
                   cwd=ROOT, env=env, check=True, timeout=300)  # fmt: skip
    planned = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
               for i in json.loads(report.read_text())["install"]}  # fmt: skip
    assert planned == {name: version for name, (version, _) in pins().items()}


def test_the_build_stage_wheel_holds_the_code_templates_static_files_and_migrations(tmp_path):
    step = dockerfile_run("pip wheel")  # pip wheel --no-cache-dir --no-deps --wheel-dir /dist .
    args = [str(tmp_path) if a == "/dist" else a for a in step[2:] if a != "--no-cache-dir"]
    if not _pypi_reachable():
        require_service("PyPI", "the build stage fetches setuptools for the wheel")
    subprocess.run([*PIP, "wheel", *args, "--quiet"], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    (wheel,) = tmp_path.glob("rightsizer-*.whl")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name.startswith(f"rightsizer-{version}-")
    names = zipfile.ZipFile(wheel).namelist()
    for wanted in (
        "rightsizer/gunicorn_conf.py",
        "rightsizer/migrations/0001_initial.py",
        "dashboard/templates/dashboard/base.html",
        "accounts/models.py",
        "collectors/jsonlog.py",
        "collectors/packaging/rightsizer-agent.service",  # the one-line systemd install reads it from the venv
        "collectors/packaging/install.sh",
    ):
        assert wanted in names, wanted
    assert any(n.startswith("dashboard/static/dashboard/vendor/chartjs/") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
