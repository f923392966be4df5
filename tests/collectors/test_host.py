"""Host sampling with psutil on this machine, and the rate arithmetic."""

from __future__ import annotations

import time
from types import SimpleNamespace

import psutil

from collectors import host
from collectors.host import HostSampler, counter_rate, host_info


def test_samples_this_machine_for_real():
    sampler = HostSampler()
    time.sleep(0.2)
    sample = sampler.sample()
    total = psutil.virtual_memory().total
    assert 0 <= sample["cpu_pct"] <= 100
    assert 0 < sample["mem_used"] <= total and 0 < sample["mem_available"] <= total
    assert sample["swap_used"] >= 0 and sample["load1"] >= 0
    assert sample["net_rx_bps"] >= 0 and sample["net_tx_bps"] >= 0


def test_first_sample_has_no_rates():
    sampler = HostSampler()
    sampler._at = None  # as if no counters had been read before
    assert "net_rx_bps" not in sampler.sample()


def test_counter_rate_survives_a_wrap():
    assert counter_rate(1500, 500, 10.0) == 100.0
    assert counter_rate(300, 2**32 - 200, 10.0) == 30.0  # went backwards: counted from zero
    assert counter_rate(10, None, 10.0) is None


def test_interfaces_that_appear_or_vanish(monkeypatch):
    readings = iter([
        {"eth0": SimpleNamespace(bytes_recv=1000, bytes_sent=500), "lo": SimpleNamespace(bytes_recv=0, bytes_sent=0)},
        {"eth0": SimpleNamespace(bytes_recv=3000, bytes_sent=1500),
         "eth1": SimpleNamespace(bytes_recv=10**9, bytes_sent=10**9)},  # eth1 is new: no rate yet
        {"eth1": SimpleNamespace(bytes_recv=10**9 + 4000, bytes_sent=10**9 + 2000)},  # eth0 vanished
    ])  # fmt: skip
    monkeypatch.setattr(host.psutil, "net_io_counters", lambda pernic: next(readings))
    clock = iter([100.0, 102.0, 104.0])
    monkeypatch.setattr(host.time, "monotonic", lambda: next(clock))
    sampler = HostSampler()
    second = sampler.sample()
    assert (second["net_rx_bps"], second["net_tx_bps"]) == (1000.0, 500.0)
    third = sampler.sample()
    assert (third["net_rx_bps"], third["net_tx_bps"]) == (2000.0, 1000.0)


def test_host_info_uses_a_stable_machine_id(tmp_path, monkeypatch):
    monkeypatch.setattr(host, "MACHINE_ID_PATHS", (tmp_path / "missing",))
    first = host_info(tmp_path, {"deployment": "x"})
    assert first["machine_id"] == host_info(tmp_path, {})["machine_id"]  # generated once, kept
    assert first["cpu_count"] == psutil.cpu_count() and first["labels"] == {"deployment": "x"}


def test_a_host_id_setting_replaces_the_machine_id(tmp_path):
    assert host_info(tmp_path, {}, host_id="clone-17")["machine_id"] == "clone-17"
