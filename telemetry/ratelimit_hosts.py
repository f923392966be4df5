"""The limit on new hosts per agent token and hour (RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR).

The push limit (telemetry.ratelimit) counts per host, so an agent that makes up a new
machine id on every push would pass it while filling the fleet with hosts. This one counts
the token's hosts first seen in the last hour, in the database: exact, and shared by every
web worker with or without Redis. Hosts already registered are never counted against.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count

from telemetry.errors import ApiError
from telemetry.models import AgentToken, Host

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


def check_new_host(token_id: int, limit_per_hour: int, now: datetime) -> None:
    """Refuse to register one more host for a token that registered its hour's quota.

    Called inside the inventory transaction, before the insert: a refusal stores nothing.
    """
    if limit_per_hour <= 0:
        return
    # One token's registrations take turns, so two at once cannot both take the last place.
    list(AgentToken.objects.select_for_update().filter(pk=token_id).values_list("pk", flat=True))
    recent = Host.objects.filter(agent_token_id=token_id, first_seen__gt=now - WINDOW)
    count = recent.aggregate(n=Count("pk"))["n"]
    if count < limit_per_hour:
        return
    # A place frees when enough of the hour's hosts leave the window to bring the count under the limit.
    frees_at = recent.order_by("first_seen").values_list("first_seen", flat=True)[count - limit_per_hour]
    retry_after = max(1, math.ceil((frees_at + WINDOW - now).total_seconds()))
    _log_once_an_hour(token_id, limit_per_hour, now)
    raise ApiError(
        429,
        "too_many_new_hosts",
        f"This agent token registered {count} new host{'s' if count != 1 else ''} in the last hour; "
        f"the limit is {limit_per_hour} (RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR). Nothing was stored; hosts "
        f"already registered keep pushing. Retry after {retry_after} s. If the fleet really grows this fast, "
        "raise the limit; if not, look for an agent that makes up a new machine id on every start.",
        headers={"Retry-After": str(retry_after)},
    )


def _log_once_an_hour(token_id: int, limit_per_hour: int, now: datetime) -> None:
    key = f"new-host-limit-logged:{token_id}:{int(now.timestamp() // 3600)}"
    try:
        first = cache.add(key, 1, timeout=3700)
    except Exception:  # noqa: BLE001 - the cache (Redis) is down: log every refusal rather than none
        first = True
    if first:
        log.warning("event=new_host_limited token_id=%d limit_per_hour=%d", token_id, limit_per_hour)
