"""Read access to the API: a logged-in session, or a personal API token (rsp_…) acting as its user."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from accounts.models import API_TOKEN_PREFIX, TOKEN_PREFIX, ApiToken, hash_token


class PersonalToken(HttpBearer):
    openapi_description = "A personal API token (rsp_…): Settings → API tokens, or manage.py create_api_token USER."

    def authenticate(self, request, token: str):
        if token.startswith(TOKEN_PREFIX):
            raise HttpError(403, "Agent tokens can only push samples: read with a personal API token "
                                 "(manage.py create_api_token USERNAME) or a logged-in session.")  # fmt: skip
        row = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if row is None or row.revoked_at is not None or not row.user.is_active:
            state = "revoked" if row is not None and row.revoked_at else "not known"
            hint = "" if token.startswith(API_TOKEN_PREFIX) else f" (personal tokens start with {API_TOKEN_PREFIX!r})"
            raise HttpError(401, f"This API token is {state}{hint}: create one with "
                                 "'manage.py create_api_token USERNAME'.")  # fmt: skip
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= timedelta(seconds=settings.LAST_SEEN_RESOLUTION_S):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class Session(APIKeyCookie):
    """Django's session cookie; GET needs no CSRF token (it changes nothing)."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "A logged-in browser session."

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request, key):
        return request.user if request.user.is_authenticated else None


READ_AUTH = [PersonalToken(), Session()]
