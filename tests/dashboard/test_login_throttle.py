"""Login throttling: wrong passwords lock (username, address) out of the dashboard and the admin until the cool-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


def _try(client: Client, url: str, username: str, password: str, **headers: str):
    return client.post(url, {"username": username, "password": password}, headers=headers)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail_until_locked(client: Client, url: str, username: str, **headers: str) -> None:
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        resp = _try(client, url, username, "not-the-password", **headers)
        expected = 429 if attempt == settings.AXES_FAILURE_LIMIT else 200  # the page again, saying it did not match
        assert resp.status_code == expected, (url, attempt)


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_the_right_password_is_refused_after_the_limit_until_the_cool_off(url, admin):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        _fail_until_locked(client, url, "admin")
        resp = _try(client, url, "admin", "admin-pass-123")
        assert resp.status_code == 429 and "Too many failed logins" in resp.content.decode()
        assert not _logged_in(client)

        clock.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=5))  # a lockout attempt did not extend it
        assert _try(client, url, "admin", "admin-pass-123").status_code == 429 and not _logged_in(client)

        clock.shift(timedelta(seconds=10))
        resp = _try(client, url, "admin", "admin-pass-123")
        assert resp.status_code == 302 and _logged_in(client)
    assert not AccessAttempt.objects.filter(username="admin").exists()  # a success resets the count


def test_the_lockout_is_per_username_and_address(admin, viewer):
    client = Client()
    _fail_until_locked(client, "/accounts/login/", "admin")
    other_user = Client()
    assert _try(other_user, "/accounts/login/", "viewer", "viewer-pass-123").status_code == 302
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert _try(elsewhere, "/accounts/login/", "admin", "admin-pass-123").status_code == 302


def test_a_forged_forwarded_header_does_not_buy_more_guesses(admin):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(client, "/accounts/login/", "admin", "wrong", **{"X-Forwarded-For": f"203.0.113.{n}"})
    resp = _try(client, "/accounts/login/", "admin", "wrong", **{"X-Forwarded-For": "203.0.113.200"})
    assert resp.status_code == 429  # every guess counted against REMOTE_ADDR


@override_settings(BEHIND_TLS_PROXY=True)
def test_behind_the_proxy_the_address_it_appended_counts(admin):
    client = Client(REMOTE_ADDR="10.0.0.2")  # the proxy
    for n in range(settings.AXES_FAILURE_LIMIT):
        spoofed = f"203.0.113.{n}, 192.0.2.10"  # the client's own claim, then what the proxy saw
        _try(client, "/accounts/login/", "admin", "wrong", **{"X-Forwarded-For": spoofed})
    assert AccessAttempt.objects.get(username="admin").ip_address == "192.0.2.10"
    locked = _try(client, "/accounts/login/", "admin", "admin-pass-123", **{"X-Forwarded-For": "192.0.2.10"})
    assert locked.status_code == 429
    other = _try(client, "/accounts/login/", "admin", "admin-pass-123", **{"X-Forwarded-For": "192.0.2.11"})
    assert other.status_code == 302  # another client behind the same proxy is not locked out
