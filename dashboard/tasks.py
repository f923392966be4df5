"""The dashboard's one periodic job: sum the trends page's days ahead of the people who read them."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from dashboard import trend_days, trends

log = logging.getLogger(__name__)


@shared_task
def sum_trend_days() -> None:
    """Sum every day of the trends page's longest range not summed yet or not final (a day that just ended, or
    all of them on a new install, where a page would sum only the latest), and drop the days older than it: no
    page reads them. Idempotent."""
    started = time.monotonic()
    first, last = trends.window(trends.MAX_DAYS)
    trend_days.ensure(first, last)
    dropped = trend_days.drop_before(first)
    log.info("event=trend_days_ensured first=%s last=%s dropped=%d seconds=%.1f", first, last, dropped,
             time.monotonic() - started)  # fmt: skip
