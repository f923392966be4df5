"""A fixed-window push limit per (agent token, host), kept in the Django cache.

With REDIS_URL set the count is shared by every web worker; without it, each
worker process counts on its own (good enough for the embedded single machine).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.core.cache import cache

from telemetry.errors import ApiError

WINDOW_S = 60
log = logging.getLogger(__name__)
_unavailable_logged_at = 0.0


def check_rate(token_id: int, machine_id: str, limit_per_min: int, now: float) -> None:
    if limit_per_min <= 0:
        return
    window = int(now // WINDOW_S)
    host_key = hashlib.blake2b(machine_id.encode(), digest_size=8).hexdigest()
    key = f"ingest-rate:{token_id}:{host_key}:{window}"
    try:
        try:
            count = cache.incr(key)
        except ValueError:  # first push of the window
            count = 1 if cache.add(key, 1, timeout=WINDOW_S + 5) else cache.incr(key)
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
