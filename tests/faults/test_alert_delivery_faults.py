"""A Celery worker SIGKILLed while its alert delivery is in flight: the message comes back (acks_late),
the next worker takes the delivery over, and the receiver accepts the alert exactly once."""

from __future__ import annotations

import json
import threading
import time

from tests.faults.conftest import wait_for
from tests.faults.test_redis_faults import Worker
from tests.receivers import http_receiver

EMIT = (
    "from alerts.models import Channel; from alerts.emit import emit; "
    "Channel.objects.create(kind='webhook', name='hook', target='{url}/in', events=['host.offline']); "
    "emit('host.offline', 'host:1:offline:0', 'gpu-7 stopped reporting', 'No sample.')"
)


def test_a_worker_killed_mid_delivery_leaves_one_accepted_delivery(make_server, own_redis, tmp_path):
    server = make_server(tmp_path / "server", REDIS_URL=own_redis.url, RIGHTSIZER_ALERTS_ALLOW_PRIVATE_URLS="true",
                         RIGHTSIZER_ALERTS_TIMEOUT_S="30")  # fmt: skip
    in_flight, killed, answers = threading.Event(), threading.Event(), []

    def answer(req):
        event_id = json.loads(req.body)["id"]
        if not in_flight.is_set():  # the first request: held until its worker is dead, so no 2xx reaches it
            in_flight.set()
            killed.wait(30)
            answers.append((event_id, 503))
            return 503, b"", {}
        answers.append((event_id, 200))
        return 200, b"", {}

    with http_receiver(answer) as url:
        first = Worker(server, "first", tmp_path / "first.log")
        try:
            server.manage("shell", "-c", EMIT.format(url=url))
            assert wait_for(in_flight.is_set, 30), first.log()
        finally:
            first.proc.kill()  # SIGKILL, mid-request
            first.proc.wait(10)
            killed.set()
        second = Worker(server, "second", tmp_path / "second.log")
        try:  # acks_late: the unacknowledged message comes back to the next worker
            assert wait_for(lambda: any(status == 200 for _, status in answers), 40), second.log()
            time.sleep(0.5)  # anything doubled would arrive meanwhile
        finally:
            second.stop()
    assert [status for _, status in answers] == [503, 200] and len({eid for eid, _ in answers}) == 1
    assert server.query("SELECT status, attempts FROM alerts_delivery") == [("sent", 2)]
    assert server.query("SELECT number, status FROM alerts_attempt ORDER BY number") == [(1, "abandoned"), (2, "ok")]
