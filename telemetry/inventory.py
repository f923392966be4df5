"""Upsert a host's inventory (host, GPUs, inference servers) from a payload.

Runs only when the inventory part of a payload differs from the last one this
host sent (Host.inventory_hash); a steady fleet skips it entirely.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from telemetry import identity
from telemetry.deployment import deployment_name
from telemetry.errors import ApiError
from telemetry.models import Gpu, Host, InferenceServer
from telemetry.ratelimit_hosts import check_new_host
from telemetry.wire import IngestBatch, as_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InventoryIds:
    host_id: int
    gpu_ids: dict[str, int]  # uuid -> Gpu.pk
    server_ids: dict[str, int]  # agent's server id -> InferenceServer.pk
    seen_at: datetime | None = None  # set: the samples' write also stores it as Host.last_seen
    # Set (ids from telemetry.hostcache): the write stores nothing unless Host.inventory_hash still equals it.
    expect_hash: str | None = None


def fingerprint(batch: IngestBatch) -> str:
    parts = [
        as_dict(batch.agent),
        as_dict(batch.host),
        [as_dict(g) for g in batch.gpus],
        [as_dict(s) for s in batch.servers],
        # Which processes hold which GPU, not their memory: that changes every sample.
        sorted((p.gpu_uuid, p.pid, p.name) for p in batch.processes),
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def sync_inventory(batch: IngestBatch, token_id: int, digest: str, now: datetime) -> InventoryIds:
    with transaction.atomic():
        host, created = _upsert_host(batch, token_id, now)
        gpu_ids = _sync_gpus(host, batch, now, created)
        server_ids = _sync_servers(host, batch, gpu_ids, now, created)
        _set_deployment(host, batch)
        host.inventory_hash = digest
        host.inventory_ids = {"gpus": gpu_ids, "servers": server_ids}
        host.gpu_processes = [as_dict(p) for p in batch.processes]
        host.save(update_fields=["deployment", "inventory_hash", "inventory_ids", "gpu_processes", *IDENTITY_FIELDS])
    return InventoryIds(host.pk, gpu_ids, server_ids)


def _upsert_host(batch: IngestBatch, token_id: int, now: datetime) -> tuple[Host, bool]:
    """The host row, locked, and whether this call created it."""
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
    host = Host.objects.select_for_update().filter(machine_id=info.machine_id).first()
    if host is None:
        check_new_host(token_id, settings.INGEST_NEW_HOSTS_PER_HOUR, now)
        # The SELECT above found none: insert at once (no second read), in a savepoint in case a
        # concurrent first push of the same machine id wins the race; then re-read its row.
        try:
            with transaction.atomic():
                host = Host.objects.create(machine_id=info.machine_id, **{**fields, "first_seen": now})
        except IntegrityError:
            host = Host.objects.select_for_update().get(machine_id=info.machine_id)
        else:  # our INSERT holds the row's lock until commit
            log.info("event=host_registered host=%s machine_id=%s", info.hostname, info.machine_id)
            return host, True
    _watch_identity(host, batch, now)
    if host.hostname != info.hostname:
        log.info("event=host_renamed machine_id=%s old=%s new=%s", info.machine_id, host.hostname, info.hostname)
    changed = [name for name, value in fields.items() if getattr(host, name) != value]
    for name in changed:
        setattr(host, name, fields[name])
    if changed:
        host.save(update_fields=changed)
    return host, False


IDENTITY_FIELDS = ["identity_history", "identity_conflict_at", "identity_conflict_hostnames"]


def _watch_identity(host: Host, batch: IngestBatch, now: datetime) -> None:
    """Note two agents taking turns on this machine id (telemetry.identity); saved with the inventory."""
    before = identity.Identity.of(host.hostname, (host.inventory_ids or {}).get("gpus", {}))
    current = identity.Identity.of(batch.host.hostname, (g.uuid for g in batch.gpus))
    host.identity_history, hostnames = identity.step(host.identity_history or [], before, current, now.timestamp())
    if not hostnames:
        return
    last = host.identity_conflict_at
    if last is not None and now - last < timedelta(seconds=identity.SHOWN_S):
        hostnames = sorted(set(host.identity_conflict_hostnames or []) | set(hostnames))[: identity.MAX_HOSTNAMES]
    host.identity_conflict_at, host.identity_conflict_hostnames = now, hostnames
    if _first_in_window(host.machine_id, now):
        log.warning(
            "event=machine_id_conflict machine_id=%s hostnames=%s: two agents push with one machine id; "
            "set RIGHTSIZER_HOST_ID on the cloned hosts",
            host.machine_id,
            ",".join(hostnames),
        )


def _first_in_window(machine_id: str, now: datetime) -> bool:
    """True once per WINDOW_S for a machine id, counted from the last line logged (a sliding window).

    Fixed clock buckets would log twice when the clones' turns straddle a bucket's edge.
    """
    digest = hashlib.blake2b(machine_id.encode(), digest_size=8).hexdigest()
    key, stamp = f"machine-id-conflict-logged:{digest}", now.timestamp()
    try:
        if cache.add(key, stamp, timeout=identity.WINDOW_S):
            return True
        last = cache.get(key)
        if last is None or stamp - float(last) >= identity.WINDOW_S:  # expired meanwhile, or a clock that jumped
            cache.set(key, stamp, timeout=identity.WINDOW_S)
            return True
        return False
    except Exception:  # noqa: BLE001 - the cache (Redis) is down: a log line too many beats none
        return True


def _set_deployment(host: Host, batch: IngestBatch) -> None:
    # The servers just synced are exactly the host's active ones: the payload lists them all.
    name = deployment_name(host.labels, {s.id: s.model for s in batch.servers}, host.hostname)
    if name != host.deployment:
        log.info("event=host_deployment host=%s old=%s new=%s", host.hostname, host.deployment or "-", name)
        host.deployment = name


def _sync_gpus(host: Host, batch: IngestBatch, now: datetime, created: bool) -> dict[str, int]:
    listed = {g.uuid: g for g in batch.gpus}
    existing = {g.uuid: g for g in Gpu.objects.select_for_update().filter(uuid__in=listed)}
    _refuse_claimed_gpus(host, batch, existing, now)
    ids: dict[str, int] = {}
    added: list[Gpu] = []
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
            added.append(Gpu(uuid=uuid, first_seen=now, **fields))
            log.info("event=gpu_added host=%s gpu=%s name=%s", host.hostname, uuid, info.name)
            continue
        if gpu.host_id != host.pk:
            # _refuse_claimed_gpus let it through: its old host dropped it or went silent.
            log.info("event=gpu_moved gpu=%s from_host_id=%s to=%s", uuid, gpu.host_id, host.hostname)
            # The old host's next push must re-sync: its cached ids list this GPU.
            Host.objects.filter(pk=gpu.host_id).update(inventory_hash="")
        changed = [k for k, v in fields.items() if getattr(gpu, k) != v]
        for k in changed:
            setattr(gpu, k, fields[k])
        if changed:
            gpu.save(update_fields=changed)
        ids[uuid] = gpu.pk
    # One INSERT for a new host's GPUs: registering a fleet is mostly this.
    ids.update((gpu.uuid, gpu.pk) for gpu in Gpu.objects.bulk_create(added))
    ids = {uuid: ids[uuid] for uuid in listed}  # in the payload's order
    gone = Gpu.objects.filter(host=host, active=True).exclude(uuid__in=listed)
    if not created and (n := gone.update(active=False)):  # a host created just now has no other GPUs
        log.info("event=gpus_removed host=%s count=%d", host.hostname, n)
    return ids


def _refuse_claimed_gpus(host: Host, batch: IngestBatch, existing: dict[str, Gpu], now: datetime) -> None:
    """A 422 for GPU uuids another host still lists and still pushes from.

    A GPU really moved has left its old host's inventory (its next push drops it) or its
    old host went offline (RIGHTSIZER_HOST_OFFLINE_AFTER_S); two hosts reporting one uuid
    at once means one of them is wrong, and its samples must not land on the other's GPU.
    """
    other_ids = {g.host_id for g in existing.values() if g.host_id != host.pk and g.active}
    if not other_ids:
        return
    online_since = now - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)
    holders = {
        h.pk: h
        for h in Host.objects.filter(pk__in=other_ids, last_seen__gte=online_since).only("hostname", "machine_id")
    }
    errors = []
    for i, info in enumerate(batch.gpus):
        gpu = existing.get(info.uuid)
        holder = holders.get(gpu.host_id) if gpu is not None and gpu.active else None
        if holder is not None and holder.pk != host.pk:
            message = (
                f"GPU {info.uuid!r} belongs to host {holder.hostname!r} (machine id {holder.machine_id!r}), "
                "which still reports it"
            )
            errors.append({"path": f"gpus.{i}.uuid", "message": message, "type": "gpu_claimed"})
    if errors:
        raise ApiError(
            422,
            "gpu_claimed",
            f"{len(errors)} GPU{'s' if len(errors) != 1 else ''} in this batch another active host reports, so "
            "nothing was stored; see 'errors'. A GPU that really moved is accepted once its old host pushes "
            f"without it, or has been silent for {settings.HOST_OFFLINE_AFTER_S} s (RIGHTSIZER_HOST_OFFLINE_AFTER_S).",
            errors=errors,
        )


def _sync_servers(
    host: Host, batch: IngestBatch, gpu_ids: dict[str, int], now: datetime, created: bool
) -> dict[str, int]:
    existing = {} if created else {s.server_id: s for s in InferenceServer.objects.filter(host=host)}
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
            # A new server's GPU links in one INSERT (set() would read them first).
            through = InferenceServer.gpus.through
            links = dict.fromkeys(gpu_ids[u] for u in info.gpu_uuids)
            through.objects.bulk_create([through(inferenceserver_id=server.pk, gpu_id=g) for g in links])
            ids[info.id] = server.pk
            continue
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
