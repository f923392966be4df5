"""Upsert a host's inventory (host, GPUs, inference servers) from a payload.

Runs only when the inventory part of a payload differs from the last one this
host sent (Host.inventory_hash); a steady fleet skips it entirely.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from telemetry.deployment import deployment_name
from telemetry.models import Gpu, Host, InferenceServer
from telemetry.schema import IngestBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InventoryIds:
    host_id: int
    gpu_ids: dict[str, int]  # uuid -> Gpu.pk
    server_ids: dict[str, int]  # agent's server id -> InferenceServer.pk


def fingerprint(batch: IngestBatch) -> str:
    parts = [
        batch.agent.model_dump(),
        batch.host.model_dump(),
        [g.model_dump() for g in batch.gpus],
        [s.model_dump() for s in batch.servers],
        # Which processes hold which GPU, not their memory: that changes every sample.
        sorted((p.gpu_uuid, p.pid, p.name) for p in batch.processes),
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def sync_inventory(batch: IngestBatch, token_id: int, digest: str, now: datetime) -> InventoryIds:
    with transaction.atomic():
        host = _upsert_host(batch, token_id, now)
        gpu_ids = _sync_gpus(host, batch, now)
        server_ids = _sync_servers(host, batch, gpu_ids, now)
        _set_deployment(host, batch)
        host.inventory_hash = digest
        host.inventory_ids = {"gpus": gpu_ids, "servers": server_ids}
        host.gpu_processes = [p.model_dump() for p in batch.processes]
        host.save(update_fields=["deployment", "inventory_hash", "inventory_ids", "gpu_processes"])
    return InventoryIds(host.pk, gpu_ids, server_ids)


def _upsert_host(batch: IngestBatch, token_id: int, now: datetime) -> Host:
    info = batch.host
    fields = {
        "hostname": info.hostname,
        "cpu_count": info.cpu_count,
        "mem_total_bytes": info.mem_total,
        "os": info.os,
        "instance_type": info.instance_type,
        "labels": info.labels,
        "agent_version": batch.agent.version,
        "agent_token_id": token_id,
        "last_seen": now,
    }
    # get_or_create re-reads after losing an insert race to a concurrent first push.
    host, created = Host.objects.get_or_create(
        machine_id=info.machine_id, defaults={**fields, "first_seen": now, "last_seen": now}
    )
    host = Host.objects.select_for_update().get(machine_id=info.machine_id)
    if created:
        log.info("event=host_registered host=%s machine_id=%s", info.hostname, info.machine_id)
        return host
    if host.hostname != info.hostname:
        log.info("event=host_renamed machine_id=%s old=%s new=%s", info.machine_id, host.hostname, info.hostname)
    changed = [name for name, value in fields.items() if getattr(host, name) != value]
    for name in changed:
        setattr(host, name, fields[name])
    if changed:
        host.save(update_fields=changed)
    return host


def _set_deployment(host: Host, batch: IngestBatch) -> None:
    # The servers just synced are exactly the host's active ones: the payload lists them all.
    name = deployment_name(host.labels, {s.id: s.model for s in batch.servers}, host.hostname)
    if name != host.deployment:
        log.info("event=host_deployment host=%s old=%s new=%s", host.hostname, host.deployment or "-", name)
        host.deployment = name


def _sync_gpus(host: Host, batch: IngestBatch, now: datetime) -> dict[str, int]:
    listed = {g.uuid: g for g in batch.gpus}
    existing = {g.uuid: g for g in Gpu.objects.select_for_update().filter(uuid__in=listed)}
    ids: dict[str, int] = {}
    for uuid, info in listed.items():
        fields = {
            "host_id": host.pk,
            "index": info.index,
            "name": info.name,
            "memory_total_bytes": info.memory_total,
            "power_limit_w": info.power_limit_w,
            "active": True,
        }
        gpu = existing.get(uuid)
        if gpu is None:
            gpu = Gpu.objects.create(uuid=uuid, first_seen=now, **fields)
            log.info("event=gpu_added host=%s gpu=%s name=%s", host.hostname, uuid, info.name)
        else:
            if gpu.host_id != host.pk:
                log.info("event=gpu_moved gpu=%s from_host_id=%s to=%s", uuid, gpu.host_id, host.hostname)
                # The old host's next push must re-sync: its cached ids list this GPU.
                Host.objects.filter(pk=gpu.host_id).update(inventory_hash="")
            changed = [k for k, v in fields.items() if getattr(gpu, k) != v]
            for k in changed:
                setattr(gpu, k, fields[k])
            if changed:
                gpu.save(update_fields=changed)
        ids[uuid] = gpu.pk
    gone = Gpu.objects.filter(host=host, active=True).exclude(uuid__in=listed)
    if n := gone.update(active=False):
        log.info("event=gpus_removed host=%s count=%d", host.hostname, n)
    return ids


def _sync_servers(host: Host, batch: IngestBatch, gpu_ids: dict[str, int], now: datetime) -> dict[str, int]:
    existing = {s.server_id: s for s in InferenceServer.objects.filter(host=host)}
    ids: dict[str, int] = {}
    for info in batch.servers:
        fields = {
            "kind": info.kind,
            "model": info.model or "",
            "dtype": info.dtype or "",
            "quantization": info.quantization or "",
            "tensor_parallel": info.tensor_parallel,
            "max_batch_size": info.max_batch_size,
            "active": True,
            "gone_at": None,
        }
        server = existing.get(info.id)
        if server is None:
            server = InferenceServer.objects.create(host=host, server_id=info.id, first_seen=now, **fields)
            log.info("event=server_added host=%s server=%s model=%s", host.hostname, info.id, info.model)
        else:
            changed = [k for k, v in fields.items() if getattr(server, k) != v]
            for k in changed:
                setattr(server, k, fields[k])
            if changed:
                server.save(update_fields=changed)
        server.gpus.set([gpu_ids[u] for u in info.gpu_uuids])
        ids[info.id] = server.pk
    listed = {s.id for s in batch.servers}
    gone = [s for sid, s in existing.items() if sid not in listed and s.active]
    for server in gone:
        server.active, server.gone_at = False, now
        server.save(update_fields=["active", "gone_at"])
        log.info("event=server_gone host=%s server=%s", host.hostname, server.server_id)
    return ids
