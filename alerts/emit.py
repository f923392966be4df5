"""Emit an event: store it once under its dedupe key, make one delivery per channel that wants it,
and queue one task per delivery once the transaction commits."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from alerts.models import Channel, Delivery, Event

log = logging.getLogger(__name__)


def emit(event_type: str, key: str, subject: str, text: str, path: str = "", saving_usd_month: float | None = None,
         data: dict | None = None, channels: list[Channel] | None = None) -> Event | None:  # fmt: skip
    """The new event, or None when its key was emitted before (a re-run job sends nothing twice).
    `channels` names the channels outright (send test); by default every enabled channel that wants it."""
    with transaction.atomic():
        if Event.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                event = Event.objects.create(type=event_type, key=key[:255], subject=subject[:255], text=text,
                                             path=path, saving_usd_month=saving_usd_month, data=data or {})  # fmt: skip
        except IntegrityError:  # the same key from a concurrent run
            return None
        if channels is None:
            channels = [c for c in Channel.objects.filter(enabled=True) if c.wants(event_type, saving_usd_month)]
        Delivery.objects.bulk_create([Delivery(event=event, channel=c) for c in channels])
        ids = list(Delivery.objects.filter(event=event).values_list("pk", flat=True))
        transaction.on_commit(lambda: enqueue(ids))
    log.info("event=alert_emitted type=%s key=%s deliveries=%d", event_type, key, len(ids))
    return event


def enqueue(delivery_ids: list[int], countdown_s: float = 0) -> None:
    from alerts.tasks import deliver

    for pk in delivery_ids:
        try:
            deliver.apply_async((pk,), countdown=countdown_s)
        except OperationalError as exc:  # the broker is down: the watcher queues it again later
            log.warning("event=alert_queue_failed delivery=%s error=%s", pk, exc)
