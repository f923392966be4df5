"""Raw samples partitioned by day on PostgreSQL: created ahead, dropped at retention.

Each sample table is PARTITION BY RANGE (ts) with one partition per UTC day,
named <table>_pYYYYMMDD, and a default partition for whatever falls outside them
(a backfill older than the oldest day kept). The daily retention job creates the
days ahead (PARTITION_DAYS_AHEAD) and drops whole days past
RIGHTSIZER_RETENTION_RAW_DAYS: a DROP TABLE frees the disk at once, where a
DELETE of a day's hundred million rows would bloat the table and keep VACUUM busy.
SQLite keeps its plain tables (telemetry.tasks prunes them by DELETE).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta

log = logging.getLogger(__name__)

# (table, primary key or unique key): the key must hold ts, the partition key.
TABLES = (
    ("telemetry_hostsample", "host_id"),
    ("telemetry_gpusample", "gpu_id"),
    ("telemetry_serversample", "server_id"),
)
PARTITION_DAYS_AHEAD = 7  # the beat may be down a week before a day lands in the default partition
_DAY = re.compile(r"_p(\d{8})$")


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [table])
    row = cursor.fetchone()
    return row is not None and row[0] == "p"


def days(cursor, table: str) -> list[date]:
    """The days that have a partition, oldest first."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
        [table],
    )
    found = [_DAY.search(name) for (name,) in cursor.fetchall()]
    return sorted(datetime.strptime(m.group(1), "%Y%m%d").date() for m in found if m)


def ensure_days(cursor, table: str, first: date, last: date) -> int:
    """Create the missing day partitions from first to last; rows the default holds for them move in."""
    have = set(days(cursor, table))
    created = 0
    day = first
    while day <= last:
        if day not in have:
            _create_day(cursor, table, day)
            created += 1
        day += timedelta(days=1)
    return created


def _create_day(cursor, table: str, day: date) -> None:
    name, (lo, hi) = partition_name(table, day), _bounds(day)
    # Attaching a range the default partition holds rows of would fail: move them first.
    cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {table}_default WHERE ts >= %s AND ts < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [lo, hi],
    )
    cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")


def drop_before(cursor, table: str, cutoff: datetime) -> tuple[int, int]:
    """Drop the day partitions wholly before cutoff, and the default's rows before it.

    Returns (partitions dropped, default rows deleted).
    """
    dropped = 0
    for day in days(cursor, table):
        if datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) <= cutoff:
            cursor.execute(f"DROP TABLE {partition_name(table, day)}")
            dropped += 1
    # The default partition holds only what no day takes (old backfills): a small DELETE.
    cursor.execute(f"DELETE FROM {table}_default WHERE ts < %s", [cutoff])
    return dropped, cursor.rowcount


def maintain(connection, now: datetime, retention_days: int) -> dict[str, int]:
    """The daily job's part: days ahead created, days past retention dropped (PostgreSQL only)."""
    totals = {"created": 0, "dropped": 0, "default_rows_deleted": 0}
    if connection.vendor != "postgresql":
        return totals
    cutoff = now - timedelta(days=retention_days)
    today = now.astimezone(UTC).date()
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block a DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, _ in TABLES:
            if not is_partitioned(cursor, table):
                continue
            totals["created"] += ensure_days(cursor, table, cutoff.date(), today + timedelta(days=PARTITION_DAYS_AHEAD))
            dropped, deleted = drop_before(cursor, table, cutoff)
            totals["dropped"] += dropped
            totals["default_rows_deleted"] += deleted
    log.info("event=raw_partitions created=%d dropped=%d default_rows_deleted=%d",
             totals["created"], totals["dropped"], totals["default_rows_deleted"])  # fmt: skip
    return totals


def partition_tables(cursor, now: datetime, retention_days: int) -> None:
    """Turn the plain sample tables into partitioned ones, rows kept (the migration's step)."""
    for table, key in TABLES:
        if is_partitioned(cursor, table):
            continue
        old = f"{table}_unpartitioned"
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        # Its key's index name is the one the new table's key takes.
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [old])
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {old} DROP CONSTRAINT "{name}"')
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY) PARTITION BY RANGE (ts)"
        )
        if table == "telemetry_serversample":  # its id stays a column; the (server, ts) key is the unique one
            cursor.execute(f"ALTER TABLE {old} DROP CONSTRAINT IF EXISTS serversample_server_ts")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT serversample_server_ts UNIQUE ({key}, ts)")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {old}), 0) + 1, false)"
            )
        else:
            cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({key}, ts)")
        target = {"host_id": "telemetry_host", "gpu_id": "telemetry_gpu", "server_id": "telemetry_inferenceserver"}
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_{key}_fk FOREIGN KEY ({key}) "
            f"REFERENCES {target[key]} (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        today = now.astimezone(UTC).date()
        first = (now - timedelta(days=retention_days)).date()
        ensure_days(cursor, table, first, today + timedelta(days=PARTITION_DAYS_AHEAD))
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(f"DROP TABLE {old}")
