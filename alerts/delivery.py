"""One delivery attempt: claim the delivery, write the attempt, send, complete the attempt and the delivery.

The claim is one conditional UPDATE, so two workers holding the same message (a redelivery after a
worker died) cannot both send: the second finds the delivery already taken, or done. An attempt
left 'sending' belongs to a dead worker when the broker redelivers the task's message (its worker
went away without acknowledging it), or once it is older than the task's hard time limit: it is
marked abandoned and the delivery is taken over.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.channels import DeliveryError, transport_for
from alerts.models import Attempt, Delivery

log = logging.getLogger(__name__)
Status = Delivery.Status


def backoff_s(attempt: int) -> float:
    """Seconds before attempt + 1: base × 2^(attempt−1), at most an hour."""
    return min(settings.ALERTS_BACKOFF_S * 2 ** (attempt - 1), 3600.0)


def hard_limit_s() -> float:
    """The delivery task's hard time limit: no attempt outlives it."""
    return settings.ALERTS_TIMEOUT_S + 60


def claim(delivery_id: int, redelivered: bool = False) -> tuple[Delivery, Attempt] | None:
    now = timezone.now()
    with transaction.atomic():
        stale = now - timedelta(seconds=hard_limit_s())
        abandoned = Q(status=Status.SENDING) if redelivered else Q(status=Status.SENDING, updated_at__lt=stale)
        open_ = Q(status__in=[Status.PENDING, Status.RETRYING]) | abandoned
        taken = Delivery.objects.filter(open_, pk=delivery_id).update(
            status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now, next_attempt_at=None
        )
        if not taken:
            return None
        delivery = Delivery.objects.select_related("event", "channel").get(pk=delivery_id)
        Attempt.objects.filter(delivery=delivery, status=Attempt.Status.SENDING).update(
            status=Attempt.Status.ABANDONED, finished_at=now, error="its worker stopped mid-request"
        )
        attempt = Attempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=now)
    return delivery, attempt


def run(delivery_id: int, redelivered: bool = False) -> str | None:
    """Make one attempt; returns the delivery's new status, or None when there was nothing to do.
    Queues the next attempt itself when this one failed for a reason that may pass."""
    claimed = claim(delivery_id, redelivered)
    if claimed is None:
        return None
    delivery, attempt = claimed
    started = time.monotonic()
    error, permanent, response_status, note = "", False, None, ""
    try:
        note = transport_for(delivery.channel).notify(delivery.event)
    except DeliveryError as exc:
        error, permanent, response_status = str(exc), exc.permanent, exc.response_status
    except SoftTimeLimitExceeded:  # past every deadline (a DNS lookup that hung): may pass
        error = f"no answer within the task's time limit ({settings.ALERTS_TIMEOUT_S + 30:g} s)"
    except Exception as exc:  # a bug in a transport must not leave the delivery 'sending'
        log.exception("event=alert_transport_crashed delivery=%s", delivery.pk)
        error, permanent = f"internal error: {type(exc).__name__}", True
    duration_ms = (time.monotonic() - started) * 1000
    return _complete(delivery, attempt, error, permanent, response_status, note, duration_ms)


def _complete(delivery, attempt, error, permanent, response_status, note, duration_ms) -> str:
    now = timezone.now()
    if response_status is None and note.startswith("HTTP "):
        response_status = int(note.split()[1])
    out_of_tries = delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS or delivery.event.is_test
    if not error:
        attempt_status, status = Attempt.Status.OK, Status.SENT
    elif permanent or out_of_tries:
        attempt_status, status = (Attempt.Status.PERMANENT if permanent else Attempt.Status.FAILED), Status.FAILED
    else:
        attempt_status, status = Attempt.Status.FAILED, Status.RETRYING
    wait_s = backoff_s(delivery.attempts) if status == Status.RETRYING else 0.0
    if status == Status.FAILED and not permanent and not delivery.event.is_test:
        error = f"{error} (gave up after {delivery.attempts} attempts)"
    Attempt.objects.filter(pk=attempt.pk).update(status=attempt_status, finished_at=now, duration_ms=duration_ms,
                                                 response_status=response_status, error=error[:2000])  # fmt: skip
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, error=error[:2000], updated_at=now, sent_at=now if status == Status.SENT else None,
        next_attempt_at=now + timedelta(seconds=wait_s) if status == Status.RETRYING else None,
    )  # fmt: skip
    log.info("event=alert_delivery delivery=%s channel=%s type=%s attempt=%d status=%s ms=%.0f%s", delivery.pk,
             delivery.channel_id, delivery.event.type, delivery.attempts, status, duration_ms,
             f" error={error[:200]!r}" if error else "")  # fmt: skip
    if status == Status.RETRYING:
        from alerts.emit import enqueue

        enqueue([delivery.pk], countdown_s=wait_s)
    return status
