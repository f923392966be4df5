"""The fleet overview and the deployment pages."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from dashboard import deployments as deployment_list
from dashboard import fleet, plan, series, timerange
from dashboard.access import is_admin, json_viewer_required, viewer_required
from dashboard.views import alerts
from recommender import realized
from telemetry.models import AgentToken, InferenceServer
from telemetry.models.rollups import PERIOD_5M

PAGE_SIZE = 100


@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    params = {k: request.GET.get(k, "") for k in ("q", "deployment", "label", "status")}
    view = fleet.overview(params, request.GET.get("sort", "hostname"), request.GET.get("page"), PAGE_SIZE)
    totals, sort = view.totals, view.sort
    rows = totals.hosts  # the fleet's size: none, and the page explains how to add the first host
    context = {
        "totals": totals, "page": view.page, "sort": sort, "params": params, "statuses": fleet.STATUSES,
        "deployments": view.deployments, "labels": view.labels,
        "tokens_active": AgentToken.objects.active().count() if not rows else None,
        "server_url": request.build_absolute_uri("/").rstrip("/"),
        "stale": totals.pending_hosts > 0,
        "columns": _columns(_without(request.GET, "sort", "page"), sort),
        "querystring": _without(request.GET, "page"),
    }  # fmt: skip
    context["realized"] = realized.fleet_realized() if rows else None  # beside the potential saving
    return render(request, "dashboard/fleet.html", context)


COLUMNS = [("hostname", "Host", ""), ("status", "Status", ""), ("deployment", "Deployment", ""),
           ("gpus", "GPUs", ""), ("util", "GPU util · 24 h", ""), ("need", "GPU memory need / capacity", ""),
           ("cost", "Cost / month", "num"), ("recs", "Open recs · host's share of saving", "num"),
           ("seen", "Last seen", "")]  # fmt: skip


def _columns(query: str, sort: str) -> list[dict]:
    """Header links: a click sorts by the column, a second click reverses it."""
    out = []
    for key, label, css in COLUMNS:
        current = sort.lstrip("-") == key
        target = f"-{key}" if sort == key else key
        arrow = ("▼" if sort.startswith("-") else "▲") if current else ""
        out.append({"label": label, "css": css, "href": f"?{query + '&' if query else ''}sort={target}",
                    "sorted": current, "arrow": arrow})  # fmt: skip
    return out


def _without(query, *names: str) -> str:
    q = query.copy()
    for name in names:
        q.pop(name, None)
    return q.urlencode()


@viewer_required
def deployments(request: HttpRequest) -> HttpResponse:
    """One row per deployment: its open recs (its own + its hosts'), its plan's saving, the money advice outside
    the plan, and the two capped at what it costs: the column adds up to the fleet page's potential saving."""
    groups, total = deployment_list.listed()
    return render(request, "dashboard/deployments.html", {"groups": groups, "total": total})


def _members(name: str) -> list[fleet.HostRow]:
    rows = fleet.members(name)
    if not rows:
        raise Http404(f"No host belongs to the deployment {name!r}.")
    return rows


@viewer_required
def deployment(request: HttpRequest, name: str) -> HttpResponse:
    rows = _members(name)
    ids = [r.host.pk for r in rows]
    servers = list(InferenceServer.objects.filter(host_id__in=ids, active=True)
                   .annotate(n_gpus=Count("gpus")).values_list("kind", "model", "n_gpus"))  # fmt: skip
    the_plan, recs = plan.plan_of(name), plan.beside_plan(name, ids)
    context = {
        "name": name, "rows": rows, "plan": the_plan, "recs": recs,
        "no_plan": None if the_plan.steps else _no_plan_reason(recs),
        "cost": deployment_list.cost_per_million_tokens(name, rows),
        "replicas": _replicas(rows, servers), "hosts": len(rows), "online": sum(r.status == "online" for r in rows),
        "gpus": sum(r.summary.gpu_count for r in rows if r.summary),
        "usd_month": sum((r.summary.usd_month or 0.0) for r in rows if r.summary),
        "servers": sorted({f"{kind} · {model or 'unknown model'}" for kind, model, _ in servers}),
        "user_is_admin": is_admin(request.user), **alerts.budget_context(name),
    }  # fmt: skip
    return render(request, "dashboard/deployment.html", context)


def _replicas(rows: list[fleet.HostRow], servers: list[tuple[str, str, int]]) -> int:
    """As the plan counts them (recommender.rules.state): inference servers holding GPUs; where there is none,
    the hosts with GPUs; where no host has one, the hosts."""
    with_gpus = sum(1 for *_, n in servers if n)
    if with_gpus:
        return with_gpus
    gpu_hosts = sum(1 for r in rows if r.summary and r.summary.gpu_count)
    return gpu_hosts or len(rows)


def _no_plan_reason(recs: list) -> str | None:
    """Why a deployment without a plan has none: users waiting, a batch limit holding the load back, other
    advice only, or nothing at all (None)."""
    kinds = {r.kind for r in recs if r.status in plan.OPEN}
    if "saturation" in kinds:
        return "saturation"
    if "batching" in kinds:
        return "batching"
    return "other" if kinds else None


@json_viewer_required
def deployment_series(request: HttpRequest, name: str) -> JsonResponse:
    try:
        r = timerange.parse(request.GET, finest=PERIOD_5M)
    except timerange.BadRange as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    ids = fleet.member_ids(name)
    if not ids:
        return JsonResponse({"detail": f"No host belongs to the deployment {name!r}."}, status=404)
    return JsonResponse(series.deployment_series(name, ids, r))
