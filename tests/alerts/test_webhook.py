"""Webhooks to a real HTTP receiver: signed (checked with the README's own recipe), retried with a cap,
4xx permanent, a hanging receiver timed out and retried, "send test" never retried, no duplicate."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.delivery import run
from alerts.emit import emit
from alerts.models import Attempt, Delivery, Event
from alerts.payload import SIGNATURE_HEADER, sign
from alerts.testsend import send_test
from tests.alerts.conftest import webhook
from tests.receivers import http_receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_receivers")]
SECRET = "whsec-0123456789abcdef"


@functools.cache
def readme_verify():
    """The verification recipe as the README prints it, run as it is."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Alerts", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the README's own code is what is under test
    return scope["verify"]


def test_the_receiver_verifies_the_signature_with_the_readme_recipe(eager):
    verify, got = readme_verify(), []

    def answer(req):
        ok = verify(SECRET, req.headers[SIGNATURE_HEADER], req.body)
        got.append((ok, json.loads(req.body), req.headers))
        return (200 if ok else 400), b"", {}

    with http_receiver(answer) as url:
        channel = webhook(url + "/hook", SECRET)
        event = emit("host.offline", "k1", "gpu-7 stopped reporting", "No sample for 6 minutes.", "/hosts/1/",
                     data={"host": "gpu-7"})  # fmt: skip
    assert len(got) == 1 and got[0][0] is True
    body, headers = got[0][1], got[0][2]
    assert body["version"] == 1 and body["id"] == str(event.uid) and body["type"] == "host.offline"
    assert body["data"] == {"host": "gpu-7"} and body["url"].endswith("/hosts/1/")
    assert headers["Rightsizer-Event-Id"] == str(event.uid)
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.status == "sent" and delivery.attempts == 1
    assert SECRET not in delivery.error and SECRET not in json.dumps(body)


def test_the_recipe_refuses_a_tampered_body_a_wrong_secret_and_a_replay():
    verify, raw = readme_verify(), b'{"id":"x"}'
    header = sign(SECRET, int(time.time()), raw)
    assert verify(SECRET, header, raw)
    assert not verify(SECRET, header, raw + b" ")
    assert not verify("another-secret-123456", header, raw)
    assert not verify(SECRET, sign(SECRET, int(time.time()) - 301, raw), raw)  # older than 5 minutes


@given(st.binary(max_size=2000), st.text(min_size=16, max_size=64), st.integers(0, 1999), st.integers(1, 255))
def test_any_body_signed_verifies_and_any_changed_byte_does_not(raw, secret, where, flip):
    verify, now = readme_verify(), int(time.time())
    header = sign(secret, now, raw)
    assert verify(secret, header, raw)
    if raw:
        i = where % len(raw)
        assert not verify(secret, header, raw[:i] + bytes([raw[i] ^ flip]) + raw[i + 1 :])


def test_a_receiver_failing_twice_then_recovering_gets_one_delivery_in_three_attempts(eager):
    answers, accepted = iter([503, 502, 200, 200]), []

    def answer(req):
        status = next(answers)
        if status == 200:
            accepted.append(json.loads(req.body)["id"])
        return status, b"busy" if status != 200 else b"", {}

    with http_receiver(answer) as url:
        webhook(url, SECRET)
        emit("saturation", "sat-1", "Users waiting", "Requests waited.")
    delivery = Delivery.objects.get()
    assert len(accepted) == 1 and delivery.status == "sent" and delivery.attempts == 3
    assert list(delivery.attempt_log.values_list("number", "status", "response_status")) == [
        (1, "failed", 503), (2, "failed", 502), (3, "ok", 200)]  # fmt: skip
    assert run(delivery.pk) is None  # a re-run task finds it sent: nothing is sent again
    assert len(accepted) == 1


def test_a_4xx_is_permanent_shown_and_not_retried(eager, client, admin):
    hits = []
    with http_receiver(lambda req: (hits.append(1) or 404, b"no such hook", {})) as url:
        webhook(url, name="gone")
        emit("host.back", "b-1", "back", "It reports again.")
    delivery = Delivery.objects.get()
    assert len(hits) == 1 and delivery.status == "failed" and delivery.attempts == 1
    assert delivery.error == "HTTP 404: no such hook" and delivery.attempt_log.get().status == "permanent"
    client.force_login(admin)
    page = client.get("/settings/").content.decode()
    assert "HTTP 404: no such hook" in page  # failures show on the settings page


def test_a_429_is_retried(eager, settings):
    settings.ALERTS_MAX_ATTEMPTS = 2
    with http_receiver(lambda req: (429, b"", {})) as url:
        webhook(url)
        emit("host.back", "b-2", "back", "It reports again.")
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2 and "gave up after 2 attempts" in delivery.error


def test_a_hanging_receiver_is_timed_out_and_retried(eager, settings):
    settings.ALERTS_TIMEOUT_S = 0.3
    release, calls = threading.Event(), []

    def answer(req):
        calls.append(1)
        if len(calls) == 1:
            release.wait(5)  # hangs past the timeout
        return 200, b"", {}

    with http_receiver(answer) as url:
        webhook(url)
        started = time.monotonic()
        emit("host.back", "b-3", "back", "It reports again.")
        elapsed = time.monotonic() - started
        release.set()
    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.attempts == 2 and elapsed < 3
    first = delivery.attempt_log.get(number=1)
    assert first.status == "failed" and first.error == "no answer within 0.3 s"


def test_send_test_is_never_retried_and_goes_to_its_channel_only(eager):
    hits = []
    with http_receiver(lambda req: (hits.append(req.path) or 500, b"", {})) as url:
        one, other = webhook(url + "/one", name="one"), webhook(url + "/two", name="two")
        event = send_test(one)
    assert hits == ["/one"]
    delivery = Delivery.objects.get(event=event)
    assert delivery.channel == one and delivery.status == "failed" and delivery.attempts == 1
    assert not Delivery.objects.filter(channel=other).exists()


def test_redirects_are_not_followed(eager):
    hits = []
    with http_receiver(lambda req: (hits.append(req.path) or 302, b"", {"Location": "http://169.254.169.254/"})) as url:
        webhook(url)
        emit("host.back", "b-4", "back", "It reports again.")
    delivery = Delivery.objects.get()
    assert hits == ["/"] and delivery.status == "failed" and "redirects are not followed" in delivery.error


def test_one_event_per_key_and_one_delivery_per_channel_under_a_re_run(eager):
    hits = []
    with http_receiver(lambda req: (hits.append(1) or 200, b"", {})) as url:
        webhook(url)
        assert emit("host.offline", "same", "s", "t") is not None
        assert emit("host.offline", "same", "s", "t") is None
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1 and len(hits) == 1


def test_a_failing_channel_does_not_stop_the_others(eager):
    got = []
    with http_receiver(lambda req: (got.append(req.path) or (500 if req.path == "/bad" else 200), b"", {})) as url:
        webhook(url + "/bad", name="bad")
        webhook(url + "/good", name="good")
        emit("host.back", "b-5", "back", "It reports again.")
    statuses = dict(Delivery.objects.values_list("channel__name", "status"))
    assert statuses == {"bad": "failed", "good": "sent"} and got.count("/good") == 1
    assert Attempt.objects.filter(delivery__channel__name="bad").count() == 6  # its attempts ran out on their own
