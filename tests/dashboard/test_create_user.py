from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from dashboard.access import is_admin

pytestmark = pytest.mark.django_db


def test_create_user_makes_viewers_and_admins(capsys, monkeypatch):
    monkeypatch.setenv("RIGHTSIZER_USER_PASSWORD", "a-long-password-1")
    call_command("create_user", "vera")
    call_command("create_user", "ada", "--role", "admin")
    users = {u.username: u for u in get_user_model().objects.all()}
    assert not is_admin(users["vera"]) and is_admin(users["ada"])
    assert users["vera"].check_password("a-long-password-1")
    assert "Created viewer account: username vera" in capsys.readouterr().out
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_user", "vera")


def test_a_generated_password_is_printed_once(capsys, monkeypatch):
    monkeypatch.delenv("RIGHTSIZER_USER_PASSWORD", raising=False)
    call_command("create_user", "gen")
    password = capsys.readouterr().out.rsplit("password ", 1)[1].strip()
    assert get_user_model().objects.get(username="gen").check_password(password)
