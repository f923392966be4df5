"""Alert tasks: one per delivery, the minute watcher, the weekly digest."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from alerts import delivery, watch


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             soft_time_limit=settings.ALERTS_TIMEOUT_S + 30, time_limit=delivery.hard_limit_s())  # fmt: skip
def deliver(self, delivery_id: int) -> str | None:
    """One attempt at one delivery. Idempotent: a delivery already sent, or being sent, is left alone
    (unless this message is a redelivery: then the worker that was sending it died)."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return delivery.run(delivery_id, redelivered)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def watch_fleet() -> dict[str, int]:
    """Hosts offline and back, users waiting, new and grown savings, budgets; and deliveries to queue again."""
    return watch.run()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def weekly_digest() -> bool:
    return watch.digest() is not None
