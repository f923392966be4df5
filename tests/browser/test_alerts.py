"""In a real browser: an admin adds a signed webhook channel, presses Send test, and the alert arrives."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from alerts.models import Channel, Delivery
from alerts.payload import verify
from tests.browser.conftest import login, shot
from tests.receivers import http_receiver

SECRET = "browser-test-secret-0001"


@pytest.fixture
def eager(settings):
    """The delivery task runs in the live server's thread, as a worker would run it."""
    from rightsizer.celery import app

    settings.ALERTS_ALLOW_PRIVATE_URLS = True  # the receiver listens on loopback
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_an_admin_adds_a_webhook_sends_a_test_and_it_arrives(page, admin, eager):
    got = []

    def answer(req):
        signed = verify(SECRET, req.headers["Rightsizer-Signature"], req.body, now=time.time())
        got.append((signed, json.loads(req.body)))
        return 200, b"", {}

    with http_receiver(answer) as url:
        login(page, "admin", "admin-pass-123", "/settings/")
        form = page.locator("#channel-form")
        form.get_by_label("Kind").select_option("webhook")
        form.locator("#id_channel-name").fill("incident bot")
        form.locator("#id_channel-target").fill(url + "/rightsizer")
        form.locator("#id_channel-secret").fill(SECRET)
        form.get_by_role("button", name="Add channel").click()
        row = page.locator("#channel-list tr.channel", has_text="incident bot")
        expect(row).to_contain_text("webhook")
        expect(page.locator("body")).not_to_contain_text(SECRET)
        row.get_by_role("button", name="Send test").click()
        row = page.locator("#channel-list tr.channel", has_text="incident bot")
        expect(row.locator(".delivery").first).to_contain_text("sent")
        expect(row.locator(".delivery").first).to_contain_text("test")
        shot(page, "settings-alert-channel")
    assert len(got) == 1
    valid, body = got[0]
    assert valid and body["type"] == "test" and body["subject"] == "Test alert for “incident bot”"
    channel = Channel.objects.get(name="incident bot")
    assert channel.secret == SECRET and Delivery.objects.get(channel=channel).status == "sent"
