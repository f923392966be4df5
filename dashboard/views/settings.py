"""Settings: agent tokens and price overrides and thresholds (admins), personal API tokens (everyone, their own).

The thresholds shown and edited here are the layers recommender.in_force reads for the analysis
(defaults ← environment ← fleet-wide values saved here ← a deployment's overrides), so the page and the
advice agree. A change of price or thresholds queues an analysis at once, so no page shows money from the
old prices for long; "Re-analyse now" runs it in the request for whoever cannot wait.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from collectors import __version__
from dashboard.access import admin_required, is_admin, viewer_required
from dashboard.forms import FleetThresholdsForm, GpuPriceForm, HostPriceForm, ThresholdsForm, TokenForm
from dashboard.views import alerts
from recommender import tasks
from recommender.in_force import InForce
from recommender.models import DeploymentThresholds, FleetThresholds, GpuType, HostPrice
from telemetry.models import AgentToken, ApiToken, Host

log = logging.getLogger(__name__)

# A new token's secret crosses the redirect to the settings page sealed (Fernet, keyed from
# SECRET_KEY), so the session store never holds it in clear; it opens once, within this long.
NEW_TOKEN_SHOWN_WITHIN_S = 300


def _page(request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
    admin = is_admin(request.user)
    thresholds = InForce()
    context = {
        "admin": admin,
        "agent_tokens": AgentToken.objects.select_related("created_by") if admin else [],
        "api_tokens": ApiToken.objects.filter(user=request.user),
        "gpu_types": GpuType.objects.all(),
        "host_prices": HostPrice.objects.select_related("host"),
        "thresholds": DeploymentThresholds.objects.all(),
        "deployment_names": _deployment_names(),
        "ingest_base": request.build_absolute_uri("/").rstrip("/"),
        "agent_version": __version__,  # the tag the install commands name
        "agent_form": TokenForm(prefix="agent"), "api_form": TokenForm(prefix="api"),
        "host_price_form": HostPriceForm(), "thresholds_form": _overrides_form(request, thresholds),
        "fleet_form": _fleet_form(thresholds),
        **alerts.settings_context(),
        **extra,
    }  # fmt: skip
    return render(request, "dashboard/settings.html", context, status=status)


def _fleet_form(thresholds: InForce, data=None) -> FleetThresholdsForm:
    """The fleet-wide form holding the values saved here (blank: inherited from the environment or default)."""
    return FleetThresholdsForm(data, initial=_as_typed(thresholds.saved), base=thresholds.base.model_dump(),
                               in_force=thresholds.fleet.model_dump(), sources=thresholds.sources(),
                               env=thresholds.env)  # fmt: skip


def _deployment_names() -> list[str]:
    """The deployments the fleet reports, and any with overrides saved (it may have stopped reporting)."""
    known = set(Host.objects.exclude(deployment="").values_list("deployment", flat=True).distinct())
    return sorted(known | set(DeploymentThresholds.objects.values_list("deployment", flat=True)))


def _as_typed(values: dict[str, float]) -> dict[str, str]:
    """Saved values as a person would type them: 60, not the stored 60.0."""
    return {k: f"{v:g}" for k, v in values.items()}


def _overrides_form(request: HttpRequest, thresholds: InForce) -> ThresholdsForm:
    """The overrides form for ?deployment=NAME, holding that deployment's saved values (blank: inherited
    from the fleet-wide values in force, shown as placeholders)."""
    name = request.GET.get("deployment", "").strip()
    initial = {"deployment": name, **_as_typed(thresholds.overrides.get(name, {}))} if name else {"deployment": ""}
    return ThresholdsForm(initial=initial, fleet=thresholds.fleet.model_dump())


def _sealer() -> Fernet:
    key = salted_hmac("rightsizer.dashboard.new-token", "", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _keep_for_one_view(request: HttpRequest, key: str, token, raw: str) -> None:
    """Keep only the token's id and its sealed secret for the next page view."""
    request.session[key] = {"id": token.pk, "sealed": _sealer().encrypt(raw.encode()).decode()}


