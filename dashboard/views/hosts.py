"""A host's page and the JSON its charts read."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from dashboard import fleet, plan, series, timerange
from dashboard.access import json_viewer_required, viewer_required
from recommender.api import by_impact
from recommender.models import HostSummary, Recommendation
from telemetry.models import Gpu, Host, InferenceServer


@viewer_required
def host(request: HttpRequest, pk: int) -> HttpResponse:
    h = get_object_or_404(Host, pk=pk)
    gpus = list(Gpu.objects.filter(host=h, active=True).order_by("index"))
    servers = list(InferenceServer.objects.filter(host=h, active=True).prefetch_related("gpus"))
    gpu_index = {g.uuid: g.index for g in gpus}
    processes = [{**p, "gpu_index": gpu_index.get(p.get("gpu_uuid"))} for p in (h.gpu_processes or [])]
    status = "never seen" if h.last_seen is None else ("online" if h.last_seen >= fleet.online_since() else "offline")
    context = {
        "host": h, "gpus": gpus, "servers": servers, "processes": processes, "status": status,
        "deployment": h.deployment,
        "summary": HostSummary.objects.filter(host=h).first(),
        "recs": _recs(h), "plan": plan.plan_of(h.deployment) if h.deployment else None,
        "row": next((r for r in fleet.members(h.deployment) if r.host.pk == h.pk), None),
        "ranges": list(timerange.PRESETS), "labels": sorted(h.labels.items()),
    }  # fmt: skip
    return render(request, "dashboard/host.html", context)


def _recs(h: Host) -> list[Recommendation]:
    """The host's own advice and its deployment's (the plan's steps too), users waiting first."""
    qs = Recommendation.objects.filter(Q(host=h) | Q(target_type="deployment", deployment=h.deployment))
    return list(by_impact(qs.exclude(status="resolved").select_related("host")))


@json_viewer_required
def host_series(request: HttpRequest, pk: int) -> JsonResponse:
    h = Host.objects.filter(pk=pk).only("pk", "mem_total_bytes").first()
    if h is None:
        return JsonResponse({"detail": f"No host with id {pk}."}, status=404)
    try:
        r = timerange.parse(request.GET)
    except timerange.BadRange as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(series.host_series(h, r))
