"""Tokens: agent tokens push samples, personal API tokens read the API as their user.

Both keep only a hash of their secret and share one abstract base. The tables keep their
telemetry_ names: the models moved here from telemetry without touching existing data.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "rsa_"  # "rightsizer agent": recognisable in logs and secret scanners
API_TOKEN_PREFIX = "rsp_"  # "rightsizer personal": read access, as its user
PREFIX_SHOWN = 12  # characters kept in clear to tell tokens apart in lists


def hash_token(raw: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough: nobody can
    # brute-force the preimage, and lookups stay one indexed equality match.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


class TokenQuerySet(models.QuerySet):
    def active(self) -> TokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class TokenBase(models.Model):
    """A bearer secret of which only the hash and the first characters are kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_SHOWN, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TokenQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class AgentToken(TokenBase):
    name = models.CharField(max_length=100, help_text="Where the token is used, e.g. 'prod fleet'.")
    prefix = models.CharField(max_length=PREFIX_SHOWN, editable=False, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )

    class Meta(TokenBase.Meta):
        db_table = "telemetry_agenttoken"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str, created_by=None) -> tuple[AgentToken, str]:
        """Create a token; returns it with the raw secret, which is never stored."""
        raw = new_secret(TOKEN_PREFIX)
        token = cls.objects.create(
            name=name, prefix=raw[:PREFIX_SHOWN], token_hash=hash_token(raw), created_by=created_by
        )
        return token, raw


class ApiToken(TokenBase):
    """A personal API token: reads the API (hosts, recommendations) as its user; cannot ingest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'weekly cost report'.")

    class Meta(TokenBase.Meta):
        db_table = "telemetry_apitoken"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user})"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        raw = new_secret(API_TOKEN_PREFIX)
        token = cls.objects.create(user=user, name=name, prefix=raw[:PREFIX_SHOWN], token_hash=hash_token(raw))
        return token, raw