def _take_new_token(request: HttpRequest, key: str, model) -> dict | None:
    """The token kept by _keep_for_one_view with its secret, removed from the session on read."""
    fresh = request.session.pop(key, None)
    if not fresh:
        return None
    token = model.objects.filter(pk=fresh.get("id")).first()
    try:
        raw = _sealer().decrypt(fresh.get("sealed", "").encode(), ttl=NEW_TOKEN_SHOWN_WITHIN_S).decode()
    except InvalidToken:  # too late, or sealed under an older SECRET_KEY
        name = f"“{token.name}”" if token else "the new token"
        messages.error(request, f"The secret of {name} can no longer be shown: revoke it and create another.")
        return None
    return {"token": token, "raw": raw}


@viewer_required
def settings_page(request: HttpRequest) -> HttpResponse:
    # A new token's secret is shown on the one page view after its creation, then is gone.
    shown = {}
    for key, model in (("new_agent_token", AgentToken), ("new_api_token", ApiToken)):
        fresh = _take_new_token(request, key, model)
        if fresh:
            shown[key] = fresh
    response = _page(request, **shown)
    if shown:
        add_never_cache_headers(response)  # no cache, and no back button, keeps the secret
    return response


@require_POST
@admin_required
def agent_token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST, prefix="agent")
    if not form.is_valid():
        return _page(request, status=400, agent_form=form)
    token, raw = AgentToken.issue(form.cleaned_data["name"], created_by=request.user)
    _keep_for_one_view(request, "new_agent_token", token, raw)
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
    _keep_for_one_view(request, "new_api_token", token, raw)
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
    form = ThresholdsForm(request.POST, fleet=InForce().fleet.model_dump())
    if not form.is_valid():  # the page again with what was typed and each field's error
        return _page(request, status=400, thresholds_form=form)
    name, values = form.cleaned_data["deployment"], form.cleaned_data["values"]
    if not values:
        DeploymentThresholds.objects.filter(deployment=name).delete()
        messages.success(request, f"No override left for {name}: the fleet-wide thresholds apply. {_queued()}")
    else:
        DeploymentThresholds.objects.update_or_create(deployment=name, defaults={"values": values})
        messages.success(request, f"Thresholds for {name} saved. {_queued()}")
    return redirect(reverse("dashboard:settings") + "#thresholds")


@require_POST
@admin_required
def thresholds_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(DeploymentThresholds, pk=pk).delete()
    messages.success(request, f"Overrides removed: the fleet-wide thresholds apply. {_queued()}")
    return redirect("dashboard:settings")


@require_POST
@admin_required
def fleet_thresholds_save(request: HttpRequest) -> HttpResponse:
    """Save the fleet-wide values typed (blank fields inherit); all blank is the same as a reset."""
    form = _fleet_form(InForce(), request.POST)
    if not form.is_valid():  # the page again with what was typed and each field's error
        return _page(request, status=400, fleet_form=form)
    values = form.cleaned_data["values"]
    FleetThresholds.store(values)
    if values:
        messages.success(request, f"Fleet-wide thresholds saved ({len(values)} set here). {_queued()}")
    else:
        messages.success(request, f"No fleet-wide value set here: the inherited ones apply. {_queued()}")
    return redirect(reverse("dashboard:settings") + "#thresholds")


@require_POST
@admin_required
def fleet_thresholds_reset(request: HttpRequest) -> HttpResponse:
    """Clear the fleet layer: RIGHTSIZER_RECOMMENDER_THRESHOLDS and the defaults apply again."""
    FleetThresholds.store({})
    messages.success(request, f"Fleet-wide thresholds reset to the inherited values. {_queued()}")
    return redirect(reverse("dashboard:settings") + "#thresholds")


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
