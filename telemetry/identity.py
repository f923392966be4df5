"""Two agents behind one machine id (a cloned image): tell them apart from one host.

Both agents push as the same Host, so its inventory alternates between theirs. Each
inventory sync remembers the identity the host just left (its hostname and GPU uuids);
coming back to one it left less than WINDOW_S ago — A → B → A — is the sign. One machine
that is renamed, or gets its GPUs swapped, goes one way and stays there.

Two identities differ when the hostnames differ, or when both list GPUs and none in
common: a GPU that drops off the bus and comes back leaves the rest of the set in place,
so it is not a conflict. Clones with the same hostname and no GPU look like one host here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

WINDOW_S = 3600  # a return within this long is a conflict; the log says so once per window
SHOWN_S = 86400  # the host page warns until a day has passed without a return
MAX_HISTORY = 8
MAX_GPUS_KEPT = 32  # per remembered identity: the history stays small whatever a host lists
MAX_HOSTNAMES = 16


@dataclass(frozen=True)
class Identity:
    hostname: str
    gpus: frozenset[str]  # short digests of the GPU uuids

    @classmethod
    def of(cls, hostname: str, gpu_uuids: Iterable[str]) -> Identity:
        digests = sorted(hashlib.blake2b(u.encode(), digest_size=6).hexdigest() for u in gpu_uuids)
        return cls(hostname, frozenset(digests[:MAX_GPUS_KEPT]))

    def differs(self, other: Identity) -> bool:
        if self.hostname != other.hostname:
            return True
        return bool(self.gpus) and bool(other.gpus) and self.gpus.isdisjoint(other.gpus)


def step(history: list[dict], before: Identity, now: Identity, now_s: float) -> tuple[list[dict], list[str]]:
    """The history after a sync from `before` to `now`, and the hostnames in conflict (none: [])."""
    recent = [e for e in history if now_s - e["left"] < WINDOW_S]
    if not before.differs(now):
        return recent, []
    # The identity just left replaces any older entry for it.
    recent = [e for e in recent if _identity(e).differs(before)]
    recent.append({"hostname": before.hostname, "gpus": sorted(before.gpus), "left": now_s})
    recent = recent[-MAX_HISTORY:]
    if all(_identity(e).differs(now) for e in recent):
        return recent, []
    return recent, sorted({e["hostname"] for e in recent} | {now.hostname})[:MAX_HOSTNAMES]


def _identity(entry: dict) -> Identity:
    return Identity(entry["hostname"], frozenset(entry["gpus"]))
