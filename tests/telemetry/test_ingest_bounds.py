"""Every number of the contract has a physical range: past it a 422 names the field; at it, the
value is stored, rolled up and analysed without an overflow (README, "The ingest API")."""

from __future__ import annotations

import logging
import time

import pytest

from recommender.analysis import Analysis
from telemetry.models import GpuRollup, GpuSample, Host, HostRollup, HostSample, ServerRollup, ServerSample
from telemetry.models.rollups import PERIOD_1H
from telemetry.rollups import run_rollups
from tests.batches import batch, post

pytestmark = pytest.mark.django_db

TIB = 1024**4

# (path, the largest value allowed); the smallest is 0 unless said in LOWEST.
HIGHEST = {
    "host.cpu_count": 65536,
    "host.mem_total": 64 * TIB,
    "gpus.0.memory_total": 64 * TIB,
    "gpus.0.power_limit_w": 5000.0,
    "gpus.0.index": 1024,
    "servers.0.tensor_parallel": 1024,
    "servers.0.max_batch_size": 10_000_000,
    "samples.0.cpu_pct": 100.0,
    "samples.0.load1": 1e7,
    "samples.0.mem_used": 64 * TIB,
    "samples.0.mem_available": 64 * TIB,
    "samples.0.swap_used": 64 * TIB,
    "samples.0.net_rx_bps": 1e12,
    "samples.0.net_tx_bps": 1e12,
    "samples.0.disk_read_bps": 1e12,
    "samples.0.disk_write_bps": 1e12,
    "samples.0.gpus.0.util_pct": 100.0,
    "samples.0.gpus.0.mem_util_pct": 100.0,
    "samples.0.gpus.0.mem_used": 64 * TIB,
    "samples.0.gpus.0.power_w": 5000.0,
    "samples.0.gpus.0.temp_c": 200.0,
    "samples.0.gpus.0.sm_clock_mhz": 10_000.0,
    "samples.0.gpus.0.energy_j": 1e15,
    "samples.0.servers.0.running": 1e7,
    "samples.0.servers.0.waiting": 1e7,
    "samples.0.servers.0.kv_cache_pct": 100.0,
    "samples.0.servers.0.batch_size": 1e7,
    "samples.0.servers.0.preempted": 1e7,
    "samples.0.servers.0.prompt_tps": 1e9,
    "samples.0.servers.0.gen_tps": 1e9,
    "samples.0.servers.0.requests_ps": 1e9,
    "samples.0.servers.0.queue_time_ms": 1e10,
}
LOWEST = {"host.cpu_count": 1, "servers.0.tensor_parallel": 1, "servers.0.max_batch_size": 1,
          "samples.0.gpus.0.temp_c": -50.0}  # fmt: skip


def _set(doc: dict, path: str, value) -> None:
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for key in parents:
        doc = doc[key]
    doc[last] = value


def _over(value):
    return value + 1 if isinstance(value, int) else value * 1.001 + 1e-9


@pytest.mark.parametrize("path", sorted(HIGHEST))
def test_a_value_past_its_range_is_a_422_naming_its_path(client, agent_token, path):
    for bad in (_over(HIGHEST[path]), LOWEST.get(path, 0) - 1):
        payload = batch(n_samples=1)
        _set(payload, path, bad)
        resp = post(client, agent_token[1], payload)
        assert resp.status_code == 422, (path, bad, resp.content)
        assert [e["path"] for e in resp.json()["errors"]] == [path]
    assert Host.objects.count() == 0 and HostSample.objects.count() == 0


def test_the_largest_values_are_stored_rolled_up_and_analysed(client, agent_token, caplog):
    hours = 34  # past the analysis' 30 hours of data
    start = (time.time() // 3600 - hours) * 3600
    payload = batch(n_samples=hours * 60, start=start, interval_s=60.0)
    for i in range(len(payload["samples"])):
        for path, value in HIGHEST.items():
            _set(payload, path.replace("samples.0.", f"samples.{i}.", 1), value)
    resp = post(client, agent_token[1], payload)
    assert resp.status_code == 202, resp.content[:2000]
    with caplog.at_level(logging.WARNING):
        run_rollups()
        findings = Analysis().run()
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text
    host = Host.objects.get()
    assert host.mem_total_bytes == 64 * TIB and host.servers.get().max_batch_size == 10_000_000
    sample = HostSample.objects.first()
    assert (sample.mem_used_bytes, sample.net_rx_bps) == (64 * TIB, 1e12)
    assert GpuSample.objects.first().energy_j == 1e15 and ServerSample.objects.first().queue_time_ms == 1e10
    gpu_hour = GpuRollup.objects.filter(period_s=PERIOD_1H).order_by("ts")[1]
    assert gpu_hour.util_pct_mean == pytest.approx(100.0) and gpu_hour.power_w_max == 5000.0
    assert gpu_hour.mem_used_bytes_max == 64 * TIB and gpu_hour.covered_s == pytest.approx(3600)
    host_hour = HostRollup.objects.filter(period_s=PERIOD_1H).order_by("ts")[1]
    assert host_hour.net_rx_bps_mean == pytest.approx(1e12)
    server_hour = ServerRollup.objects.filter(period_s=PERIOD_1H).order_by("ts")[1]
    assert server_hour.preempted_sum == pytest.approx(60 * 1e7) and server_hour.gen_tps_mean == pytest.approx(1e9)
    assert any(f.kind == "saturation" for f in findings), [(f.kind, f.title) for f in findings]
