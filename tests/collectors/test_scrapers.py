"""Scrapers on exposition texts of each server kind, two scrapes apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.scrapers import Scraper
from collectors.scrapers.prometheus import Counters
from tests.receivers import http_receiver

TEXTS = Path(__file__).parent / "expositions"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def render(name: str, **values: float) -> str:
    text = (TEXTS / name).read_text()
    for key, value in values.items():
        text = text.replace(key, repr(float(value)))
    return text


def scraper_for(kind: str, texts: list[str], clock: Clock, step_s: float = 10.0) -> Scraper:
    pages = iter(texts)

    def fetch(url: str) -> str:
        clock.now += step_s
        return next(pages)

    return Scraper(f"{kind}:1", kind, "http://127.0.0.1:1/metrics", fetch=fetch, counters=Counters(clock))


def test_vllm_older_version_gpu_cache_name_and_rates():
    clock = Clock()
    first = render("vllm_v0.txt", PREEMPT=5, PROMPT=1000, GEN=500, DONE=10)
    second = render("vllm_v0.txt", PREEMPT=7, PROMPT=13000, GEN=3900, DONE=30)
    s = scraper_for("vllm", [first, second], clock)
    one = s.scrape()
    assert one == {"id": "vllm:1", "running": 3.0, "waiting": 1.0, "kv_cache_pct": 12.5, "batch_size": 3.0}
    two = s.scrape()
    assert two["prompt_tps"] == 1200.0 and two["gen_tps"] == 340.0  # over the 10 s between scrapes
    assert two["preempted"] == 2.0 and two["requests_ps"] == 2.0
    assert s.info["model"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_vllm_newer_version_sums_data_parallel_engines():
    clock = Clock()
    first = render("vllm_v1_dp.txt", PREEMPT=1, PROMPT=100, GEN=100, STEPS=100, STEPTOKENS=1000, DONE=4,
                   QUEUE_S=0.4)  # fmt: skip
    second = render("vllm_v1_dp.txt", PREEMPT=4, PROMPT=600, GEN=2100, STEPS=300, STEPTOKENS=4200, DONE=14,
                    QUEUE_S=1.4)  # fmt: skip
    s = scraper_for("vllm", [first, second], clock)
    s.scrape()
    reading = s.scrape()
    assert reading["running"] == 16.0 and reading["waiting"] == 2.0  # summed across engines
    assert reading["kv_cache_pct"] == pytest.approx(40.0)  # the engines' mean, as a percentage
    assert reading["prompt_tps"] == 100.0 and reading["gen_tps"] == 400.0
    assert reading["batch_size"] == 16.0  # Δtokens / Δsteps = 3200 / 200
    assert reading["preempted"] == 3.0
    assert reading["queue_time_ms"] == pytest.approx(100.0)  # 1.0 s over 10 requests
    assert s.info["model"] == "Qwen/Qwen2.5-72B-Instruct"


def test_counters_handle_a_server_restart():
    clock = Clock()
    before = render("vllm_v0.txt", PREEMPT=0, PROMPT=50000, GEN=9000, DONE=100)
    after = render("vllm_v0.txt", PREEMPT=0, PROMPT=2000, GEN=500, DONE=5)  # counters began again at 0
    s = scraper_for("vllm", [before, after], clock)
    s.scrape()
    reading = s.scrape()
    assert reading["prompt_tps"] == 200.0 and reading["gen_tps"] == 50.0  # since the restart, not negative


def test_tgi_counters_without_total_suffix():
    clock = Clock()
    s = scraper_for("tgi", [render("tgi.txt", DONE=10, GEN=1000, PROMPT=5000, QUEUE_S=1.0),
                            render("tgi.txt", DONE=30, GEN=5000, PROMPT=9000, QUEUE_S=5.0)], clock)  # fmt: skip
    assert s.scrape() == {"id": "tgi:1", "running": 12.0, "waiting": 4.0, "batch_size": 12.0}
    reading = s.scrape()
    assert reading["requests_ps"] == 2.0 and reading["gen_tps"] == 400.0 and reading["prompt_tps"] == 400.0
    assert reading["queue_time_ms"] == 200.0
    assert "kv_cache_pct" not in reading  # TGI exposes none: absent, not zero


def test_triton_batch_size_queue_time_and_trt_llm_kv_blocks():
    clock = Clock()
    s = scraper_for("triton", [render("triton.txt", DONE=100, INFERENCES=400, EXECS=100, QUEUE_US=50_000),
                               render("triton.txt", DONE=200, INFERENCES=1200, EXECS=200, QUEUE_US=350_000)],
                    clock)  # fmt: skip
    s.scrape()
    reading = s.scrape()
    assert reading["batch_size"] == 8.0  # Δinference_count / Δexec_count = 800 / 100
    assert reading["queue_time_ms"] == 3.0  # 300 000 µs over 100 requests
    assert reading["waiting"] == 7.0 and reading["running"] == 9.0
    assert reading["kv_cache_pct"] == 25.0 and reading["requests_ps"] == 10.0
    assert s.info["model"] == "ensemble"


def test_sglang():
    clock = Clock()
    s = scraper_for("sglang", [render("sglang.txt", PROMPT=100), render("sglang.txt", PROMPT=1100)], clock)
    s.scrape()
    reading = s.scrape()
    assert reading == {"id": "sglang:1", "running": 5.0, "waiting": 2.0, "kv_cache_pct": pytest.approx(42.0),
                       "batch_size": 5.0, "gen_tps": 512.5, "prompt_tps": 100.0}  # fmt: skip


def test_an_endpoint_that_does_not_answer_gives_no_reading():
    def down(url: str) -> str:
        raise ConnectionRefusedError(111, "Connection refused")

    s = Scraper("vllm:1", "vllm", "http://127.0.0.1:1/metrics", fetch=down)
    assert s.scrape() is None and s.failing


def test_a_real_http_endpoint():
    body = render("sglang.txt", PROMPT=1).encode()
    with http_receiver(lambda request: (200, body, {"Content-Type": "text/plain; version=0.0.4"})) as url:
        s = Scraper("sglang:x", "sglang", f"{url}/metrics")
        assert s.scrape()["running"] == 5.0
