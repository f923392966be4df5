"""The ingest API, through the test client, against the wire contract in DESIGN.md."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from telemetry.models import Gpu, GpuSample, Host, HostSample, InferenceServer, ServerSample
from tests.batches import GIB, batch, gpu_info, gpu_reading, post, server_info, server_reading

pytestmark = pytest.mark.django_db


def test_good_batch_is_stored_field_by_field(client, agent_token):
    _, raw = agent_token
    payload = batch(n_samples=2)
    resp = post(client, raw, payload)
    assert resp.status_code == 202, resp.content
    assert resp.json() == {"accepted": 2, "duplicates": 0}

    host = Host.objects.get()
    assert (host.hostname, host.machine_id, host.cpu_count) == ("gpu-node-7", "machine-1", 32)
    assert host.mem_total_bytes == 256 * GIB and host.os == "Linux 6.8.0"
    assert host.labels == {"deployment": "chat-prod"} and host.instance_type == "g5.12xlarge"
    assert host.agent_version == "0.1.0" and host.agent_token_id == agent_token[0].pk
    assert host.last_seen is not None

    sample = payload["samples"][0]
    hs = HostSample.objects.get(ts=datetime.fromtimestamp(sample["ts"], tz=UTC))
    assert (hs.host_id, hs.cpu_pct, hs.mem_used_bytes) == (host.pk, 12.5, 40 * GIB)
    assert (hs.net_rx_bps, hs.net_tx_bps) == (1.2e6, 3.4e5)
    assert hs.load1 is None and hs.swap_used_bytes is None  # absent, not zero

    gs = GpuSample.objects.get(ts=hs.ts)
    assert gs.gpu.uuid == "GPU-aaaa" and gs.gpu.host_id == host.pk
    assert (gs.util_pct, gs.mem_used_bytes, gs.power_w, gs.temp_c) == (35.0, 20 * GIB, 210.5, 61.0)
    assert gs.mem_util_pct is None and gs.energy_j is None

    ss = ServerSample.objects.get(ts=hs.ts)
    assert ss.server.server_id == "vllm:8000" and ss.server.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert (ss.running, ss.waiting, ss.kv_cache_pct, ss.batch_size) == (3, 0, 12.0, 2.6)
    assert (ss.preempted, ss.prompt_tps, ss.gen_tps) == (0, 1200.0, 340.0)
    assert list(ss.server.gpus.values_list("uuid", flat=True)) == ["GPU-aaaa"]
    assert HostSample.objects.count() == 2 and GpuSample.objects.count() == 2


def test_replayed_batch_reports_duplicates_and_stores_nothing_twice(client, agent_token):
    _, raw = agent_token
    payload = batch(n_samples=4)
    assert post(client, raw, payload).json() == {"accepted": 4, "duplicates": 0}
    assert post(client, raw, payload).json() == {"accepted": 0, "duplicates": 4}
    # A batch overlapping the stored one: only the new samples count.
    payload["samples"].append({**payload["samples"][-1], "ts": payload["samples"][-1]["ts"] + 5})
    assert post(client, raw, payload).json() == {"accepted": 1, "duplicates": 4}
    assert HostSample.objects.count() == 5 and GpuSample.objects.count() == 5
    assert ServerSample.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_at_once_store_one_copy(agent_token):
    _, raw = agent_token
    payload = batch(n_samples=6, gpus=[gpu_info(f"GPU-{i}", i) for i in range(8)])
    barrier = threading.Barrier(2)
    answers: list[dict] = []

    def push():
        barrier.wait()
        try:
            answers.append(post(Client(), raw, payload).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a["accepted"] for a in answers) == [0, 6]
    assert sorted(a["duplicates"] for a in answers) == [0, 6]
    assert HostSample.objects.count() == 6 and GpuSample.objects.count() == 48
    assert Host.objects.count() == 1 and InferenceServer.objects.count() == 1


def test_gzip_body(client, agent_token):
    resp = post(client, agent_token[1], batch(n_samples=5), gzipped=True)
    assert resp.status_code == 202 and resp.json()["accepted"] == 5
    assert HostSample.objects.count() == 5


def test_host_without_gpus(client, agent_token):
    payload = batch(gpus=[], servers=[])
    resp = post(client, agent_token[1], payload)
    assert resp.status_code == 202, resp.content
    assert HostSample.objects.count() == 3 and GpuSample.objects.count() == 0
    assert not Host.objects.get().gpus.exists()


def test_server_missing_optional_metrics_is_stored_as_null(client, agent_token):
    payload = batch(n_samples=1)
    payload["samples"][0]["servers"] = [{"id": "vllm:8000", "running": 0}]
    payload["samples"][0]["gpus"] = [{"uuid": "GPU-aaaa", "util_pct": 0.0}]
    assert post(client, agent_token[1], payload).status_code == 202
    ss = ServerSample.objects.get()
    assert ss.running == 0.0  # a real zero stays zero
    assert ss.kv_cache_pct is None and ss.waiting is None and ss.gen_tps is None
    gs = GpuSample.objects.get()
    assert gs.util_pct == 0.0 and gs.power_w is None and gs.mem_used_bytes is None


def test_explicit_nulls_are_accepted_as_absent(client, agent_token):
    payload = batch(n_samples=1)
    payload["samples"][0].update(cpu_pct=None, mem_used=None)
    assert post(client, agent_token[1], payload).status_code == 202
    assert HostSample.objects.get().cpu_pct is None


def test_unknown_fields_are_ignored_for_newer_agents(client, agent_token):
    payload = batch(n_samples=1)
    payload["samples"][0]["some_future_metric"] = 1.0
    payload["host"]["future_field"] = "x"
    assert post(client, agent_token[1], payload).status_code == 202


def steady_push_queries(client, raw: str, **kwargs) -> tuple[int, dict]:
    """Queries of a push once the host's inventory and last_seen are current."""
    post(client, raw, batch(n_samples=1, start=time.time() - 3600, **kwargs))  # inventory synced
    post(client, raw, batch(n_samples=1, start=time.time() - 3000, **kwargs))  # last-used written
    with CaptureQueriesContext(connection) as queries:
        resp = post(client, raw, batch(n_samples=60, interval_s=1, **kwargs))
    return len(queries), resp.json()


