"""Write a validated batch's samples.

ON CONFLICT DO NOTHING on the (entity, ts) keys makes a replayed batch, or two
copies racing each other, store every row once; the host rows' RETURNING tells
which samples were new.

PostgreSQL gets all three tables in one statement: data-modifying CTEs that
unpack the batch's JSON on the server. One round trip, atomic without
BEGIN/COMMIT, a constant query text whatever the batch size. SQLite gets one
multi-row INSERT per table inside a transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
from datetime import UTC, datetime

from django.db import connection, transaction

from telemetry.inventory import InventoryIds
from telemetry.models import GpuSample, HostSample, ServerSample
from telemetry.schema import IngestBatch

# (column, wire field) pairs; the wire names predate the unit-suffixed columns.
HOST_COLUMNS = [
    ("cpu_pct", "cpu_pct"), ("load1", "load1"), ("mem_used_bytes", "mem_used"),
    ("mem_available_bytes", "mem_available"), ("swap_used_bytes", "swap_used"),
    ("net_rx_bps", "net_rx_bps"), ("net_tx_bps", "net_tx_bps"),
    ("disk_read_bps", "disk_read_bps"), ("disk_write_bps", "disk_write_bps"),
]  # fmt: skip
GPU_COLUMNS = [
    ("util_pct", "util_pct"), ("mem_util_pct", "mem_util_pct"), ("mem_used_bytes", "mem_used"),
    ("power_w", "power_w"), ("temp_c", "temp_c"), ("sm_clock_mhz", "sm_clock_mhz"),
    ("energy_j", "energy_j"),
]  # fmt: skip
SERVER_COLUMNS = [
    (name, name)
    for name in ("running", "waiting", "kv_cache_pct", "batch_size", "preempted",
                 "prompt_tps", "gen_tps", "requests_ps", "queue_time_ms")
]  # fmt: skip
TABLES = [  # model, entity key column, metric columns
    (HostSample, "host_id", HOST_COLUMNS),
    (GpuSample, "gpu_id", GPU_COLUMNS),
    (ServerSample, "server_id", SERVER_COLUMNS),
]
CHUNK_ROWS = 500  # keeps a long SQLite backfill under its bound-parameter limit


def store_samples(batch: IngestBatch, ids: InventoryIds) -> int:
    """Insert the validated batch; returns how many samples were new."""
    if connection.vendor == "postgresql":
        return _insert_postgres(_samples_json(batch), ids)
    return _insert_portable(_rows(batch, ids))


def _samples_json(batch: IngestBatch) -> str:
    """The samples as the server validated them, never the agent's own text.

    PostgreSQL parses JSON numbers and strings by its own rules: the body's
    unknown fields, or a literal Python reads as 0.0 and PostgreSQL as an
    underflow, must not reach it. pydantic writes this in Rust, at a fraction
    of the cost of building rows in Python.
    """
    return batch.model_dump_json(include={"samples"}, exclude_none=True)


def _rows(batch: IngestBatch, ids: InventoryIds) -> list[list[tuple]]:
    adapt = connection.ops.adapt_datetimefield_value
    host_rows, gpu_rows, server_rows = [], [], []
    for sample in batch.samples:
        ts = adapt(datetime.fromtimestamp(sample.ts, tz=UTC))
        host_rows.append((ids.host_id, ts, *[getattr(sample, f) for _, f in HOST_COLUMNS]))
        for g in sample.gpus:
            gpu_rows.append((ids.gpu_ids[g.uuid], ts, *[getattr(g, f) for _, f in GPU_COLUMNS]))
        for s in sample.servers:
            server_rows.append((ids.server_ids[s.id], ts, *[getattr(s, f) for _, f in SERVER_COLUMNS]))
    return [host_rows, gpu_rows, server_rows]


def _insert_postgres(samples_json: str, ids: InventoryIds) -> int:
    id_map = json.dumps({"gpus": ids.gpu_ids, "servers": ids.server_ids})
    # Alone, the statement is atomic. Inside a caller's transaction it gets a
    # savepoint, so a failure leaves that transaction usable.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(_postgres_sql(), [samples_json, id_map, ids.host_id])
        return cursor.fetchone()[0]


@functools.cache
def _postgres_sql() -> str:
    """One statement for the three tables; the server unpacks the validated JSON.

    Turning a batch into rows in Python (and psycopg dumping each value) cost
    more CPU than everything else on the ingest path; PostgreSQL's JSON
    functions do it in C. Wire names map to columns here, as in the *_COLUMNS.
    """

    def record(columns: list[tuple[str, str]], model, extra: str = "") -> tuple[str, str]:
        types = [f"{wire} {model._meta.get_field(col).db_type(connection)}" for col, wire in columns]
        return ", ".join(f"r.{wire}" for _, wire in columns), extra + ", ".join(types)

    host_vals, host_rec = record(HOST_COLUMNS, HostSample)
    gpu_vals, gpu_rec = record(GPU_COLUMNS, GpuSample, "uuid text, ")
    server_vals, server_rec = record(SERVER_COLUMNS, ServerSample, "id text, ")

    def insert(model, key: str, columns, select: str, returning: str = "") -> str:
        names = ", ".join([key, "ts", *[c for c, _ in columns]])
        return f"INSERT INTO {model._meta.db_table} ({names}) {select} ON CONFLICT ({key}, ts) DO NOTHING{returning}"

    return (
        "WITH b AS (SELECT %s::json AS j, %s::json AS ids, %s::bigint AS host_id), "
        "s AS (SELECT e AS sample, to_timestamp((e->>'ts')::float8) AS ts "
        "      FROM b, json_array_elements(b.j->'samples') AS e), "
        "t0 AS ("
        + insert(HostSample, "host_id", HOST_COLUMNS,
                 f"SELECT b.host_id, s.ts, {host_vals} FROM b, s, "
                 f"json_to_record(s.sample) AS r({host_rec})", " RETURNING 1")
        + "), t1 AS ("
        + insert(GpuSample, "gpu_id", GPU_COLUMNS,
                 f"SELECT (b.ids->'gpus'->>r.uuid)::bigint, s.ts, {gpu_vals} FROM b, s, "
                 f"json_to_recordset(s.sample->'gpus') AS r({gpu_rec})")
        + "), t2 AS ("
        + insert(ServerSample, "server_id", SERVER_COLUMNS,
                 f"SELECT (b.ids->'servers'->>r.id)::bigint, s.ts, {server_vals} FROM b, s, "
                 f"json_to_recordset(s.sample->'servers') AS r({server_rec})")
        + ") SELECT count(*) FROM t0"
    )  # fmt: skip


def _insert_portable(rows: list[list[tuple]]) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        counts = [
            _insert_values(cursor, model, key, columns, table, returning=i == 0)
            for i, ((model, key, columns), table) in enumerate(zip(TABLES, rows, strict=True))
        ]
    return counts[0]  # new host rows: the samples this batch added


def _insert_values(cursor, model, key: str, columns, table: list[tuple], returning: bool) -> int:
    if not table:
        return 0
    names = [key, "ts", *[c for c, _ in columns]]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    head = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({key}, ts) DO NOTHING" + (" RETURNING 1" if returning else "")
    inserted = 0
    for start in range(0, len(table), CHUNK_ROWS):
        chunk = table[start : start + CHUNK_ROWS]
        params = [v for row in chunk for v in row]
        cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, params)
        if returning:
            inserted += len(cursor.fetchall())
    return inserted
