"""The agent end to end against a real ingest server process: outages, restarts, SIGTERM."""

from __future__ import annotations

import errno
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from collectors.agent import Agent, Drainer, Sampler, encode
from collectors.nvml import Nvml
from collectors.push import ACCEPTED, Backoff, Pusher
from collectors.spool import Spool
from tests.collectors.conftest import ROOT
from tests.collectors.fake_nvml import FakeGpu, make_module
from tests.receivers import http_receiver


class RecordingPusher(Pusher):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.results = []

    def push(self, gz_body: bytes):
        result = super().push(gz_body)
        self.results.append(result)
        return result


def make_agent(server, tmp_path: Path) -> tuple[Agent, list[float], RecordingPusher]:
    nvml = Nvml(make_module([FakeGpu("GPU-e2e-0"), FakeGpu("GPU-e2e-1")]))
    sampler = Sampler(tmp_path / "state", {"deployment": "e2e"}, nvml=nvml)
    taken: list[float] = []
    original = sampler.sample

    def recording():
        time.sleep(0.002)  # distinct millisecond timestamps
        sample = original()
        taken.append(sample["ts"])
        return sample

    sampler.sample = recording
    spool = Spool(tmp_path / "spool")
    pusher = RecordingPusher(server.url, server.token, connect_timeout_s=1, read_timeout_s=5)
    drainer = Drainer(spool, pusher, Backoff(base_s=0.01, cap_s=0.05))
    return Agent(sampler, spool, drainer, sample_interval_s=0.05, push_interval_s=0.2), taken, pusher


def cycle(agent: Agent, batches: int, samples_per_batch: int = 3) -> None:
    for _ in range(batches):
        for _ in range(samples_per_batch):
            agent._buffer.append(agent.sampler.sample())
        agent.flush()
        agent.drainer.drain()


def stored_ts(server) -> list[float]:
    rows = server.query("SELECT ts FROM telemetry_hostsample ORDER BY ts")
    return [round(datetime.fromisoformat(r[0]).replace(tzinfo=UTC).timestamp(), 3) for r in rows]


def test_every_sample_arrives_exactly_once_across_an_outage_and_a_restart(ingest_server, tmp_path):
    agent, taken, pusher = make_agent(ingest_server, tmp_path)
    cycle(agent, 3)
    assert agent.spool.pending() == []
    ingest_server.stop()  # the server goes away; the agent keeps sampling
    cycle(agent, 4)
    assert len(agent.spool.pending()) == 4
    # The agent restarts too, while the server is still down: a new process, the same spool.
    agent2, taken2, pusher2 = make_agent(ingest_server, tmp_path)
    assert len(agent2.spool.pending()) == 4
    cycle(agent2, 2)
    assert len(agent2.spool.pending()) == 6
    ingest_server.start()
    agent2.drainer.drain()
    assert agent2.spool.pending() == []
    all_taken = sorted(taken + taken2)
    assert stored_ts(ingest_server) == all_taken  # every sample, in order, once
    gpu_rows = ingest_server.query("SELECT count(*) FROM telemetry_gpusample")[0][0]
    assert gpu_rows == 2 * len(all_taken)
    accepted = [r for r in pusher.results + pusher2.results if r.outcome == ACCEPTED]
    assert sum(r.duplicates for r in accepted) == 0  # nothing acknowledged was sent again
    assert sum(r.accepted for r in accepted) == len(all_taken)


def test_a_batch_the_server_refuses_is_set_aside_not_retried(ingest_server, tmp_path):
    agent, _, pusher = make_agent(ingest_server, tmp_path)
    bad = agent.sampler.batch([{"ts": 5.0, "cpu_pct": 10.0}])  # 1970: outside the accepted window
    agent.spool.put(encode(bad))
    agent.drainer.drain()
    assert agent.spool.pending() == []
    rejected = list((tmp_path / "spool" / "rejected").glob("*.reason.txt"))
    assert len(rejected) == 1 and "samples.0.ts" in rejected[0].read_text()
    agent.drainer.drain()
    assert len(pusher.results) == 1


def test_a_revoked_token_keeps_everything_spooled(ingest_server, tmp_path):
    agent, _, _ = make_agent(ingest_server, tmp_path)
    agent.drainer.pusher.token = "rsa_not-a-real-token"
    cycle(agent, 2)
    assert len(agent.spool.pending()) == 2 and agent.drainer.wait_s == 60.0


