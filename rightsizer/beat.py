"""One beat for the whole deployment, however many run: a Redis lock decides which one sends.

Every periodic job must be sent once per period. The compose file runs a single beat, but a
worker started with --beat on each of several machines (as `make run` starts it) would send each
job once per machine. So every beat takes a lock in Redis before it sends anything: the holder
renews it on each tick (at most every third of its lifetime), the others wait; if the holder dies,
another takes over once the lock has expired (LOCK_TTL_S). Without Redis (the embedded broker,
one machine) there is nothing to share and the lock is always held.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)

LOCK_KEY = "rightsizer:beat:lock"
LOCK_TTL_S = 30.0
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class SingleBeatScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs) -> None:
        self.lock_owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._holding = False
        self._redis = None
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs) -> float:
        if not self._hold_lock():
            return LOCK_TTL_S / 3
        return min(super().tick(*args, **kwargs), LOCK_TTL_S / 3)

    def close(self) -> None:
        """A beat that stops hands the lock over at once, not when it expires (a restart sends on time)."""
        if self._holding and self._redis is not None:
            try:
                self._redis.eval(RELEASE, 1, LOCK_KEY, self.lock_owner)
            except Exception as exc:  # noqa: BLE001 - it expires by itself within LOCK_TTL_S
                log.warning("event=beat_lock_not_released error=%s", type(exc).__name__)
            self._holding = False
        super().close()

    def _hold_lock(self) -> bool:
        if not settings.REDIS_URL:
            return True
        try:
            held = self._take_or_renew()
        except Exception as exc:  # noqa: BLE001 - redis-py's errors; sending nothing is the safe side
            log.warning("event=beat_lock_unavailable error=%s", type(exc).__name__)
            held = False
        if held != self._holding:
            log.info("event=beat_lock_%s owner=%s", "taken" if held else "lost", self.lock_owner)
            self._holding = held
        return held

    def _take_or_renew(self) -> bool:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
        ttl_ms = int(LOCK_TTL_S * 1000)
        if self._redis.set(LOCK_KEY, self.lock_owner, nx=True, px=ttl_ms):
            return True
        # Renew only our own lock: compare and extend in one step on the server.
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
        )
        return bool(self._redis.eval(script, 1, LOCK_KEY, self.lock_owner, ttl_ms))
