"""POST /api/v1/ingest on a short path through the request cycle.

An agent's push is a bearer-token POST: it needs no session, CSRF cookie, user,
messages, viewer time zone or login lockout, and no URL routing. This
middleware, second in MIDDLEWARE (after rightsizer.metrics.IngestMetrics, so
every answer is still counted and timed), answers the ingest path itself:
through the middleware that only add response headers (security, CSP,
Content-Length, X-Frame-Options; built from settings.MIDDLEWARE, in its order) around
telemetry.ingest, with the API's own answers to an unexpected error (500) and a
lost database (503). The ninja route stays: it is the endpoint's OpenAPI
schema, and what any other method or path reaches.

The ingest path also skips Django's per-request connection health check (a
`SELECT 1` round trip): a connection that died while idle fails the push with
the API's 503, the agent retries, and Django drops the broken connection when
the request finishes (errors_occurred), so the retry gets a fresh one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from django.utils.module_loading import import_string

from rightsizer.api import database_unavailable, internal_error
from telemetry.ingest import handle_ingest

INGEST_PATH_INFO = "/api/v1/ingest"
# What each of these does to an answer is headers only; the rest of MIDDLEWARE is skipped.
HEADER_MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.common.CommonMiddleware",  # Content-Length
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
}


class IngestPath:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        handler = convert_exception_to_response(ingest_view)
        for path in reversed([m for m in settings.MIDDLEWARE if m in HEADER_MIDDLEWARE]):
            handler = convert_exception_to_response(import_string(path)(handler))
        self.ingest = handler

    def __call__(self, request: Any) -> Any:
        if request.path_info != INGEST_PATH_INFO or request.method != "POST":
            return self.get_response(request)
        return self.ingest(request)


def ingest_view(request: Any) -> Any:
    timezone.deactivate()  # a thread's earlier dashboard request may have set the viewer's zone
    connection.health_check_done = True  # see the module's docstring
    try:
        return handle_ingest(request)
    except (OperationalError, InterfaceError) as exc:
        return database_unavailable(request, exc)
    except Exception as exc:  # noqa: BLE001 - the API's JSON 500, as ninja's handler answers it
        return internal_error(request, exc)
