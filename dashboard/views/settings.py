"""Settings: agent tokens and price overrides and thresholds (admins), personal API tokens (everyone, their own).

A change of price or thresholds queues an analysis at once, so no page shows money from the
old prices for long; "Re-analyse now" runs it in the request for whoever cannot wait.
"""

from __future__ import annotations

import logging

from django.conf import settings as conf
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from dashboard.access import admin_required, is_admin, viewer_required
from dashboard.forms import GpuPriceForm, HostPriceForm, ThresholdsForm, TokenForm
from recommender import tasks
from recommender.models import DeploymentThresholds, GpuType, HostPrice
from recommender.thresholds import DEFAULTS
from telemetry.models import AgentToken, ApiToken

log = logging.getLogger(__name__)


def _page(request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
    admin = is_admin(request.user)
    context = {
        "admin": admin,
        "agent_tokens": AgentToken.objects.select_related("created_by") if admin else [],
        "api_tokens": ApiToken.objects.filter(user=request.user),
        "gpu_types": GpuType.objects.all(),
        "host_prices": HostPrice.objects.select_related("host"),
        "thresholds": DeploymentThresholds.objects.all(),
        "defaults": [(k, conf.RECOMMENDER_THRESHOLDS.get(k, v)) for k, v in DEFAULTS.items()],
        "ingest_base": request.build_absolute_uri("/").rstrip("/"),
        "agent_form": TokenForm(prefix="agent"), "api_form": TokenForm(prefix="api"),
        "host_price_form": HostPriceForm(), "thresholds_form": ThresholdsForm(),
        **extra,
    }  # fmt: skip
    return render(request, "dashboard/settings.html", context, status=status)


@viewer_required
def settings_page(request: HttpRequest) -> HttpResponse:
    # A new token's secret rides in the session for the one page view after its creation, then is gone.
    shown = {}
    for key, model in (("new_agent_token", AgentToken), ("new_api_token", ApiToken)):
        fresh = request.session.pop(key, None)
        if fresh:
            shown[key] = {"token": model.objects.filter(pk=fresh["id"]).first(), "raw": fresh["raw"]}
    return _page(request, **shown)


@require_POST
@admin_required
def agent_token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST, prefix="agent")
    if not form.is_valid():
        return _page(request, status=400, agent_form=form)
    token, raw = AgentToken.issue(form.cleaned_data["name"], created_by=request.user)
    request.session["new_agent_token"] = {"id": token.pk, "raw": raw}
    return redirect(reverse("dashboard:settings") + "#agent-tokens")


@require_POST
@admin_required
def agent_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(AgentToken, pk=pk)
    token.revoke()
    messages.success(request, f"Agent token {token} revoked: its agents' pushes now get 401.")
    return redirect("dashboard:settings")


@require_POST
@viewer_required
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST, prefix="api")
    if not form.is_valid():
        return _page(request, status=400, api_form=form)
    token, raw = ApiToken.issue(request.user, form.cleaned_data["name"])
    request.session["new_api_token"] = {"id": token.pk, "raw": raw}
    return redirect(reverse("dashboard:settings") + "#api-tokens")


@require_POST
@viewer_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # one's own tokens only
    token.revoke()
    messages.success(request, f"API token {token.name} revoked.")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def gpu_price(request: HttpRequest) -> HttpResponse:
    form = GpuPriceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Price not saved: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("dashboard:settings")
    gpu_type = get_object_or_404(GpuType, pk=form.cleaned_data["gpu_type"])
    gpu_type.price_override_usd = form.cleaned_data["price"]
    gpu_type.save(update_fields=["price_override_usd"])
    messages.success(request, f"{gpu_type.name}: now {gpu_type.price_label}. {_queued()}")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def host_price(request: HttpRequest) -> HttpResponse:
    form = HostPriceForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, host_price_form=form)
    host = form.cleaned_data["hostname"]
    HostPrice.objects.update_or_create(host=host, defaults={"hourly_usd": form.cleaned_data["hourly_usd"],
                                                            "note": form.cleaned_data["note"]})  # fmt: skip
    messages.success(request, f"{host}: ${form.cleaned_data['hourly_usd']:.2f}/h. {_queued()}")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def host_price_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(HostPrice, pk=pk).delete()
    messages.success(request, f"Host price removed: its GPUs' reference prices apply again. {_queued()}")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def thresholds_save(request: HttpRequest) -> HttpResponse:
    form = ThresholdsForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, thresholds_form=form)
    name = form.cleaned_data["deployment"].strip()
    DeploymentThresholds.objects.update_or_create(deployment=name, defaults={"values": form.cleaned_data["values"]})
    messages.success(request, f"Thresholds for {name} saved. {_queued()}")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def thresholds_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(DeploymentThresholds, pk=pk).delete()
    messages.success(request, f"Overrides removed: the fleet-wide thresholds apply. {_queued()}")
    return redirect("dashboard:settings")


def _queued() -> str:
    """Queue an analysis (prices and thresholds changed); the sentence that says so, or what to do instead."""
    try:
        tasks.analyze.delay()
    except OperationalError as exc:  # the broker is down: say so, the button still works
        log.warning("event=analysis_queue_failed error=%s", exc)
        return "The analysis could not be queued (broker unavailable): press Re-analyse now."
    return "An analysis is queued: savings follow within minutes, or press Re-analyse now."


@require_POST
@admin_required
def reanalyse(request: HttpRequest) -> HttpResponse:
    """Run the analysis in this request (seconds for a fleet of hundreds), then back to the page it came from."""
    counts = tasks.run_analysis()
    messages.success(request, f"Analysis done: {counts['findings']} findings; " +
                     ", ".join(f"{v} {k}" for k, v in counts.items() if k != "findings") + ".")  # fmt: skip
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("dashboard:settings")
