"""The push client against a real HTTP receiver that answers what we tell it."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from collectors.push import ACCEPTED, REJECTED, TRANSIENT, UNAUTHORIZED, Backoff, Pusher
from tests.receivers import http_receiver


@pytest.fixture
def receiver():
    answers: list[tuple[int, dict, dict]] = []
    received: list[dict] = []

    def answer(request):
        received.append({"path": request.path, "headers": request.headers, "body": request.body})
        status, payload, headers = answers.pop(0)
        return status, json.dumps(payload).encode(), headers

    with http_receiver(answer) as url:
        yield url, answers, received


def test_accepted_with_gzip_and_bearer(receiver):
    url, answers, received = receiver
    answers.append((202, {"accepted": 6, "duplicates": 0}, {}))
    result = Pusher(url, "rsa_abc").push(gzip.compress(b'{"x": 1}'))
    assert (result.outcome, result.accepted) == (ACCEPTED, 6)
    req = received[0]
    assert req["path"] == "/api/v1/ingest" and req["headers"]["Authorization"] == "Bearer rsa_abc"
    assert req["headers"]["Content-Encoding"] == "gzip" and gzip.decompress(req["body"]) == b'{"x": 1}'


def test_429_honours_retry_after(receiver):
    url, answers, _ = receiver
    answers.append((429, {"error": "rate_limited", "message": "Slow down."}, {"Retry-After": "17"}))
    result = Pusher(url, "t").push(b"")
    assert (result.outcome, result.retry_after_s) == (TRANSIENT, 17.0)
    assert Backoff().next_delay(result.retry_after_s) == 17.0


def test_422_is_rejected_with_the_servers_words(receiver):
    url, answers, _ = receiver
    answers.append((422, {"error": "invalid", "message": "1 field failed validation.",
                          "errors": [{"path": "samples.0.ts", "message": "too old"}]}, {}))  # fmt: skip
    result = Pusher(url, "t").push(b"")
    assert result.outcome == REJECTED and "samples.0.ts: too old" in result.message


def test_401_and_5xx_and_no_server(receiver):
    url, answers, _ = receiver
    answers.append((401, {"error": "revoked_token", "message": "This agent token was revoked."}, {}))
    answers.append((503, {"error": "x", "message": "down"}, {}))
    pusher = Pusher(url, "t")
    assert pusher.push(b"").outcome == UNAUTHORIZED
    assert pusher.push(b"").outcome == TRANSIENT
    result = Pusher("http://127.0.0.1:9", "t", connect_timeout_s=1).push(b"")
    assert result.outcome == TRANSIENT and result.status is None and "unreachable" in result.message


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(base_s=1, cap_s=60, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(12)]
    assert all(0 <= d <= 60 for d in delays) and max(delays[6:]) > max(delays[:2])
    backoff.reset()
    assert backoff.next_delay() <= 2


def test_a_bad_url_is_refused_up_front():
    with pytest.raises(ValueError, match="must look like"):
        Pusher("rightsizer.example.com", "t")
