"""The settings module as a deployment meets it: from the environment, failing loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**full_env, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_bad_variable_stops_the_start_with_its_name(tmp_path):
    result = run_manage("check", RIGHTSIZER_DEBUG="maybe", RIGHTSIZER_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "RIGHTSIZER_DEBUG='maybe' is not a boolean" in result.stderr


def test_an_offline_limit_shorter_than_last_seen_can_show_is_refused_with_both_names(tmp_path):
    result = run_manage("check", RIGHTSIZER_HOST_OFFLINE_AFTER_S="60", RIGHTSIZER_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "RIGHTSIZER_HOST_OFFLINE_AFTER_S=60 must be at least RIGHTSIZER_LAST_SEEN_RESOLUTION_S (60)" in result.stderr
    ok = run_manage("check", RIGHTSIZER_HOST_OFFLINE_AFTER_S="90", RIGHTSIZER_LAST_SEEN_RESOLUTION_S="30",
                    RIGHTSIZER_VAR_DIR=str(tmp_path))  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def test_embedded_defaults_use_sqlite_and_the_disk_broker_under_var(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL)"
    )
    result = run_manage("shell", "-v", "0", "-c", code, RIGHTSIZER_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    engine, name, broker = result.stdout.split()
    assert engine == "django.db.backends.sqlite3" and name == str(tmp_path / "rightsizer.sqlite3")
    assert broker == "filesystem://localhost/" and (tmp_path / "celery" / "queue").is_dir()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_database_url_and_redis_url_switch_to_postgres_and_redis(tmp_path):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    result = run_manage(
        "shell", "-v", "0", "-c", code, RIGHTSIZER_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://u@db.example:5432/rs", REDIS_URL="redis://cache.example:6379/1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://cache.example:6379/1"]


def test_celery_settings_are_json_only_with_time_limits():
    assert settings.CELERY_TASK_SERIALIZER == "json" and settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert "expires" in entry["options"]


@pytest.mark.skipif(not IN_CI, reason="CI must run on PostgreSQL; a laptop may use SQLite")
def test_ci_runs_on_postgresql_and_redis():
    assert connection.vendor == "postgresql", "CI must set DATABASE_URL to PostgreSQL"
    assert settings.REDIS_URL, "CI must set REDIS_URL"


def test_a_sqlite_database_url_gets_the_embedded_defaults_locking(tmp_path):
    """Two first pushes at once were a 500 "database is locked" with sqlite:// (no WAL, no IMMEDIATE, no timeout)."""
    code = (
        "from django.db import connection as c; from django.conf import settings as s; "
        "cur = c.cursor(); cur.execute('PRAGMA journal_mode'); mode = cur.fetchone()[0]; "
        "cur.execute('PRAGMA busy_timeout'); busy = cur.fetchone()[0]; "
        "print(mode, busy, s.DATABASES['default']['OPTIONS']['transaction_mode'])"
    )
    url = f"sqlite:///{tmp_path / 'url.sqlite3'}"
    result = run_manage("shell", "-v", "0", "-c", code, RIGHTSIZER_VAR_DIR=str(tmp_path), DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20000", "IMMEDIATE"]
