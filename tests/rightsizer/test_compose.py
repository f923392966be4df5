"""The compose file and Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
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
        if line.startswith("COPY ") and "--from=" not in line:
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is missing"


def test_every_package_the_wheel_holds_is_copied_into_the_build():
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    packages = re.search(r"include = \[(.*?)\]", (ROOT / "pyproject.toml").read_text()).group(1)
    for name in re.findall(r'"(\w+)\*"', packages):
        assert name in copied, f"pyproject installs {name}, which the image's build stage does not copy"


def test_the_app_reads_every_variable_the_compose_file_sets():
    # Django's settings, gunicorn's config (WEB_CONCURRENCY) and the metrics (PROMETHEUS_MULTIPROC_DIR).
    readers = ("settings.py", "gunicorn_conf.py", "metrics.py")
    text = "".join((ROOT / "rightsizer" / name).read_text() for name in readers)
    for service in ("web", "worker", "beat"):
        for name in compose()["services"][service]["environment"]:
            assert f'"{name}"' in text, f"{name} is set in compose but read by none of {readers}"


def test_every_long_running_service_has_a_health_check_and_the_app_keeps_its_state_in_a_volume():
    services = compose()["services"]
    for name in ("postgres", "redis", "web", "worker", "beat"):
        check = services[name]["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1, name
    assert "celery -A rightsizer inspect ping" in services["worker"]["healthcheck"]["test"][1]
    assert services["beat"]["healthcheck"]["test"][1:4] == ["python", "manage.py", "check_beat"]
    for name in ("web", "worker", "beat"):
        assert "state:/var/lib/rightsizer" in services[name]["volumes"]
    assert "state" in compose()["volumes"]
    assert "--schedule" in services["beat"]["command"] and "/var/lib/rightsizer/" in services["beat"]["command"][-1]


def test_the_env_example_names_every_variable_the_compose_file_reads():
    wanted = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    given = set(re.findall(r"^(\w+)=", example, re.M))
    assert wanted <= given, f"missing from .env.example: {sorted(wanted - given)}"
    assert re.search(r"^SECRET_KEY=$", example, re.M) and re.search(r"^POSTGRES_PASSWORD=$", example, re.M)


@pytest.mark.django_db
def test_the_beat_health_check_command(capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.utils import timezone

    from rightsizer.models import TaskRun

    with pytest.raises(CommandError, match="has not succeeded yet"):
        call_command("check_beat")
    TaskRun.objects.create(task="telemetry.tasks.roll_up", last_success_at=timezone.now() - timedelta(minutes=10))
    with pytest.raises(CommandError, match=r"last succeeded 6\d\d s ago \(limit 300 s\)"):
        call_command("check_beat", "--max-age", "300")
    TaskRun.objects.filter(task="telemetry.tasks.roll_up").update(last_success_at=timezone.now())
    call_command("check_beat")
    assert capsys.readouterr().out.startswith("ok: telemetry.tasks.roll_up succeeded")
