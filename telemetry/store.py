"""Write a validated batch's samples.

ON CONFLICT DO NOTHING on the (entity, ts) keys makes a replayed batch, or two
copies racing each other, store every row once; the host rows' RETURNING tells
which samples were new.

PostgreSQL gets all three tables in one statement: data-modifying CTEs that
unpack the batches' JSON on the server. One round trip, atomic without
BEGIN/COMMIT, a constant query text whatever the number of batches. SQLite gets
one multi-row INSERT per table inside a transaction. Either way several hosts'
batches can share the write (telemetry.groupcommit).
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from datetime import UTC, datetime

import orjson
from django.db import connection, transaction

from telemetry import registry
from telemetry.inventory import InventoryIds
from telemetry.models import GpuSample, Host, HostSample, ServerSample
from telemetry.wire import IngestBatch, samples_json

# (column, wire field) pairs, from the registry; the wire names predate the unit-suffixed columns.
HOST_COLUMNS = registry.store_columns(registry.HOST)
GPU_COLUMNS = registry.store_columns(registry.GPU)
SERVER_COLUMNS = registry.store_columns(registry.SERVER)
TABLES = [  # model, entity key column, metric columns
    (HostSample, "host_id", HOST_COLUMNS),
    (GpuSample, "gpu_id", GPU_COLUMNS),
    (ServerSample, "server_id", SERVER_COLUMNS),
]
CHUNK_ROWS = 500  # keeps a long SQLite backfill under its bound-parameter limit


def store_samples(batch: IngestBatch, ids: InventoryIds) -> int | None:
    """Insert the validated batch; returns how many samples were new (None: stale ids, nothing stored)."""
    return store_many([(batch, ids)])[0]


def store_many(items: list[tuple[IngestBatch, InventoryIds]]) -> list[int | None]:
    """Insert several batches at once (one statement on PostgreSQL); the new samples of each.

    The batches must be of different hosts: a batch's new samples are counted by its host.
    A batch whose ids carry an expect_hash the host row no longer has is not stored: None.
    """
    host_ids = [ids.host_id for _, ids in items]
    if len(set(host_ids)) != len(host_ids):
        raise ValueError("store_many takes one batch per host")
    if connection.vendor == "postgresql":
        counts = _insert_postgres(_batches_json(items))  # every fresh batch's host has a count, 0 included
        return [counts.get(host_id) for host_id in host_ids]
    counts, fresh = _insert_portable(items)
    return [counts.get(host_id, 0) if host_id in fresh else None for host_id in host_ids]


def _fresh_hosts(items: list[tuple[IngestBatch, InventoryIds]]) -> set[int]:
    """The batches' hosts whose row still has the inventory their ids were read with."""
    expected = {ids.host_id: ids.expect_hash for _, ids in items if ids.expect_hash is not None}
    fresh = {ids.host_id for _, ids in items if ids.expect_hash is None}
    if expected:
        rows = Host.objects.filter(pk__in=expected).values_list("pk", "inventory_hash")
        fresh.update(pk for pk, digest in rows if expected[pk] == digest)
    return fresh


def _batches_json(items: list[tuple[IngestBatch, InventoryIds]]) -> str:
    """The batches as the server validated them, never the agent's own text.

    PostgreSQL parses JSON numbers and strings by its own rules: the body's
    unknown fields, or a literal Python reads as 0.0 and PostgreSQL as an
    underflow, must not reach it. msgspec writes the samples in C, at a
    fraction of the cost of building rows in Python.
    """
    parts = [
        b'{"h":%d,"v":%b,"seen":%b,"g":%b,"s":%b,"samples":%b}'
        % (
            ids.host_id,
            orjson.dumps(ids.expect_hash),
            orjson.dumps(ids.seen_at.isoformat() if ids.seen_at else None),
            orjson.dumps(ids.gpu_ids),
            orjson.dumps(ids.server_ids),
            samples_json(batch),
        )
        for batch, ids in items
    ]
    return (b"[" + b",".join(parts) + b"]").decode()


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


