"""A fixed-window push limit per (agent token, host).

With REDIS_URL set the count is shared by every web worker, without a Redis
round trip per push: each process counts in memory and adds its counts to Redis
in one pipeline about once a second (SYNC_S), reading back the fleet's totals.
A push that would pass the limit on the process's estimate is confirmed against
Redis first, so a 429 always rests on the shared count; the cost is that the
fleet may pass a limit by what the other processes counted in the last second.
Without Redis each worker process counts on its own in the local cache (good
enough for the embedded single machine).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time

from django.core.cache import cache

from telemetry.errors import ApiError

WINDOW_S = 60
SYNC_S = 1.0
log = logging.getLogger(__name__)
_unavailable_logged_at = 0.0


class SharedCounter:
    """Counts per key and window, added to Redis in batches (a pipelined INCRBY per key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._window, self._pending, self._shared, self._synced_at = -1, {}, {}, 0.0
        self.unavailable = False  # the last sync failed: pushes pass uncounted until one succeeds

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                self.reset()
                self._window = window
            self._pending[key] = self._pending.get(key, 0) + 1
            return self._shared.get(key, 0) + self._pending[key]

    def current(self, key: str) -> int:
        with self._lock:
            return self._shared.get(key, 0) + self._pending.get(key, 0)

    def sync(self, now: float) -> None:
        """Add this process's counts to Redis; raises if Redis does not answer (counts are dropped)."""
        with self._lock:
            pending, self._pending, self._synced_at = self._pending, {}, now
            window = self._window
        if not pending:
            return
        keys = list(pending)
        try:
            pipe = cache._cache.get_client(write=True).pipeline(transaction=False)
            for key in keys:
                pipe.incrby(cache.make_and_validate_key(key), pending[key])
                pipe.expire(cache.make_and_validate_key(key), WINDOW_S + 5)
            totals = pipe.execute()[::2]
        except Exception:
            self.unavailable = True
            raise
        with self._lock:
            self.unavailable = False
            if window == self._window:
                self._shared.update(zip(keys, totals, strict=True))

    def due(self, now: float) -> bool:
        return now - self._synced_at >= SYNC_S


_counter = SharedCounter()


def reset() -> None:
    """Forget this process's counts (the tests clear the cache between tests)."""
    _counter.reset()


def _shared_cache() -> bool:
    return type(cache._cache).__name__ == "RedisCacheClient" if hasattr(cache, "_cache") else False


def check_rate(token_id: int, machine_id: str, limit_per_min: int, now: float) -> None:
    if limit_per_min <= 0:
        return
    window = int(now // WINDOW_S)
    host_key = hashlib.blake2b(machine_id.encode(), digest_size=8).hexdigest()
    key = f"ingest-rate:{token_id}:{host_key}:{window}"
    try:
        count = _count_shared(key, window, limit_per_min, now) if _shared_cache() else _count_local(key)
    except Exception as exc:  # noqa: BLE001 - the cache (Redis) is down: fail open, the fleet keeps pushing
        global _unavailable_logged_at
        if time.monotonic() - _unavailable_logged_at >= WINDOW_S:  # once a minute, not once a push
            _unavailable_logged_at = time.monotonic()
            log.warning("event=rate_limit_unavailable error=%s: pushes are not limited until the cache answers",
                        type(exc).__name__)  # fmt: skip
        return
    if count > limit_per_min:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_S - now))
        raise ApiError(
            429,
            "rate_limited",
            f"More than {limit_per_min} pushes a minute from this host; nothing was stored. "
            f"Retry after {retry_after} s, or push larger batches less often.",
            headers={"Retry-After": str(retry_after)},
        )


def _count_shared(key: str, window: int, limit_per_min: int, now: float) -> int:
    # After a failed sync every push tries again (a refused connection is quick), as each
    # push did when it counted in Redis itself; pushes pass uncounted until Redis answers.
    estimate = _counter.incr(key, window)
    if estimate > limit_per_min or _counter.due(now) or _counter.unavailable:
        _counter.sync(now)  # a refusal rests on the shared count, never on an estimate
        estimate = _counter.current(key)
    return estimate


def _count_local(key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # first push of the window
        return 1 if cache.add(key, 1, timeout=WINDOW_S + 5) else cache.incr(key)
