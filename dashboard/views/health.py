from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)
BROKER_TIMEOUT_S = 3.0


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the compose file: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the Celery broker both answer. 503 names each that does not,
    so a load balancer stops sending work that would only fail, and a person reads why."""
    checks = {"database": _database(), "broker": _broker()}
    failed = {name: error for name, error in checks.items() if error}
    if failed:
        log.warning("event=not_ready %s", " ".join(f"{k}={v!r}" for k, v in failed.items()))
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ok", "checked": list(checks)})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    return ""


def _broker() -> str:
    from rightsizer.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - kombu raises each transport's own errors; all mean "not ready"
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    return ""
