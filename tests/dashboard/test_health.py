"""/healthz (the process and its database answer) and /readyz (the database and the broker)."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from rightsizer.celery import app

pytestmark = pytest.mark.django_db


def test_ready_when_the_database_and_the_broker_answer(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checked": ["database", "broker"]}


def test_a_broker_that_does_not_answer_is_named(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable" and list(body["failed"]) == ["broker"]
    assert "refused" in body["failed"]["broker"].lower() or "error" in body["failed"]["broker"].lower()


def test_a_database_that_does_not_answer_is_named(client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.5 failed: Connection refused")

    monkeypatch.setattr(connection, "cursor", down)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["failed"] == {"database": "OperationalError: connection to server at 10.0.0.5 failed: "
                                                 "Connection refused"}  # fmt: skip


def test_healthz_keeps_its_meaning(client):
    assert client.get("/healthz").json() == {"status": "ok"}
