"""The compose file and Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_its_five_services():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert "celery" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]


def test_app_services_point_at_postgres_and_redis_and_wait_for_them():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_no_secret_is_committed():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${SECRET_KEY:?" in text and "${POSTGRES_PASSWORD:?" in text
    env = compose()["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${")


def test_healthchecks_hit_real_endpoints(client, db):
    web = compose()["services"]["web"]["healthcheck"]["test"]
    path = re.search(r"http://127\.0\.0\.1:8000(/\S+?)'", " ".join(web)).group(1)
    assert client.get(path, HTTP_HOST="127.0.0.1").status_code == 200


def test_every_path_the_dockerfile_copies_exists():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is missing"


def test_the_app_reads_every_variable_the_compose_file_sets():
    settings_text = (ROOT / "rightsizer" / "settings.py").read_text()
    env = compose()["services"]["web"]["environment"]
    for name in env:
        assert f'"{name}"' in settings_text, f"{name} is set in compose but not read by settings"
