"""A new host's first push registered in one statement (PostgreSQL).

The general inventory upsert (telemetry.inventory.sync_inventory) reads and locks
the host and its GPUs, inserts, then updates the host: about a dozen round trips
a host, each one a wait on a busy database. A host nobody has seen, whose GPU
uuids nobody has seen, needs none of those reads: one INSERT … SELECT with
data-modifying CTEs writes its row, its GPUs, its servers and their GPU links,
with the GPU and server ids drawn from their sequences first, so the host row
carries its inventory ids from the start. In autocommit that is one round trip.

It stores nothing and answers None, and the caller runs the general upsert, which
writes every refusal (409/422/429) and log line as before, when the machine id
already exists (a concurrent first push won), one of the GPU uuids exists (moved
or claimed: sync_inventory decides), the payload repeats a uuid or server id or
links a GPU it does not list, or the token's new-host quota is spent.

The quota (RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR) stays exact: the token's row is
locked by a statement of its own and the count is part of the INSERT that
follows, so it sees every registration committed before the lock was granted;
the lock is held for that one statement and its commit, not for the whole
upsert, so a token's registrations wait on each other for one round trip
instead of twelve.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from telemetry.deployment import deployment_name
from telemetry.inventory import InventoryIds
from telemetry.models import AgentToken, Gpu, Host, InferenceServer
from telemetry.ratelimit_hosts import WINDOW
from telemetry.wire import IngestBatch, as_dict

log = logging.getLogger("telemetry.inventory")  # the lines sync_inventory writes, under its name


@functools.cache
def _statement(limited: bool) -> str:
    host, gpu, server = Host._meta.db_table, Gpu._meta.db_table, InferenceServer._meta.db_table
    link = InferenceServer.gpus.through._meta.db_table
    quota = f"AND (SELECT count(*) FROM {host} WHERE agent_token_id = %(token)s AND first_seen > %(since)s) < %(limit)s"
    return f"""
WITH gid AS (
  SELECT x.*, nextval(pg_get_serial_sequence('{gpu}', 'id')) AS id
  FROM unnest(%(g_uuid)s::text[], %(g_index)s::int[], %(g_name)s::text[], %(g_mem)s::bigint[], %(g_power)s::float8[])
       WITH ORDINALITY AS x(uuid, idx, name, mem, power, ord)
), sid AS (
  SELECT y.*, nextval(pg_get_serial_sequence('{server}', 'id')) AS id
  FROM unnest(%(s_id)s::text[], %(s_kind)s::text[], %(s_model)s::text[], %(s_dtype)s::text[], %(s_quant)s::text[],
              %(s_tp)s::int[], %(s_batch)s::int[])
       WITH ORDINALITY AS y(server_id, kind, model, dtype, quant, tp, batch, ord)
), h AS (
  INSERT INTO {host} (machine_id, hostname, cpu_count, mem_total_bytes, os, instance_type, labels, deployment,
                      agent_version, first_seen, last_seen, inventory_hash, inventory_ids, gpu_processes,
                      agent_token_id, identity_history, identity_conflict_hostnames)
  SELECT %(machine_id)s, %(hostname)s, %(cpu_count)s, %(mem)s, %(os)s, %(instance_type)s, %(labels)s::jsonb,
         %(deployment)s, %(agent_version)s, %(now)s, %(now)s, %(digest)s,
         jsonb_build_object('gpus', (SELECT coalesce(jsonb_object_agg(uuid, id), '{{}}') FROM gid),
                            'servers', (SELECT coalesce(jsonb_object_agg(server_id, id), '{{}}') FROM sid)),
         %(processes)s::jsonb, %(token)s, '[]'::jsonb, '[]'::jsonb
  WHERE NOT EXISTS (SELECT 1 FROM {gpu} WHERE uuid = ANY(%(g_uuid)s::text[])) {quota if limited else ""}
  ON CONFLICT (machine_id) DO NOTHING
  RETURNING id
), g AS (
  INSERT INTO {gpu} (id, uuid, host_id, "index", name, memory_total_bytes, power_limit_w, active, first_seen)
  SELECT gid.id, gid.uuid, h.id, gid.idx, gid.name, gid.mem, gid.power, true, %(now)s FROM h, gid
), s AS (
  INSERT INTO {server} (id, host_id, server_id, kind, model, dtype, quantization, tensor_parallel, max_batch_size,
                        active, first_seen)
  SELECT sid.id, h.id, sid.server_id, sid.kind, sid.model, sid.dtype, sid.quant, sid.tp, sid.batch, true, %(now)s
  FROM h, sid
), l AS (
  INSERT INTO {link} (inferenceserver_id, gpu_id)
  SELECT DISTINCT sid.id, gid.id
  FROM h, unnest(%(l_server)s::text[], %(l_uuid)s::text[]) AS z(server_id, uuid)
       JOIN sid ON sid.server_id = z.server_id JOIN gid ON gid.uuid = z.uuid
)
SELECT (SELECT id FROM h), (SELECT array_agg(id ORDER BY ord) FROM gid), (SELECT array_agg(id ORDER BY ord) FROM sid)
"""


def register(batch: IngestBatch, token_id: int, digest: str, now: datetime) -> InventoryIds | None:
    """The new host's InventoryIds, or None: nothing stored, run the general upsert."""
    if connection.vendor != "postgresql":
        return None
    params = _params(batch, token_id, digest, now)
    if params is None:
        return None
    limit = settings.INGEST_NEW_HOSTS_PER_HOUR
    try:
        if limit > 0 or connection.in_atomic_block:
            with transaction.atomic():
                row = _insert(params, token_id, limit)
        else:  # one statement is its own transaction: one round trip
            row = _insert(params, token_id, limit)
    except IntegrityError:  # a concurrent first push took the machine id or a GPU uuid
        return None
    host_id, gpu_pks, server_pks = row
    if host_id is None:
        return None
    _log_registered(batch, params["deployment"])
    gpu_ids = dict(zip(params["g_uuid"], gpu_pks or [], strict=True))
    server_ids = dict(zip(params["s_id"], server_pks or [], strict=True))
    return InventoryIds(host_id, gpu_ids, server_ids)


