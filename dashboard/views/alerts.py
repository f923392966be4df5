"""Alert channels (on the settings page), budgets (on the deployment page) and the alert history.

Viewers see them; admins add, test, switch off and delete channels and set budgets.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts import budget, testsend
from alerts.events import CATALOGUE, label
from alerts.forms import BudgetForm, ChannelForm
from alerts.models import Budget, Channel, Delivery, Event
from dashboard.access import admin_required, viewer_required

LAST_DELIVERIES = 5
HISTORY_EVENTS = 200


def settings_context() -> dict:
    """The settings page's alert section: channels with their last deliveries and failures."""
    channels = list(Channel.objects.all())
    for c in channels:
        c.last_deliveries = list(c.deliveries.select_related("event").order_by("-created_at", "-id")[:LAST_DELIVERIES])
        c.failing = [d for d in c.last_deliveries if d.status in (Delivery.Status.FAILED, Delivery.Status.RETRYING)]
        c.event_labels = [label(n) for n in c.events if n in CATALOGUE]
    return {"channels": channels, "channel_form": ChannelForm(prefix="channel"), "catalogue": CATALOGUE.values()}


def budget_context(deployment: str) -> dict:
    b = Budget.objects.filter(deployment=deployment).first()
    spend = budget.spend(deployment, timezone.now())
    over = b is not None and spend.forecast_usd > b.usd_month
    return {"budget": b, "spend": spend, "over_budget": over,
            "budget_form": BudgetForm(instance=b) if b else BudgetForm()}  # fmt: skip


def _settings_page(request: HttpRequest, status: int, **extra) -> HttpResponse:
    from dashboard.views.settings import _page

    return _page(request, status=status, **extra)


def _to_channels(request: HttpRequest, said: str) -> HttpResponse:
    """Back to the settings page's channel list, saying what was done."""
    messages.success(request, said)
    return redirect(reverse("dashboard:settings") + "#alert-channels")


@require_POST
@admin_required
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST, prefix="channel")
    if not form.is_valid():
        return _settings_page(request, 400, channel_form=form)
    channel = form.save(commit=False)
    channel.created_by = request.user
    channel.save()
    return _to_channels(request, f"Channel “{channel.name}” added: press Send test to check it.")


@require_POST
@admin_required
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    testsend.send_test(channel, request.user)
    return _to_channels(request, f"Test queued for “{channel.name}” (sent once, not retried): its result shows below.")


@require_POST
@admin_required
def channel_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    channel.enabled = not channel.enabled
    channel.save(update_fields=["enabled"])
    return _to_channels(request, f"Channel “{channel.name}” {'on' if channel.enabled else 'off'}.")


@require_POST
@admin_required
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    channel.delete()
    return _to_channels(request, f"Channel “{channel.name}” deleted with its delivery history.")


@require_POST
@admin_required
def budget_save(request: HttpRequest, name: str) -> HttpResponse:
    existing = Budget.objects.filter(deployment=name).first()
    form = BudgetForm(request.POST, instance=existing)
    target = reverse("dashboard:deployment", args=[name]) + "#budget"
    if not form.is_valid():
        said = [f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}" for k, v in form.errors.items()]
        messages.error(request, "Budget not saved: " + "; ".join(said))
        return redirect(target)
    b = form.save(commit=False)
    b.deployment, b.updated_by, b.updated_at = name, request.user, timezone.now()
    b.save()
    messages.success(request, f"Budget for {name}: ${b.usd_month:,.0f}/month.")
    return redirect(target)


@require_POST
@admin_required
def budget_delete(request: HttpRequest, name: str) -> HttpResponse:
    Budget.objects.filter(deployment=name).delete()
    messages.success(request, f"Budget for {name} removed.")
    return redirect(reverse("dashboard:deployment", args=[name]) + "#budget")


@viewer_required
def history(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("type", "")
    events = Event.objects.prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.select_related("channel").order_by("channel__name"))
    )
    if kind in CATALOGUE or kind == "test":
        events = events.filter(type=kind)
    context = {"events": events[:HISTORY_EVENTS], "catalogue": CATALOGUE.values(), "type": kind,
               "limit": HISTORY_EVENTS}  # fmt: skip
    return render(request, "dashboard/alerts.html", context)
