"""Raw-sample retention (the partitions themselves: test_partitions.py)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from telemetry.models import GpuSample, HostSample, ServerSample
from telemetry.tasks import apply_retention
from tests.batches import batch, post

pytestmark = pytest.mark.django_db


def test_prune_drops_only_samples_past_retention(client, agent_token, settings):
    settings.RETENTION_RAW_DAYS = 2
    raw = agent_token[1]
    post(client, raw, batch(n_samples=2, start=time.time() - 3 * 86400))  # past retention
    post(client, raw, batch(n_samples=3, start=time.time() - 86400))  # kept
    assert HostSample.objects.count() == 5
    removed = apply_retention()
    # PostgreSQL drops the day's partitions, uncounted (telemetry.partitions); SQLite deletes the rows.
    assert removed == (0 if connection.vendor == "postgresql" else 2 * 3)  # host + GPU + server rows of two samples
    assert (HostSample.objects.count(), GpuSample.objects.count(), ServerSample.objects.count()) == (3, 3, 3)
    assert apply_retention() == 0  # safe to run twice
