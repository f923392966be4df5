"""Bearer agent tokens on the ingest path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest

from accounts.models import TOKEN_PREFIX, AgentToken, hash_token
from telemetry.errors import ApiError
from telemetry.sql import fetch_row


@dataclass(frozen=True)
class AgentIdentity:
    token_id: int
    last_used_at: datetime | None


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
    row = fetch_row(AgentToken, ("id", "revoked_at", "last_used_at"), "token_hash", hash_token(raw))
    if row is None:
        hint = "" if raw.startswith(TOKEN_PREFIX) else f" (agent tokens start with {TOKEN_PREFIX!r})"
        raise ApiError(
            401,
            "unknown_token",
            f"This agent token is not known{hint}: check the agent's configuration, "
            "or create a new token with 'manage.py create_agent_token NAME'.",
        )
    token_id, revoked_at, last_used_at = row
    if revoked_at is not None:
        raise ApiError(
            401,
            "revoked_token",
            "This agent token was revoked: create a new one "
            "(admin → Agent tokens, or 'manage.py create_agent_token NAME') "
            "and put it in the agent's configuration.",
        )
    return AgentIdentity(token_id, last_used_at)
