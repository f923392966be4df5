from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from telemetry.models import Gpu, GpuSample, Host, HostSample, InferenceServer, ServerSample

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def prune_raw_samples() -> int:
    """Delete raw samples older than RETENTION_RAW_DAYS. Safe to run twice."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_RAW_DAYS)
    total = 0
    # One entity at a time, so each DELETE walks the (entity, ts) index instead
    # of scanning the table, and holds its locks briefly.
    for sample_model, key, entity_model in (
        (HostSample, "host_id", Host),
        (GpuSample, "gpu_id", Gpu),
        (ServerSample, "server_id", InferenceServer),
    ):
        for entity_id in entity_model.objects.values_list("pk", flat=True).iterator():
            total += sample_model.objects.filter(**{key: entity_id, "ts__lt": cutoff}).delete()[0]
    log.info("event=raw_samples_pruned rows=%d cutoff=%s", total, cutoff.isoformat())
    return total
