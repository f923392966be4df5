from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.roles import ADMIN_GROUP
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
    created, hint = capsys.readouterr().out.splitlines()
    password = created.rsplit("password ", 1)[1].strip()
    assert hint == "A lost password is reset with: manage.py changepassword gen"
    assert get_user_model().objects.get(username="gen").check_password(password)


def test_an_admin_made_by_create_user_may_change_what_the_readme_sends_admins_to(client, monkeypatch):
    """Catalogs, prices, thresholds, tokens, alert channels and users, in /admin/."""
    monkeypatch.setenv("RIGHTSIZER_USER_PASSWORD", "a-long-password-1")
    call_command("create_user", "ada", "--role", "admin")
    call_command("create_user", "vera")
    ada, vera = (get_user_model().objects.get(username=n) for n in ("ada", "vera"))
    for perm in ("recommender.change_gputype", "recommender.change_deploymentthresholds", "recommender.add_hostprice",
                 "auth.change_user", "auth.add_user", "accounts.add_agenttoken", "alerts.change_channel",
                 "alerts.change_budget"):  # fmt: skip
        assert ada.has_perm(perm), perm
        assert not vera.has_perm(perm), perm
    client.force_login(ada)
    for url in ("/admin/recommender/gputype/", "/admin/recommender/deploymentthresholds/", "/admin/auth/user/",
                "/admin/alerts/channel/"):  # fmt: skip
        assert client.get(url).status_code == 200, url


def test_the_staff_flag_is_the_admin_role_both_ways():
    user = get_user_model().objects.create_user("sam", password="a-long-password-1")
    assert not user.groups.filter(name=ADMIN_GROUP).exists()
    user.is_staff = True
    user.save()
    assert user.groups.filter(name=ADMIN_GROUP).exists()
    user.is_staff = False
    user.save()
    assert not user.groups.filter(name=ADMIN_GROUP).exists()


def test_the_login_pages_say_how_to_reset_a_lost_password(client):
    assert "manage.py changepassword USERNAME" in client.get("/accounts/login/").content.decode()
    admin_login = client.get("/admin/login/").content.decode()
    assert "manage.py changepassword USERNAME" in admin_login and 'name="password"' in admin_login
