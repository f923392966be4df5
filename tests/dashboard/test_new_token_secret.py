"""A new token's secret is shown once and never sits in the session store in clear."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import AgentToken, ApiToken, hash_token
from dashboard.views.settings import NEW_TOKEN_SHOWN_WITHIN_S

pytestmark = pytest.mark.django_db


def _every_stored_session() -> str:
    """Everything the session store holds, decoded: what a copy of the database would show."""
    return json.dumps([s.get_decoded() for s in Session.objects.all()])


def _shown_secret(page: str, prefix: str) -> str:
    start = page.index('<p class="secret">') + len('<p class="secret">')
    raw = page[start : page.index("</p>", start)].strip()
    assert raw.startswith(prefix)
    return raw


@pytest.mark.parametrize(
    ("url", "field", "model", "prefix"),
    [
        ("/settings/agent-tokens", "agent-name", AgentToken, "rsa_"),
        ("/settings/api-tokens", "api-name", ApiToken, "rsp_"),
    ],
)
def test_the_secret_is_shown_once_and_the_session_never_holds_it(as_admin, url, field, model, prefix):
    resp = as_admin.post(url, {field: "rack 7"})
    assert resp.status_code == 302
    token = model.objects.get(name="rack 7")
    stored = _every_stored_session()
    assert token.prefix not in stored  # not even the part of the secret shown in lists

    page = as_admin.get(resp["Location"])
    raw = _shown_secret(page.content.decode(), prefix)
    assert hash_token(raw) == token.token_hash
    assert raw not in stored
    assert "no-store" in page["Cache-Control"]
    assert raw not in _every_stored_session() and "new_" not in _every_stored_session()

    again = as_admin.get("/settings/").content.decode()
    assert raw not in again and "copy it now" not in again


def test_a_secret_not_opened_in_time_is_gone(as_admin):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        resp = as_admin.post("/settings/agent-tokens", {"agent-name": "late"})
        clock.shift(timedelta(seconds=NEW_TOKEN_SHOWN_WITHIN_S + 1))
        page = as_admin.get(resp["Location"]).content.decode()
    assert 'class="secret"' not in page
    assert "The secret of “late” can no longer be shown: revoke it and create another." in page
    assert "new_agent_token" not in _every_stored_session()
