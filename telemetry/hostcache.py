"""This process's memory of each host's ids, so a steady push does no host lookup.

Keyed by machine id, an entry holds the inventory fingerprint the ids belong
to. A push whose inventory fingerprint matches uses the ids without reading the
host row; the write then checks, in the same statement, that the host row
still carries that fingerprint (telemetry.store: `InventoryIds.expect_hash`).
If another process synced a new inventory meanwhile, an admin deleted a GPU,
or a GPU moved to another host (each clears or changes Host.inventory_hash),
the write stores nothing for that batch, the entry is dropped and the push
reads the host row and syncs as before. So the cache can be stale for one
write at most, never wrong in what it stores; two clones behind one machine id
are still caught (telemetry.identity) because each clone's push fails the
check the moment the other one synced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telemetry.inventory import InventoryIds

MAX_HOSTS = 100_000  # a full cache is dropped whole: hosts are re-read once each


@dataclass(frozen=True)
class Known:
    inventory_hash: str
    ids: InventoryIds
    last_seen: datetime | None


_hosts: dict[str, Known] = {}


def get(machine_id: str) -> Known | None:
    return _hosts.get(machine_id)


def put(machine_id: str, known: Known) -> None:
    if len(_hosts) >= MAX_HOSTS and machine_id not in _hosts:
        _hosts.clear()
    _hosts[machine_id] = known


def forget(machine_id: str) -> None:
    _hosts.pop(machine_id, None)


def clear() -> None:
    _hosts.clear()
