"""Dashboard pages (read-only over the other apps)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from telemetry.models import AgentToken, Gpu, Host

ONLINE_WINDOW = timedelta(minutes=5)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    online_since = timezone.now() - ONLINE_WINDOW
    hosts = Host.objects.all()
    context = {
        "hosts_total": hosts.count(),
        "hosts_online": hosts.filter(last_seen__gte=online_since).count(),
        "gpus_active": Gpu.objects.filter(active=True).count(),
        "tokens_active": AgentToken.objects.active().count(),
        "recent_hosts": hosts.annotate(gpu_count=Count("gpus", filter=Q(gpus__active=True))).order_by("-last_seen")[
            :20
        ],
        "online_since": online_since,
    }
    return render(request, "dashboard/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the compose file: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
