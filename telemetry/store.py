"""Write a validated batch's samples: one multi-row INSERT per table.

ON CONFLICT DO NOTHING on the (entity, ts) keys makes a replayed batch, or two
copies racing each other, store every row once. The host rows' RETURNING tells
which samples were new.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction

from telemetry.inventory import InventoryIds
from telemetry.models import GpuSample, HostSample, ServerSample
from telemetry.schema import IngestBatch

# (column, wire field) pairs; the wire names predate the unit-suffixed columns.
HOST_COLUMNS = [
    ("cpu_pct", "cpu_pct"),
    ("load1", "load1"),
    ("mem_used_bytes", "mem_used"),
    ("mem_available_bytes", "mem_available"),
    ("swap_used_bytes", "swap_used"),
    ("net_rx_bps", "net_rx_bps"),
    ("net_tx_bps", "net_tx_bps"),
    ("disk_read_bps", "disk_read_bps"),
    ("disk_write_bps", "disk_write_bps"),
]
GPU_COLUMNS = [
    ("util_pct", "util_pct"),
    ("mem_util_pct", "mem_util_pct"),
    ("mem_used_bytes", "mem_used"),
    ("power_w", "power_w"),
    ("temp_c", "temp_c"),
    ("sm_clock_mhz", "sm_clock_mhz"),
    ("energy_j", "energy_j"),
]
SERVER_COLUMNS = [
    (name, name)
    for name in (
        "running",
        "waiting",
        "kv_cache_pct",
        "batch_size",
        "preempted",
        "prompt_tps",
        "gen_tps",
        "requests_ps",
        "queue_time_ms",
    )
]
CHUNK_ROWS = 500  # keeps a long backfill under SQLite's bound-parameter limit


def store_samples(batch: IngestBatch, ids: InventoryIds) -> int:
    """Insert the batch; returns how many of its samples were new."""
    adapt = connection.ops.adapt_datetimefield_value
    host_rows, gpu_rows, server_rows = [], [], []
    for sample in batch.samples:
        ts = adapt(datetime.fromtimestamp(sample.ts, tz=UTC))
        host_rows.append((ids.host_id, ts, *[getattr(sample, f) for _, f in HOST_COLUMNS]))
        for g in sample.gpus:
            gpu_rows.append((ids.gpu_ids[g.uuid], ts, *[getattr(g, f) for _, f in GPU_COLUMNS]))
        for s in sample.servers:
            server_rows.append((ids.server_ids[s.id], ts, *[getattr(s, f) for _, f in SERVER_COLUMNS]))
    with transaction.atomic(), connection.cursor() as cursor:
        accepted = _insert(cursor, HostSample, "host_id", HOST_COLUMNS, host_rows, returning=True)
        _insert(cursor, GpuSample, "gpu_id", GPU_COLUMNS, gpu_rows)
        _insert(cursor, ServerSample, "server_id", SERVER_COLUMNS, server_rows)
    return accepted


def _insert(
    cursor, model, key: str, columns: list[tuple[str, str]], rows: list[tuple], returning: bool = False
) -> int:
    if not rows:
        return 0
    names = [key, "ts", *[c for c, _ in columns]]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    head = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({key}, ts) DO NOTHING" + (" RETURNING 1" if returning else "")
    inserted = 0
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        params = [v for row in chunk for v in row]
        cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, params)
        if returning:
            inserted += len(cursor.fetchall())
    return inserted
