"""POST /api/v1/ingest: from an HTTP request to stored samples.

The steady-state cost of one push is no round trip of its own: the token and
the host's ids (GPU and server ids too) come from this process's memory
(telemetry.auth, 10 s; telemetry.hostcache, checked by the write itself), and a
share of one write: the batch joins the other pushes this process is serving in the next
group commit (telemetry.groupcommit; one statement on PostgreSQL), and the
request answers 202 once that write has committed. Validation is one msgspec
pass (telemetry.wire); the rate limit is counted in memory and shared through
Redis about once a second (telemetry.ratelimit). Inventory upserts happen only
when the host's inventory changed; last_seen/last_used are written at most once
per LAST_SEEN_RESOLUTION_S.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from telemetry import groupcommit, hostcache, newhost
from telemetry.auth import AgentIdentity, authenticate_agent, note_used
from telemetry.errors import ApiError
from telemetry.inventory import InventoryIds, fingerprint, sync_inventory
from telemetry.models import AgentToken, Host
from telemetry.ratelimit import check_rate
from telemetry.rollups import mark_late
from telemetry.sql import fetch_row
from telemetry.validation import decode_body, parse_batch
from telemetry.wire import IngestBatch

log = logging.getLogger(__name__)


def handle_ingest(request: HttpRequest) -> JsonResponse:
    try:
        return _ingest(request)
    except ApiError as err:
        if err.status != 429:  # a flood of 429s would flood the log too
            log.info("event=ingest_refused status=%d error=%s", err.status, err.code)
        return err.response()


def _ingest(request: HttpRequest) -> JsonResponse:
    agent = authenticate_agent(request)
    body = decode_body(
        _read_body(request),
        request.META.get("HTTP_CONTENT_ENCODING", ""),
        settings.INGEST_MAX_DECOMPRESSED_BYTES,
    )
    now_s = time.time()
    batch = parse_batch(
        body,
        now_s,
        settings.INGEST_MAX_AGE_DAYS * 86400,
        settings.INGEST_MAX_FUTURE_S,
        settings.INGEST_MAX_SAMPLES,
    )
    check_rate(agent.token_id, batch.host.machine_id, settings.INGEST_RATE_LIMIT_PER_MIN, now_s)
    now = datetime.fromtimestamp(now_s, tz=UTC)
    digest = fingerprint(batch)
    ids, last_seen = _inventory_ids(batch, agent.token_id, digest, now, cached=True)
    accepted = groupcommit.store(batch, ids)
    if accepted is None:  # the cached ids were stale: nothing stored; read the host row and sync as before
        hostcache.forget(batch.host.machine_id)
        ids, last_seen = _inventory_ids(batch, agent.token_id, digest, now, cached=False)
        accepted = groupcommit.store(batch, ids) or 0
    base = replace(ids, seen_at=None, expect_hash=None)
    hostcache.put(batch.host.machine_id, hostcache.Known(digest, base, last_seen))
    oldest = min(s.ts for s in batch.samples) if batch.samples else now_s
    if accepted and oldest < now_s - settings.ROLLUP_GRACE_S:
        mark_late(ids.host_id, datetime.fromtimestamp(oldest, tz=UTC))
    _touch_token(agent, now)
    return JsonResponse({"accepted": accepted, "duplicates": len(batch.samples) - accepted}, status=202)


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.INGEST_MAX_BODY_BYTES
    too_large = ApiError(
        413,
        "too_large",
        f"The body is over {limit} bytes: send fewer samples per request, gzip it, "
        "or raise RIGHTSIZER_INGEST_MAX_BODY_BYTES on the server.",
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "malformed", "The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_large
    raw = request.read(limit + 1) if declared else _read_undeclared(request, limit + 1)
    if len(raw) > limit:
        raise too_large
    if not raw:
        raise ApiError(400, "malformed", "The body is empty: send one JSON batch (see /api/v1/docs).")
    return raw


def _read_undeclared(request: HttpRequest, size: int) -> bytes:
    """A body sent without Content-Length (Transfer-Encoding: chunked).

    Django's WSGI request reads exactly Content-Length bytes, so such a body
    reads as empty. The server below (gunicorn) de-chunks it and says the input
    ends (wsgi.input_terminated); only then is reading to its end safe: a bare
    stream without a length could block until the client gives up.
    """
    environ = getattr(request, "environ", None)
    if environ is None or "wsgi.input" not in environ:
        return request.read(size)  # ASGI: the handler has the whole body already
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not (chunked or environ.get("wsgi.input_terminated")):
        return b""
    stream, parts, left = environ["wsgi.input"], [], size
    while left > 0:
        part = stream.read(min(left, 65536))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _inventory_ids(
    batch: IngestBatch, token_id: int, digest: str, now: datetime, cached: bool
) -> tuple[InventoryIds, datetime | None]:
    """The ids to write with, and the host's last_seen once written."""
    known = hostcache.get(batch.host.machine_id) if cached else None
    if known is not None and known.inventory_hash == digest:
        ids = replace(known.ids, seen_at=_seen_at(known.last_seen, now), expect_hash=digest)
        return ids, ids.seen_at or known.last_seen
    fields = ("id", "inventory_hash", "inventory_ids", "last_seen")
    row = fetch_row(Host, fields, "machine_id", batch.host.machine_id)
    if row is None and (ids := newhost.register(batch, token_id, digest, now)) is not None:
        return ids, now  # a new host: one INSERT wrote it all, last_seen too
    if row is None or row[1] != digest:
        return sync_inventory(batch, token_id, digest, now), now  # the upsert wrote last_seen
    host_id, _, stored, last_seen = row
    seen_at = _seen_at(last_seen, now)
    return InventoryIds(host_id, stored["gpus"], stored["servers"], seen_at=seen_at), seen_at or last_seen


def _seen_at(last_seen: datetime | None, now: datetime) -> datetime | None:
    # last_seen is written with the samples (telemetry.store), not by a statement of its own.
    due = last_seen is None or now - last_seen >= timedelta(seconds=settings.LAST_SEEN_RESOLUTION_S)
    return now if due else None


def _touch_token(agent: AgentIdentity, now: datetime) -> None:
    last = agent.last_used_at
    if last is None or now - last >= timedelta(seconds=settings.LAST_SEEN_RESOLUTION_S):
        AgentToken.objects.filter(pk=agent.token_id).update(last_used_at=now)
        note_used(agent, now)
