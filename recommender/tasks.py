from __future__ import annotations

import logging
import time

from celery import shared_task
from django.utils import timezone

from recommender.analysis import Analysis
from recommender.lifecycle import apply
from recommender.summary import summarize, summarize_new_hosts

log = logging.getLogger(__name__)


def run_analysis(now=None) -> dict[str, int]:
    started = time.monotonic()
    now = now or timezone.now()
    findings = Analysis(now).run()
    counts = apply(findings, now)
    log.info("event=analysis_done findings=%d %s seconds=%.1f", len(findings),
             " ".join(f"{k}={v}" for k, v in counts.items()), time.monotonic() - started)  # fmt: skip
    summarize(now)  # the fleet page's open savings and figures follow the new advice at once
    return {"findings": len(findings), **counts}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def analyze() -> dict[str, int]:
    """Run every rule over the window and update the recommendations. Idempotent."""
    return run_analysis()


@shared_task
def summarize_new() -> int:
    """A host's cost and figures within a minute of its first push, not at the next 5-minute run. Idempotent."""
    return summarize_new_hosts()


@shared_task
def summarize_fleet() -> int:
    """Refresh the fleet page's per-host figures (cost, memory need, 24 h utilization). Idempotent."""
    return summarize()