def test_push_cost_does_not_grow_with_gpus_or_samples(client, agent_token):
    _, raw = agent_token
    small, answer = steady_push_queries(client, raw, machine_id="m1")
    assert answer == {"accepted": 60, "duplicates": 0}
    eight = [gpu_info(f"GPU-{i}", i) for i in range(8)]
    large, answer = steady_push_queries(client, raw, machine_id="m8", gpus=eight)
    assert answer == {"accepted": 60, "duplicates": 0}
    assert small == large  # no query per GPU or per sample
    # Token and host ids come from the process's memory: only the write (PostgreSQL: one
    # statement that also checks the host's inventory; SQLite: that check and three INSERTs),
    # plus SAVEPOINT/RELEASE because the test runs inside a transaction (in production,
    # autocommit, PostgreSQL takes one query in all).
    assert large <= (3 if connection.vendor == "postgresql" else 6)
    assert GpuSample.objects.filter(gpu__host__machine_id="m8").count() == 8 * 62


def test_cached_host_ids_store_nothing_once_the_inventory_changed_elsewhere(client, agent_token):
    _, raw = agent_token
    assert post(client, raw, batch(n_samples=1, start=time.time() - 100)).status_code == 202
    # As an admin or another web process would: the host's GPU deleted (its signal clears the
    # host's inventory hash); this process still holds the old GPU id in its memory.
    Gpu.objects.get().delete()
    resp = post(client, raw, batch(n_samples=1, start=time.time() - 50))
    assert (resp.status_code, resp.json()) == (202, {"accepted": 1, "duplicates": 0})
    gpu = Gpu.objects.get()  # synced afresh, and the sample stored on it
    assert GpuSample.objects.filter(gpu=gpu).count() == 1
    assert Host.objects.get().inventory_hash != ""


def test_last_seen_and_last_used_are_written_at_most_once_a_minute(client, agent_token, settings):
    token, raw = agent_token
    settings.LAST_SEEN_RESOLUTION_S = 60
    post(client, raw, batch(n_samples=1, start=time.time() - 100))
    host = Host.objects.get()
    token.refresh_from_db()
    first_seen_at, first_used_at = host.last_seen, token.last_used_at
    assert first_seen_at is not None and first_used_at is not None
    post(client, raw, batch(n_samples=1, start=time.time() - 50))
    host.refresh_from_db()
    token.refresh_from_db()
    assert (host.last_seen, token.last_used_at) == (first_seen_at, first_used_at)
    with time_machine.travel(time.time() + 61, tick=False):  # a minute on: both are written again
        post(client, raw, batch(n_samples=1, start=time.time() - 20))
    host.refresh_from_db()
    token.refresh_from_db()
    assert host.last_seen > first_seen_at and token.last_used_at > first_used_at


def test_a_sample_at_the_age_limit_is_accepted_and_past_it_refused(client, agent_token, settings):
    settings.INGEST_MAX_AGE_DAYS = 1
    _, raw = agent_token
    ok = batch(n_samples=1, start=time.time() - 86400 + 60)
    assert post(client, raw, ok).status_code == 202
    old = batch(n_samples=1, start=time.time() - 86400 - 60)
    resp = post(client, raw, old)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["path"] == "samples.0.ts"
    assert "days old" in resp.json()["errors"][0]["message"]


def test_server_and_gpu_readings_accept_every_contract_field(client, agent_token):
    payload = batch(n_samples=1)
    payload["samples"][0]["gpus"] = [gpu_reading(mem_util_pct=40.0, sm_clock_mhz=1410.0, energy_j=5.0e6)]
    payload["samples"][0]["servers"] = [server_reading(requests_ps=4.5, queue_time_ms=12.0)]
    payload["samples"][0].update(load1=3.5, mem_available=100 * GIB, swap_used=0, disk_read_bps=1e5, disk_write_bps=2e5)
    assert post(client, agent_token[1], payload).status_code == 202
    gs, ss, hs = GpuSample.objects.get(), ServerSample.objects.get(), HostSample.objects.get()
    assert (gs.mem_util_pct, gs.sm_clock_mhz, gs.energy_j) == (40.0, 1410.0, 5.0e6)
    assert (ss.requests_ps, ss.queue_time_ms) == (4.5, 12.0)
    assert (hs.load1, hs.mem_available_bytes, hs.swap_used_bytes) == (3.5, 100 * GIB, 0)
    assert (hs.disk_read_bps, hs.disk_write_bps) == (1e5, 2e5)


def test_gzip_that_inflates_to_nothing_is_malformed(client, agent_token):
    resp = post(client, agent_token[1], gzip.compress(b""), HTTP_CONTENT_ENCODING="gzip")
    assert resp.status_code == 400 and resp.json()["error"] == "malformed"
    assert HostSample.objects.count() == 0


def test_server_kind_other_is_accepted(client, agent_token):
    payload = batch(servers=[{**server_info(), "kind": "other", "model": None}], n_samples=1)
    assert post(client, agent_token[1], payload).status_code == 202
    assert InferenceServer.objects.get().model == ""
