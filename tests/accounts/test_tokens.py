"""Agent tokens: creation by command and in the admin, hashing, revocation."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AgentToken, hash_token
from telemetry.models import Host
from tests.batches import batch, post

pytestmark = pytest.mark.django_db


def test_create_agent_token_prints_it_once_and_stores_only_a_hash(client):
    out, err = StringIO(), StringIO()
    call_command("create_agent_token", "prod fleet", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert re.fullmatch(r"rsa_[A-Za-z0-9_-]{40,}", raw)
    assert "shown only this once" in err.getvalue()
    token = AgentToken.objects.get()
    assert token.name == "prod fleet" and token.prefix == raw[:12]
    assert token.token_hash == hash_token(raw) and raw not in token.token_hash
    assert post(client, raw, batch()).status_code == 202


def test_two_tokens_differ():
    _, a = AgentToken.issue("a")
    _, b = AgentToken.issue("b")
    assert a != b


def test_create_agent_token_refuses_a_blank_name():
    with pytest.raises(CommandError, match="name"):
        call_command("create_agent_token", "  ")


def test_revoke_agent_token_by_prefix(client):
    token, raw = AgentToken.issue("x")
    out = StringIO()
    call_command("revoke_agent_token", token.prefix, stdout=out)
    assert "revoked" in out.getvalue()
    assert post(client, raw, batch()).status_code == 401
    with pytest.raises(CommandError, match="No active agent token"):
        call_command("revoke_agent_token", token.prefix)


def test_token_created_in_the_admin_works_end_to_end(client, admin):
    client.force_login(admin)
    resp = client.post("/admin/accounts/agenttoken/add/", {"name": "from admin"}, follow=True)
    assert resp.status_code == 200
    shown = [str(m) for m in resp.context["messages"]]
    raw = re.search(r"rsa_[A-Za-z0-9_-]+", " ".join(shown)).group(0)
    token = AgentToken.objects.get(name="from admin")
    assert token.created_by == admin and token.token_hash == hash_token(raw)
    client.logout()
    assert post(client, raw, batch()).status_code == 202
    assert Host.objects.get().agent_token == token
    # Its change page never shows the secret again.
    client.force_login(admin)
    page = client.get(f"/admin/accounts/agenttoken/{token.pk}/change/").content.decode()
    assert raw not in page and token.prefix in page


def test_revoke_action_in_the_admin(client, admin):
    token, raw = AgentToken.issue("to revoke")
    client.force_login(admin)
    resp = client.post(
        "/admin/accounts/agenttoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert resp.status_code == 200
    token.refresh_from_db()
    assert token.is_revoked
    client.logout()
    assert post(client, raw, batch()).json()["error"] == "revoked_token"


def test_bootstrap_admin_creates_one_admin_once(django_user_model, monkeypatch):
    monkeypatch.delenv("RIGHTSIZER_ADMIN_PASSWORD", raising=False)
    out = StringIO()
    call_command("bootstrap_admin", stdout=out)
    password = re.search(r"password (\S+)", out.getvalue()).group(1)
    user = django_user_model.objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    out = StringIO()
    call_command("bootstrap_admin", stdout=out)
    assert django_user_model.objects.count() == 1
    # make run repeats this line as its last word, so it names the account and how to reset its password.
    assert out.getvalue().strip() == (
        "Admin account(s) exist already: username admin. "
        "A forgotten password is reset with: manage.py changepassword admin"
    )


def test_bootstrap_admin_takes_the_password_from_the_environment(django_user_model, monkeypatch):
    monkeypatch.setenv("RIGHTSIZER_ADMIN_PASSWORD", "correct-horse-battery")
    out = StringIO()
    call_command("bootstrap_admin", stdout=out)
    assert "correct-horse-battery" not in out.getvalue()
    assert django_user_model.objects.get().check_password("correct-horse-battery")


def test_local_agent_token_is_made_once_and_replaced_when_revoked(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("local_agent_token", stdout=out)
    path = tmp_path / "local-agent-token"
    assert out.getvalue().strip() == str(path) and path.stat().st_mode & 0o777 == 0o600
    raw = path.read_text().strip()
    call_command("local_agent_token", stdout=StringIO())
    assert path.read_text().strip() == raw and AgentToken.objects.count() == 1
    AgentToken.objects.get().revoke()
    call_command("local_agent_token", stdout=StringIO())
    assert path.read_text().strip() != raw and AgentToken.objects.active().count() == 1
