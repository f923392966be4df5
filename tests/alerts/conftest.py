"""Alert fixtures: a socket guard, eager delivery, channels pointed at real local receivers."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from alerts.models import Channel
from alerts.netsafe import refused_reason

ALL_EVENTS = ["recommendation.new", "plan_step.new", "saving.grew", "saturation", "host.offline", "host.back",
              "host.flapping", "budget.exceeded", "digest.weekly"]  # fmt: skip


@pytest.fixture
def socket_guard(monkeypatch):
    """Fails the test if a connection to a non-public address is even attempted (no packet may leave)."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        try:
            why = refused_reason(ipaddress.ip_address(host.split("%", 1)[0]))
        except ValueError:
            why = None
        if why:
            attempts.append(host)
            raise AssertionError(f"a connection to {host} ({why}) was attempted")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert not attempts, f"connections attempted to {attempts}"


@pytest.fixture
def eager():
    """Queued tasks run at once in this process (a retry's countdown is skipped)."""
    from rightsizer.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def local_receivers(settings):
    """The real receivers listen on loopback: allowed for these tests only."""
    settings.ALERTS_ALLOW_PRIVATE_URLS = True
    settings.ALERTS_TIMEOUT_S = 2.0


def webhook(url: str, secret: str = "", events=None, **kw) -> Channel:
    return Channel.objects.create(kind="webhook", name=kw.pop("name", "hook"), target=url, secret=secret,
                                  events=events or ALL_EVENTS, **kw)  # fmt: skip
