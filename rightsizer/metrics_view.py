"""GET /metrics: the Prometheus text format, optionally behind a bearer token."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from rightsizer import metrics
from rightsizer.fleet_metrics import FleetCollector


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token and not _bearer_matches(request, token):
        resp = HttpResponse(
            "Send the scrape token as 'Authorization: Bearer …' (RIGHTSIZER_METRICS_TOKEN; in Prometheus, "
            "the job's authorization: credentials_file).\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        resp["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return resp
    body = generate_latest(metrics.registry()) + generate_latest(_fleet_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _fleet_registry() -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(FleetCollector())
    return reg


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
