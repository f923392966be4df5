"""Bearer agent tokens on the ingest path.

A known token's row is kept in this process for TOKEN_CACHE_S (10 s), so a
steady push does no token lookup. The cost: a token revoked from another
process (the admin's action, another web worker) is still accepted here for up
to 10 s; AgentToken.revoke() and deletes in this process forget it at once.
Unknown tokens are never cached, so a new token works at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from django.http import HttpRequest

from accounts.models import TOKEN_PREFIX, AgentToken, hash_token
from telemetry.errors import ApiError
from telemetry.sql import fetch_row

TOKEN_CACHE_S = 10.0
_MAX_CACHED = 10_000
_cache: dict[str, tuple[float, AgentIdentity | None]] = {}  # token hash -> (expires, identity; None: revoked)


@dataclass(frozen=True)
class AgentIdentity:
    token_id: int
    last_used_at: datetime | None
    token_hash: str = ""


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_agent(request: HttpRequest) -> AgentIdentity:
    raw = bearer_token(request)
    if raw is None:
        raise ApiError(
            401,
            "missing_token",
            "No agent token: send 'Authorization: Bearer <token>'. "
            "Create one with 'manage.py create_agent_token NAME' or in the admin.",
        )
    digest = hash_token(raw)
    cached = _cache.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        if cached[1] is None:
            raise _revoked()
        return cached[1]
    row = fetch_row(AgentToken, ("id", "revoked_at", "last_used_at"), "token_hash", digest)
    if row is None:
        hint = "" if raw.startswith(TOKEN_PREFIX) else f" (agent tokens start with {TOKEN_PREFIX!r})"
        raise ApiError(
            401,
            "unknown_token",
            f"This agent token is not known{hint}: check the agent's configuration, "
            "or create a new token with 'manage.py create_agent_token NAME'.",
        )
    token_id, revoked_at, last_used_at = row
    agent = None if revoked_at is not None else AgentIdentity(token_id, last_used_at, digest)
    _remember(digest, agent)
    if agent is None:
        raise _revoked()
    return agent


def note_used(agent: AgentIdentity, at: datetime) -> None:
    """The token's last_used_at was just written: the cached row says so too."""
    if agent.token_hash in _cache:
        _remember(agent.token_hash, replace(agent, last_used_at=at))


def forget_tokens() -> None:
    """Drop every cached token (a token saved or deleted in this process)."""
    _cache.clear()


def _remember(digest: str, agent: AgentIdentity | None) -> None:
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[digest] = (time.monotonic() + TOKEN_CACHE_S, agent)


def _revoked() -> ApiError:
    return ApiError(
        401,
        "revoked_token",
        "This agent token was revoked: create a new one "
        "(admin → Agent tokens, or 'manage.py create_agent_token NAME') "
        "and put it in the agent's configuration.",
    )