def _insert_postgres(batches_json: str) -> dict[int, int]:
    # Alone, the statement is atomic. Inside a caller's transaction it gets a
    # savepoint, so a failure leaves that transaction usable.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(_postgres_sql(), [batches_json])
        return dict(cursor.fetchall())


@functools.cache
def _postgres_sql() -> str:
    """One statement for the three tables and any number of batches; the server unpacks the JSON.

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
        "WITH b AS (SELECT (e->>'h')::bigint AS host_id, (e->>'seen')::timestamptz AS seen_at, "
        "                  e->'g' AS gpu_ids, e->'s' AS server_ids, "
        "                  e->'samples' AS samples FROM json_array_elements(%s::json) AS e "
        # Ids from a process's cache: only while the host row still has the inventory they came from.
        "           WHERE e->>'v' IS NULL OR EXISTS (SELECT 1 FROM " + Host._meta.db_table + " AS h "
        "                 WHERE h.id = (e->>'h')::bigint AND h.inventory_hash = e->>'v')), "
        "s AS (SELECT b.host_id, b.gpu_ids, b.server_ids, e AS sample, to_timestamp((e->>'ts')::float8) AS ts "
        "      FROM b, json_array_elements(b.samples) AS e), "
        "t0 AS ("
        + insert(HostSample, "host_id", HOST_COLUMNS,
                 f"SELECT s.host_id, s.ts, {host_vals} FROM s, "
                 f"json_to_record(s.sample) AS r({host_rec})", " RETURNING host_id")
        + "), t1 AS ("
        + insert(GpuSample, "gpu_id", GPU_COLUMNS,
                 f"SELECT (s.gpu_ids->>r.uuid)::bigint, s.ts, {gpu_vals} FROM s, "
                 f"json_to_recordset(s.sample->'gpus') AS r({gpu_rec})")
        + "), t2 AS ("
        + insert(ServerSample, "server_id", SERVER_COLUMNS,
                 f"SELECT (s.server_ids->>r.id)::bigint, s.ts, {server_vals} FROM s, "
                 f"json_to_recordset(s.sample->'servers') AS r({server_rec})")
        + "), t3 AS (UPDATE " + Host._meta.db_table + " AS h SET last_seen = b.seen_at FROM b "
        "            WHERE h.id = b.host_id AND b.seen_at IS NOT NULL) "
        "SELECT b.host_id, count(t0.host_id) FROM b LEFT JOIN t0 ON t0.host_id = b.host_id GROUP BY b.host_id"
    )  # fmt: skip


def _insert_portable(items: list[tuple[IngestBatch, InventoryIds]]) -> tuple[dict[int, int], set[int]]:
    """New samples per host, and the hosts whose batches were written (the fresh ones)."""
    with transaction.atomic(), connection.cursor() as cursor:
        fresh = _fresh_hosts(items)
        live = [(batch, ids) for batch, ids in items if ids.host_id in fresh]
        seen = [(ids.seen_at, ids.host_id) for _, ids in live if ids.seen_at is not None]
        batches = [_rows(batch, ids) for batch, ids in live]
        tables = [[row for rows in batches for row in rows[i]] for i in range(len(TABLES))]
        new_hosts = [
            _insert_values(cursor, model, key, columns, table, returning=i == 0)
            for i, ((model, key, columns), table) in enumerate(zip(TABLES, tables, strict=True))
        ][0]
        if seen:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"UPDATE {Host._meta.db_table} SET last_seen = %s WHERE id = %s",
                [(adapt(at), host_id) for at, host_id in seen],
            )
    return dict(Counter(new_hosts)), fresh  # new host rows: the samples each batch added


def _insert_values(cursor, model, key: str, columns, table: list[tuple], returning: bool) -> list[int]:
    if not table:
        return []
    names = [key, "ts", *[c for c, _ in columns]]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    head = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({key}, ts) DO NOTHING" + (f" RETURNING {key}" if returning else "")
    inserted: list[int] = []
    for start in range(0, len(table), CHUNK_ROWS):
        chunk = table[start : start + CHUNK_ROWS]
        params = [v for row in chunk for v in row]
        cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, params)
        if returning:
            inserted.extend(row[0] for row in cursor.fetchall())
    return inserted
