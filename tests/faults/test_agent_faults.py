"""The real agent against a real gunicorn: the server down for a while, the agent killed mid-push.

The outage is scaled down from minutes to ~10 s; what it exercises (connection refused,
batches piling up in the spool, backoff, the replay when the server is back) is the same.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse

import pytest

from tests.faults.conftest import stored_ts, wait_for
from tests.receivers import http_receiver

SAMPLE_S, PUSH_S = 0.5, 2.0


@pytest.fixture
def server(make_server, tmp_path):
    server = make_server(tmp_path / "server")
    server.start()
    yield server
    server.stop()


def assert_stored_once(server) -> None:
    """No two rows for one (host, ts): counted in the database itself."""
    total, distinct = server.query("SELECT count(*), count(DISTINCT host_id || ':' || ts) FROM telemetry_hostsample")[0]
    assert total == distinct
    gpu_total, gpu_distinct = server.query(
        "SELECT count(*), count(DISTINCT gpu_id || ':' || ts) FROM telemetry_gpusample"
    )[0]
    assert gpu_total == gpu_distinct


def expected_count(first: float, last: float) -> int:
    """Samples the agent takes from `first` to `last`: its schedule catches up after a stall."""
    return round((last - first) / SAMPLE_S) + 1


def test_a_server_outage_loses_and_doubles_nothing(server, agents, tmp_path):
    agent = agents(server.url, server.token, tmp_path / "agent", SAMPLE_S, PUSH_S)
    assert wait_for(lambda: stored_ts(server), 30)
    server.stop()  # the server goes away for ~10 s; the agent keeps sampling
    assert wait_for(lambda: len(agent.spooled()) >= 4, 20)
    time.sleep(2.0)  # ~10 s down in all
    spooled_during_outage = len(agent.spooled())
    server.start()
    # Back: the agent's next try (after its backoff, at most ~16-32 s from here) replays the spool.
    assert wait_for(lambda: not agent.spooled(), 45, step_s=0.2), f"{len(agent.spooled())} still spooled"
    log = agent.stop()
    assert "still_spooled=0" in log and "lost_from_memory=0" in log
    assert spooled_during_outage >= 4
    ts = stored_ts(server)
    assert len(ts) == len(set(ts))
    assert_stored_once(server)
    # None missing: as many samples as the agent's schedule took over the whole span, outage included.
    assert abs(len(ts) - expected_count(ts[0], ts[-1])) <= 1, (len(ts), expected_count(ts[0], ts[-1]))


class HoldingProxy:
    """Forwards pushes to the server; when told to, holds the server's answer back (the agent waits on it)."""

    def __init__(self, target: str) -> None:
        self.target = urllib.parse.urlsplit(target)
        self.hold, self.held, self.release = threading.Event(), threading.Event(), threading.Event()
        self.answers: list[dict] = []

    def __call__(self, request):
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(request.method, request.path, body=request.body, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status == 202:
            self.answers.append(json.loads(body))
        if self.hold.is_set() and not self.release.is_set():
            self.held.set()  # stored by the server; the agent has not heard so
            self.release.wait(30)
            return 599, b"", {}  # to a killed agent: nobody reads it
        return response.status, body, {"Content-Type": "application/json"}


def test_sigkill_mid_push_doubles_nothing_and_loses_at_most_what_was_in_memory(server, agents, tmp_path):
    proxy = HoldingProxy(server.url)
    with http_receiver(proxy) as url:
        first = agents(url, server.token, tmp_path / "agent", SAMPLE_S, PUSH_S)
        assert wait_for(lambda: stored_ts(server), 30)
        proxy.hold.set()
        assert wait_for(proxy.held.is_set, 20)  # the agent is mid-push: the server stored the batch
        time.sleep(1.2)  # it keeps sampling into memory meanwhile
        killed_at = time.time()
        first.kill()
        proxy.release.set()
        before_kill = [t for t in stored_ts(server) if t <= killed_at]
        held_batch = proxy.answers[-1]["accepted"]
        assert held_batch > 0

        answers_before = len(proxy.answers)
        second = agents(url, server.token, tmp_path / "agent", SAMPLE_S, PUSH_S)
        # The restarted agent sends the unacknowledged batch again; the server stores none of it twice.
        assert wait_for(lambda: any(a["duplicates"] for a in proxy.answers[answers_before:]), 30)
        assert wait_for(lambda: not second.spooled(), 30)
        log = second.stop()
        assert "still_spooled=0" in log
    resent = [a for a in proxy.answers[answers_before:] if a["duplicates"]]
    assert resent[0] == {"accepted": 0, "duplicates": held_batch}
    ts = stored_ts(server)
    assert len(ts) == len(set(ts))
    assert_stored_once(server)
    # The loss: what the killed agent held in memory only (samples since its last flush to the
    # spool), at most one push interval's worth. Spooled batches all arrived.
    lost = expected_count(before_kill[0], killed_at) - len(before_kill)
    bound = round(PUSH_S / SAMPLE_S) + 1  # +1: the sample being taken as the kill landed
    print(f"lost {lost} samples to SIGKILL (bound {bound})")
    assert 0 <= lost <= bound, (lost, bound)
