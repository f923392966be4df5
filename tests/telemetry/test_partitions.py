"""PostgreSQL's raw sample tables: a partition per day, created ahead and dropped at retention."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from telemetry import partitions
from telemetry.models import GpuSample, HostSample, ServerSample
from telemetry.tasks import apply_retention
from tests.batches import batch, post

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="partitioning is PostgreSQL's; SQLite keeps plain tables"
    ),
]


def _days(table: str) -> list:
    with connection.cursor() as cursor:
        return partitions.days(cursor, table)


def _rows_in(partition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partition}")
        return cursor.fetchone()[0]


def test_the_sample_tables_are_partitioned_by_day_with_days_ahead():
    today = timezone.now().astimezone(UTC).date()
    with connection.cursor() as cursor:
        for table, _ in partitions.TABLES:
            assert partitions.is_partitioned(cursor, table)
    partitions.maintain(connection, timezone.now(), 3)
    for table, _ in partitions.TABLES:
        days = _days(table)
        assert today + timedelta(days=partitions.PARTITION_DAYS_AHEAD) in days and today in days


def test_a_day_goes_to_its_partition_and_is_dropped_whole_at_retention(client, agent_token, settings):
    settings.RETENTION_RAW_DAYS = 2
    raw = agent_token[1]
    old_ts = time.time() - 3 * 86400
    post(client, raw, batch(n_samples=2, start=old_ts))
    post(client, raw, batch(n_samples=3, start=time.time() - 60))
    old_day = datetime.fromtimestamp(old_ts, tz=UTC).date()
    assert _rows_in(partitions.partition_name("telemetry_gpusample", old_day)) == 2

    apply_retention()
    for table, _ in partitions.TABLES:
        assert old_day not in _days(table)  # dropped, not emptied
    assert (HostSample.objects.count(), GpuSample.objects.count(), ServerSample.objects.count()) == (3, 3, 3)


def test_a_backfill_older_than_every_day_lands_in_the_default_and_is_pruned_there(client, agent_token, settings):
    settings.RETENTION_RAW_DAYS = 2
    apply_retention()  # the days older than two are gone
    raw = agent_token[1]
    resp = post(client, raw, batch(n_samples=2, start=time.time() - 10 * 86400))  # accepted: 30 days back
    assert resp.status_code == 202 and resp.json()["accepted"] == 2
    assert _rows_in("telemetry_hostsample_default") == 2
    assert apply_retention() == 2 * 3  # the default's rows are deleted (they are few)
    assert HostSample.objects.count() == 0


def test_a_missing_day_is_created_and_takes_its_rows_from_the_default(client, agent_token):
    day = timezone.now().astimezone(UTC).date() + timedelta(days=partitions.PARTITION_DAYS_AHEAD + 3)
    ts = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    post(client, agent_token[1], batch(n_samples=1))  # a host to hang the row on
    host_id = HostSample.objects.get().host_id
    HostSample.objects.create(host_id=host_id, ts=ts, cpu_pct=5.0)
    assert _rows_in("telemetry_hostsample_default") == 1
    with connection.cursor() as cursor:
        assert partitions.ensure_days(cursor, "telemetry_hostsample", day, day) == 1
    assert _rows_in(partitions.partition_name("telemetry_hostsample", day)) == 1
    assert _rows_in("telemetry_hostsample_default") == 0
