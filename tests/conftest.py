"""Shared fixtures: personas, agent tokens, the real services the tests use."""

from __future__ import annotations

import importlib
import logging
import os

import pytest
from django.conf import settings

from telemetry.models import AgentToken

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reason: str) -> None:
    """Skip with a visible reason on a laptop; fail in CI, where the service must be there."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        require_service("Redis", "set REDIS_URL=redis://127.0.0.1:6379/0 to run this test")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{url} does not answer ({exc})")
    return url


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def viewer(django_user_model):
    return django_user_model.objects.create_user("viewer", "viewer@example.com", "viewer-pass-123")


@pytest.fixture
def outsider(django_user_model):
    """An account that exists but was switched off: it cannot log in, so it reads nothing."""
    return django_user_model.objects.create_user("outsider", "o@example.com", "outsider-pass-123", is_active=False)


@pytest.fixture
def agent_token(db) -> tuple[AgentToken, str]:
    return AgentToken.issue("test fleet")


@pytest.fixture
def catalog(transactional_db) -> None:
    """The GPU and model catalog for a transactional test: the flush after an earlier one empties
    the tables the data migration filled, so load them again (the migration's own loader)."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    from recommender.models import GpuType, ModelSpec

    if not GpuType.objects.exists():
        # The flush leaves the sequences where they were: starting them again gives every reload the
        # same ids, so a fleet kept from an earlier test's build (tests/dashboard/conftest.py) fits.
        sequences = [{"table": m._meta.db_table, "column": "id"} for m in (GpuType, ModelSpec)]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_by_name_sql(no_style(), sequences):
                cursor.execute(sql)
        importlib.import_module("recommender.migrations.0002_catalog").load(apps, None)


@pytest.fixture(autouse=True)
def _log_at_info():
    """Every test sees INFO records: an earlier in-process component (a Celery worker, a server) can
    raise the root logger's level for the rest of the session, which hid the lines later tests assert on."""
    root = logging.getLogger()
    level = root.level
    if level > logging.INFO:
        root.setLevel(logging.INFO)
    yield
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """Rate-limit counters live in the cache; they must not leak between tests."""
    from django.core.cache import cache

    from telemetry import hostcache, ratelimit

    cache.clear()
    ratelimit.reset()
    hostcache.clear()  # host ids of a rolled-back test may be reused by the next one
