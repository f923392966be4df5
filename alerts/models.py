"""Alert channels, the events they are sent, each delivery and its attempts, and deployment budgets.

An event is stored once under its dedupe key; a delivery is one (event, channel), unique, so a
re-run job or a retried task never sends twice. Each attempt is written before it is sent and
completed after, so a worker killed mid-request leaves a record of it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts.events import CATALOGUE, TEST


class Channel(models.Model):
    # One of alerts.channels' kinds (email, webhook, slack): a new kind is one new module there.
    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=100)
    target = models.CharField(max_length=2000, help_text="email: addresses, comma-separated; else the https URL")
    secret = models.CharField(max_length=200, blank=True, help_text="webhook: signs each body (HMAC-SHA256)")
    events = models.JSONField(default=list, help_text="the event types this channel gets")
    min_saving_usd_month = models.FloatField(default=0.0, help_text="recommendation events below this are not sent")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   editable=False)  # fmt: skip

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def wants(self, event_type: str, saving_usd_month: float | None) -> bool:
        if not self.enabled or event_type not in self.events:
            return False
        money = CATALOGUE[event_type].money
        return not money or (saving_usd_month or 0.0) >= self.min_saving_usd_month

    @property
    def shown_target(self) -> str:
        """What a page shows: addresses, or a URL cut to its host (Slack's path is its secret)."""
        if self.kind == "email":
            return self.target
        scheme, _, rest = self.target.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"


class Event(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="the payload's id")
    type = models.CharField(max_length=32, db_index=True)
    key = models.CharField(max_length=255, unique=True, help_text="dedupe key: one event per key, ever")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    subject = models.CharField(max_length=255)
    text = models.TextField(help_text="the plain-language body")
    path = models.CharField(max_length=500, blank=True, help_text="the dashboard page it links to")
    saving_usd_month = models.FloatField(null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type}: {self.subject}"

    @property
    def url(self) -> str:
        return settings.SITE_URL + self.path if self.path else settings.SITE_URL + "/"

    @property
    def is_test(self) -> bool:
        return self.type == TEST


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # queued, not tried yet
        SENDING = "sending"  # an attempt is in flight (or its worker died: see Attempt)
        RETRYING = "retrying"  # the last attempt failed for a reason that may pass; another is queued
        SENT = "sent"
        FAILED = "failed"  # given up: a permanent error, or the attempts ran out

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event", "channel"], name="one_delivery_per_event_channel")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event.type} → {self.channel}: {self.status}"


class Attempt(models.Model):
    class Status(models.TextChoices):
        SENDING = "sending"
        OK = "ok"
        FAILED = "failed"  # may pass: 5xx, 429, timeout, connection refused
        PERMANENT = "permanent"  # will not pass by itself: 4xx, refused address, bad recipient
        ABANDONED = "abandoned"  # its worker died mid-request; the next attempt took over

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status}"


class Budget(models.Model):
    deployment = models.CharField(max_length=255, unique=True)
    usd_month = models.FloatField(help_text="what the deployment may cost in a calendar month (UTC)")
    updated_at = models.DateTimeField(default=timezone.now)

    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   editable=False)  # fmt: skip

    class Meta:
        ordering = ["deployment"]

    def __str__(self) -> str:
        return f"{self.deployment}: ${self.usd_month:,.0f}/month"


class WatchState(models.Model):
    """What the watchers remember between runs: a host's offline state and flap window, an alerted saving."""

    key = models.CharField(max_length=255, primary_key=True)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