def run_agent(server, state: Path, seconds: float, until=lambda: True) -> subprocess.CompletedProcess:
    """Runs the agent until it has started, `until()` holds, and `seconds` more; then SIGTERM."""
    cmd = [sys.executable, "-m", "collectors.cli", "--url", server.url, "--token", server.token,
           "--state-dir", str(state), "--sample-interval", "0.5", "--push-interval", "2", "run"]  # fmt: skip
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "agent.log"  # a file, not a pipe: the test reads it while the agent runs
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            text=True,
            env={"PATH": "/usr/bin:/bin", "RIGHTSIZER_DISCOVER": "false", "RIGHTSIZER_LOG_FORMAT": "kv"},
        )  # these tests read key=value lines
    deadline = time.monotonic() + 30  # a busy test machine may take seconds to start Python
    while not ("event=agent_started" in log_path.read_text() and until()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(seconds)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert time.monotonic() - started < 12, "SIGTERM took too long"
    return subprocess.CompletedProcess(cmd, proc.returncode, "", log_path.read_text())


def assert_continuous(ts: list[float], interval_s: float) -> None:
    gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
    assert all(g < interval_s * 1.9 for g in gaps), gaps


def test_sigterm_pushes_what_is_in_memory_and_a_restart_replays_the_spool(ingest_server, tmp_path):
    state = tmp_path / "agent"
    before_sigterm: list[float] = []

    def first_push() -> bool:
        before_sigterm[:] = stored_ts(ingest_server)
        return bool(before_sigterm)

    first = run_agent(ingest_server, state, 1.2, until=first_push)  # 2+ samples in memory at SIGTERM
    assert first.returncode == 0, first.stderr
    assert "event=agent_stopped" in first.stderr and "still_spooled=0" in first.stderr
    after_first = stored_ts(ingest_server)
    assert len(after_first) >= len(before_sigterm) + 2  # what was in memory arrived
    assert_continuous(after_first, 0.5)

    ingest_server.stop()
    second = run_agent(ingest_server, state, 1.5)  # the server is down throughout
    assert second.returncode == 0, second.stderr
    spooled = list((state / "spool").glob("*.json.gz"))
    assert spooled
    in_spool = sum(len(json.loads(gzip.decompress(p.read_bytes()))["samples"]) for p in spooled)

    ingest_server.start()
    third = run_agent(ingest_server, state, 1.0)
    assert third.returncode == 0, third.stderr
    assert list((state / "spool").glob("*.json.gz")) == []
    final = stored_ts(ingest_server)
    assert len(final) >= len(after_first) + in_spool
    assert len(final) == len(set(final))


def test_the_host_id_setting_is_the_machine_id_the_server_gets(tmp_path):
    received: list[dict] = []

    def answer(request):
        received.append(json.loads(gzip.decompress(request.body)))
        return 202, b'{"accepted": 1, "duplicates": 0}', {}

    sampler = Sampler(tmp_path / "state", {}, nvml=Nvml(make_module([])), host_id="clone-17")
    spool = Spool(tmp_path / "spool")
    spool.put(encode(sampler.batch([sampler.sample()])))
    with http_receiver(answer) as url:
        assert Drainer(spool, Pusher(url, "rsa_t")).drain() == 1
    assert received[0]["host"]["machine_id"] == "clone-17"


def marked(mark: str) -> bytes:
    return encode({"mark": mark, "samples": [{"ts": 1.0}]})


def test_a_batch_the_server_keeps_failing_on_is_set_aside_and_the_rest_flow(tmp_path):
    tries: list[str] = []

    def answer(request):  # the server breaks on one batch, and takes the others
        mark = json.loads(gzip.decompress(request.body))["mark"]
        tries.append(mark)
        if mark == "poison":
            return 500, b'{"error": "server_error", "message": "Internal error."}', {}
        return 202, b'{"accepted": 1, "duplicates": 0}', {}

    spool = Spool(tmp_path / "spool")
    poison = spool.put(marked("poison"))
    spool.put(marked("b"))
    spool.put(marked("c"))
    with http_receiver(answer) as url:
        drainer = Drainer(spool, Pusher(url, "rsa_t"), Backoff(base_s=0.01, cap_s=0.05), max_5xx=3)
        for _ in range(3):
            assert drainer.drain() == 0  # oldest first: the batches behind it wait
        assert drainer.drain() == 2
        assert tries == ["poison"] * 3 + ["b", "poison", "c"]  # more than 3 times, and others got through
        assert spool.pending() == [] and drainer.wait_s == 0.0
        failed = tmp_path / "spool" / "failed"
        assert (failed / poison.name).read_bytes() == marked("poison")
        answer_txt = (failed / (poison.name + ".answer.txt")).read_text()
        assert "status: 500" in answer_txt and "Internal error." in answer_txt
        spool.put(marked("d"))
        assert drainer.drain() == 1 and tries[-1] == "d"


def test_a_server_failing_for_everyone_sets_nothing_aside(tmp_path):
    def answer(request):
        return 503, b'{"error": "unavailable", "message": "Down for maintenance."}', {}

    spool = Spool(tmp_path / "spool")
    for mark in "abc":
        spool.put(marked(mark))
    with http_receiver(answer) as url:
        drainer = Drainer(spool, Pusher(url, "rsa_t"), Backoff(base_s=0.01, cap_s=0.05), max_5xx=2)
        for _ in range(12):
            assert drainer.drain() == 0
    assert len(spool.pending()) == 3 and not (tmp_path / "spool" / "failed").exists()


def test_the_agent_keeps_sampling_and_pushing_on_a_full_disk(tmp_path, monkeypatch, caplog):
    samples: list[int] = []

    def answer(request):
        samples.append(len(json.loads(gzip.decompress(request.body))["samples"]))
        return 202, b'{"accepted": 1, "duplicates": 0}', {}

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    sampler = Sampler(tmp_path / "state", {}, nvml=Nvml(make_module([FakeGpu("GPU-full-0")])))
    spool = Spool(tmp_path / "spool")
    monkeypatch.setattr(os, "write", no_space)
    with http_receiver(answer) as url:
        drainer = Drainer(spool, Pusher(url, "rsa_t"), Backoff(base_s=0.01, cap_s=0.05))
        agent = Agent(sampler, spool, drainer, sample_interval_s=0.05, push_interval_s=0.2)
        runner = threading.Thread(target=agent.run)
        runner.start()
        time.sleep(1.0)
        agent.stop()
        runner.join(10)
    assert not runner.is_alive()
    assert len(samples) >= 2 and sum(samples) >= 8  # pushed from memory, batch after batch
    assert spool.stats["write_errors"] >= 3 and spool.held() == 0  # every batch lived in memory, then went
    assert not list((tmp_path / "spool").glob("*.tmp"))
    assert caplog.text.count("event=spool_write_failed") == 1