def _insert(params: dict, token_id: int, limit: int) -> tuple:
    with connection.cursor() as cursor:
        if limit > 0:  # the token's registrations take turns from here to the commit
            cursor.execute(f"SELECT 1 FROM {AgentToken._meta.db_table} WHERE id = %s FOR UPDATE", [token_id])
        cursor.execute(_statement(limit > 0), params)
        return cursor.fetchone()


def _params(batch: IngestBatch, token_id: int, digest: str, now: datetime) -> dict | None:
    gpus, servers, info = batch.gpus, batch.servers, batch.host
    uuids = [g.uuid for g in gpus]
    links = [(s.id, u) for s in servers for u in s.gpu_uuids]
    if len(set(uuids)) != len(uuids) or len({s.id for s in servers}) != len(servers):
        return None
    if not {u for _, u in links} <= set(uuids):
        return None
    return {
        "machine_id": info.machine_id,
        "hostname": info.hostname,
        "cpu_count": info.cpu_count,
        "mem": info.mem_total,
        "os": info.os,
        "instance_type": info.instance_type,
        "labels": json.dumps(info.labels),
        "deployment": deployment_name(info.labels, {s.id: s.model for s in servers}, info.hostname),
        "agent_version": batch.agent.version,
        "now": now,
        "digest": digest,
        "processes": json.dumps([as_dict(p) for p in batch.processes]),
        "token": token_id,
        "since": now - WINDOW,
        "limit": settings.INGEST_NEW_HOSTS_PER_HOUR,
        "g_uuid": uuids,
        "g_index": [g.index for g in gpus],
        "g_name": [g.name for g in gpus],
        "g_mem": [g.memory_total for g in gpus],
        "g_power": [g.power_limit_w for g in gpus],
        "s_id": [s.id for s in servers],
        "s_kind": [s.kind for s in servers],
        "s_model": [s.model or "" for s in servers],
        "s_dtype": [s.dtype or "" for s in servers],
        "s_quant": [s.quantization or "" for s in servers],
        "s_tp": [s.tensor_parallel for s in servers],
        "s_batch": [s.max_batch_size for s in servers],
        "l_server": [s for s, _ in links],
        "l_uuid": [u for _, u in links],
    }


def _log_registered(batch: IngestBatch, deployment: str) -> None:
    """The lines sync_inventory writes for a new host, in its order."""
    hostname = batch.host.hostname
    log.info("event=host_registered host=%s machine_id=%s", hostname, batch.host.machine_id)
    for g in batch.gpus:
        log.info("event=gpu_added host=%s gpu=%s name=%s", hostname, g.uuid, g.name)
    for s in batch.servers:
        log.info("event=server_added host=%s server=%s model=%s", hostname, s.id, s.model)
    if deployment:
        log.info("event=host_deployment host=%s old=%s new=%s", hostname, "-", deployment)
