"""Group commit: concurrent pushes share a write, and a 202 means the rows are committed."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from telemetry import groupcommit
from telemetry.inventory import fingerprint, sync_inventory
from telemetry.models import AgentToken, Gpu, GpuSample, HostSample, ServerSample
from telemetry.validation import parse_batch
from tests.batches import batch, gpu_info

PUSHES = 12


def _push(url: str, token: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/api/v1/ingest",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def _stored(machine_id: str) -> int:
    # A fresh connection of its own: what any other client of the database sees now.
    connection.close()
    try:
        return HostSample.objects.filter(host__machine_id=machine_id).count()
    finally:
        connection.close()


@pytest.fixture
def grouping(settings):
    settings.INGEST_RATE_LIMIT_PER_MIN = 0
    settings.INGEST_GROUP_WAIT_MS = 150  # long enough that concurrent pushes surely meet
    writes, batches = groupcommit.writer.writes, groupcommit.writer.batches
    yield
    assert groupcommit.writer.batches - batches >= groupcommit.writer.writes - writes
    time.sleep(groupcommit.IDLE_CLOSE_S + 0.5)  # the writer closes its connection: the test database can go


@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_share_writes_and_each_202_finds_its_rows_committed(live_server, grouping):
    token = AgentToken.issue("fleet")[1]
    hosts = [{"machine_id": f"m-{i}", "hostname": f"node-{i}", "gpus": [gpu_info(f"GPU-{i}")]} for i in range(PUSHES)]
    payloads = [batch(**h, n_samples=4) for h in hosts]
    # First pushes register the hosts (one by one: inventory upserts are not what is tested).
    for h, p in zip(hosts, payloads, strict=True):
        assert _push(live_server.url, token, batch(**h, n_samples=1, start=p["samples"][0]["ts"] - 60))[0] == 202
    writes_before = groupcommit.writer.writes
    barrier = threading.Barrier(PUSHES)

    def one(payload: dict) -> tuple[int, dict, int]:
        barrier.wait()
        status, answer = _push(live_server.url, token, payload)
        return status, answer, _stored(payload["host"]["machine_id"])  # read right after the 202

    with ThreadPoolExecutor(PUSHES) as pool:
        results = list(pool.map(one, payloads))
    assert [(s, a) for s, a, _ in results] == [(202, {"accepted": 4, "duplicates": 0})] * PUSHES
    assert all(found == 5 for _, _, found in results)  # the registration's sample and these four
    assert groupcommit.writer.writes - writes_before < PUSHES  # some pushes shared a write
    assert GpuSample.objects.count() == ServerSample.objects.count() == PUSHES * 5

    # A replay stores nothing twice, grouped or not.
    with ThreadPoolExecutor(PUSHES) as pool:
        replays = list(pool.map(lambda p: _push(live_server.url, token, p), payloads))
    assert replays == [(202, {"accepted": 0, "duplicates": 4})] * PUSHES
    assert HostSample.objects.count() == PUSHES * 5


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_in_a_group_fails_alone(settings):
    settings.INGEST_GROUP_WAIT_MS = 150
    token = AgentToken.issue("fleet")[0]
    stored = []
    for i in range(3):
        body = json.dumps(batch(machine_id=f"m-{i}", gpus=[gpu_info(f"GPU-{i}")], n_samples=2)).encode()
        b = parse_batch(body, batch_now(), 30 * 86400, 300, 100)
        ids = sync_inventory(b, token.pk, fingerprint(b), _now())
        stored.append((b, ids))
    Gpu.objects.filter(uuid="GPU-1").delete()  # batch 1 now points at a GPU that is gone
    results: list = [None] * 3

    def one(i: int) -> None:
        try:
            results[i] = groupcommit.store(*stored[i])
        except Exception as exc:  # noqa: BLE001 - the answer under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results[0] == 2 and results[2] == 2
    assert isinstance(results[1], Exception)
    assert HostSample.objects.filter(host__machine_id="m-1").count() == 0
    assert HostSample.objects.count() == 4
    time.sleep(groupcommit.IDLE_CLOSE_S + 0.5)


def batch_now() -> float:
    return time.time()


def _now():
    from django.utils import timezone

    return timezone.now()
