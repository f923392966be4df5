from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

from telemetry import partitions
from telemetry.models import (
    Gpu,
    GpuRollup,
    GpuSample,
    Host,
    HostRollup,
    HostSample,
    InferenceServer,
    ServerRollup,
    ServerSample,
)
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M
from telemetry.rollups import run_rollups

log = logging.getLogger(__name__)

ENTITIES = ((Host, "host_id"), (Gpu, "gpu_id"), (InferenceServer, "server_id"))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def roll_up() -> dict[str, int]:
    """Roll closed 5-minute periods and hours, and re-roll hosts with late samples. Idempotent."""
    return run_rollups()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_retention() -> int:
    """Prune every tier past its retention (raw, 5 min, 1 h). Safe to run twice.

    On PostgreSQL the raw tier is partitioned by day: its days ahead are created and its
    days past retention dropped (telemetry.partitions), never deleted row by row.
    """
    now = timezone.now()
    raw = partitions.maintain(connection, now, settings.RETENTION_RAW_DAYS)
    raw_partitioned = connection.vendor == "postgresql"
    tiers = [
        *([] if raw_partitioned else [((HostSample, GpuSample, ServerSample), {}, settings.RETENTION_RAW_DAYS)]),
        ((HostRollup, GpuRollup, ServerRollup), {"period_s": PERIOD_5M}, settings.RETENTION_5M_DAYS),
        ((HostRollup, GpuRollup, ServerRollup), {"period_s": PERIOD_1H}, settings.RETENTION_1H_DAYS),
    ]
    total = 0
    for models, extra, days in tiers:
        cutoff = now - timedelta(days=days)
        # One entity at a time, so each DELETE walks the (entity, …, ts) key
        # instead of scanning the table, and holds its locks briefly.
        for model, (entity_model, key) in zip(models, ENTITIES, strict=True):
            for entity_id in entity_model.objects.values_list("pk", flat=True).iterator():
                total += model.objects.filter(**{key: entity_id, "ts__lt": cutoff, **extra}).delete()[0]
    total += raw["default_rows_deleted"]
    log.info("event=retention_applied rows=%d raw_partitions_dropped=%d", total, raw["dropped"])
    return total
