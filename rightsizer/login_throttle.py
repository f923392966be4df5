"""Login throttling (django-axes): which address a login comes from, and the backend that counts it.

Settings (rightsizer/settings.py) choose the limits; this module holds the two callables
that settings cannot: a backend path and the client-address function.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address to count failures against.

    Directly exposed, REMOTE_ADDR: a client-supplied X-Forwarded-For would let an attacker
    pick a fresh address for every guess. Behind the TLS proxy, the last X-Forwarded-For
    entry, the one the proxy appended itself (entries to its left come from the client).
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class ThrottledBackend(AxesStandaloneBackend):
    """Axes' lockout check, for every login that comes with its request.

    The login page and the admin always pass the request. Code that authenticates without
    one (the test client's login()) has no address to count, so the check steps aside
    instead of raising; ModelBackend still checks the password.
    """

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
