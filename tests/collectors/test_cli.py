"""`rightsizer-agent check`: what it says about the spool."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from collectors import __version__, cli
from collectors.config import load


def test_check_counts_dropped_and_failed_batches_and_says_where(tmp_path, monkeypatch, capsys):
    for key in ("RIGHTSIZER_URL", "RIGHTSIZER_TOKEN", "RIGHTSIZER_CONFIG", "RIGHTSIZER_SERVERS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RIGHTSIZER_DISCOVER", "false")
    spool = tmp_path / "spool"
    (spool / "failed").mkdir(parents=True)
    (spool / "failed" / "000000000003-1.json.gz").write_bytes(b"x")
    (spool / "failed" / "000000000003-1.json.gz.answer.txt").write_text("status: 500\n")
    (spool / "000000000004-2.json.gz").write_bytes(b"y")
    (spool / "stats.json").write_text(json.dumps({"dropped": 7, "dropped_disk_full": 2, "dropped_memory": 1,
                                                  "failed": 1, "write_errors": 4}))  # fmt: skip
    cli.main(["--state-dir", str(tmp_path), "check"])
    out = capsys.readouterr().out
    assert f"spool {spool}: 1 batch(es) waiting" in out
    assert "7 batch(es) dropped (4 past the size or age bound, 2 for a full disk, 1 from memory" in out
    assert f"1 batch(es) the server kept failing on (5xx) while it took others, set aside in {spool / 'failed'}" in out
    assert "0 batch(es) the server refused (4xx)" in out and "4 failed write(s)" in out


def _no_server_env(monkeypatch) -> None:
    for key in ("RIGHTSIZER_URL", "RIGHTSIZER_TOKEN", "RIGHTSIZER_CONFIG", "RIGHTSIZER_SERVERS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RIGHTSIZER_DISCOVER", "false")


def test_options_go_before_or_after_the_command():
    p = cli.parser()
    assert p.parse_args(["run", "--sample-interval", "1"]).sample_interval_s == 1.0
    assert p.parse_args(["--sample-interval", "2", "run"]).sample_interval_s == 2.0
    args = p.parse_args(["--url", "http://a", "check", "--json", "--state-dir", "/tmp/x"])
    assert (args.url, args.state_dir, args.json) == ("http://a", "/tmp/x", True)
    assert not hasattr(p.parse_args(["run"]), "sample_interval_s")  # absent, so the environment's value stands


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"rightsizer-agent {__version__}"


def test_once_prints_a_batch_without_a_flag(tmp_path, monkeypatch, capsys):
    _no_server_env(monkeypatch)
    assert cli.main(["once", "--state-dir", str(tmp_path)]) == 0
    batch = json.loads(capsys.readouterr().out)
    assert batch["agent"]["version"] == __version__ and len(batch["samples"]) == 1
    assert cli.main(["once", "--print", "--state-dir", str(tmp_path)]) == 0  # the old spelling still works


def test_check_json_is_one_object_with_the_same_verdict(tmp_path, monkeypatch, capsys):
    _no_server_env(monkeypatch)
    assert cli.main(["check", "--json", "--state-dir", str(tmp_path)]) == 1  # no URL, no token
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["version"] == __version__
    failed = [c["check"] for c in report["checks"] if c["status"] == "fail"]
    assert failed == ["server URL: not set (RIGHTSIZER_URL)", "agent token: not set (RIGHTSIZER_TOKEN)"]


def test_check_json_says_why_a_server_did_not_answer(tmp_path, monkeypatch, capsys):
    _no_server_env(monkeypatch)
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("RIGHTSIZER_SERVERS", f"vllm=http://127.0.0.1:{port}/metrics")
    cli.main(["check", "--json", "--state-dir", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    (server,) = [c for c in report["checks"] if c["check"].startswith(f"vllm:{port} at ")]
    assert server["status"] == "fail"
    assert "no answer ([Errno" in server["check"] and server["check"].endswith("Connection refused)"), server


def test_several_servers_of_one_kind_and_a_url_without_a_host():
    cfg = load({}, {"RIGHTSIZER_SERVERS": "vllm=http://:8000/metrics,vllm=http://:8001/metrics,"
                    "tgi=http://10.0.0.5:8000/metrics", "RIGHTSIZER_DISCOVER": "off"})  # fmt: skip
    assert [s["url"] for s in cfg.servers] == ["http://127.0.0.1:8000/metrics", "http://127.0.0.1:8001/metrics",
                                               "http://10.0.0.5:8000/metrics"]  # fmt: skip
    assert [s.server_id for s in cli.build_scrapers(cfg)] == ["vllm:8000", "vllm:8001", "tgi:10.0.0.5:8000"]


def test_a_server_started_after_the_agent_is_found_on_the_next_look(monkeypatch):
    from collectors.scrapers import discovery

    running = [{"kind": "vllm", "pid": 10, "port": 8000, "model": "m-a"}]
    monkeypatch.setattr(discovery, "discover", lambda: list(running))
    servers = cli.Servers(load({}, {"RIGHTSIZER_SERVERS": "vllm=http://127.0.0.1:8000/metrics"}))
    scrapers = servers.scrapers  # the list the Sampler holds
    assert [s.server_id for s in scrapers] == ["vllm:8000"] and scrapers[0].info["model"] == "m-a"
    assert servers.rediscover() == []  # nothing new: nothing added
    running.append({"kind": "sglang", "pid": 11, "port": 30000, "model": "m-b"})
    new = servers.rediscover()
    assert [s.server_id for s in new] == ["sglang:30000"] and [s.server_id for s in scrapers] == [
        "vllm:8000", "sglang:30000"]  # fmt: skip


def test_the_agent_looks_again_every_interval_and_survives_a_failing_look(tmp_path):
    from collectors.agent import Agent, Drainer
    from collectors.push import Pusher
    from collectors.spool import Spool

    class Sampler:
        host, gpus, scrapers = {"hostname": "h"}, [], []

        def sample(self):
            return {"ts": 0.0}

        def batch(self, samples):
            return {"samples": samples}

    looks = []

    def rediscover():
        looks.append(1)
        raise RuntimeError("odd process table")

    spool = Spool(tmp_path / "spool")
    agent = Agent(Sampler(), spool, Drainer(spool, Pusher("http://127.0.0.1:9", "t")), 0.02, 10.0,
                  rediscover=rediscover, rediscover_s=0.05)  # fmt: skip
    thread = threading.Thread(target=agent.run)
    thread.start()
    time.sleep(0.3)
    agent.stop()
    thread.join(10)
    assert not thread.is_alive() and len(looks) >= 3


def test_the_spool_report_rides_on_each_push(tmp_path):
    from collectors.agent import SPOOL_HEADER, Drainer
    from collectors.push import ACCEPTED, PushResult
    from collectors.spool import Spool

    class Pusher:
        extra_headers: dict = {}
        seen: list = []

        def push(self, body):
            self.seen.append(dict(self.extra_headers))
            return PushResult(ACCEPTED, 202, "accepted")

    spool = Spool(tmp_path / "spool")
    spool.put(b"a")
    spool.put(b"b")
    (tmp_path / "spool" / "stats.json").write_text(json.dumps({"dropped": 4}))
    spool.stats = {"dropped": 4}
    pusher = Pusher()
    assert Drainer(spool, pusher, hostname="gpu node 7").drain() == 2
    assert pusher.seen[0] == {SPOOL_HEADER: "host=gpu+node+7&waiting=2&dropped=4&failed=0&rejected=0"}
